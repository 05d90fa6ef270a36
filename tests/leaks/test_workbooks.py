"""XLSX workbooks: cells of every sheet, properties, comments, links, media and macros."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import openpyxl
from leaks.planted import EMAIL, IP, NAME, minimal_png, text_chunk
from openpyxl.comments import Comment

from privstats.leaks import CanarySet, Finding, Kind, LeakScanner


def scan(path: Path, canaries: CanarySet | None = None) -> list[Finding]:
    return LeakScanner(canaries).scan_path(path)


def workbook(path: Path) -> openpyxl.Workbook:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "daily"
    sheet.append(["day", "bytes", "note"])
    for day in range(1, 11):
        sheet.append([f"2026-10-{day:02d}", 5261040828 + day * 1_000_003, "ok"])
    return book


def test_a_clean_workbook_with_measures_passing_checksums_is_clean(tmp_path: Path) -> None:
    path = tmp_path / "t.xlsx"
    book = workbook(path)
    book.active.append(["2026-10-11", 5261040828, "ok"])  # passes NIP's checksum, a measure
    book.save(path)
    assert scan(path) == []


def test_cells_of_every_sheet_are_located(tmp_path: Path, canaries: CanarySet) -> None:
    path = tmp_path / "t.xlsx"
    book = workbook(path)
    book.active["C4"] = f"seen {IP}"
    hidden = book.create_sheet("archive")
    hidden.sheet_state = "hidden"
    hidden["B2"] = NAME
    book.save(path)
    assert [(f.kind, f.location) for f in scan(path, canaries)] == [
        (Kind.CANARY, "daily!C4"), (Kind.CANARY, "archive!B2"),
    ]  # fmt: skip


def test_a_column_of_identifiers_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "t.xlsx"
    book = openpyxl.Workbook()
    book.active.append(["PESEL", "count"])
    for pesel in (44051401359, 85121308536, 90031501238):
        book.active.append([pesel, 3])
    book.save(path)
    assert [(f.kind, f.location) for f in scan(path)] == [
        (Kind.PESEL, "Sheet!A2"), (Kind.PESEL, "Sheet!A3"), (Kind.PESEL, "Sheet!A4"),
    ]  # fmt: skip


def test_properties_comments_and_formulas_are_read(tmp_path: Path) -> None:
    path = tmp_path / "t.xlsx"
    book = workbook(path)
    book.properties.creator = EMAIL
    book.active["C2"].comment = Comment(f"checked with {IP}", "reviewer")
    book.active["C3"] = f'=HYPERLINK("https://x.example/?u={EMAIL}", "x")'
    book.save(path)
    found = [(f.kind, f.location) for f in scan(path)]
    assert (Kind.EMAIL, "document property creator") in found
    assert (Kind.IPV4, "part xl/comments/comment1.xml") in found
    assert (Kind.URL_QUERY, "daily!C3") in found
    assert all(EMAIL not in str(f) for f in scan(path))


def test_a_page_header_is_read_and_cells_are_not_read_twice(tmp_path: Path) -> None:
    path = tmp_path / "t.xlsx"
    book = workbook(path)
    book.active.oddHeader.center.text = f"Prepared for {EMAIL}"
    book.active["C5"] = f"seen {IP}"
    book.save(path)
    assert [(f.kind, f.location) for f in scan(path)] == [
        (Kind.IPV4, "daily!C5"), (Kind.EMAIL, "part xl/worksheets/sheet1.xml"),
    ]  # fmt: skip


def test_an_external_link_and_a_macro_project_are_reported(tmp_path: Path) -> None:
    path = tmp_path / "t.xlsx"
    book = workbook(path)
    book.active["C2"].hyperlink = "https://partner.example/page"
    book.save(path)
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("xl/vbaProject.bin", b"\xd0\xcf\x11\xe0 macro")
        archive.writestr("xl/media/image1.png", minimal_png(text_chunk("Author", f"by {IP}")))
    found = [(f.kind, f.location) for f in scan(path)]
    assert (Kind.EXTERNAL_LINK, "part xl/worksheets/_rels/sheet1.xml.rels") in found
    assert (Kind.SCRIPT, "part xl/vbaProject.bin") in found
    assert (Kind.IPV4, "part xl/media/image1.png > tEXt chunk 'Author'") in found


def test_a_damaged_workbook_is_unscannable(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("xl/workbook.xml", "<not xml")
    (tmp_path / "t.xlsx").write_bytes(buffer.getvalue())
    (finding,) = scan(tmp_path / "t.xlsx")
    assert finding.kind is Kind.UNSCANNABLE and finding.note.startswith("a damaged xlsx file")
