"""The report notebooks in DP mode: every count published with noise and its margin of error,
the guarantee said in the report's language, statistics DP cannot answer left out, the budget
charged when the report is released, and the partner's setting choosing the method."""

from __future__ import annotations

import csv
import dataclasses
import json
from pathlib import Path

import pytest

from privstats.config import load_config
from privstats.dp.budget import BudgetLedger, spending
from privstats.gate import audit_path, release
from privstats.protect import Method
from privstats.report.plan import report_plan

NOISY = {
    "visitors-by-day", "requests-by-resource", "requests-by-weekday-hour", "top-pages",
    "status-classes", "bandwidth-by-day", "channels", "browsers", "devices",
}  # fmt: skip


def _manifest(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text(encoding="utf-8"))


def test_every_table_of_a_dp_traffic_report_is_noisy_with_its_margin_of_error(
    dp_reports: dict[str, Path],
) -> None:
    folder = dp_reports["traffic_report"]
    tables = _manifest(folder)["tables"]
    # Percentiles (one request's time) are left out; a table whose keys come from the data
    # (pages, browsers) may select none on the sample's three days and then says so instead.
    assert NOISY - {"top-pages", "browsers"} <= {t["name"] for t in tables} <= NOISY
    html = (folder / "report.html").read_text(encoding="utf-8")
    for table in tables:
        noise = table["record"]["protection"]["dp"]
        assert table["record"]["method"] == "dp" and table["hidden_cells"] == 0
        assert noise["margin_of_error_95"] > 0 and "seed" not in json.dumps(noise)
        assert f"within ±{noise['margin_of_error_95']}" in html.replace(",", "")  # 1,234
        with (folder / table["file"]).open(encoding="utf-8-sig") as file:
            values = [row[-1] for row in list(csv.reader(file))[1:]]
        assert all(v.isdigit() for v in values)  # whole, non-negative numbers
        # Keys of a public key space are all there; keys from the data pass DP selection.
        assert values or table["name"] in {"browsers", "top-pages", "channels"}
    assert "Tables with noise are protected by differential privacy" in html
    assert "Response times are not published with noise" in html
    assert "the report shows its core views only" in html
    assert "Hidden cells" not in html


def test_a_dp_partner_summary_says_what_the_guarantee_means_in_polish(
    dp_reports: dict[str, Path],
) -> None:
    folder = dp_reports["partner_summary"]
    html = (folder / "report.html").read_text(encoding="utf-8")
    assert "Tabele z szumem chroni prywatność różnicowa" in html
    assert "z prawdopodobieństwem 95% prawdziwa wartość różni się od pokazanej" in html
    assert "Mediany nie są publikowane z szumem" in html
    names = {t["name"] for t in _manifest(folder)["tables"]}
    assert "persons-by-module" in names and "persons-per-organisation" not in names


def test_releasing_a_dp_report_charges_its_budget_and_the_audit_shows_it(
    dp_reports: dict[str, Path], sample_store: Path, tmp_path: Path
) -> None:
    released = tmp_path / "released"
    folder = dp_reports["traffic_report"]
    audited = audit_path(folder, store=sample_store, ledger=released)
    assert audited.passed, audited.findings
    assert any(line.startswith("visitor-day/2026-10-01: spent ρ = 0") for line in audited.budget)
    release(folder, "Anna Nowak", released_root=released, store=sample_store)
    spent = spending(BudgetLedger(released), load_config().dp).accounts
    # ρ = 0.005 for each table released (nine at most) on each day of October: within 0.05.
    tables = len(_manifest(folder)["tables"])
    assert spent["visitor-day/2026-10-15"].rho == pytest.approx(tables * 0.005)
    again = audit_path(folder, store=sample_store, ledger=released)
    spent_text = f"{tables * 0.005:g}"
    assert any(f"visitor-day/2026-10-15: spent ρ = {spent_text}" in line for line in again.budget)


def test_a_partner_listed_under_dp_gets_dp_reports_unless_asked_otherwise(
    sample_store: Path,
) -> None:
    config = load_config()
    config = dataclasses.replace(config, dp=dataclasses.replace(config.dp, partners=("acme",)))
    ask = {"period": "2026-10", "store_path": sample_store, "config": config}
    assert report_plan(partner="acme", **ask).method is Method.DP
    assert report_plan(partner="vistula", **ask).method is Method.SUPPRESS
    assert report_plan(partner="acme", method="suppress", **ask).method is Method.SUPPRESS
    with pytest.raises(Exception, match="'suppress' or 'dp'"):
        report_plan(partner="acme", method="round", **ask)
