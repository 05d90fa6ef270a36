"""The leak scanner: every file under a path, every piece of text in it, every detector.

One file is scanned as one text: its extractor's pieces are joined (a line feed between
them) so that each detector runs once per file, not once per cell, and every hit is mapped back
to its piece for its location. Embedded files (data: URIs, notebook images, workbook media) are
scanned the same way, to a depth of four, and their findings are located inside their parent's
(``12:40 <img src> > data:image/png > tEXt chunk 'Comment'``).

Numbers in table cells (CSV and XLSX cells, JSON numbers, HTML cells holding a plain number):
a measure such as a sum of bytes is a long number, and a tenth of all 10-digit numbers pass
NIP's checksum. A checksum hit in such a cell is therefore reported only when its column looks
like a column of identifiers: its header or key names one (``pesel``, ``nip``, ``regon``,
``phone``, ``tax``, ``id``, ...), or at least two of its numbers of that length pass the checksum
and they are at least 80 % of them (a column of measures passes about one time in ten, a column
of identifiers every time). A plain number of 9 to 15 digits under a header such as ``phone``
or ``tel`` is a phone number. A single identifier alone in a column of measures is the case this
does not catch. Numbers shown as text (in prose, or in HTML formatted with a thousands
separator) are not cells and are always checked.

Locations and file names carry only structure; a key, sheet name or PNG keyword is shown in a
location only when it raises no finding itself, and a file name that does is shown redacted.
"""

from __future__ import annotations

import os
import re
from bisect import bisect_right
from collections import Counter, defaultdict
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path

from privstats.exceptions import InputError
from privstats.leaks.canaries import CanarySet
from privstats.leaks.detectors import (
    DETECTORS,
    NUMERIC_ID_KINDS,
    Detector,
    Hit,
    Text,
    is_checksum_label,
    is_version_label,
    pseudonym_detector,
    resolve,
)
from privstats.leaks.files import extract, sniff
from privstats.leaks.findings import Finding, Kind, redact
from privstats.leaks.pieces import MEDIA_TYPES, FileType, Where, parse_data_uri

MAX_DEPTH = 4
MAX_FILE_BYTES = 256 << 20

_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
_DATA_BASE64 = re.compile(
    r"data:[\w.+-]+/[\w.+-]+(?:;[\w.+-]+(?:=[\w.+\"-]+)?)*;base64,[A-Za-z0-9+/]+={0,2}",
    re.IGNORECASE,
)
_PERCENT = re.compile(r"%[0-9A-Fa-f]{2}")
_TOKEN_END = re.compile(r"[\s\"'<>]")
_PERCENT_RUN = re.compile(r"(?:%[0-9A-Fa-f]{2})+")
_ID_LABEL = re.compile(
    r"pesel|nip|regon|vat|tax|phone|tel|mobile|fax|iban|account|konto|rachun|identyf"
    r"|(?:^|[\W_])id(?:$|[\W_])",
    re.IGNORECASE,
)
_PHONE_LABEL = re.compile(r"phone|tel|mobile|fax|gsm|komórk", re.IGNORECASE)
_KIND_LENGTHS = {Kind.PESEL: (11,), Kind.NIP: (10,), Kind.REGON: (9, 14), Kind.PHONE: ()}


@dataclass(slots=True)
class _Piece:
    start: int
    text: str
    where: Where
    label: str
    column: str | None
    numeric: bool


@dataclass(frozen=True, slots=True)
class _Raw:
    """A finding before it knows its file: ``order`` keeps findings in document order."""

    order: tuple[int, ...]
    location: str
    kind: Kind
    value: str
    note: str

    def inside(self, order: int, where: str) -> _Raw:
        return _Raw(
            (order, *self.order), f"{where} > {self.location}", self.kind, self.value, self.note
        )


class _Content:
    """The sink for one file or one embedded blob: its pieces, issues and blobs."""

    def __init__(self, scanner: LeakScanner) -> None:
        self._scanner = scanner
        self.pieces: list[_Piece] = []
        self.parts: list[str] = []
        self.length = 0
        self.raws: list[_Raw] = []
        self.blobs: list[tuple[int, bytes, str, FileType | None]] = []
        self.numeric_lengths: Counter[tuple[str, int]] = Counter()

    def text(
        self,
        text: str,
        where: Where,
        *,
        label: str = "",
        column: str | None = None,
        numeric: bool = False,
    ) -> None:
        if not text or text.isspace():
            return
        if "\x1b" in text:  # terminal colours in notebook tracebacks
            text = _ANSI.sub(lambda m: " " * len(m.group()), text)
        if "base64," in text:
            text = self._embedded(text, where)
        if numeric and column is not None:
            self.numeric_lengths[(column, len(text.strip().lstrip("+-−")))] += 1
        self.pieces.append(_Piece(self.length, text, where, label.lower(), column, numeric))
        self.parts.append(text)
        self.parts.append("\n")
        self.length += len(text) + 1

    def _embedded(self, text: str, where: Where) -> str:
        """Hand base64 data: URIs found in running text on as blobs, and blank their payload."""
        for match in reversed(list(_DATA_BASE64.finditer(text))):
            uri = match.group()
            parsed = parse_data_uri(uri)
            head = uri.split(",", 1)[0]
            place = where.locate(text, match.start())
            if parsed is None:
                self.issue(Kind.UNSCANNABLE, uri, place, "a data: URI that cannot be decoded")
            else:
                media, content = parsed
                self.blob(content, f"{place} > {head.split(';', 1)[0]}", _media_type(media))
            text = text[: match.start()] + head + " " * (len(uri) - len(head)) + text[match.end() :]
        return text

    def issue(self, kind: Kind, value: str, where: str, note: str) -> None:
        self.raws.append(_Raw((self.length, len(self.raws)), where, kind, value, note))

    def blob(self, data: bytes, where: str, file_type: FileType | None = None) -> None:
        self.blobs.append((self.length, data, where, file_type))

    def safe(self, name: str) -> bool:
        # one short printable line that raises no finding of its own
        return len(name) <= 80 and name.isprintable() and self._scanner.is_clean(name)


def _media_type(media: str) -> FileType | None:
    return MEDIA_TYPES.get(media.lower())


class LeakScanner:
    """Scans files for identifying data, script and references outside the file.

    ``canaries``: known identifying values of the inputs (a :class:`CanarySet`);
    ``pseudonyms``: the store's pseudonyms, so that one printed as a number is recognised.
    """

    def __init__(
        self,
        canaries: CanarySet | None = None,
        pseudonyms: Collection[int] | None = None,
    ) -> None:
        self.canaries = canaries
        self._detectors: tuple[Detector, ...] = (*DETECTORS, pseudonym_detector(pseudonyms))
        self._clean: dict[str, bool] = {}

    # --- public -----------------------------------------------------------------------------

    def scan_path(self, path: Path | str) -> list[Finding]:
        """Every finding in a file, or in every file under a folder (hidden ones included)."""
        root = Path(path)
        if root.is_file():
            return self._scan_file(root, root.name)
        if not root.is_dir():
            raise InputError(f"nothing to scan at {root}: no such file or folder")
        findings: list[Finding] = []
        for file, name in _walk(root):
            if file is None:
                findings.append(
                    Finding.of(
                        self._display(name),
                        "file",
                        Kind.UNSCANNABLE,
                        "",
                        "a link to a folder, or not a regular file",
                    )
                )
            else:
                findings += self._scan_file(file, name)
        return findings

    def _scan_file(self, file: Path, name: str) -> list[Finding]:
        try:
            if file.stat().st_size > MAX_FILE_BYTES:
                return [
                    Finding.of(
                        self._display(name), "file", Kind.UNSCANNABLE, "", "too large to check"
                    )
                ]
            data = file.read_bytes()
        except OSError:
            return [Finding.of(self._display(name), "file", Kind.UNSCANNABLE, "", "cannot be read")]
        return self.scan_bytes(data, name)

    def scan_bytes(self, data: bytes, name: str) -> list[Finding]:
        """Every finding in one file's content; ``name`` is its path relative to the scan."""
        display = self._display(name)
        raws = [
            _Raw((-1, i), "file name", hit.kind, name[hit.start : hit.end], hit.note)
            for i, hit in enumerate(self.hits(name))
        ]
        if len(data) > MAX_FILE_BYTES:
            raws.append(_Raw((0,), "file", Kind.UNSCANNABLE, "", "too large to check"))
        else:
            raws += self._scan_content(data, name, None, 0)
        raws.sort(key=lambda raw: raw.order)
        return [Finding.of(display, r.location, r.kind, r.value, r.note) for r in raws]

    def scan_text(self, text: str, name: str = "text.txt") -> list[Finding]:
        """Every finding in a text, as if it were a file of that name."""
        return self.scan_bytes(text.encode("utf-8"), name)

    def hits(self, text: str) -> list[Hit]:
        """The resolved hits of every detector and canary in one text."""
        prepared = Text(text)
        hits = [hit for detector in self._detectors for hit in detector(prepared)]
        if self.canaries is not None:
            hits += [Hit(Kind.CANARY, start, end) for start, end in self.canaries.find(text)]
        hits += self._percent_encoded(text)
        return resolve(hits)

    def is_clean(self, name: str) -> bool:
        clean = self._clean.get(name)
        if clean is None:
            clean = self._clean[name] = not self.hits(name)
        return clean

    # --- internals --------------------------------------------------------------------------

    def _display(self, name: str) -> str:
        """The file's name as findings show it: redacted where it holds a finding itself."""
        for hit in sorted(self.hits(name), key=lambda h: h.start, reverse=True):
            name = name[: hit.start] + redact(name[hit.start : hit.end]) + name[hit.end :]
        return "".join(c if c.isprintable() else "?" for c in name)  # one line, always

    def _scan_content(
        self, data: bytes, name: str, file_type: FileType | None, depth: int
    ) -> list[_Raw]:
        content = _Content(self)
        file_type = file_type or sniff(name, data)
        try:
            extract(file_type, data, content)
        except Exception as error:  # a damaged file is a finding, never a crash
            content.issue(
                Kind.UNSCANNABLE,
                "",
                "file",
                f"a damaged {file_type.value} file ({type(error).__name__})",
            )
        raws = content.raws + self._scan_pieces(content)
        for order, blob, where, blob_type in content.blobs:
            if depth + 1 > MAX_DEPTH:
                raws.append(
                    _Raw((order,), where, Kind.UNSCANNABLE, "", "embedded too deep to check")
                )
                continue
            inner = self._scan_content(blob, "", blob_type, depth + 1)
            raws += [raw.inside(order, where) for raw in inner]
        return raws

    def _scan_pieces(self, content: _Content) -> list[_Raw]:
        if not content.pieces:
            return []
        text = "".join(content.parts)
        starts = [piece.start for piece in content.pieces]
        raws: list[_Raw] = []
        held: defaultdict[tuple[str, Kind], list[tuple[Hit, _Piece]]] = defaultdict(list)
        for hit in self.hits(text):
            piece = content.pieces[bisect_right(starts, hit.start) - 1]
            if hit.kind in NUMERIC_ID_KINDS and piece.numeric and piece.column is not None:
                held[(piece.column, hit.kind)].append((hit, piece))
                continue
            if (
                hit.kind is Kind.PSEUDONYM
                and hit.note.startswith("long hex")
                and (is_checksum_label(piece.label))
            ):
                continue
            if (
                hit.kind is Kind.IPV4
                and is_version_label(piece.label)
                and (text[hit.start : hit.end] == piece.text.strip())
            ):
                continue
            raws.append(self._raw(text, hit, piece))
        for piece in content.pieces:  # a bare number under a phone header is a phone number
            if piece.numeric and piece.label and _PHONE_LABEL.search(piece.label):
                digits = piece.text.strip().lstrip("+")
                if digits.isdigit() and 9 <= len(digits) <= 15:
                    hit = Hit(Kind.PHONE, piece.start, piece.start + len(piece.text))
                    held[(piece.column or "", Kind.PHONE)].append((hit, piece))
        for (column, kind), items in held.items():
            total = sum(content.numeric_lengths[(column, n)] for n in _KIND_LENGTHS[kind])
            named = any(_ID_LABEL.search(piece.label) for _, piece in items)
            behaves = kind is not Kind.PHONE and len(items) >= 2 and len(items) >= 0.8 * total
            if named or behaves:
                unique = {(hit.start, hit.end): (hit, piece) for hit, piece in items}
                raws += [
                    self._raw(text, hit, piece, "in a column of identifiers")
                    for hit, piece in unique.values()
                ]
        return raws

    @staticmethod
    def _raw(text: str, hit: Hit, piece: _Piece, note: str = "") -> _Raw:
        offset = hit.start - piece.start
        end = min(hit.end, piece.start + len(piece.text))
        return _Raw(
            (hit.start,),
            piece.where.locate(piece.text, offset),
            hit.kind,
            text[hit.start : end],
            note or hit.note,
        )

    def _percent_encoded(self, text: str) -> Iterator[Hit]:
        """Hits inside percent-encoded tokens (``jan%40example.com``), mapped back onto them."""
        done = 0
        for escape in _PERCENT.finditer(text):
            if escape.start() < done:
                continue
            start = max(text.rfind(c, done, escape.start()) for c in " \t\n\"'<>") + 1
            start = max(start, done)
            end_match = _TOKEN_END.search(text, escape.end())
            done = end_match.start() if end_match else len(text)
            token = text[start:done]
            decoded, spans = _percent_decode(token)
            prepared = Text(decoded)
            for hit in (hit for detector in self._detectors for hit in detector(prepared)):
                yield Hit(
                    hit.kind,
                    start + spans[hit.start][0],
                    start + spans[hit.end - 1][1],
                    hit.note or "percent-encoded",
                )


def _percent_decode(token: str) -> tuple[str, list[tuple[int, int]]]:
    """The decoded token, and for each decoded character the span it came from."""
    out: list[str] = []
    spans: list[tuple[int, int]] = []
    position = 0
    for run in _PERCENT_RUN.finditer(token):
        for offset in range(position, run.start()):
            out.append(token[offset])
            spans.append((offset, offset + 1))
        decoded = bytes.fromhex(run.group().replace("%", "")).decode("utf-8", "replace")
        out.append(decoded)
        spans += [(run.start(), run.end())] * len(decoded)
        position = run.end()
    for offset in range(position, len(token)):
        out.append(token[offset])
        spans.append((offset, offset + 1))
    return "".join(out), spans


def _walk(root: Path) -> Iterator[tuple[Path | None, str]]:
    """(file, relative name) under ``root`` in a stable order; (None, name) for what is skipped."""
    for folder, folders, files in os.walk(root, followlinks=False):
        here = Path(folder)
        for sub in sorted(folders):
            if (here / sub).is_symlink():
                yield None, (here / sub).relative_to(root).as_posix()
        folders.sort()
        for file in sorted(files):
            path = here / file
            name = path.relative_to(root).as_posix()
            yield (path if path.is_file() else None), name


def scan_path(
    path: Path | str,
    canaries: CanarySet | None = None,
    *,
    pseudonyms: Collection[int] | None = None,
) -> list[Finding]:
    """Every finding in a file or folder: the leak scan and the self-containment check."""
    return LeakScanner(canaries, pseudonyms).scan_path(path)
