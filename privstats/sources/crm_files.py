"""CRM exports in a folder: ``<kind>.csv`` or ``<kind>.jsonl`` (optionally gzipped) per kind.

CSV files have a header line naming their columns (any order, extra columns ignored); JSON-lines
files hold one object per line. Both are read a batch at a time, so memory stays bounded by
``CrmConfig.batch_rows`` whatever the size of the file. A record the reader cannot take apart
(an unterminated quote, a wrong number of fields, a line that is not a JSON object) is
quarantined with its line number; a file that cannot be an export at all (unreadable, no
header, a declared column missing) is a one-line ``InputError``. No message quotes a value.
"""

from __future__ import annotations

import csv
import enum
import gzip
import hashlib
import io
import json
import operator
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import polars as pl

from privstats.config import CrmConfig, CrmKind
from privstats.exceptions import InputError
from privstats.quarantine import Reason
from privstats.sources.crm_records import CrmReason, CrmSource, RawRecords, Tally, cells_frame
from privstats.sources.crm_records import read_all as _read_all
from privstats.sources.crm_schema import ColumnType, read_columns

# A JSON line (or CSV field) longer than this is nobody's CRM record: quarantined unread.
MAX_RECORD_CHARS = 1 << 20


class ExportFormat(enum.StrEnum):
    CSV = "csv"
    JSONL = "jsonl"


_SUFFIXES: dict[ExportFormat, tuple[str, ...]] = {
    ExportFormat.CSV: (".csv", ".csv.gz"),
    ExportFormat.JSONL: (".jsonl", ".jsonl.gz", ".ndjson", ".ndjson.gz"),
}


def read_crm_exports(
    folder: Path | str, fmt: ExportFormat | None = None, crm: CrmConfig | None = None
) -> dict[CrmKind, RawRecords]:
    """Read and validate every CRM export in ``folder``: a raw frame and a tally per kind."""
    with CrmFiles(folder, fmt, crm) as source:
        return _read_all(source)


class CrmFiles(CrmSource):
    """A folder of CRM exports, one file per record kind."""

    unit = "line"

    def __init__(
        self, folder: Path | str, fmt: ExportFormat | None = None, crm: CrmConfig | None = None
    ) -> None:
        super().__init__(crm or CrmConfig())
        self.folder = Path(folder)
        self.files = _discover(self.folder, fmt)
        self._digests: dict[CrmKind, str] = {}

    @property
    def label(self) -> str:
        return str(self.folder)

    # The base class's format is a plain attribute; a folder's is made of its files'.
    @property
    def format(self) -> str:  # type: ignore[override]
        return "+".join(sorted({_format_of(p).value for p in self.files.values()}))

    def format_of(self, kind: CrmKind) -> str:
        return _format_of(self.files[kind]).value

    def kinds(self) -> frozenset[CrmKind]:
        return frozenset(self.files)

    def location(self, kind: CrmKind) -> str:
        return self.files[kind].name

    def content_digest(self, kind: CrmKind) -> str:
        if kind not in self._digests:
            digest = hashlib.sha256()
            try:
                with self.files[kind].open("rb") as handle:
                    while chunk := handle.read(1 << 20):
                        digest.update(chunk)
            except OSError as exc:
                raise InputError(f"cannot read {self.files[kind].name}: {exc.strerror}") from None
            self._digests[kind] = digest.hexdigest()
        return self._digests[kind]

    def cells(self, kind: CrmKind, tally: Tally) -> Iterator[pl.DataFrame]:
        path = self.files[kind]
        tally.digest = self.content_digest(kind)
        reader = _csv_cells if _format_of(path) is ExportFormat.CSV else _jsonl_cells
        try:
            with _open_text(path) as handle:
                yield from reader(handle, path.name, kind, tally, self.crm.batch_rows)
        except (OSError, EOFError) as exc:
            # A truncated gzip or a disk error: a message of our own, the library's may quote.
            detail = getattr(exc, "strerror", None) or "damaged or truncated compressed data"
            raise InputError(f"cannot read {path.name}: {detail}") from None


def _discover(folder: Path, fmt: ExportFormat | None) -> dict[CrmKind, Path]:
    if not folder.is_dir():
        raise InputError(f"the CRM export folder {folder} does not exist or is not a folder")
    formats = [fmt] if fmt else list(ExportFormat)
    found: dict[CrmKind, Path] = {}
    for kind in CrmKind:
        candidates = [
            folder / f"{kind.value}{suffix}"
            for f in formats
            for suffix in _SUFFIXES[f]
            if (folder / f"{kind.value}{suffix}").is_file()
        ]
        if len(candidates) > 1:
            names = ", ".join(p.name for p in candidates)
            raise InputError(
                f"{folder} holds {kind.value} more than once ({names}); "
                "keep one, or choose a format with --format csv|jsonl"
            )
        if candidates:
            found[kind] = candidates[0]
    if not found:
        wanted = ", ".join(f"{k.value}.csv|.jsonl" for k in CrmKind)
        raise InputError(f"{folder} holds no CRM export (looked for {wanted})")
    return found


def _format_of(path: Path) -> ExportFormat:
    name = path.name.removesuffix(".gz")
    return ExportFormat.CSV if name.endswith(".csv") else ExportFormat.JSONL


def _open_text(path: Path) -> IO[str]:
    # utf-8-sig: spreadsheet programs start CSV files with a byte-order mark. Invalid bytes are
    # replaced (and the record counted as not UTF-8) rather than failing the whole export.
    try:
        if path.name.endswith(".gz"):
            return io.TextIOWrapper(
                gzip.open(path, "rb"), encoding="utf-8-sig", errors="replace", newline=""
            )
        return path.open(encoding="utf-8-sig", errors="replace", newline="")
    except OSError as exc:
        raise InputError(f"cannot read {path.name}: {exc.strerror}") from None


class _Batch:
    """Records collected as tuples of the read columns' cells until a batch is full."""

    def __init__(self, kind: CrmKind) -> None:
        self.kind = kind
        self.columns = read_columns(kind)
        self.lines: list[int] = []
        self.rows: list[tuple[object, ...]] = []

    def __len__(self) -> int:
        return len(self.lines)

    def add(self, line: int, values: tuple[object, ...]) -> None:
        self.lines.append(line)
        self.rows.append(values)

    def flush(self) -> pl.DataFrame:
        data: dict[str, list[object]] = {}
        for column, values in zip(self.columns, zip(*self.rows, strict=True), strict=True):
            if column.type is ColumnType.TEXT:
                # Only the length of a free text goes on; the text itself goes no further.
                data[column.name] = [len(v) or None if isinstance(v, str) else None for v in values]
            else:
                data[column.name] = list(values)
        frame = cells_frame(self.kind, self.lines, data)
        self.lines, self.rows = [], []
        return frame


def _counting(handle: IO[str], tally: Tally) -> Iterator[str]:
    """The handle's lines, counting those that held bytes invalid in UTF-8 (now U+FFFD)."""
    for line in handle:
        if "\ufffd" in line:
            tally.quarantine.non_utf8 += 1
        yield line


def _csv_cells(
    handle: IO[str], name: str, kind: CrmKind, tally: Tally, batch_rows: int
) -> Iterator[pl.DataFrame]:
    reader = csv.reader(_counting(handle, tally), strict=True)
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise InputError(f"{name} is empty: a CSV export starts with a header line") from None
    except csv.Error:
        raise InputError(f"{name} line 1: the header line is not readable as CSV") from None
    columns = read_columns(kind)
    repeated = sorted({h for h in header if header.count(h) > 1 and h})
    if repeated:
        raise InputError(f"{name}: the header names column {', '.join(repeated)} more than once")
    missing = [c.name for c in columns if c.name not in header]
    if missing:
        raise InputError(f"{name}: the header lacks the column {', '.join(missing)}")
    pick = operator.itemgetter(*(header.index(c.name) for c in columns))
    width = len(header)
    batch = _Batch(kind)
    # The hot loop of CSV reading: bound methods and locals, one branch per record.
    lines, rows = batch.lines, batch.rows
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            tally.records += 1
            text = str(exc)
            if "field larger than field limit" in text:
                tally.reject(Reason.LINE_TOO_LONG, [start])
            elif "unexpected end of data" in text:
                tally.reject(Reason.UNTERMINATED_QUOTE, [start])
            else:
                tally.reject(Reason.BAD_ROW, [start])
            continue
        if len(row) != width:
            tally.records += 1
            tally.reject(Reason.FIELD_COUNT if row else Reason.EMPTY_LINE, [start])
            continue
        lines.append(start)
        rows.append(pick(row))
        if len(lines) >= batch_rows:
            yield batch.flush()
            lines, rows = batch.lines, batch.rows
    if len(batch):
        yield batch.flush()


def _jsonl_cells(
    handle: IO[str], name: str, kind: CrmKind, tally: Tally, batch_rows: int
) -> Iterator[pl.DataFrame]:
    columns = read_columns(kind)
    seen: set[str] = set()
    objects = 0
    batch = _Batch(kind)
    for number, line in enumerate(_lines(handle, tally), start=1):
        if line is None:
            tally.records += 1
            tally.reject(Reason.LINE_TOO_LONG, [number])
            continue
        text = line.strip()
        if not text:
            tally.records += 1
            tally.reject(Reason.EMPTY_LINE, [number])
            continue
        try:
            record = json.loads(text)
        except ValueError:
            record = None
        if not isinstance(record, dict):
            tally.records += 1
            tally.reject(Reason.BAD_JSON, [number])
            continue
        objects += 1
        seen.update(record)
        values: list[object] = []
        wrong: str | None = None
        for column in columns:
            value = record.get(column.name)
            if isinstance(value, dict | list) or (
                column.type is ColumnType.TEXT and not isinstance(value, str | None)
            ):
                wrong = wrong or column.name
            values.append(value if column.type is ColumnType.TEXT else _scalar(value))
        if wrong is not None:
            tally.records += 1
            tally.reject(CrmReason.BAD_TYPE, [number], wrong)
            continue
        batch.add(number, tuple(values))
        if len(batch) >= batch_rows:
            yield batch.flush()
    if len(batch):
        yield batch.flush()
    absent = [c.name for c in columns if c.name not in seen]
    if objects and absent:
        raise InputError(f"{name}: no record has the column {', '.join(absent)}")


def _scalar(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _lines(handle: IO[str], tally: Tally) -> Iterator[str | None]:
    """Lines of a text file, each at most MAX_RECORD_CHARS long (None for a longer one)."""
    while True:
        line = handle.readline(MAX_RECORD_CHARS)
        if not line:
            return
        if "\ufffd" in line:
            tally.quarantine.non_utf8 += 1
        if len(line) == MAX_RECORD_CHARS and not line.endswith("\n"):
            while (rest := handle.readline(MAX_RECORD_CHARS)) and not rest.endswith("\n"):
                pass
            yield None
            continue
        yield line
