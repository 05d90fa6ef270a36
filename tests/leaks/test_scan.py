"""The scanner over whole report folders: a clean report passes, every planted leak is caught."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from leaks.planted import (
    EMAIL,
    IP,
    NAME,
    TRACEBACK,
    USER_AGENT,
    daily_csv,
    minimal_png,
    report_html,
    text_chunk,
)

from privstats.exceptions import InputError
from privstats.leaks import CanarySet, Finding, Kind, LeakScanner, scan_path


def kinds(findings: list[Finding]) -> set[Kind]:
    return {finding.kind for finding in findings}


def assert_redacted(findings: list[Finding], planted: str) -> None:
    """No finding, printed or serialised, gives the planted value back."""
    for finding in findings:
        assert planted not in str(finding)
        assert planted not in json.dumps(finding.to_dict(), ensure_ascii=False)


def test_a_clean_report_folder_has_no_finding(clean_report: Path, canaries: CanarySet) -> None:
    assert sorted(p.name for p in clean_report.iterdir()) == [
        "browsers.png", "browsers.svg", "daily.csv", "daily.xlsx", "manifest.json", "report.html",
    ]  # fmt: skip
    assert scan_path(clean_report, canaries) == []


def test_a_single_clean_file_can_be_scanned(clean_report: Path) -> None:
    assert scan_path(clean_report / "report.html") == []


def test_a_missing_path_is_a_one_line_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="nothing to scan"):
        scan_path(tmp_path / "absent")


# --- mutations: each planted leak, alone, must fail the scan --------------------------------

Mutation = Callable[[Path, str, bytes], None]


def _in_html(extra: str) -> Mutation:
    def mutate(folder: Path, svg: str, png: bytes) -> None:
        (folder / "report.html").write_text(report_html(svg, png, extra), encoding="utf-8")

    return mutate


def _in_csv(*cells: str) -> Mutation:
    def mutate(folder: Path, svg: str, png: bytes) -> None:
        (folder / "daily.csv").write_text(daily_csv(list(cells)), encoding="utf-8")

    return mutate


def _in_manifest(key: str, value: str) -> Mutation:
    def mutate(folder: Path, svg: str, png: bytes) -> None:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        manifest["parameters"] = {key: value}
        (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")

    return mutate


def _in_png(keyword: str, value: str) -> Mutation:
    def mutate(folder: Path, svg: str, png: bytes) -> None:
        (folder / "browsers.png").write_bytes(minimal_png(text_chunk(keyword, value)))

    return mutate


def _in_workbook_property(value: str) -> Mutation:
    def mutate(folder: Path, svg: str, png: bytes) -> None:
        import openpyxl

        workbook = openpyxl.load_workbook(folder / "daily.xlsx")
        workbook.properties.lastModifiedBy = value
        workbook.save(folder / "daily.xlsx")

    return mutate


MUTATIONS = {
    "ip in a table cell": (_in_html(f"<table><tr><td>{IP}</td></tr></table>"), IP, Kind.IPV4),
    "e-mail in a paragraph": (_in_html(f"<p>Kontakt: {EMAIL}</p>"), EMAIL, Kind.EMAIL),
    "canary name in a heading": (_in_html(f"<h2>{NAME}</h2>"), NAME, Kind.CANARY),
    "raw user agent in a cell": (
        _in_html(f"<table><tr><td>{USER_AGENT}</td></tr></table>"),
        USER_AGENT,
        Kind.USER_AGENT,
    ),
    "traceback in a pre": (_in_html(f"<pre>{TRACEBACK}</pre>"), TRACEBACK, Kind.TRACEBACK),
    "external script": (
        _in_html('<script src="https://cdn.example.net/require.js"></script>'),
        "https://cdn.example.net/require.js",
        Kind.EXTERNAL_RESOURCE,
    ),
    "inline script": (_in_html("<script>var seen = 1;</script>"), "var seen", Kind.SCRIPT),
    "external stylesheet": (
        _in_html('<link rel="stylesheet" href="https://fonts.example.net/css?f=Lato">'),
        "https://fonts.example.net/css?f=Lato",
        Kind.EXTERNAL_RESOURCE,
    ),
    "ip in a csv cell": (_in_csv("2026-10-31", IP, "1", "2"), IP, Kind.IPV4),
    "e-mail in the manifest": (_in_manifest("contact", EMAIL), EMAIL, Kind.EMAIL),
    "canary in a png text chunk": (_in_png("Author", NAME), NAME, Kind.CANARY),
    "canary in a workbook property": (_in_workbook_property(EMAIL), EMAIL, Kind.EMAIL),
}


@pytest.mark.parametrize("name", MUTATIONS)
def test_each_planted_leak_fails_the_scan(
    name: str, clean_report: Path, chart_svg: str, chart_png: bytes, canaries: CanarySet
) -> None:
    mutate, planted, expected = MUTATIONS[name]
    mutate(clean_report, chart_svg, chart_png)
    # Patterns must find what they find without help; names need the canary set.
    findings = scan_path(clean_report, canaries if expected is Kind.CANARY else None)
    assert expected in kinds(findings), [str(f) for f in findings]
    assert_redacted(findings, planted)
    assert scan_path(clean_report, canaries), "the canary set must not hide a finding"


def test_a_planted_value_that_is_also_a_canary_is_one_finding(
    clean_report: Path, chart_svg: str, chart_png: bytes, canaries: CanarySet
) -> None:
    _in_html(f"<table><tr><td>{IP}</td></tr></table>")(clean_report, chart_svg, chart_png)
    assert [f.kind for f in scan_path(clean_report, canaries)] == [Kind.CANARY]
    assert [f.kind for f in scan_path(clean_report)] == [Kind.IPV4]


def test_an_external_script_is_both_a_script_and_an_external_resource(
    clean_report: Path, chart_svg: str, chart_png: bytes
) -> None:
    _in_html('<script src="https://cdn.example.net/require.js"></script>')(
        clean_report, chart_svg, chart_png
    )
    findings = scan_path(clean_report)
    assert kinds(findings) == {Kind.SCRIPT, Kind.EXTERNAL_RESOURCE}
    assert all(f.file == "report.html" for f in findings)
    assert all(f.location.endswith("<script>") or "<script src>" in f.location for f in findings)


def test_a_canary_name_is_found_only_with_the_canary_set(
    clean_report: Path, chart_svg: str, chart_png: bytes, canaries: CanarySet
) -> None:
    _in_html(f"<h2>{NAME}</h2>")(clean_report, chart_svg, chart_png)
    assert scan_path(clean_report) == []  # a name is not a pattern: only a canary finds it
    assert kinds(scan_path(clean_report, canaries)) == {Kind.CANARY}


def test_findings_point_at_the_place(tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    page.write_text(f"<html>\n<body>\n<p>seen from\n   {IP}</p>\n</body></html>\n")
    (finding,) = scan_path(page)
    assert (finding.file, finding.location, finding.kind) == ("page.html", "4:4", Kind.IPV4)
    assert str(finding).startswith("page.html:4:4: ipv4 20…(13 chars, #")


def test_a_folder_is_walked_with_hidden_files_and_subfolders(tmp_path: Path) -> None:
    (tmp_path / "tables").mkdir()
    (tmp_path / "tables" / "a.csv").write_text(f"x\n{EMAIL}\n")
    (tmp_path / ".notes.txt").write_text(f"call +48 512 345 678 or {IP}\n")
    findings = scan_path(tmp_path)
    assert [(f.file, f.kind) for f in findings] == [
        (".notes.txt", Kind.PHONE), (".notes.txt", Kind.IPV4), ("tables/a.csv", Kind.EMAIL),
    ]  # fmt: skip


def test_a_file_name_holding_an_identifier_is_a_finding_and_is_shown_redacted(
    tmp_path: Path,
) -> None:
    (tmp_path / f"{EMAIL}.csv").write_text("a,b\n1,2\n")
    (finding,) = scan_path(tmp_path)
    assert (finding.location, finding.kind) == ("file name", Kind.EMAIL)
    assert EMAIL not in finding.file and finding.file.endswith(".csv")


def test_a_json_key_holding_an_identifier_is_not_used_in_locations(tmp_path: Path) -> None:
    (tmp_path / "t.json").write_text(json.dumps({"rows": {EMAIL: {"note": f"via {IP}"}}}))
    findings = scan_path(tmp_path)
    assert [(f.location, f.kind) for f in findings] == [
        ("/rows (key 1)", Kind.EMAIL), ("/rows/{key 1}/note", Kind.IPV4),
    ]  # fmt: skip
    assert_redacted(findings, EMAIL)


def test_a_finding_stays_on_one_line_whatever_the_names_in_the_file(tmp_path: Path) -> None:
    (tmp_path / "t.json").write_text(json.dumps({"a\nb": {"note": f"via {IP}"}}))
    (finding,) = scan_path(tmp_path)
    assert finding.location == "/{key 1}/note" and "\n" not in str(finding)


def test_known_pseudonyms_are_found_as_printed_integers(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text("visitor,hits\n123456789012,5\n-98765432109,7\n")
    assert scan_path(tmp_path) == []
    findings = LeakScanner(pseudonyms={123456789012, -98765432109}).scan_path(tmp_path)
    assert [(f.location, f.kind) for f in findings] == [
        ("row 2, col 1", Kind.PSEUDONYM), ("row 3, col 1", Kind.PSEUDONYM),
    ]  # fmt: skip


def test_scan_text_reads_a_text_as_a_file_of_its_name() -> None:
    scanner = LeakScanner()
    assert kinds(scanner.scan_text(f"<p title='{IP}'>x</p>", "a.html")) == {Kind.IPV4}
    assert scanner.scan_text("<p>plain</p>", "a.html") == []
