"""Differencing: a table that is safe alone is flagged when, with another released or published
one, it gives away a handful of persons by subtraction."""

from __future__ import annotations

from pathlib import Path

import pytest
from gate.conftest import Probe, Rendered

import privstats
from privstats.config import RuleSet
from privstats.gate import AuditFailed, audit_path, release
from privstats.gate.differencing import TableRef, find_pairs
from privstats.gate.published import read_report
from privstats.gate.recompute import code_text
from privstats.store import Store


def _ref(label: str, store: Path, **query) -> TableRef:
    """A table as crosstab protects it, with the cells it shows."""
    table = privstats.crosstab(store=store, rules=RuleSet(), aggfunc="visitors", **query)
    shown = table.shown[table.shown["marker"] == ""]
    dims = sorted(table.dims)
    keys = frozenset(
        tuple(code_text(v) for v in row) for row in shown[dims].itertuples(index=False)
    )
    return TableRef(label, table.record.to_dict()["query"], 10, keys)


def test_october_1_31_against_1_30_is_flagged_once_released(probe: Probe, tmp_path: Path) -> None:
    whole = probe.october.copy_to(tmp_path)
    shorter = probe.october_but_last.copy_to(tmp_path)
    released = whole.parents[3] / "released"
    assert audit_path(shorter, store=probe.store, ledger=released).passed  # nothing released yet
    done = release(whole, "anna", store=probe.store)
    result = audit_path(shorter, store=probe.store, ledger=released)
    assert not result.passed
    pairs = {pair.table: pair for pair in result.pairs}
    assert set(pairs) == {"browsers.csv", "days.csv"}
    browsers = pairs["browsers.csv"]
    assert browsers.other == f"release {done.release_id}: probe/all/2026-10-01_2026-10-31/browsers"
    assert browsers.relation == "period 2026-10-01..2026-10-30 vs 2026-10-01..2026-10-31"
    # Firefox (30 against 33) and the total (52 against 55): three persons of 31 October.
    assert browsers.cells == 2 and browsers.locations == ("line 3, col 2", "line 5, col 2")
    findings = [f for f in result.failures if f.kind == "small-difference"]
    assert {f.file for f in findings} == {"browsers.csv", "days.csv"}
    assert all(done.release_id in f.detail for f in findings)
    with pytest.raises(AuditFailed):
        release(shorter, "anna", store=probe.store)


def test_all_browsers_against_all_but_one_is_flagged_when_the_one_is_small(probe: Probe) -> None:
    everyone = _ref("all", probe.store, index="day", margins=True)
    but_safari = _ref("all but Safari", probe.store, index="day", margins=True,
                      where={"browser": ["Chrome", "Firefox"]})  # fmt: skip
    but_chrome = _ref("all but Chrome", probe.store, index="day", margins=True,
                      where={"browser": ["Firefox", "Safari"]})  # fmt: skip
    store = Store(probe.store)
    pairs, problems = find_pairs([everyone], [but_safari, but_chrome], store)
    assert problems == []
    assert [(p.other, p.cells) for p in pairs] == [("all but Safari", 1)]  # the total: 2 persons
    assert pairs[0].relation == "browser any vs 2 values"


def test_a_difference_as_large_as_the_threshold_is_not_flagged(probe: Probe) -> None:
    october = _ref("1-31", probe.store, index="browser", margins=True,
                   start="2026-10-01", end="2026-10-31")  # fmt: skip
    last_day = _ref("31", probe.store, index="browser", margins=True,
                    start="2026-10-31", end="2026-10-31")  # fmt: skip
    first_day = _ref("30", probe.store, index="browser", margins=True,
                     start="2026-10-30", end="2026-10-30")  # fmt: skip
    pairs, _ = find_pairs([october], [last_day, first_day], Store(probe.store))
    # 1-31 minus 31 is the 52 persons of the 30th; 1-31 minus 30 is three persons, but the
    # 31st's own table hides its small cells, and the check compares cells shown in both.
    assert [p.other for p in pairs] == ["30"]
    assert pairs[0].cells == 2  # Firefox (33 against 30) and the total (55 against 52)


def test_tables_of_other_dimensions_or_measures_are_not_compared(probe: Probe) -> None:
    by_day = _ref("by day", probe.store, index="day", margins=True, end="2026-10-30")
    by_browser = _ref("by browser", probe.store, index="browser", margins=True)
    requests = TableRef("requests", {**by_day.query, "measure": "requests", "end": None}, 10, None)
    pairs, _ = find_pairs([by_day], [by_browser, requests], Store(probe.store))
    assert pairs == []


def test_the_same_query_released_with_other_numbers_is_flagged_without_the_store(
    probe: Probe, tmp_path: Path
) -> None:
    before = probe.october.copy_to(tmp_path / "before")
    after = probe.october.copy_to(tmp_path / "after")
    csv = after / "browsers.csv"
    csv.write_bytes(csv.read_bytes().replace(b"Firefox,33", b"Firefox,31"))
    refs = []
    for folder in (after, before):
        report, problems = read_report(folder, ".")
        assert report is not None and problems == []
        table = next(t for t in report.tables if t.name == "browsers")
        refs.append(TableRef(str(folder), table.query, 10, None, table, file="browsers.csv"))
    pairs, _ = find_pairs(refs[:1], refs[1:], None)
    assert [(p.relation, p.cells, p.locations) for p in pairs] == [
        ("the same query, released with other numbers", 1, ("line 3, col 2",))
    ]


def test_the_same_query_by_two_methods_is_flagged(
    probe: Probe, probe_methods: dict[str, Rendered], tmp_path: Path
) -> None:
    rounded = probe_methods["round"].copy_to(tmp_path / "round")
    suppressed = probe.october.copy_to(tmp_path / "suppress")
    ledger = tmp_path / "released"
    release(rounded, "anna", store=probe.store, released_root=ledger)
    result = audit_path(suppressed, store=probe.store, ledger=ledger)
    relations = {pair.table: pair.relation for pair in result.pairs}
    assert relations["browsers.csv"].startswith("the same cells published by two methods")
    assert {pair.kind for pair in result.pairs} == {"two-methods"}
    assert not result.passed
