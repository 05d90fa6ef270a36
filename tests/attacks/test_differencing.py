"""Differencing by population: two releases whose populations differ by a small group.

October has 20 Chrome visitors on the 10th, 32 on the 30th (30 Firefox, 2 Safari) and 3
Firefox visitors on the 31st. Visitors by browser for 1-31 October is released first; every
later table describes 1-30 October in other words (a period, a filter, a no-op cap, a time-zone
alias, an extra dimension that sums away, a margin of a bigger table, a chain of two tables).
A partner holding both subtracts them: whatever is left is the 31st, three persons.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from attacks.conftest import (
    CHROME,
    FIREFOX,
    SAFARI,
    Attacker,
    Expr,
    Released,
    World,
    crowd,
    log_line,
    pinned,
    plus,
    protected,
)

BROWSERS = ("Chrome", "Firefox", "Safari")
MONTH = {"index": "browser", "aggfunc": "visitors", "margins": True}
# The 31st holds 3 Firefox visitors and nobody else.
LAST_DAY = {"Chrome": 0, "Firefox": 3, "Safari": 0}


@pytest.fixture(scope="module")
def unreleased(tmp_path_factory: pytest.TempPathFactory) -> World:
    """October's log, ingested; nothing made yet."""
    world = World(tmp_path_factory.mktemp("differencing") / "world")
    lines = crowd("203.0.113", 30, 30, agent=FIREFOX) + crowd("198.51.100", 20, 10, agent=CHROME)
    lines += crowd("192.0.2", 2, 30, agent=SAFARI, path="/contact")
    lines += crowd("192.0.3", 3, 31, agent=FIREFOX)
    world.ingest_log(lines, "october")
    return world


@pytest.fixture(scope="module")
def october(unreleased: World, tmp_path_factory: pytest.TempPathFactory) -> World:
    """The month's visitors by browser, released."""
    world = unreleased.clone(tmp_path_factory.mktemp("month") / "world")
    month = world.probe("month", [{"name": "browsers", "query": MONTH}])
    assert world.release(month), world.outputs[-1]
    return world


def last_day(attacker: Attacker, month: Released, rest: dict[str, Expr]) -> dict[str, Expr]:
    """The attacker's model: ``rest`` (1-30 October, by browser) lies inside the month, and
    the month's browsers add up to its total; the 31st is the difference."""
    days: dict[str, Expr] = {}
    for browser in BROWSERS:
        whole = attacker.cell(month, browser)
        days[browser] = attacker.unknown(f"31st:{browser}")
        attacker.same(whole, plus(rest[browser], days[browser]))
    attacker.same(attacker.cell(month, "Total"), plus(*(attacker.cell(month, b) for b in BROWSERS)))
    return days


def one_table(name: str) -> Callable[[Attacker, list[Released]], dict[str, Expr]]:
    """1-30 October read from the browser rows of one table (a value column or its Total)."""

    def read(attacker: Attacker, tables: list[Released]) -> dict[str, Expr]:
        (table,) = tables
        column = name if name else None
        cells = {b: attacker.cell(table, b, column) for b in BROWSERS}
        total = attacker.cell(table, "Total", column)
        attacker.same(total, plus(*cells.values()))
        return cells

    return read


def chain(attacker: Attacker, tables: list[Released]) -> dict[str, Expr]:
    """1-15 and 16-30 October: two tables whose sum is 1-30."""
    halves = [one_table("")(attacker, [t]) for t in tables]
    return {b: plus(*(h[b] for h in halves)) for b in BROWSERS}


VARIANTS: dict[str, tuple[list[tuple[str, dict[str, Any], str, str]], Callable[..., Any]]] = {
    "a period one day shorter": (
        [("shorter", MONTH, "2026-10-01", "2026-10-30")], one_table("")),
    "a filter on the day": (
        [("filtered", {**MONTH, "where": {"day": {"not": "2026-10-31"}}},
          "2026-10-01", "2026-10-31")], one_table("")),
    "a cap that clips nobody": (
        [("capped", {**MONTH, "cap": 1000}, "2026-10-01", "2026-10-30")], one_table("")),
    "the time zone spelt Etc/UTC": (
        [("etc-utc", {**MONTH, "tz": "Etc/UTC"}, "2026-10-01", "2026-10-30")], one_table("")),
    "an extra dimension that sums away": (
        [("extra", {**MONTH, "columns": "is_bot"}, "2026-10-01", "2026-10-30")],
        one_table("false")),
    "the margin of a two-dimensional table": (
        [("margin", {**MONTH, "columns": "device"}, "2026-10-01", "2026-10-30")],
        one_table("Total")),
    "a chain of two halves": (
        [("first-half", MONTH, "2026-10-01", "2026-10-15"),
         ("second-half", MONTH, "2026-10-16", "2026-10-30")], chain),
}  # fmt: skip


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_a_reworded_query_does_not_give_the_last_day_away(
    october: World, tmp_path: Path, variant: str
) -> None:
    world = october.clone(tmp_path / "world")
    reports, read = VARIANTS[variant]
    released: list[Released] = []
    for name, query, start, end in reports:
        folder = world.probe(name, [{"name": "browsers", "query": query}], start=start, end=end)
        if world.release(folder):
            released += world.released(name, "browsers")

    attacker = Attacker()
    month = world.released("month", "browsers")[0]
    if len(released) < len(reports):  # the gate refused one: the attacker has the month only
        rest = {b: attacker.unknown(f"rest:{b}") for b in BROWSERS}
    else:
        rest = read(attacker, released)
    days = last_day(attacker, month, rest)
    for browser, persons in LAST_DAY.items():
        interval = attacker.interval(days[browser])
        assert not pinned(interval), f"{variant}: {browser} on the 31st pinned"
        if persons:
            assert protected(interval), f"{variant}: {browser} on the 31st narrowed"


def test_two_reports_made_before_either_is_released_are_checked_together(
    unreleased: World, tmp_path: Path
) -> None:
    """The month and 1-30 October, both made before either is released: neither run knew of
    the other; the gate must."""
    world = unreleased.clone(tmp_path / "world")
    month = world.probe("month", [{"name": "browsers", "query": MONTH}])
    shorter = world.probe("shorter", [{"name": "browsers", "query": MONTH}], end="2026-10-30")
    assert world.release(month)
    world.release(shorter)

    attacker = Attacker()
    if (table := world.latest("shorter", "browsers")) is not None:
        rest = one_table("")(attacker, [table])
    else:
        rest = {b: attacker.unknown(f"rest:{b}") for b in BROWSERS}
    days = last_day(attacker, world.released("month", "browsers")[0], rest)
    assert protected(attacker.interval(days["Firefox"]))


# --- two months in two time zones ------------------------------------------------------------


def _visitors(count: int, when: dt.datetime, prefix: str) -> list[str]:
    return [
        log_line(f"{prefix}.{i // 200}.{i % 200 + 1}", when + dt.timedelta(seconds=i))
        for i in range(count)
    ]


def test_adjacent_days_in_two_time_zones_do_not_give_a_small_hour_away(
    tmp_path: Path,
) -> None:
    world = World(tmp_path / "world")
    lines: list[str] = []
    september = dt.datetime(2026, 9, 30, tzinfo=dt.UTC)
    october = dt.datetime(2026, 10, 1, tzinfo=dt.UTC)
    for hour in range(22):  # 30 September 00:00-21:59 UTC: 50 requests an hour
        lines += _visitors(50, september + dt.timedelta(hours=hour), f"10.{hour}")
    lines += _visitors(3, september + dt.timedelta(hours=22), "10.22")  # 3 persons at 22:00
    lines += _visitors(11, september + dt.timedelta(hours=23), "10.23")
    for hour in range(22):  # 1 October 00:00-21:59 UTC; 05:00 UTC (07:00 in Warsaw) is quiet
        lines += _visitors(10 if hour == 5 else 50, october + dt.timedelta(hours=hour),
                           f"10.{100 + hour}")  # fmt: skip
    world.ingest_log(lines, "two-days")

    by_hour = {"index": "hour", "margins": True}
    utc = world.probe("utc", [{"name": "hours", "query": by_hour}], start="2026-09-30",
                      end="2026-09-30")  # fmt: skip
    assert world.release(utc)
    warsaw = world.probe("warsaw", [{"name": "hours", "query": {**by_hour, "tz": "Europe/Warsaw"}}],
                         start="2026-10-01", end="2026-10-01")  # fmt: skip
    world.release(warsaw)

    attacker = Attacker()
    hours: dict[str, dict[int, Expr]] = {}
    for name in ("utc", "warsaw"):
        if (table := world.latest(name, "hours")) is None:
            continue
        hours[name] = {h: attacker.cell(table, str(h)) for h in range(24)}
        attacker.same(attacker.cell(table, "Total"), plus(*hours[name].values()))
    if "warsaw" in hours:  # Warsaw's 00:00 and 01:00 on 1 October are 22:00 and 23:00 UTC
        attacker.same(hours["utc"][22], hours["warsaw"][0])
        attacker.same(hours["utc"][23], hours["warsaw"][1])
    assert protected(attacker.interval(hours["utc"][22]))


# --- a dominant contribution by difference ---------------------------------------------------


def test_two_periods_do_not_give_a_dominant_contribution_away(tmp_path: Path) -> None:
    world = World(tmp_path / "world")
    lines: list[str] = []
    for day in range(1, 31):
        lines += crowd(f"10.2.{day}", 20, day, size=1000)
    lines += crowd("10.3.1", 11, 31, size=500)
    lines += [log_line("10.4.4.4", dt.datetime(2026, 10, 31, 12, tzinfo=dt.UTC), size=100_000)]
    world.ingest_log(lines, "october")
    query = {"index": "method", "values": "bytes", "aggfunc": "sum"}
    for name, end in (("month", "2026-10-31"), ("shorter", "2026-10-30")):
        # The second may be withheld whole: its one cell would be the first's minus the 31st.
        probe = world.probe(name, [{"name": "bytes", "query": query}], end=end, written=False)
        world.release(probe)

    attacker = Attacker()
    cells = {
        name: attacker.cell(table, "GET")
        for name in ("month", "shorter")
        if (table := world.latest(name, "bytes")) is not None
    }
    last = attacker.unknown("31st")
    if len(cells) == 2:
        attacker.same(cells["month"], plus(cells["shorter"], last))
    low, high = attacker.interval(last)
    dominant = 100_000
    # p % rule: nobody may estimate the largest contribution to within 10 % of it.
    assert not (low >= 0.9 * dominant and high <= 1.1 * dominant)


# --- a cap that clips somebody ---------------------------------------------------------------


def test_a_cap_that_clips_somebody_does_not_give_the_last_day_away(tmp_path: Path) -> None:
    world = World(tmp_path / "world")
    lines: list[str] = []
    for day in range(1, 30):
        if day == 5:  # ten busy persons, fifty requests each
            for i in range(10):
                lines += [
                    log_line(f"10.5.5.{i}", dt.datetime(2026, 10, 5, 10, i, s, tzinfo=dt.UTC))
                    for s in range(50)
                ]
        else:
            lines += crowd(f"10.1.{day}", 20, day)
    lines += crowd("10.2.30", 11, 30) + crowd("10.2.31", 3, 31)
    world.ingest_log(lines, "october")
    by_day = {"index": "day", "margins": True}
    assert world.release(world.probe("requests", [{"name": "days", "query": by_day}]))
    world.release(world.probe("capped", [{"name": "days", "query": {**by_day, "cap": 1}}]))

    attacker = Attacker()
    days = [f"2026-10-{d:02d}" for d in range(1, 32)]
    requests = world.latest("requests", "days")
    assert requests is not None
    cells = {day: attacker.cell(requests, day, name=f"requests:{day}") for day in days}
    attacker.same(attacker.cell(requests, "Total"), plus(*cells.values()))
    if (capped := world.latest("capped", "days")) is not None:
        # A cap only ever lowers a cell: the 30th has at least what the capped table shows.
        clipped = attacker.unknown("clipped on the 30th")
        shown = attacker.cell(capped, "2026-10-30", name="capped")
        attacker.same(cells["2026-10-30"], plus(shown, clipped))
    assert protected(attacker.interval(cells["2026-10-31"]))
