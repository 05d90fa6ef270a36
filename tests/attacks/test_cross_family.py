"""Persons and requests of the same cells: every person in a cell made at least one request.

Tables of persons and tables of requests are two families, but not independent: a cell's
requests are at least its persons, so what one shows bounds what the other hides. One day:
60 persons get pages (2xx), 12 switch protocols (1xx), 10 make five revalidations each (3xx,
50 requests), 3 hit a missing page (4xx) and 2 an error (5xx), one request each.
"""

from __future__ import annotations

from pathlib import Path

from attacks.conftest import Attacker, World, at, crowd, log_line, plus, protected

CLASSES = ("1xx", "2xx", "3xx", "4xx", "5xx")


def test_persons_and_requests_of_one_cell_do_not_bound_a_small_group(tmp_path: Path) -> None:
    world = World(tmp_path / "world")
    lines = crowd("10.1.1", 60, 5) + crowd("10.1.5", 12, 5, status=101)
    lines += [log_line(f"10.1.2.{i}", at(5, 11, i, s), status=304)
              for i in range(10) for s in range(5)]  # fmt: skip
    lines += crowd("10.1.3", 3, 5, status=404, path="/old-page")
    lines += crowd("10.1.4", 2, 5, status=500, path="/api/report")
    world.ingest_log(lines, "october")
    by_class = {"index": "status_class", "margins": True}
    folder = world.probe(
        "statuses",
        [
            {"name": "persons", "query": {**by_class, "aggfunc": "visitors"}},
            {"name": "requests", "query": by_class},
        ],
    )
    assert world.release(folder), world.outputs[-1]

    persons_table = world.latest("statuses", "persons")
    requests_table = world.latest("statuses", "requests")
    assert persons_table is not None and requests_table is not None
    attacker = Attacker()
    persons = {c: attacker.cell(persons_table, c, name=f"persons:{c}") for c in CLASSES}
    requests = {c: attacker.cell(requests_table, c, name=f"requests:{c}") for c in CLASSES}
    attacker.same(attacker.cell(persons_table, "Total"), plus(*persons.values()))
    attacker.same(attacker.cell(requests_table, "Total"), plus(*requests.values()))
    for c in CLASSES:  # requests = persons + the requests beyond each person's first
        attacker.same(requests[c], plus(persons[c], attacker.unknown(f"more:{c}")))
    assert protected(attacker.interval(plus(persons["4xx"], persons["5xx"])))
