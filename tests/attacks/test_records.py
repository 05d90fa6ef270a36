"""What a partner reads besides the numbers: each table's record in ``manifest.json``.

Every hidden cell carries the same marker, so that nobody tells a small group from a cell
hidden only to protect it. October: 20 visitors a day on the 1st to the 29th, 11 on the 30th
and 3 on the 31st; visitors by day hides the 30th and the 31st, whose sum the total tells (14).
"""

from __future__ import annotations

import json
from pathlib import Path

from attacks.conftest import Attacker, World, crowd, plus, protected

BY_DAY = [{"name": "days", "query": {"index": "day", "aggfunc": "visitors", "margins": True}}]


def test_the_record_does_not_tell_how_many_hidden_cells_are_small(tmp_path: Path) -> None:
    world = World(tmp_path / "world")
    lines = []
    for day in range(1, 30):
        lines += crowd(f"10.1.{day}", 20, day)
    lines += crowd("10.2.30", 11, 30) + crowd("10.2.31", 3, 31)
    world.ingest_log(lines, "october")
    assert world.release(world.probe("days", BY_DAY)), world.outputs[-1]

    table = world.latest("days", "days")
    assert table is not None
    manifest = json.loads((table.file.parent / "manifest.json").read_text(encoding="utf-8"))
    (entry,) = manifest["tables"]
    hidden = [line[0] for line in table.rows if line[1] == "x"]
    sensitive = entry["record"].get("audit", {}).get("cells_audited")

    # Each way the record allows (one hidden day large, the others small): the small one's
    # largest possible value.
    worst = 0.0
    for large in hidden if sensitive == len(hidden) - 1 else []:
        attacker = Attacker()
        days = {d: attacker.cell(table, d, name=d) for d in hidden}
        known = sum(v for line in table.rows[:-1] if (v := table.value(line[0])) is not None)
        attacker.same(plus(*days.values()), {"": (table.value("Total") or 0) - known})
        attacker.same(days[large], plus(attacker.unknown("excess"), {"": 10}))
        worst = max(worst, *(attacker.interval(days[d])[1] for d in hidden if d != large))
    assert sensitive != len(hidden) - 1 or protected((0.0, worst))
