"""The threshold audit: claims read from the folder, the table recomputed from the store, and the
independent LP audit run on the pattern as it is published."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from gate.conftest import Probe, Rendered, edit_manifest, rehash, shown_row

from privstats.gate import audit_path
from privstats.gate.published import read_report
from privstats.gate.recompute import RecomputeError, place, true_table
from privstats.report.table import CellState
from privstats.store import Store


def _kinds(result) -> set[tuple[str, str]]:
    return {(f.check.value, f.kind) for f in result.failures}


def _reveal(folder: Path, table: str, label: str, value: int) -> None:
    """Show a hidden cell with its true value, in the CSV and the page, and keep the manifest
    consistent (hidden count, checksums): only the disclosure checks can catch it."""
    csv = folder / f"{table}.csv"
    data = csv.read_bytes()
    row = f"\r\n{label},x\r\n".encode()
    assert row in data
    csv.write_bytes(data.replace(row, f"\r\n{label},{value}\r\n".encode(), 1))
    html = (folder / "report.html").read_text(encoding="utf-8")
    section = re.search(rf'<table class="data" id="data-{table}">.*?</table>', html, re.S)
    assert section is not None
    cell = re.compile(rf'(<th scope="row">{re.escape(label)}</th>\s*<td class="[^"]*">)x(</td>)')
    fixed = cell.sub(lambda m: f"{m.group(1)}{value}{m.group(2)}", section.group(), count=1)
    (folder / "report.html").write_text(html.replace(section.group(), fixed), encoding="utf-8")

    def one_fewer(manifest: dict) -> None:
        entry = next(t for t in manifest["tables"] if t["name"] == table)
        entry["hidden_cells"] -= 1

    edit_manifest(folder, one_fewer)
    rehash(folder)


def _truth(store: Path, folder: Path, table: str, label: str) -> int:
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    query = next(t for t in manifest["tables"] if t["name"] == table)["record"]["query"]
    cells = true_table(query, Store(store)).cells
    dim = query["index"][0]
    return int(cells.loc[cells[dim] == label, "value"].iloc[0])


def test_the_recomputed_table_is_the_one_the_report_was_made_from(traffic: Rendered) -> None:
    report, problems = read_report(traffic.folder, ".")
    assert report is not None and not problems
    for table in report.tables:
        truth = true_table(table.query, Store(traffic.store), table.rules)
        placement = place(table, truth, table.method or "suppress", table.rules)
        assert placement is not None and placement.exact, table.name
        shown = sum(cell.state is CellState.VALUE for row in table.cells for cell in row)
        assert len(placement.cell_of) >= shown, table.name


def test_a_query_the_store_cannot_answer_is_a_recompute_error(traffic: Rendered) -> None:
    with pytest.raises(RecomputeError, match="cannot be run again"):
        true_table({"table": "access", "index": ["no_such_column"], "measure": "visitors"},
                   Store(traffic.store))  # fmt: skip
    with pytest.raises(RecomputeError, match="options"):
        true_table({"index": ["browser"], "measure": "visitors", "invented_option": 1},
                   Store(traffic.store))  # fmt: skip


def test_each_method_passes_with_its_hidden_cells_audited(
    probe: Probe, probe_methods: dict[str, Rendered], tmp_path: Path
) -> None:
    shown = {"suppress": ["Chrome,x", "Firefox,33", "Safari,x", "Total,55"],
             "less_than": ["Chrome,x", "Firefox,33", "Safari,<10", "Total,55"]}  # fmt: skip
    for method, rendered in {"suppress": probe.october, **probe_methods}.items():
        folder = rendered.copy_to(tmp_path / method)
        lines = (folder / "browsers.csv").read_text(encoding="utf-8-sig").splitlines()
        if method in shown:
            assert lines[1:] == shown[method]
        else:
            assert all(int(line.split(",")[1]) % 5 == 0 for line in lines[1:])
        result = audit_path(folder, store=probe.store)
        assert result.passed, "\n".join(result.lines())
        browsers = next(t for t in result.tables if t.name == "browsers")
        assert browsers.store_checked and browsers.method == method
        assert browsers.lp_cells_audited >= 1 and browsers.lp_cells_unsafe == 0
        assert browsers.lp_tightest_margin is not None and browsers.lp_tightest_margin >= 1.0


def test_a_rounded_value_that_is_not_a_multiple_of_the_base_fails(
    probe_methods: dict[str, Rendered], tmp_path: Path
) -> None:
    folder = probe_methods["round"].copy_to(tmp_path)
    data = (folder / "browsers.csv").read_bytes()
    row = re.search(rb"\r\nFirefox,(\d+)\r\n", data)
    assert row is not None
    (folder / "browsers.csv").write_bytes(data.replace(row.group(), b"\r\nFirefox,33\r\n"))
    rehash(folder)
    assert ("claims", "not-rounded") in _kinds(audit_path(folder))


def test_revealing_a_secondary_cell_lets_the_lp_audit_recover_the_small_one(
    probe: Probe, tmp_path: Path
) -> None:
    folder = probe.october.copy_to(tmp_path)
    lines = (folder / "browsers.csv").read_text(encoding="utf-8-sig").splitlines()
    assert lines[1:] == ["Chrome,x", "Firefox,33", "Safari,x", "Total,55"]
    _reveal(folder, "browsers", "Chrome", _truth(probe.store, folder, "browsers", "Chrome"))
    # From the folder alone nothing is wrong: 20 persons is above the threshold.
    assert audit_path(folder).passed
    result = audit_path(folder, store=probe.store)
    found = {(f.check.value, f.kind, f.location) for f in result.failures}
    # Safari = 55 - 33 - 20: the table's own audit and the linked set's both see it.
    assert ("lp-audit", "recoverable", "line 4, col 2") in found
    assert ("linked", "recoverable", "line 4, col 2") in found
    assert {check for check, _, _ in found} == {"lp-audit", "linked"}


def test_revealing_a_small_cell_fails_the_claims_and_the_recomputed_rules(
    traffic: Rendered, tmp_path: Path
) -> None:
    folder = traffic.copy_to(tmp_path)
    hidden = [
        line.split(",")[0]
        for line in (folder / "browsers.csv").read_text(encoding="utf-8-sig").splitlines()
        if line.endswith(",x")
    ]
    label, value = min(((b, _truth(traffic.store, folder, "browsers", b)) for b in hidden),
                       key=lambda pair: pair[1])  # fmt: skip
    assert value > 0
    _reveal(folder, "browsers", label, value)
    kinds = _kinds(audit_path(folder, store=traffic.store))
    # Fewer than ten persons, whatever the value (visits over several days may reach ten).
    assert ("claims", "fails-rule") in kinds
    assert value >= 10 or ("claims", "below-threshold") in kinds


def test_a_number_changed_in_the_page_alone_is_caught_against_the_csv(
    traffic: Rendered, tmp_path: Path
) -> None:
    folder = traffic.copy_to(tmp_path)
    page = folder / "report.html"
    html = page.read_text(encoding="utf-8")
    # The first table's first day, as the page shows it (the CSV keeps it too).
    first = shown_row(folder, "visitors-by-day.csv").strip().split(b",")[1].decode()
    shown = f'<td class="num">{first}</td>'
    assert html.index(shown) > html.index('id="data-visitors-by-day"')  # the first table
    page.write_text(html.replace(shown, '<td class="num">4</td>', 1), encoding="utf-8")
    rehash(folder)
    result = audit_path(folder, store=traffic.store)
    assert _kinds(result) == {("consistency", "differs-from-csv")}
    assert result.failures[0].location == "table 'visitors-by-day', row 1, cell 1"


def test_a_record_that_does_not_claim_a_passed_audit_fails(
    traffic: Rendered, tmp_path: Path
) -> None:
    folder = traffic.copy_to(tmp_path)

    def fail_one(manifest: dict) -> None:
        manifest["tables"][0]["record"]["audit"]["passed"] = False

    edit_manifest(folder, fail_one)
    rehash(folder)
    assert _kinds(audit_path(folder)) == {("claims", "record-audit")}


def test_a_store_changed_since_the_report_fails_the_recomputation(
    probe: Probe, tmp_path: Path
) -> None:
    folder = probe.october.copy_to(tmp_path)

    # The 1-30 October store answers the 1-31 October queries with three persons fewer.
    def shorten(manifest: dict) -> None:
        for table in manifest["tables"]:
            table["record"]["query"]["end"] = "2026-10-30"

    edit_manifest(folder, shorten)
    rehash(folder)
    kinds = _kinds(audit_path(folder, store=probe.store))
    assert ("recompute", "differs-from-store") in kinds
