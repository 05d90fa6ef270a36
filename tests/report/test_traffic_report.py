"""notebooks/traffic_report.ipynb runs through papermill on the synthetic sample, in both
languages, and no identifier of the raw logs reaches its report folder."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import pytest

from privstats.report import run_report
from privstats.report.manifest import verify_manifest

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "data" / "sample"
TABLES = {
    "visitors-by-day", "requests-by-resource", "requests-by-weekday-hour", "top-pages",
    "entry-pages", "response-time-median", "response-time-p90", "top-pages-response-time",
    "status-classes", "status-codes", "not-found-pages", "server-error-pages",
    "bandwidth-by-day", "channels", "referring-sites", "browsers", "operating-systems",
    "devices", "crawlers",
}  # fmt: skip
# Codes the store keeps and the CSV files show, which report.html must name in its language
# (in English some names are the codes themselves: "desktop").
RAW_CODES = ("Other<", "(none)<", ">median<", ">page<", ">asset<", ">referral<", ">2xx<", "µs")
POLISH_ONLY = (">bot<", ">desktop<", ">mobile<", ">direct<", ">search<")


@pytest.fixture(scope="module")
def store(sample_store) -> Path:
    """The sample's store, shared with the other report notebooks' tests."""
    return sample_store


@pytest.fixture(scope="module", params=["pl", "en"])
def report(request, sample_reports):
    return sample_reports["traffic_report", None, request.param]


def _raw_identifiers() -> set[str]:
    """Client addresses and e-mail addresses as they stand in the raw sample logs."""
    found: set[str] = set()
    for path in (SAMPLE / "access").rglob("*"):
        if not path.is_file():
            continue
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
        text = raw.decode("latin-1")
        found |= set(re.findall(r"^(\d{1,3}(?:\.\d{1,3}){3}|[0-9a-f:]*:[0-9a-f:]+)\s", text, re.M))
        found |= set(re.findall(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", text))
    return found


def test_every_table_is_published_and_protected(report) -> None:
    manifest = json.loads((report.folder / "manifest.json").read_text(encoding="utf-8"))
    tables = {t["name"]: t for t in manifest["tables"]}
    # A table that cannot be protected with the others is withheld, and says so in its place.
    assert set(tables) <= TABLES and len(tables) >= len(TABLES) - 3
    assert all(t["status"] in ("pass", "suppressed") for t in tables.values())
    assert all(t["record"]["rules"]["threshold"] == 10 for t in tables.values())
    assert any(t["hidden_cells"] > 0 for t in tables.values())
    assert manifest["covered"] == ["2026-10-01", "2026-10-03"]
    assert verify_manifest(report.folder) == []


def test_every_table_has_its_chart_first_and_its_numbers_folded(report) -> None:
    html = (report.folder / "report.html").read_text(encoding="utf-8")
    tables = html.count('<table class="data"')
    assert tables >= len(TABLES) - 3
    assert html.count('<figure class="chart">') == tables == html.count("<details>")
    assert '<section class="headline"' in html


def test_the_weekdays_and_hours_run_in_natural_order(report) -> None:
    path = report.folder / "requests-by-weekday-hour.csv"
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    assert lines[0].split(",") == ["weekday", *(str(h) for h in range(24))]
    assert [line.split(",")[0] for line in lines[1:]] == ["4", "5", "6"]  # 1-3 Oct 2026


def test_no_raw_code_is_shown_but_the_csv_keeps_them(report) -> None:
    html = (report.folder / "report.html").read_text(encoding="utf-8")
    polish = 'lang="pl"' in html
    assert [code for code in RAW_CODES + POLISH_ONLY * polish if code in html] == []
    assert "page" in (report.folder / "requests-by-resource.csv").read_text(encoding="utf-8")


def test_the_header_names_the_days_the_data_covers(report) -> None:
    html = (report.folder / "report.html").read_text(encoding="utf-8")
    assert "(3 z 31 dni)" in html or "(3 of 31 days)" in html


def test_no_identifier_of_the_raw_logs_reaches_the_report(report) -> None:
    identifiers = _raw_identifiers()
    assert len(identifiers) > 50  # the canaries are there to be found
    for path in report.folder.iterdir():
        text = path.read_text(encoding="utf-8-sig")
        leaked = [value for value in identifiers if value in text]
        assert leaked == [], path.name


def test_the_report_is_in_its_language(report) -> None:
    html = (report.folder / "report.html").read_text(encoding="utf-8")
    if 'lang="pl"' in html:
        assert "<h1>Ruch w serwisie</h1>" in html and "Roboty indeksujące" in html
        assert ">odsłony stron<" in html and "odwiedzający-dni" in html
    else:
        assert "<h1>Website traffic</h1>" in html and "Crawlers" in html
        assert ">page views<" in html and "visitor-days" in html


def test_a_partners_copy_says_it_holds_the_whole_services_traffic(store, tmp_path) -> None:
    output = run_report(
        "traffic_report",
        params={"partner": "acme", "start": "2026-10-01", "end": "2026-10-02", "language": "en"},
        out_root=tmp_path,
        store_path=store,
        notebooks_dir=REPO / "notebooks",
    )
    assert output.folder == tmp_path / "traffic_report" / "acme" / "2026-10-01_2026-10-02" / "en"
    html = (output.folder / "report.html").read_text(encoding="utf-8")
    assert "The figures cover the whole service, not partner acme&#39;s organisations" in html
    assert ">Prepared for<" in html and ">Partner<" not in html
