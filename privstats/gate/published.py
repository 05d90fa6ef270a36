"""A report folder as the gate reads it: the manifest, each table's CSV, the tables in the HTML.

The gate trusts none of it. It reads the CSV files the way a partner's spreadsheet would (UTF-8
with or without a byte-order mark, RFC 4180), undoes only the report's own formula-injection
prefix on labels, and keeps every cell's line and column so that findings can point at it
without quoting it. ``report.html``'s data tables are read too, so that the gate can hold the
page a partner reads to the same numbers as the CSV files it verifies.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from privstats.gate.findings import Check, GateFinding
from privstats.report.manifest import MANIFEST, Manifest, TableEntry
from privstats.report.table import CellState

HTML = "report.html"
_NUMBER = re.compile(r"^-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?$")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_TABLE_ID = re.compile(r"^data-([a-z0-9][a-z0-9_-]{0,63})$")
_SPACES = re.compile(r"[\s\u00a0\u202f\u2009]")


@dataclass(frozen=True, slots=True)
class PublishedCell:
    """A value cell of a published CSV: its state, its number or text, and where it is."""

    state: CellState
    value: float | str | None
    line: int  # 1-based line of the CSV file (the header is line 1)
    column: int  # 1-based column of the CSV file

    @property
    def location(self) -> str:
        return f"line {self.line}, col {self.column}"

    @property
    def number(self) -> float | None:
        return self.value if isinstance(self.value, float) else None


@dataclass(frozen=True)
class PublishedTable:
    """One table of a report folder: its manifest entry and its CSV, parsed."""

    name: str
    file: str  # relative to the report folder
    entry: TableEntry
    header: tuple[str, ...]
    label_columns: int
    labels: tuple[tuple[str, ...], ...]  # per data row, its row labels (one per index level)
    cells: tuple[tuple[PublishedCell, ...], ...]

    @property
    def record(self) -> Mapping[str, Any]:
        return self.entry.record

    @property
    def query(self) -> Mapping[str, Any]:
        query = self.record.get("query")
        return query if isinstance(query, Mapping) else {}

    @property
    def rules(self) -> Mapping[str, Any]:
        rules = self.record.get("rules")
        return rules if isinstance(rules, Mapping) else {}

    @property
    def method(self) -> str | None:
        method = self.record.get("method")
        return str(method) if method is not None else None

    @property
    def measure(self) -> str | None:
        measure = self.query.get("measure")
        return str(measure) if measure is not None else None

    @property
    def column_labels(self) -> tuple[str, ...]:
        return self.header[self.label_columns :]

    def all_cells(self) -> list[PublishedCell]:
        return [cell for row in self.cells for cell in row]

    def count(self, state: CellState) -> int:
        return sum(cell.state is state for cell in self.all_cells())


@dataclass(frozen=True)
class ReportFolder:
    """A folder holding ``manifest.json``, as far as it could be read."""

    folder: Path
    relative: str  # relative to the audited path, "." for the path itself
    manifest: Manifest
    tables: tuple[PublishedTable, ...]
    html_tables: Mapping[str, list[list[str]]]  # table name -> rows of value-cell texts

    @property
    def name(self) -> str:
        return self.manifest.report or self.folder.name

    @property
    def partner(self) -> str | None:
        return self.manifest.partner

    @property
    def period(self) -> str:
        return self.manifest.period or ""

    @property
    def language(self) -> str:
        return self.manifest.language or "en"

    def display(self, file: str) -> str:
        """A file of this report as findings name it, relative to the audited path."""
        return file if self.relative == "." else f"{self.relative}/{file}"


def label_text(text: str) -> str:
    """A CSV label with the report's formula-injection apostrophe taken off again."""
    if text.startswith("'") and text[1:].startswith(_FORMULA_START):
        return text[1:]
    return text


def _cell(text: str, line: int, column: int, hidden: str, missing: str) -> PublishedCell:
    if text == hidden:
        return PublishedCell(CellState.HIDDEN, None, line, column)
    if text == missing:
        return PublishedCell(CellState.MISSING, None, line, column)
    if _NUMBER.match(text):
        return PublishedCell(CellState.VALUE, float(text), line, column)
    return PublishedCell(CellState.TEXT, text, line, column)


def read_manifest(folder: Path, display: str) -> tuple[Manifest | None, list[GateFinding]]:
    manifest, problems = Manifest.read(folder)
    findings = []
    for pointer, text in problems:
        kind = "unreadable" if text == "cannot be read" else "malformed"
        findings.append(GateFinding(display, pointer, Check.MANIFEST, kind, text))
    return manifest, findings


def read_table(
    folder: Path, entry: TableEntry | None, index: int, report: ReportFolder | None = None
) -> tuple[PublishedTable | None, list[GateFinding]]:
    """Parse the CSV of the ``index``-th table of a manifest."""
    display = report.display if report is not None else (lambda f: f)
    pointer = f"/tables/{index}"
    if entry is None:
        return None, [GateFinding(display(MANIFEST), pointer, Check.MANIFEST, "malformed",
                                  "a table entry that is not an object with a plain name "
                                  "and file")]  # fmt: skip
    name, file = entry.name, entry.file
    markers = report.manifest.markers if report is not None else {}
    hidden = str(markers.get("hidden", "x"))
    missing = str(markers.get("missing", "."))
    path = folder / file
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError:
        return None, [GateFinding(display(file), "", Check.MANIFEST, "absent",
                                  f"the CSV of table #{index + 1} is missing")]  # fmt: skip
    except UnicodeDecodeError:
        return None, [GateFinding(display(file), "", Check.CLAIMS, "unreadable",
                                  "not UTF-8 text")]  # fmt: skip
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    except csv.Error:
        return None, [GateFinding(display(file), "", Check.CLAIMS, "unreadable",
                                  "not readable as CSV")]  # fmt: skip
    if not rows:
        return None, [GateFinding(display(file), "", Check.CLAIMS, "empty", "no header")]
    header = rows[0]
    width = entry.shape[1] if entry.shape is not None else None
    if not isinstance(width, int) or not 0 < width < len(header):
        return None, [
            GateFinding(
                display(file),
                "line 1",
                Check.CLAIMS,
                "shape",
                "the header does not fit the manifest's table shape",
            )
        ]
    levels = len(header) - width
    labels: list[tuple[str, ...]] = []
    cells: list[tuple[PublishedCell, ...]] = []
    problems: list[GateFinding] = []
    for number, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            problems.append(
                GateFinding(
                    display(file),
                    f"line {number}",
                    Check.CLAIMS,
                    "shape",
                    "a row with another number of fields than the header",
                )
            )
            continue
        labels.append(tuple(label_text(t) for t in row[:levels]))
        cells.append(
            tuple(
                _cell(t, number, levels + k + 1, hidden, missing)
                for k, t in enumerate(row[levels:])
            )
        )
    if entry.shape is not None and entry.shape[0] != len(rows) - 1:
        problems.append(
            GateFinding(
                display(file),
                "",
                Check.CLAIMS,
                "shape",
                "the number of rows differs from the manifest's",
            )
        )
    table = PublishedTable(
        name=name,
        file=file,
        entry=entry,
        header=tuple(label_text(t) for t in header),
        label_columns=levels,
        labels=tuple(labels),
        cells=tuple(cells),
    )
    return table, problems


class _DataTables(HTMLParser):
    """Collects the value cells (``<td>``) of every ``<table class="data" id="data-NAME">``."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: dict[str, list[list[str]]] = {}
        self._table: str | None = None
        self._in_body = False
        self._row: list[str] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "table":
            match = _TABLE_ID.match(attributes.get("id") or "")
            if match and "data" in (attributes.get("class") or "").split():
                self._table = match.group(1)
                self.tables[self._table] = []
        elif self._table is not None and tag == "tbody":
            self._in_body = True
        elif self._table is not None and self._in_body and tag == "tr":
            self._row = []
        elif self._row is not None and tag == "td":
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None and self._table is not None:
            self.tables[self._table].append(self._row)
            self._row = None
        elif tag == "tbody":
            self._in_body = False
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def read_html_tables(folder: Path) -> dict[str, list[list[str]]]:
    """Value-cell texts of each data table in ``report.html`` (empty when there is none)."""
    path = folder / HTML
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return {}
    parser = _DataTables()
    parser.feed(text)
    parser.close()
    return parser.tables


def html_number(text: str, language: str) -> float | None:
    """A number as the report's language writes it ("1 234,5" in Polish, "1,234.5" in English)."""
    compact = _SPACES.sub("", text).replace("\u2212", "-")
    compact = compact.replace(",", ".") if language == "pl" else compact.replace(",", "")
    return float(compact) if _NUMBER.match(compact) else None


def read_report(folder: Path, relative: str) -> tuple[ReportFolder | None, list[GateFinding]]:
    """A report folder's manifest and tables, with every problem reading them as a finding."""
    display = MANIFEST if relative == "." else f"{relative}/{MANIFEST}"
    manifest, problems = read_manifest(folder, display)
    if manifest is None:
        return None, problems
    report = ReportFolder(folder, relative, manifest, (), read_html_tables(folder))
    tables: list[PublishedTable] = []
    for index, entry in enumerate(manifest.tables):
        table, found = read_table(folder, entry, index, report)
        problems += found
        if table is not None:
            tables.append(table)
    return ReportFolder(folder, relative, manifest, tuple(tables), report.html_tables), problems
