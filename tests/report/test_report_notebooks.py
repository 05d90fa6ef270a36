"""The report notebooks (CRM activity, partner summary, explore, review) run through papermill on
the committed sample, in both languages; their figures agree with the store; no identifier of the
inputs reaches any report; bad parameters fail before a kernel starts."""

from __future__ import annotations

import csv
import json
import secrets
import shutil
from pathlib import Path

import nbformat
import polars as pl
import pytest
from canaries import leaks, texts_in
from report.samples import (
    LANGUAGES,
    PERIOD,
    REPORT_NOTEBOOKS,
    RUNS,
    SAMPLE,
)

from privstats.config import load_config
from privstats.demo import demo_config, ingest_generated
from privstats.exceptions import NoDataError, ParameterError, ReportError
from privstats.gate.review import review_report, run_review
from privstats.key import SecretKey
from privstats.report import run_report
from privstats.report.manifest import verify_manifest
from privstats.store import Store
from privstats.tabulate.query import Filter, Query

TITLES = {
    ("traffic_report", "pl"): "Ruch w serwisie",
    ("traffic_report", "en"): "Website traffic",
    ("crm_activity_report", "pl"): "Aktywność w systemie CRM",
    ("crm_activity_report", "en"): "CRM activity",
    ("partner_summary", "pl"): "Podsumowanie dla partnera",
    ("partner_summary", "en"): "Summary for partner",
    ("explore", "pl"): "Eksploracja danych",
    ("explore", "en"): "Data exploration",
}
CRM_TABLES = {
    "active-persons", "active-organisations", "active-persons-by-day",
    "organisations-by-industry", "registrations-by-month", "active-persons-by-cohort",
    "contact-forms", "imported-records", "importing-persons",
}  # fmt: skip
PARTNER_TABLES = {
    "organisations-by-size", "persons-per-organisation", "events-per-person",
    "persons-by-module", "events-by-source",
}  # fmt: skip


def _manifest(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text(encoding="utf-8"))


def _csv(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as stream:
        return list(csv.reader(stream))


def _activity(store: Path) -> pl.DataFrame:
    frame = Store(store).scan("crm_activity").collect()
    return frame.with_columns(pl.col("partner").cast(pl.String), pl.col("module").cast(pl.String))


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(("name", "partner"), RUNS, ids=lambda v: str(v))
def test_every_report_notebook_runs_in_both_languages(
    sample_reports, name: str, partner: str | None, language: str
) -> None:
    output = sample_reports[name, partner, language]
    root = sample_reports.roots[language]
    assert output.folder == root / name / (partner or "all") / PERIOD / language
    assert verify_manifest(output.folder) == []
    manifest = _manifest(output.folder)
    assert manifest["language"] == language and manifest["partner"] == partner
    assert manifest["tables"], "every report publishes tables"
    assert all(t["status"] in ("pass", "suppressed") for t in manifest["tables"])
    assert all(t["record"]["audit"]["passed"] for t in manifest["tables"])
    html = sample_reports.html(name, partner, language)
    assert f'<html lang="{language}">' in html
    assert TITLES[name, language] in html
    assert not (output.executed_notebook.parent / "staging").exists()


def test_the_crm_report_shows_modules_forms_and_imports(sample_reports, sample_store) -> None:
    folder = sample_reports["crm_activity_report", None, "en"].folder
    published = {t["name"] for t in _manifest(folder)["tables"]}
    # On three days of the sample the industry by size table cannot be protected with the
    # others: it is withheld, and the report says so in its place.
    assert published == CRM_TABLES - {"organisations-by-industry"}
    html = sample_reports.html("crm_activity_report", None, "en")
    assert "“Active organisations by industry and size” is not shown" in html
    # The sample's accounts all opened before its three days of October.
    assert "No account was opened in this period." in html
    rows = _csv(folder / "active-persons.csv")
    # The CSV names rows and columns by the store's codes; the page by the report's words.
    assert rows[0] == ["module", "create", "view", "update", "delete", "export", "import", "Total"]
    truth = _activity(sample_store)
    for row in rows[1:]:
        module = row[0]
        cell = truth if module == "Total" else truth.filter(pl.col("module") == module)
        if row[-1] != "x":
            assert int(row[-1]) == cell["person"].n_unique(), module
    polish = sample_reports.html("crm_activity_report", None, "pl")
    assert ">kampanie e-mail<" in polish and ">utworzenie<" in polish
    imports = _csv(folder / "imported-records.csv")
    assert {row[0] for row in imports[1:]} >= {"import:hubspot", "import:salesforce", "Total"}
    assert ">import: hubspot<" in html


def test_a_partners_crm_report_holds_only_its_organisations(sample_reports) -> None:
    manifest = _manifest(sample_reports["crm_activity_report", "acme", "pl"].folder)
    assert {t["name"] for t in manifest["tables"]} <= CRM_TABLES - {"contact-forms"}
    for table in manifest["tables"]:
        where = Query.from_dict(table["record"]["query"]).where
        assert Filter("partner", values=("acme",)) in where, table["name"]
    html = sample_reports.html("crm_activity_report", "acme", "pl")
    assert "raport dla partnera ich nie obejmuje" in html


def test_the_partner_summary_compares_the_partner_with_the_others_and_the_service(
    sample_reports, sample_store
) -> None:
    folder = sample_reports["partner_summary", "acme", "en"].folder
    manifest = _manifest(folder)
    assert {t["name"] for t in manifest["tables"]} == PARTNER_TABLES
    for table in manifest["tables"]:
        assert table["record"]["query"]["versus"] == {"partner": "acme"}, table["name"]
        assert table["record"]["query"]["margins"] is True
    layout = {t["name"]: t["layout"] for t in manifest["tables"]}
    assert layout["persons-by-module"] == {"index": ["module"], "columns": ["partner"]}
    assert layout["persons-per-organisation"] == {"index": ["partner"], "columns": []}
    rows = _csv(folder / "persons-by-module.csv")
    assert rows[0] == ["module", "acme", "others", "Total"]
    html = sample_reports.html("partner_summary", "acme", "en")
    assert ">partner acme<" in html and ">other partners<" in html
    truth = _activity(sample_store)
    groups = [
        truth.filter(pl.col("partner") == "acme"),
        truth.filter(pl.col("partner") != "acme"),
        truth,
    ]
    shown = 0
    for row in rows[1:]:
        module = row[0]
        for text, group in zip(row[1:], groups, strict=True):
            cell = group if module == "Total" else group.filter(pl.col("module") == module)
            if text != "x":
                assert int(text) == cell["person"].n_unique(), (module, text)
                shown += 1
    assert shown >= 10, "the sample is big enough to show most of the table"
    medians = _csv(folder / "persons-per-organisation.csv")
    assert [row[0] for row in medians[1:]] == ["acme", "others", "Total"]
    assert "Share of active persons using each module" in html


def test_a_small_partner_sees_its_cells_hidden_not_the_others_numbers(sample_reports) -> None:
    folder = sample_reports["partner_summary", "vistula", "pl"].folder
    rows = _csv(folder / "persons-by-module.csv")
    own = [row[1] for row in rows[1:]]
    assert set(own) <= {"x", "0"}, "a partner of four persons gets no cell of its own"
    assert rows[-1][-1] != "x", "the whole service's total is still shown"


def test_no_planted_identifier_reaches_any_report(sample_reports) -> None:
    truth = json.loads((SAMPLE / "truth.json").read_text(encoding="utf-8"))
    planted = sorted({value for values in truth["planted"].values() for value in values})
    assert len(planted) > 500
    for root in sample_reports.roots.values():
        texts = texts_in(root)  # report folders, and the private work folders too
        assert len(texts) > 40
        # One search over everything; a hit is then located file by file.
        assert leaks("\n".join(texts.values()), planted) == [], leaks(texts, planted)


def test_the_review_notebook_runs_on_a_report_in_both_languages(
    sample_reports, sample_store, tmp_path
) -> None:
    folder = sample_reports["partner_summary", "acme", "pl"].folder
    verdicts = (
        ("pl", "Werdykt (partner_summary, acme, 2026-10): raport może"),
        ("en", "Verdict (partner_summary, acme, 2026-10): the report may"),
    )
    for language, verdict in verdicts:
        executed = run_review(
            folder, tmp_path / f"review-{language}.ipynb", language=language,
            store_path=sample_store,
        )  # fmt: skip
        notebook = nbformat.read(executed, as_version=4)
        outputs = [o for cell in notebook.cells for o in cell.get("outputs", [])]
        assert not [o for o in outputs if o.get("output_type") == "error"]
        text = json.dumps(outputs, ensure_ascii=False)
        assert verdict in text
        assert "persons-by-module" in text
    with pytest.raises(ReportError, match="must not be written into the report folder"):
        run_review(folder, folder / "review.ipynb")


def test_the_review_counts_hidden_cells_by_reason(sample_reports, sample_store) -> None:
    folder = sample_reports["partner_summary", "acme", "en"].folder
    review = review_report(folder, store=sample_store)
    assert review.passed and review.full_records, review.verdict("en")
    assert review.leak_findings == ()
    if review.gate_tables is not None:  # the gate recomputed every table from the store
        assert all(t.store_checked and t.failures == 0 for t in review.gate_tables)
    for table in review.tables:
        assert table.primary + table.secondary == table.hidden, table.name
        assert sum(table.reasons.values()) >= table.hidden  # a cell may fail several rules
        if table.hidden:
            assert table.intervals is not None and table.intervals.unsafe == 0
    reasons = review.reasons_frame("en")
    assert {"threshold", "secondary"} <= set(reasons.columns)
    assert review.verdict("en").startswith(
        "Verdict (partner_summary, acme, 2026-10): the report may be released"
    )


def test_a_review_without_the_store_is_not_a_pass(sample_reports, tmp_path) -> None:
    folder = sample_reports["partner_summary", "acme", "en"].folder
    review = review_report(folder)
    assert not review.passed
    assert "NOT VERIFIED" in review.verdict("en") and "may be released" not in review.verdict("en")
    executed = run_review(folder, tmp_path / "review.ipynb", language="en")
    assert "NOT VERIFIED" in executed.read_text(encoding="utf-8")


def test_a_report_made_from_another_store_is_named_so(sample_reports, tmp_path) -> None:
    # Another store: the same access logs, none of the CRM exports the report was made from.
    other = demo_config(tmp_path / "other-store")
    assert all(r.ok for r in ingest_generated(other, SecretKey(secrets.token_bytes(32)), SAMPLE))
    folder = sample_reports["partner_summary", "acme", "en"].folder
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["input_catalog_ids"], "the runner fills them from the store"
    review = review_report(folder, store=Store(other.store_path))
    assert not review.passed
    findings = [f for f in review.gate_findings or () if f.severity == "fail"]
    assert [f.kind for f in findings] == ["other-store"]
    assert "this report was not made from this store" in findings[0].detail
    assert review.verdict("en") == (
        "Verdict (partner_summary, acme, 2026-10): the report must NOT be released: this report "
        "was not made from this store (its tables were not recomputed)."
    )


def test_the_review_fails_a_tampered_or_leaking_report(sample_reports, tmp_path) -> None:
    source = sample_reports["partner_summary", "acme", "en"].folder
    tampered = shutil.copytree(source, tmp_path / "partner_summary" / "acme" / PERIOD / "en")
    csv_file = tampered / "persons-by-module.csv"
    csv_file.write_text(csv_file.read_text(encoding="utf-8-sig").replace(",x,", ",3,", 1))
    html = tampered / "report.html"
    html.write_text(
        html.read_text(encoding="utf-8").replace(
            "</main>", "<p>zofia.kanarek@example.pl</p></main>"
        )
    )
    review = review_report(tampered)
    assert not review.passed
    assert not review.full_records, "a copied folder has no work folder beside it"
    assert "persons-by-module.csv: SHA-256 differs from manifest.json" in review.file_problems
    found = [*review.leak_findings, *(review.gate_findings or ())]
    assert any(str(getattr(f, "kind", "")) == "email" for f in found)
    verdict = review.verdict("en")
    assert verdict.startswith("Verdict (partner_summary, acme, 2026-10): the report must NOT")
    assert "zofia" not in verdict and "zofia" not in review.findings_frame("en").to_string()


def test_a_misspelt_parameter_fails_before_any_kernel_starts(tmp_path, sample_store) -> None:
    options = {"out_root": tmp_path, "store_path": sample_store,
               "notebooks_dir": REPORT_NOTEBOOKS}  # fmt: skip
    with pytest.raises(ParameterError, match="did you mean 'partner'"):
        run_report("partner_summary", params={"partnr": "acme", "period": PERIOD}, **options)
    with pytest.raises(ParameterError, match="needs parameter 'partner'"):
        run_report("partner_summary", params={"period": PERIOD}, **options)
    with pytest.raises(ParameterError, match="not both"):
        run_report(
            "crm_activity_report",
            params={"period": PERIOD, "start": "2026-10-01", "end": "2026-10-02"},
            **options,
        )
    with pytest.raises(ParameterError, match="a month written YYYY-MM"):
        run_report("partner_summary", text_params={"partner": "acme", "period": "10/2026"},
                   **options)  # fmt: skip
    with pytest.raises(ParameterError, match="rules_profile"):
        run_report(
            "partner_summary",
            params={"partner": "acme", "period": PERIOD, "rules_profile": "nonexistent"},
            **options,
        )
    assert list(tmp_path.iterdir()) == [], "nothing ran, nothing was written"


def test_a_report_over_days_takes_start_and_end(tmp_path, sample_store) -> None:
    output = run_report(
        "crm_activity_report",
        params={"start": "2026-10-02", "end": "2026-10-03", "language": "en"},
        out_root=tmp_path,
        store_path=sample_store,
        notebooks_dir=REPORT_NOTEBOOKS,
    )
    assert (
        output.folder == tmp_path / "crm_activity_report" / "all" / "2026-10-02_2026-10-03" / "en"
    )
    for table in _manifest(output.folder)["tables"]:
        # Cohort tables look back over the year up to the days; every table ends with them.
        year = table["name"] in ("registrations-by-month", "active-persons-by-cohort")
        assert table["record"]["query"]["start"] == ("2025-11-01" if year else "2026-10-02")
        assert table["record"]["query"]["end"] == "2026-10-03"


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        ("partner_summary", {"partner": "acme"}, "no store at .*empty-store"),
        ("traffic_report", {}, "no store at .*empty-store"),
    ],
)
def test_a_report_without_a_store_fails_before_a_kernel_starts(
    tmp_path, name, params, message
) -> None:
    with pytest.raises(NoDataError, match=message) as caught:
        run_report(name, params={**params, "period": PERIOD}, out_root=tmp_path / "reports",
                   store_path=tmp_path / "empty-store", notebooks_dir=REPORT_NOTEBOOKS)  # fmt: skip
    assert caught.value.exit_code == 2
    assert not (tmp_path / "reports").exists()


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        ("partner_summary", {"partner": "acme_", "period": PERIOD}, "did you mean 'acme'"),
        ("crm_activity_report", {"partner": "acmee", "period": PERIOD}, "did you mean 'acme'"),
        ("traffic_report", {"partner": "nordik", "period": PERIOD}, "did you mean 'nordic'"),
        ("partner_summary", {"partner": "acme", "period": "2031-01"},
         "holds no CRM records from 2031-01-01 to 2031-01-31 .it holds 20"),
        ("traffic_report", {"start": "2026-11-01", "end": "2026-11-05"},
         "holds no access logs from 2026-11-01 to 2026-11-05 .it holds 2026-09-30 to 2026-10-03"),
        ("traffic_report", {}, "needs a 'period'"),
    ],
)  # fmt: skip
def test_a_partner_or_period_without_data_fails_before_a_kernel_starts(
    tmp_path, sample_store, monkeypatch, name, params, message
) -> None:
    from privstats.report import runner

    monkeypatch.setattr(runner, "_execute", lambda *a, **k: pytest.fail("must not run"))
    with pytest.raises((NoDataError, ParameterError), match=message) as caught:
        run_report(name, params=params, out_root=tmp_path, store_path=sample_store,
                   notebooks_dir=REPORT_NOTEBOOKS)  # fmt: skip
    assert caught.value.exit_code == 2
    assert list(tmp_path.iterdir()) == []


def test_a_partner_without_records_gets_a_report_that_says_so(tmp_path, sample_store) -> None:
    # "nobody" has rules of its own in the configuration, and no records in the store.
    settings = tmp_path / "privstats.toml"
    settings.write_text("[disclosure.partners.nobody]\nthreshold = 12\n", encoding="utf-8")
    output = run_report(
        "partner_summary",
        params={"partner": "nobody", "period": PERIOD, "language": "en"},
        out_root=tmp_path / "reports",
        store_path=sample_store,
        notebooks_dir=REPORT_NOTEBOOKS,
        config=load_config(settings),
    )
    assert _manifest(output.folder)["rules"]["threshold"] == 12
    html = (output.folder / "report.html").read_text(encoding="utf-8")
    assert "No one was active in any organisation of partner nobody" in html
    assert _csv(output.folder / "persons-by-module.csv")[0] == ["module", "others", "Total"]


def test_the_explore_notebook_shows_its_chart_as_a_picture_and_no_solver_banner(
    sample_reports,
) -> None:
    executed = nbformat.read(sample_reports["explore", None, "en"].executed_notebook, 4)
    [plot] = [c for c in executed.cells if "plot" in c.metadata.get("tags", [])]
    assert any("image/svg+xml" in output.get("data", {}) for output in plot.outputs)
    printed = json.dumps([c.get("outputs", []) for c in executed.cells])
    assert "HiGHS" not in printed and "<Figure size" not in printed
