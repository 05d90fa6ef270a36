"""Persons, requests and organisations of the same cells: every person in a cell made at least
one request there, and every organisation counted has a person there.

Tables of organisations, persons and requests are separate families, but not independent:
in every cell organisations <= persons <= requests, so what one shows bounds what another
hides.
"""

from __future__ import annotations

from pathlib import Path

from attacks.conftest import Attacker, Crm, World, at, crowd, log_line, plus, protected

CLASSES = ("1xx", "2xx", "3xx", "4xx", "5xx")


def status_day() -> list[str]:
    """The 5th: 60 persons get pages (2xx), 12 switch protocols (1xx), 10 make five
    revalidations each (3xx, 50 requests), 3 hit a missing page (4xx) and 2 an error (5xx),
    one request each."""
    lines = crowd("10.1.1", 60, 5) + crowd("10.1.5", 12, 5, status=101)
    lines += [log_line(f"10.1.2.{i}", at(5, 11, i, s), status=304)
              for i in range(10) for s in range(5)]  # fmt: skip
    lines += crowd("10.1.3", 3, 5, status=404, path="/old-page")
    lines += crowd("10.1.4", 2, 5, status=500, path="/api/report")
    return lines


def test_persons_and_requests_of_one_cell_do_not_bound_a_small_group(tmp_path: Path) -> None:
    """The day of ``status_day``, requests and persons by status class."""
    world = World(tmp_path / "world")
    world.ingest_log(status_day(), "october")
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


def test_organisations_shown_do_not_bound_the_persons_hidden(tmp_path: Path) -> None:
    """Every organisation active in a module has at least one active person there: organisations
    shown are a floor under the persons hidden. Persons by module: contacts 40, deals 30, tasks
    12, invoices 4; organisations by module: 12, 11, 12 and 4."""
    world = World(tmp_path / "world")
    crm = Crm()
    counts = (("contacts", 40, 12, 1), ("deals", 30, 11, 20), ("tasks", 12, 12, 40),
              ("invoices", 4, 4, 60))  # fmt: skip
    for module, persons, orgs, first in counts:
        ids = [crm.organisation(first + k, "acme") for k in range(orgs)]
        for i in range(persons):
            crm.act(crm.person(ids[i % orgs]), module, times=2)
    world.ingest_crm(crm)
    by_module = {"index": "module", "table": "crm_activity", "margins": True}
    folder = world.probe(
        "modules",
        [
            {"name": "persons", "query": {**by_module, "aggfunc": "visitors"}},
            {"name": "organisations", "query": {**by_module, "aggfunc": "organisations"}},
        ],
    )
    assert world.release(folder), world.outputs[-1]

    persons_table = world.latest("modules", "persons")
    orgs_table = world.latest("modules", "organisations")
    assert persons_table is not None and orgs_table is not None
    attacker = Attacker()
    modules = ("contacts", "deals", "tasks", "invoices")
    persons = {m: attacker.cell(persons_table, m, name=f"persons:{m}") for m in modules}
    orgs = {m: attacker.cell(orgs_table, m, name=f"orgs:{m}") for m in modules}
    attacker.same(attacker.cell(persons_table, "Total"), plus(*persons.values()))
    attacker.same(attacker.cell(orgs_table, "Total"), plus(*orgs.values()))
    for m in modules:  # persons = organisations + the persons beyond each one's first
        attacker.same(persons[m], plus(orgs[m], attacker.unknown(f"more:{m}")))
    assert persons_table.value("invoices") is None
    assert protected(attacker.interval(persons["invoices"]))


def test_a_margin_of_a_bigger_table_bounds_like_a_table_of_its_own(tmp_path: Path) -> None:
    """The day of the first test, with requests by status class and method: its class margins
    are the requests by class, which a persons table by class may not narrow either."""
    world = World(tmp_path / "world")
    world.ingest_log(status_day(), "october")
    by_class = {"index": "status_class", "margins": True}
    folder = world.probe(
        "statuses",
        [
            {"name": "persons", "query": {**by_class, "aggfunc": "visitors"}},
            {"name": "requests", "query": {**by_class, "columns": "method"}},
        ],
    )
    assert world.release(folder), world.outputs[-1]

    persons_table = world.latest("statuses", "persons")
    requests_table = world.latest("statuses", "requests")
    assert persons_table is not None and requests_table is not None
    attacker = Attacker()
    persons = {c: attacker.cell(persons_table, c, name=f"persons:{c}") for c in CLASSES}
    requests = {c: attacker.cell(requests_table, c, "Total", name=f"requests:{c}")
                for c in CLASSES}  # fmt: skip
    attacker.same(attacker.cell(persons_table, "Total"), plus(*persons.values()))
    attacker.same(attacker.cell(requests_table, "Total", "Total"), plus(*requests.values()))
    for c in CLASSES:
        attacker.same(requests[c], plus(persons[c], attacker.unknown(f"more:{c}")))
    assert protected(attacker.interval(plus(persons["4xx"], persons["5xx"])))
