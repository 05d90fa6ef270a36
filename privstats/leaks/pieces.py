"""What extractors hand to the scanner: pieces of text with their place, issues, and blobs.

Each extractor feeds a :class:`Sink` piece by piece with the place each piece came from
(``line:col``, ``row R, col C``, a JSON pointer, ``Sheet!B3``, a PNG chunk), reports what it
finds by structure alone (a ``<script>``, a reference outside the file) as an issue, and hands
embedded files (``data:`` URIs, notebook images, workbook media) back as blobs to be scanned in
turn.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import enum
import re
from bisect import bisect_left, bisect_right
from typing import Protocol
from urllib.parse import unquote_to_bytes

from privstats.leaks.findings import Kind

MAX_INFLATED = 64 << 20  # a compressed chunk or part larger than this is refused, not read
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class FileType(enum.Enum):
    HTML = "html"
    SVG = "svg"
    CSS = "css"
    SCRIPT = "script"
    CSV = "csv"
    JSON = "json"
    XLSX = "xlsx"
    PNG = "png"
    TEXT = "text"
    BINARY = "binary"


# --- where a piece of text is --------------------------------------------------------------


class Where(Protocol):
    def locate(self, text: str, offset: int) -> str:
        """The location of ``text[offset]`` for a finding."""
        ...


class Fixed:
    """One location for the whole piece (a cell, an attribute, a JSON value)."""

    __slots__ = ("label",)

    def __init__(self, label: str) -> None:
        self.label = label

    def locate(self, text: str, offset: int) -> str:
        return self.label


class LineCol:
    """``line:col`` counted from where the piece starts in its file (both 1-based)."""

    __slots__ = ("_newlines", "col", "line", "prefix")

    def __init__(self, line: int, col: int, prefix: str = "") -> None:
        self.line, self.col, self.prefix = line, col, prefix
        self._newlines: list[int] | None = None

    def locate(self, text: str, offset: int) -> str:
        if self._newlines is None:
            self._newlines = [m.start() for m in re.finditer("\n", text)]
        before = bisect_left(self._newlines, offset)
        if before == 0:
            return f"{self.prefix}{self.line}:{self.col + offset}"
        return f"{self.prefix}{self.line + before}:{offset - self._newlines[before - 1]}"


class Joined:
    """A JSON list of strings scanned as one text (a notebook's source or output lines)."""

    __slots__ = ("pointer", "starts")

    def __init__(self, pointer: str, starts: list[int]) -> None:
        self.pointer, self.starts = pointer, starts

    def locate(self, text: str, offset: int) -> str:
        return f"{self.pointer}/{bisect_right(self.starts, offset) - 1}"


class Sink(Protocol):
    def text(
        self,
        text: str,
        where: Where,
        *,
        label: str = "",
        column: str | None = None,
        numeric: bool = False,
    ) -> None:
        """A piece of text to scan; ``numeric`` marks a table cell that is a plain number."""
        ...

    def issue(self, kind: Kind, value: str, where: str, note: str) -> None:
        """A finding made from structure (a script, an external reference, an unreadable part)."""
        ...

    def blob(self, data: bytes, where: str, file_type: FileType | None = None) -> None:
        """An embedded file, scanned in turn (``file_type`` None: sniff it)."""
        ...

    def safe(self, name: str) -> bool:
        """Whether a name (a key, a sheet) may appear in a location: it holds no finding."""
        ...


MEDIA_TYPES = {
    "image/png": FileType.PNG, "image/svg+xml": FileType.SVG, "text/html": FileType.HTML,
    "application/xhtml+xml": FileType.HTML, "text/css": FileType.CSS, "text/csv": FileType.CSV,
    "application/json": FileType.JSON, "text/plain": FileType.TEXT,
    "text/markdown": FileType.TEXT, "text/latex": FileType.TEXT,
    "text/javascript": FileType.SCRIPT, "application/javascript": FileType.SCRIPT,
}  # fmt: skip


def decode_text(data: bytes) -> str:
    """UTF-8 (with or without a mark), UTF-16 with a mark, else Windows-1250 (Polish)."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16", errors="replace")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1250", errors="replace")


def parse_data_uri(uri: str) -> tuple[str, bytes] | None:
    """(media type, content) of a ``data:`` URI, or None when it cannot be decoded."""
    header, comma, payload = uri.strip()[5:].partition(",")
    if not comma:
        return None
    params = [p.strip().lower() for p in header.split(";")]
    media = params[0] or "text/plain"
    try:
        if "base64" in params[1:]:
            raw = re.sub(r"\s+", "", unquote_to_bytes(payload).decode("ascii"))
            return media, base64.b64decode(raw + "=" * (-len(raw) % 4), validate=True)
        return media, unquote_to_bytes(payload)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None


def embed(sink: Sink, uri: str, where: str) -> None:
    """Hand a ``data:`` URI's content to ``sink`` as a blob of the type its media type says."""
    parsed = parse_data_uri(uri)
    if parsed is None:
        sink.issue(Kind.UNSCANNABLE, uri, where, "a data: URI that cannot be decoded")
        return
    media, content = parsed
    sink.blob(content, f"{where} > data:{_media_label(media)}", MEDIA_TYPES.get(media))


def _media_label(media: str) -> str:
    return media if re.fullmatch(r"[a-z0-9.+-]{1,40}/[a-z0-9.+-]{1,60}", media) else "?"


# A table cell holding just a number (what a measure looks like; see scan.py)
PLAIN_NUMBER = re.compile(r"[+\-\u2212]?[0-9]+(?:[.,][0-9]+)?")
