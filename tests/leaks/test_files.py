"""File types: sniffing, CSV cells, JSON pointers, notebooks, encodings, unreadable files."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import nbformat
import pytest
from leaks.planted import EMAIL, IP, NAME, TRACEBACK, minimal_png, text_chunk

from privstats.leaks import CanarySet, Finding, Kind, LeakScanner
from privstats.leaks.files import sniff
from privstats.leaks.pieces import FileType


def scan(data: bytes | str, name: str, canaries: CanarySet | None = None) -> list[Finding]:
    raw = data.encode("utf-8") if isinstance(data, str) else data
    return LeakScanner(canaries).scan_bytes(raw, name)


def places(findings: list[Finding]) -> list[tuple[Kind, str]]:
    return [(f.kind, f.location) for f in findings]


@pytest.mark.parametrize(
    ("name", "head", "expected"),
    [
        ("r.html", b"<!DOCTYPE html><p>", FileType.HTML),
        ("noext", b"  <!doctype html>", FileType.HTML),
        ("c.svg", b"<?xml version='1.0'?><svg/>", FileType.SVG),
        ("t.csv", b"a,b\n1,2\n", FileType.CSV),
        ("n.ipynb", b"{}", FileType.JSON),
        ("data", b'{"a": 1}', FileType.JSON),
        ("chart.bin", minimal_png(), FileType.PNG),
        ("notes", b"just text", FileType.TEXT),
        ("a.js", b"alert(1)", FileType.SCRIPT),
        ("photo.jpg", b"\xff\xd8\xff\xe0rest", FileType.BINARY),
        ("report.pdf", b"%PDF-1.7", FileType.BINARY),
        ("x.csv", b"\x00\x01\x02binary", FileType.BINARY),
    ],
)
def test_types_come_from_content_first_then_the_name(
    name: str, head: bytes, expected: FileType
) -> None:
    assert sniff(name, head) is expected


def test_a_binary_file_not_understood_is_a_finding_not_a_pass() -> None:
    (finding,) = scan(b"\xff\xd8\xff\xe0" + b"\0" * 100, "photo.jpg")
    assert (finding.kind, finding.note) == (Kind.UNSCANNABLE, "a JPEG image: cannot be checked")
    assert str(finding) == "photo.jpg:file: unscannable — a JPEG image: cannot be checked"


def test_a_script_file_is_a_script() -> None:
    assert [f.kind for f in scan("console.log('x')", "a.js")] == [Kind.SCRIPT]


def test_a_css_file_is_checked_for_references() -> None:
    findings = scan("@font-face { src: url(fonts/lato.woff2) }", "style.css")
    assert places(findings) == [(Kind.EXTERNAL_RESOURCE, "1:23")]


def test_csv_cells_are_located_by_row_and_column() -> None:
    csv = f'\ufeffbrowser;visitors\r\nChrome;1200\r\n"{NAME}; et al.";{IP}\r\n'
    canaries = CanarySet.build([NAME], b"k" * 32)
    assert places(scan(csv, "t.csv", canaries)) == [
        (Kind.CANARY, "row 3, col 1"), (Kind.IPV4, "row 3, col 2"),
    ]  # fmt: skip


def test_a_csv_measure_column_passing_checksums_by_chance_is_clean() -> None:
    rows = ["day,bytes"] + [f"{d},{5261040828 + d * 1_000_003}" for d in range(30)]
    rows.append("30,5261040828")  # NIP-valid, alone among measures
    assert scan("\n".join(rows), "t.csv") == []


def test_a_csv_column_of_identifiers_is_reported_whatever_its_header() -> None:
    rows = ["organisation,count"] + [
        f"{nip},12" for nip in ("5261040828", "7251801126", "1132191233")
    ]
    assert places(scan("\n".join(rows), "t.csv")) == [
        (Kind.NIP, "row 2, col 1"), (Kind.NIP, "row 3, col 1"), (Kind.NIP, "row 4, col 1"),
    ]  # fmt: skip


def test_a_csv_column_named_after_an_identifier_is_reported_for_one_value() -> None:
    assert places(scan("phone,count\n512345678,3\n", "t.csv")) == [(Kind.PHONE, "row 2, col 1")]
    assert places(scan("nip,count\n5261040828,3\n", "t.csv")) == [(Kind.NIP, "row 2, col 1")]


def test_json_values_and_keys_are_located_by_pointer() -> None:
    document = {"tables": [{"title": f"From {IP}", "rows": [1, 2]}], EMAIL: True}
    assert places(scan(json.dumps(document), "m.json")) == [
        (Kind.IPV4, "/tables/0/title"), (Kind.EMAIL, "/ (key 2)"),
    ]  # fmt: skip


def test_manifest_checksums_and_versions_are_not_alarms() -> None:
    document = {
        "software": {"privstats": "1.2.3.4", "python": "3.11.7"},
        "version": "10.0.0.1",
        "files": {"report.html": "ab" * 32},
        "record": {"checksum": "0123456789abcdef0123456789abcdef"},
        "commit": "6607cc3a2b9f0e1d4c5b6a7f8e9d0c1b2a3f4e5d",
    }
    assert scan(json.dumps(document), "manifest.json") == []
    assert [f.kind for f in scan(json.dumps({"note": "10.0.0.1"}), "m.json")] == [Kind.IPV4]


def test_json_numbers_in_a_measure_are_not_identifiers() -> None:
    document = {"rows": [{"bytes": 5261040828 + i * 1_000_003} for i in range(20)]}
    assert scan(json.dumps(document), "t.json") == []
    ids = {"rows": [{"nip": n} for n in (5261040828, 7251801126)]}
    assert places(scan(json.dumps(ids), "t.json")) == [
        (Kind.NIP, "/rows/0/nip"), (Kind.NIP, "/rows/1/nip"),
    ]  # fmt: skip


def test_invalid_json_is_scanned_as_text() -> None:
    assert places(scan('{"a": "' + EMAIL, "broken.json")) == [(Kind.EMAIL, "1:8")]


def test_every_part_of_a_notebook_is_scanned(tmp_path: Path) -> None:
    png = base64.b64encode(minimal_png(text_chunk("Comment", f"by {IP}"))).decode()
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["papermill"] = {"parameters": {"contact": EMAIL}}
    notebook.cells = [
        nbformat.v4.new_code_cell(
            "show()",
            outputs=[
                nbformat.v4.new_output("display_data", data={"image/png": png}),
                nbformat.v4.new_output(
                    "display_data", data={"text/html": "<script>x()</script><p>ok</p>"}
                ),
                nbformat.v4.new_output(
                    "error", ename="ValueError", evalue="bad", traceback=TRACEBACK.split("\n")
                ),
            ],
        ),
        nbformat.v4.new_markdown_cell(f"Prepared for\n{NAME}\n"),
    ]
    path = tmp_path / "executed.ipynb"
    nbformat.write(notebook, path)
    canaries = CanarySet.build([NAME], b"k" * 32)
    found = places(LeakScanner(canaries).scan_path(path))
    assert (Kind.EMAIL, "/metadata/papermill/parameters/contact") in found
    assert (Kind.IPV4, "/cells/0/outputs/0/data/image~1png > tEXt chunk 'Comment'") in found
    assert (Kind.SCRIPT, "/cells/0/outputs/1/data/text~1html > 1:1 <script>") in found
    assert (Kind.TRACEBACK, "/cells/0/outputs/2") in found
    assert (Kind.TRACEBACK, "/cells/0/outputs/2/traceback/0") in found
    assert (Kind.CANARY, "/cells/1/source/1") in found


def test_a_notebook_traceback_in_terminal_colours_is_found() -> None:
    coloured = (
        "\x1b[0;31mValueError\x1b[0m    Traceback (most recent call last)\n"
        'File \x1b[0;32m"/tmp/x.py"\x1b[0m, line \x1b[0;32m3\x1b[0m'
    )
    text = json.dumps({"outputs": [{"text": coloured}]})
    assert [f.kind for f in scan(text, "n.json")] == [Kind.TRACEBACK]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16", "cp1250"])
def test_text_in_any_usual_encoding_is_read(encoding: str) -> None:
    text = f"Łódź, zażółć: {EMAIL}\n"
    assert places(scan(text.encode(encoding), "notes.txt")) == [(Kind.EMAIL, "1:15")]


def test_an_empty_file_is_clean() -> None:
    assert scan(b"", "empty.csv") == []
