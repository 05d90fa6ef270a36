"""Tables of one report share totals: the standard traffic report.

Visitors by day (with a total), browsers, operating systems and devices (of people, bots
apart) are all functions of the same visitors, so each adds up to the day's total. One day: 40
Firefox on Linux, 30 Chrome on Windows, 20 Safari on a Mac, 4 iPhones and 3 search-engine
bots. Whoever knows which browser runs on which system (everyone) reads each table as the
same five groups.
"""

from __future__ import annotations

from pathlib import Path

from attacks.conftest import (
    BOT,
    CHROME,
    FIREFOX,
    IPHONE,
    SAFARI,
    Attacker,
    Expr,
    World,
    crowd,
    plus,
    protected,
)

# Each group of people, and its code in the browser, system and device tables (which leave the
# bots out: they are counted in the days and listed apart, by requests, as crawlers).
GROUPS = {
    "firefox": ("Firefox", "Linux", "desktop"),
    "chrome": ("Chrome", "Windows", "desktop"),
    "safari": ("Safari", "Mac OS X", "desktop"),
    "iphone": ("Mobile Safari", "iOS", "mobile"),
}
SIZES = {"firefox": 40, "chrome": 30, "safari": 20, "iphone": 4, "bots": 3}


def test_the_traffic_reports_tables_together_give_no_small_group_away(tmp_path: Path) -> None:
    world = World(tmp_path / "world")
    agents = {"firefox": FIREFOX, "chrome": CHROME, "safari": SAFARI, "iphone": IPHONE,
              "bots": BOT}  # fmt: skip
    lines = []
    for number, (group, size) in enumerate(SIZES.items()):
        lines += crowd(f"10.1.{number}", size, 5, agent=agents[group])
    world.ingest_log(lines, "october")
    assert world.report("traffic_report", period="2026-10") == 0, world.outputs[-1]
    assert world.release(world.folder("traffic_report", None, "2026-10")), world.outputs[-1]

    attacker = Attacker()
    group = {g: attacker.unknown(g) for g in SIZES}
    days = world.latest("traffic_report", "visitors-by-day")
    assert days is not None
    people = [group[g] for g in GROUPS]  # the bots are no visitors: crawlers, apart
    attacker.same(attacker.cell(days, "Total"), plus(*people))
    attacker.same(attacker.cell(days, "2026-10-05"), plus(*people))
    for name, position in (("browsers", 0), ("operating-systems", 1)):
        table = world.latest("traffic_report", name)
        assert table is not None
        for g, codes in GROUPS.items():
            row = table.code(codes[position]) if name == "browsers" else codes[position]
            attacker.same(attacker.cell(table, row), group[g])
    devices = world.latest("traffic_report", "devices")
    assert devices is not None
    by_device: dict[str, list[Expr]] = {}
    for g, (_, _, device) in GROUPS.items():
        by_device.setdefault(device, []).append(group[g])
    for device, members in by_device.items():
        attacker.same(attacker.cell(devices, device), plus(*members))
    for g, size in SIZES.items():
        if size < 10:
            assert protected(attacker.interval(group[g])), g
