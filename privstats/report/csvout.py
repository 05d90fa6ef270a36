"""One CSV file per published table, safe to open in a spreadsheet.

Format, chosen for the partner who double-clicks the file as much as for a script:

- UTF-8 **with** a byte-order mark: Excel otherwise reads UTF-8 as the local code page and
  garbles Polish letters ("Łódź" → "ÅÃ³dÅº"); pandas, Python's csv module (``utf-8-sig``), R
  and LibreOffice all skip the mark.
- RFC 4180: comma-separated, ``"`` quoting where needed, CRLF line ends; numbers in plain
  machine form (dot decimal, no thousands separator), whatever the report's language.
- Hidden cells hold the marker ``x`` and empty ones ``.``, as in the HTML legend.
- Rows and columns are named by the store's codes and dimensions (``contacts``, ``module``),
  not by the words of the report's language: a partner's script reads every month's file, in
  either language, alike, and the reviewer's gate matches every cell to the store exactly.
  The report's words are in ``report.html``, cell for cell in the same order.
- Formula injection (CWE-1236, OWASP's "CSV Injection"): a text cell starting with ``=``, ``+``,
  ``-``, ``@``, a tab or a carriage return is prefixed with an apostrophe, so that a referring
  domain such as ``=HYPERLINK(...)`` is shown, not evaluated. Real numbers are written as
  numbers (a negative count stays ``-5``), and a text that is exactly a plain number is left
  alone: a spreadsheet reads it as that number and nothing else.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from privstats.report.table import HIDDEN_MARKER, MISSING_MARKER, Cell, CellState, ReportTable

ENCODING = "utf-8-sig"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


def neutralise(text: str) -> str:
    """``text`` made inert for spreadsheets (see the module's notes)."""
    if text.startswith(_FORMULA_START) and not _PLAIN_NUMBER.match(text):
        return "'" + text
    return text


def _number(value: int | float) -> str:
    if isinstance(value, int):
        return str(value)
    return repr(value) if not value.is_integer() else str(int(value))


def _cell(cell: Cell) -> str:
    if cell.state is CellState.VALUE:
        # A VALUE cell's value is a number (Cell checks it); the type allows text and None.
        return _number(cell.value)  # type: ignore[arg-type]
    if cell.state is CellState.HIDDEN:
        return HIDDEN_MARKER
    if cell.state is CellState.MISSING:
        return MISSING_MARKER
    return neutralise(str(cell.value))


def _flat(label: tuple[str, ...]) -> str:
    return " / ".join(part for part in label if part)


def csv_text(table: ReportTable) -> str:
    """The CSV text of ``table`` (without the byte-order mark, which the writer adds)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    coded = bool(table.index_dims) and bool(table.column_codes)
    rows = table.row_codes if coded else table.rows
    columns = table.column_codes if coded else table.columns
    names = table.index_dims if coded else table.row_names
    levels = len(rows[0]) if rows else max(len(names), 1)
    row_names = list(names) + [""] * (levels - len(names))
    writer.writerow(
        [neutralise(n) for n in row_names[:levels]]
        + [neutralise(_flat(column)) for column in columns]
    )
    for labels, cells in zip(rows, table.cells, strict=True):
        writer.writerow([neutralise(label) for label in labels] + [_cell(c) for c in cells])
    return buffer.getvalue()


def write_csv(table: ReportTable, folder: Path) -> Path:
    """Write ``<folder>/<table name>.csv`` (the name is a checked slug: it stays in ``folder``)."""
    path = folder / f"{table.name}.csv"
    with path.open("w", encoding=ENCODING, newline="") as stream:
        stream.write(csv_text(table))
    return path
