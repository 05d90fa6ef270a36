"""CSV files carry the suppression markers and cannot run as spreadsheet formulas."""

from __future__ import annotations

import csv

import pytest

from privstats.report.csvout import ENCODING, csv_text, neutralise, write_csv
from privstats.report.table import Cell, CellState, ReportTable


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("=1+2", "'=1+2"),
        ('=HYPERLINK("http://example.invalid")', '\'=HYPERLINK("http://example.invalid")'),
        ("+41 22", "'+41 22"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("-5", "-5"),
        ("-1.25", "-1.25"),
        ("Firefox", "Firefox"),
        ("a=b", "a=b"),
        ("", ""),
    ],
)
def test_neutralise(text: str, expected: str) -> None:
    assert neutralise(text) == expected


def _table() -> ReportTable:
    value, text = CellState.VALUE, CellState.TEXT
    return ReportTable(
        name="referers",
        title="Referring domains",
        columns=(("visitors",), ("note",)),
        rows=(("=cmd|' /C calc'!A0",), ("-2+3",), ("example.org",), ("Łódź",)),
        cells=(
            (Cell(value, -5), Cell(text, "@evil")),
            (Cell(value, 1234.5), Cell(text, "<10")),
            (Cell(CellState.HIDDEN), Cell(CellState.MISSING)),
            (Cell(value, 12), Cell(text, "ok")),
        ),
        record={},
        status="suppressed",
        row_names=("domain",),
    )


def test_the_csv_file_is_safe_and_keeps_numbers_numeric(tmp_path) -> None:
    path = write_csv(_table(), tmp_path)
    assert path == tmp_path / "referers.csv"
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # the byte-order mark spreadsheets need for UTF-8
    with path.open(encoding=ENCODING, newline="") as stream:
        rows = list(csv.reader(stream))
    assert rows == [
        ["domain", "visitors", "note"],
        ["'=cmd|' /C calc'!A0", "-5", "'@evil"],
        ["'-2+3", "1234.5", "<10"],
        ["example.org", "x", "."],
        ["Łódź", "12", "ok"],
    ]
    for row in rows:
        for value in row:
            assert not value.startswith(("=", "+", "@", "\t", "\r")), value
            assert not value.startswith("-") or value.lstrip("-").replace(".", "").isdigit()


def test_the_line_ends_are_crlf_as_rfc_4180_says() -> None:
    text = csv_text(_table())
    assert text.count("\r\n") == 5
    assert "\n" not in text.replace("\r\n", "")


def test_the_report_csv_files_are_protected(tiny_en) -> None:
    with (tiny_en.folder / "browsers.csv").open(encoding=ENCODING, newline="") as stream:
        rows = list(csv.reader(stream))
    labels = [row[0] for row in rows[1:]]
    assert '\'=HYPERLINK("http://example.invalid/x")' in labels
    assert "'-2+3" in labels
    assert "<script>alert(1)</script>" in labels  # text in a CSV; no spreadsheet runs it
    by_label = {row[0]: row[1:] for row in rows}
    assert by_label["<script>alert(1)</script>"][0] == "x"
    assert by_label['\'=HYPERLINK("http://example.invalid/x")'][0] == "-5"
    assert by_label["Firefox"] == ["1234567", "<10", "1234.5"]
    with (tiny_en.folder / "hours.csv").open(encoding=ENCODING, newline="") as stream:
        header = next(csv.reader(stream))
    assert header == [
        "hour",
        "desktop / hits",
        "desktop / visitors",
        "mobile / hits",
        "mobile / visitors",
    ]
