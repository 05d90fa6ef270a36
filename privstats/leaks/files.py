"""Getting every piece of text out of every kind of file a report folder may hold.

A file's type comes from its first bytes, then its name: HTML, SVG, CSS, scripts, CSV, JSON
(notebooks included), XLSX, PNG and plain text are understood; any other binary file (JPEG, PDF,
ZIP, fonts, ...) is reported as unscannable, never passed in silence. Text is UTF-8 (with or
without a byte-order mark), UTF-16 with a mark, or else Windows-1250.

CSV cells are located by row and column, JSON values by JSON pointer (a key is shown only when it
holds no finding itself, else as ``{key N}``). In a notebook, outputs' images are scanned as
images, HTML and SVG outputs as markup, an error output is a traceback, and a JavaScript output
is a script.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import csv
import io
import json
import re
import zipfile
from pathlib import PurePosixPath
from typing import Any

from privstats.leaks.findings import Kind
from privstats.leaks.images import extract_png
from privstats.leaks.markup import check_css, extract_markup
from privstats.leaks.pieces import (
    PLAIN_NUMBER,
    PNG_SIGNATURE,
    FileType,
    Fixed,
    Joined,
    LineCol,
    Sink,
    decode_text,
)
from privstats.leaks.workbooks import extract_xlsx

# --- file types ----------------------------------------------------------------------------

_EXTENSIONS = {
    ".html": FileType.HTML, ".htm": FileType.HTML, ".xhtml": FileType.HTML,
    ".svg": FileType.SVG, ".css": FileType.CSS, ".js": FileType.SCRIPT, ".mjs": FileType.SCRIPT,
    ".csv": FileType.CSV, ".tsv": FileType.CSV, ".json": FileType.JSON, ".ipynb": FileType.JSON,
    ".geojson": FileType.JSON, ".xlsx": FileType.XLSX, ".xlsm": FileType.XLSX,
    ".png": FileType.PNG,
}  # fmt: skip
_MAGIC = (
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"wOFF", "a WOFF font"),
    (b"wOF2", "a WOFF2 font"),
    (b"RIFF", "a RIFF (WebP, WAV) file"),
    (b"\xd0\xcf\x11\xe0", "an OLE (old Office) file"),
    (b"SQLite format 3", "an SQLite database"),
    (b"PAR1", "a Parquet file"),
)


def describe_binary(data: bytes) -> str:
    for magic, name in _MAGIC:
        if data.startswith(magic):
            return name
    return "binary data"


def looks_binary(data: bytes) -> bool:
    head = data[:8192]
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return False
    if b"\0" in head:
        return True
    controls = sum(1 for b in head if b < 32 and b not in (9, 10, 12, 13, 27, 8))
    return controls > len(head) // 20


def sniff(name: str, data: bytes) -> FileType:
    """The type of a file, by its first bytes first and its name second."""
    suffix = PurePosixPath(name).suffix.lower()
    if data.startswith(PNG_SIGNATURE):
        return FileType.PNG
    if data.startswith(b"PK\x03\x04"):
        return (
            FileType.XLSX
            if suffix in (".xlsx", ".xlsm") or _is_workbook(data)
            else (FileType.BINARY)
        )
    if any(data.startswith(magic) for magic, _ in _MAGIC):
        return FileType.BINARY
    if suffix in _EXTENSIONS and _EXTENSIONS[suffix] not in (FileType.XLSX, FileType.PNG):
        return _EXTENSIONS[suffix] if not looks_binary(data) else FileType.BINARY
    if looks_binary(data):
        return FileType.BINARY
    head = decode_text(data[:4096]).lstrip().lower()
    if head.startswith(("<!doctype html", "<html")):
        return FileType.HTML
    if head.startswith("<svg") or (head.startswith("<?xml") and "<svg" in head):
        return FileType.SVG
    if head.startswith(("{", "[")):
        return FileType.JSON
    return FileType.TEXT


def _is_workbook(data: bytes) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return "xl/workbook.xml" in archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return False


def extract(file_type: FileType, data: bytes, sink: Sink) -> None:
    """Feed everything in ``data`` to ``sink``."""
    if file_type in (FileType.HTML, FileType.SVG):
        extract_markup(decode_text(data), sink)
    elif file_type is FileType.CSS:
        text = decode_text(data)
        where = LineCol(1, 1)
        sink.text(check_css(text, lambda offset: where.locate(text, offset), sink), where)
    elif file_type is FileType.SCRIPT:
        sink.issue(Kind.SCRIPT, "", "file", "a script file: reports hold no script")
        sink.text(decode_text(data), LineCol(1, 1))
    elif file_type is FileType.CSV:
        extract_csv(decode_text(data), sink)
    elif file_type is FileType.JSON:
        extract_json(decode_text(data), sink)
    elif file_type is FileType.XLSX:
        extract_xlsx(data, sink)
    elif file_type is FileType.PNG:
        extract_png(data, sink)
    elif file_type is FileType.TEXT:
        sink.text(decode_text(data), LineCol(1, 1))
    else:
        sink.issue(Kind.UNSCANNABLE, "", "file", f"{describe_binary(data)}: cannot be checked")


# --- CSV and JSON --------------------------------------------------------------------------


def extract_csv(text: str, sink: Sink) -> None:
    # The delimiter is the commonest candidate in the first line (csv.Sniffer is slow and, on
    # a quoted header, no better): comma unless semicolons, tabs or bars outnumber it.
    first = text[: text.find("\n") if "\n" in text else len(text)]
    delimiter = max(",;\t|", key=first.count) if any(d in first for d in ",;\t|") else ","
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error:  # not really CSV (a stray NUL, a huge field): scanned as plain text
        sink.text(text, LineCol(1, 1))
        return
    header: list[str] = []
    if rows and not any(PLAIN_NUMBER.fullmatch(cell.strip()) for cell in rows[0]):
        header = [cell.strip().lower() for cell in rows[0]]
    for r, row in enumerate(rows, 1):
        for c, cell in enumerate(row, 1):
            if not cell:
                continue
            label = header[c - 1] if r > 1 and c <= len(header) else ""
            sink.text(
                cell,
                Fixed(f"row {r}, col {c}"),
                label=label,
                column=f"column {c}",
                numeric=bool(PLAIN_NUMBER.fullmatch(cell.strip())),
            )


_MIME_BASE64 = {"image/png": FileType.PNG, "image/jpeg": None, "image/gif": None,
                "image/webp": None, "application/pdf": None}  # fmt: skip
_MIME_DOCUMENT = {"text/html": FileType.HTML, "image/svg+xml": FileType.SVG}
_MIME_SCRIPT = frozenset({"application/javascript", "text/javascript",
                          "application/vnd.jupyter.widget-view+json"})  # fmt: skip


def _pointer_segment(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def extract_json(text: str, sink: Sink) -> None:
    """Every key and value of a JSON file (a notebook too), located by JSON pointer."""
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):
        sink.text(text, LineCol(1, 1))  # not JSON after all (JSON lines, a log): plain text
        return
    _walk(document, "", "", sink)


def _joined(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return "".join(value)
    return None


def _walk(value: Any, pointer: str, label: str, sink: Sink) -> None:
    place = pointer or "/"
    if isinstance(value, dict):
        if value.get("output_type") == "error":
            sink.issue(
                Kind.TRACEBACK, str(value.get("ename", "error")), place, "a notebook error output"
            )
        for index, (key, item) in enumerate(value.items()):
            key = str(key)
            sink.text(key, Fixed(f"{place} (key {index + 1})"), label="key")
            segment = (
                _pointer_segment(key)
                if len(key) <= 60 and sink.safe(key)
                else (f"{{key {index + 1}}}")
            )
            child = f"{pointer}/{segment}"
            joined = _joined(item)
            if key in _MIME_BASE64 and joined is not None:
                try:
                    content = base64.b64decode("".join(joined.split()), validate=True)
                except (binascii.Error, ValueError):
                    sink.issue(Kind.UNSCANNABLE, joined, child, "undecodable base64 image")
                    continue
                sink.blob(content, child, _MIME_BASE64[key])
            elif key in _MIME_DOCUMENT and joined is not None:
                sink.blob(joined.encode("utf-8"), child, _MIME_DOCUMENT[key])
            else:
                if key in _MIME_SCRIPT:
                    sink.issue(Kind.SCRIPT, "", child, "a script output in a notebook")
                _walk(item, child, key, sink)
    elif isinstance(value, list):
        if len(value) > 1 and all(isinstance(item, str) for item in value):
            starts, offset = [], 0
            for item in value:
                starts.append(offset)
                offset += len(item)
            sink.text("".join(value), Joined(pointer, starts), label=label)
            return
        for index, item in enumerate(value):
            _walk(item, f"{pointer}/{index}", label, sink)
    elif isinstance(value, str):
        sink.text(value, Fixed(place), label=label)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        column = re.sub(r"/[0-9]+(?=/|$)", "/*", pointer)
        sink.text(repr(value), Fixed(place), label=label, column=column, numeric=True)
