"""``method="less_than"`` and ``method="round"``: other ways of showing small counts.

October: 20 Chrome visitors on the 10th, 30 Firefox and 2 Safari on the 30th, 3 Firefox on the
31st. Visitors by browser is released by suppression first (Safari hidden, and a second cell
with it); the same table by ``<10`` or by rounding then tells its own story of the same cells.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from attacks.conftest import (
    CHROME,
    FIREFOX,
    SAFARI,
    Attacker,
    Expr,
    Released,
    World,
    at,
    crowd,
    log_line,
    pinned,
    plus,
)

BROWSERS = ("Chrome", "Firefox", "Safari")
QUERY = {"index": "browser", "aggfunc": "visitors", "margins": True}


@pytest.fixture(scope="module")
def suppressed(tmp_path_factory: pytest.TempPathFactory) -> World:
    world = World(tmp_path_factory.mktemp("methods") / "world")
    lines = crowd("198.51.100", 20, 10, agent=CHROME) + crowd("203.0.113", 30, 30, agent=FIREFOX)
    lines += crowd("192.0.2", 2, 30, agent=SAFARI) + crowd("192.0.3", 3, 31, agent=FIREFOX)
    world.ingest_log(lines, "october")
    assert world.release(world.probe("suppressed", [{"name": "browsers", "query": QUERY}]))
    return world


def read(attacker: Attacker, table: Released, x: dict[str, Expr], method: str) -> None:
    """A table of the three browsers and their total, as its method tells them."""
    for browser in BROWSERS:
        text = table.cell(browser) if table.has(browser) else "0"
        if method == "less_than" and text.startswith("<"):
            attacker.same(x[browser], attacker.unknown(f"small:{browser}", 1, 9))
        elif method == "round" and text != "x":
            attacker.same(x[browser], attacker.unknown(f"round:{browser}", max(float(text) - 4, 0),
                                                       float(text) + 4))  # fmt: skip
        else:
            attacker.same(x[browser], attacker.cell(table, browser))
    total = table.cell("Total")
    if method == "round" and total != "x":
        attacker.same(plus(*x.values()), attacker.unknown("round:Total", float(total) - 4,
                                                          float(total) + 4))  # fmt: skip
    else:
        attacker.same(plus(*x.values()), attacker.cell(table, "Total"))


@pytest.mark.parametrize("method", ["less_than", "round"])
def test_another_method_beside_suppression_gives_no_small_group_away(
    suppressed: World, tmp_path: Path, method: str
) -> None:
    world = suppressed.clone(tmp_path / "world")
    folder = world.probe(method, [{"name": "browsers", "query": {**QUERY, "method": method}}])
    world.release(folder)

    attacker = Attacker()
    x = {b: attacker.unknown(b) for b in BROWSERS}
    first = world.latest("suppressed", "browsers")
    assert first is not None
    read(attacker, first, x, "suppress")
    if (second := world.latest(method, "browsers")) is not None:
        read(attacker, second, x, method)
    interval = attacker.interval(x["Safari"])  # 2 persons
    assert not pinned(interval)
    # Each method admits what it shows ("0 to 4" rounded, "<10"); nothing beyond may be learnt.
    if method == "round":
        assert interval[0] <= 0 and interval[1] >= 4
    else:
        assert interval[0] <= 1 and interval[1] >= 9


def test_a_small_group_on_many_days_is_not_rounded_into_a_large_count(tmp_path: Path) -> None:
    """Three persons every day of the month: 93 visitor-days. Rounded, "95" would read as
    ninety-five persons' worth of visits of a group of three."""
    world = World(tmp_path / "world")
    lines = []
    for day in range(1, 32):
        lines += crowd(f"10.1.{day}", 20, day, agent=FIREFOX)
        lines += [log_line(f"10.9.9.{i}", at(day, 12, i), agent=SAFARI) for i in range(3)]
    world.ingest_log(lines, "october")
    rounded = [{"name": "browsers", "query": {**QUERY, "method": "round"}}]
    world.release(world.probe("rounded", rounded, written=False))
    table = world.latest("rounded", "browsers")
    assert table is None or table.cell("Safari") == "x"


def test_less_than_keeps_a_table_whose_small_group_visits_on_many_days(tmp_path: Path) -> None:
    """The same three persons: '<10' would be wrong (93 visitor-days); the cell is hidden and
    the table is still published."""
    world = World(tmp_path / "world")
    lines = []
    for day in range(1, 32):
        lines += crowd(f"10.1.{day}", 20, day, agent=FIREFOX)
        lines += crowd(f"10.2.{day}", 15, day, agent=CHROME)
        lines += [log_line(f"10.9.9.{i}", at(day, 12, i), agent=SAFARI) for i in range(3)]
    world.ingest_log(lines, "october")
    less_than = {**QUERY, "method": "less_than"}
    assert world.release(world.probe("less-than", [{"name": "browsers", "query": less_than}]))
    table = world.latest("less-than", "browsers")
    assert table is not None
    assert table.cell("Safari") == "x"
    assert table.value("Total") is not None or table.value("Firefox") is not None
