"""Every table of every standard report reads the same on each backend (see
``tests/tabulate/test_backends.py`` for the analyst's queries)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from report.samples import PERIOD, REPORT_NOTEBOOKS, SampleReports

from privstats.report import run_report
from privstats.store import Store
from privstats.tabulate import _engine
from privstats.tabulate.backends import backend
from privstats.tabulate.query import Query

BACKENDS = ("polars", "duckdb")


def _queries(reports: SampleReports) -> dict[str, Query]:
    """Each distinct query the reports published, by the first table that asked it."""
    queries: dict[str, Query] = {}
    for output in reports.outputs.values():
        manifest = json.loads((output.folder / "manifest.json").read_text(encoding="utf-8"))
        for table in manifest["tables"]:
            query = (table.get("record") or {}).get("query")
            if query is not None:
                queries.setdefault(json.dumps(query, sort_keys=True), Query.from_dict(query))
    return queries


def test_every_report_table_is_identical_on_polars_and_duckdb(
    sample_reports: SampleReports, sample_store: Path
) -> None:
    """The backends' lines: from identical lines the engine's one code makes identical tables
    (the rendered report below shows it end to end)."""
    store = Store(sample_store)
    queries = _queries(sample_reports)
    assert len(queries) > 40, "every report's tables, not a few"
    differ = []
    for query in queries.values():
        embedded, duck = (_engine.contributions(store, query, backend(b)) for b in BACKENDS)
        if not duck.sort(duck.columns).equals(embedded.sort(embedded.columns)):
            differ.append(query)
    assert not differ, [(q.table, q.dims, q.measure, q.where) for q in differ]


def test_a_report_run_on_duckdb_publishes_the_same_files(
    sample_reports: SampleReports,
    sample_store: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``--engine duckdb`` reaches the report's kernel through the environment; its tables,
    protected in the same linked set, come out cell for cell as on Polars."""
    monkeypatch.setenv("PRIVSTATS_ENGINE", "duckdb")
    output = run_report(
        "partner_summary",
        params={"period": PERIOD, "language": "en", "partner": "vistula"},
        out_root=tmp_path,
        store_path=sample_store,
        notebooks_dir=REPORT_NOTEBOOKS,
    )
    embedded = sample_reports["partner_summary", "vistula", "en"].folder
    files = sorted(p.name for p in embedded.glob("*.csv"))
    assert len(files) > 3
    assert sorted(p.name for p in output.folder.glob("*.csv")) == files
    for name in files:
        assert (output.folder / name).read_bytes() == (embedded / name).read_bytes(), name
