"""Access logs: read plain, gzip or stdin input in blocks and parse them column-wise.

A block of complete lines becomes one Arrow string array without copying, the compiled format's
regex splits it into fields in polars (native code, both cores), and only lines the fast regex
rejects go through Python: the strict regex (escaped quotes) and, failing that, a diagnosis of
why the line is bad. Bad lines are counted by reason; their content goes nowhere.
"""

from __future__ import annotations

import glob
import gzip
import hashlib
import io
import json
import sys
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.csv as pa_csv

from privstats.exceptions import InputError
from privstats.quarantine import Quarantine, Reason
from privstats.sources.logformat import Field, LogFormat

BLOCK_BYTES = 32 << 20
_GZIP_MAGIC = b"\x1f\x8b"
_REQUEST = r"^(\S+) +(\S+)(?: +(\S+))?$"

# Columns of a parsed block: canonical names, typed, one row per valid line.
PARSED_SCHEMA = {
    "line": pl.Int64,
    "client": pl.String,
    "login": pl.String,
    "ts": pl.Datetime("us", "UTC"),
    "method": pl.String,
    "target": pl.String,
    "protocol": pl.String,
    "status": pl.Int16,
    "bytes": pl.Int64,
    "response_us": pl.Int64,
    "referer": pl.String,
    "user_agent": pl.String,
    "site": pl.String,
}


@dataclass(frozen=True)
class Input:
    """One input to read: a file, or standard input when ``path`` is None."""

    path: Path | None
    label: str

    @property
    def is_stdin(self) -> bool:
        return self.path is None


def expand_inputs(patterns: list[str]) -> list[Input]:
    """Paths and globs -> inputs; ``-`` is standard input. A missing path is an error."""
    inputs: list[Input] = []
    for pattern in patterns:
        if pattern == "-":
            inputs.append(Input(None, "<stdin>"))
            continue
        matches = sorted(glob.glob(pattern)) if glob.has_magic(pattern) else [pattern]
        if not matches:
            raise InputError(f"no file matches {pattern}")
        for match in matches:
            path = Path(match)
            if not path.exists():
                raise InputError(f"{match}: no such file")
            if path.is_dir():
                raise InputError(f"{match} is a folder; name the log files (globs work)")
            inputs.append(Input(path, match))
    return inputs


def quick_fingerprint(source: Input) -> str | None:
    """Size plus the first and last MiB, hashed: finds a likely re-ingest without a full read."""
    if source.path is None:
        return None
    digest = hashlib.sha256()
    try:
        with source.path.open("rb") as handle:
            size = handle.seek(0, 2)
            digest.update(str(size).encode())
            handle.seek(0)
            digest.update(handle.read(1 << 20))
            handle.seek(max(0, size - (1 << 20)))
            digest.update(handle.read(1 << 20))
    except OSError as exc:
        raise InputError(f"cannot read {source.label}: {exc.strerror}") from None
    return digest.hexdigest()


def raw_digest(source: Input) -> str:
    """SHA-256 of a file's bytes as stored."""
    digest = hashlib.sha256()
    try:
        with source.path.open("rb") as handle:  # type: ignore[union-attr]
            while chunk := handle.read(1 << 22):
                digest.update(chunk)
    except OSError as exc:
        raise InputError(f"cannot read {source.label}: {exc.strerror}") from None
    return digest.hexdigest()


class _Hashing(io.RawIOBase):
    """Hashes the compressed bytes of a file while gzip reads them."""

    def __init__(self, handle: BinaryIO, digest: Any) -> None:
        self.handle = handle
        self.digest = digest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = self.handle.readinto(buffer)
        self.digest.update(memoryview(buffer)[:n])
        return n

    def close(self) -> None:
        self.handle.close()
        super().close()


class BlockReader:
    """Yields blocks of whole lines, hashing the decompressed content as it goes."""

    def __init__(self, source: Input, block_bytes: int = BLOCK_BYTES) -> None:
        self.source = source
        self.block_bytes = block_bytes
        self.content = hashlib.sha256()
        self.compressed: Any = None  # the file's own SHA-256 when it is gzip, else None
        self.lines_read = 0

    @property
    def raw_sha256(self) -> str:
        return (self.compressed or self.content).hexdigest()

    def _open(self) -> BinaryIO:
        if self.source.path is None:
            return sys.stdin.buffer
        try:
            handle = self.source.path.open("rb")
            magic = handle.read(2)
            handle.seek(0)
        except OSError as exc:
            raise InputError(f"cannot read {self.source.label}: {exc.strerror}") from None
        if magic == _GZIP_MAGIC:
            self.compressed = hashlib.sha256()
            hashing = io.BufferedReader(_Hashing(handle, self.compressed), 1 << 20)
            return gzip.GzipFile(fileobj=hashing, mode="rb")  # type: ignore[return-value]
        return handle

    def __iter__(self) -> Iterator[tuple[int, bytes, LineIndex]]:
        label = self.source.label
        handle = self._open()
        carry = b""
        first = True
        try:
            while True:
                try:
                    chunk = handle.read(self.block_bytes)
                except (EOFError, gzip.BadGzipFile, zlib.error):
                    raise InputError(
                        f"{label} is a damaged or truncated gzip file "
                        f"({self.lines_read} lines could be read); nothing was written for it"
                    ) from None
                except OSError as exc:
                    raise InputError(f"cannot read {label}: {exc.strerror}") from None
                if first and chunk and b"\x00" in chunk[:65536]:
                    raise InputError(f"{label} looks binary (it contains NUL bytes), not a log")
                first = False
                if not chunk:
                    break
                self.content.update(chunk)
                data = carry + chunk
                cut = data.rfind(b"\n") + 1
                if cut == 0:
                    carry = data
                    continue
                carry = data[cut:]
                yield self._indexed(data[:cut])
            if carry:
                yield self._indexed(carry + b"\n")
        finally:
            if handle is not sys.stdin.buffer:
                handle.close()

    def _indexed(self, block: bytes) -> tuple[int, bytes, LineIndex]:
        index = LineIndex.of(block)
        start = self.lines_read + 1
        self.lines_read += len(index.ends)
        return start, block, index


@dataclass(frozen=True)
class LineIndex:
    """Where a block's lines end, and which lines have an odd number of unescaped quotes.

    Computed in the reader thread (numpy releases the GIL), so it overlaps with parsing. An odd
    quote count would let a CSV reader run a quoted field into the next line; such lines are
    taken out and parsed on their own.
    """

    ends: np.ndarray  # offset of each line's "\n"
    odd_quotes: np.ndarray  # bool per line

    @classmethod
    def of(cls, block: bytes) -> LineIndex:
        buf = np.frombuffer(block, dtype=np.uint8)
        ends = np.flatnonzero(buf == 10)
        quotes = np.flatnonzero(buf == 34)
        if len(quotes):
            escaped = np.zeros(len(quotes), dtype=bool)
            escaped[quotes > 0] = buf[quotes[quotes > 0] - 1] == 92
            quotes = quotes[~escaped]
        per_line = np.bincount(np.searchsorted(ends, quotes), minlength=len(ends))
        return cls(ends, (per_line[: len(ends)] & 1).astype(bool))


def block_lines(block: bytes, quarantine: Quarantine) -> pl.Series:
    """A block of ``\\n``-terminated lines as a string Series, line ends removed.

    Zero-copy when the block is valid UTF-8; otherwise lines are decoded one by one with
    replacement characters and counted, so a Latin-1 user agent costs nothing but a count.
    """
    buf = np.frombuffer(block, dtype=np.uint8)
    ends = np.flatnonzero(buf == 10)
    offsets = np.empty(len(ends) + 1, dtype=np.int64)
    offsets[0] = 0
    offsets[1:] = ends + 1
    array = pa.LargeStringArray.from_buffers(len(ends), pa.py_buffer(offsets), pa.py_buffer(block))
    try:
        array.validate(full=True)
    except pa.ArrowInvalid:
        texts = []
        for raw in block.split(b"\n")[:-1]:
            try:
                texts.append(raw.decode("utf-8"))
            except UnicodeDecodeError:
                quarantine.non_utf8 += 1
                texts.append(raw.decode("utf-8", errors="replace"))
        return pl.Series("l", texts, dtype=pl.String)
    return pl.Series("l", array).str.strip_chars_end("\r\n")


def parse_block(
    block: bytes,
    first_line: int,
    fmt: LogFormat,
    max_line_bytes: int,
    quarantine: Quarantine,
    index: LineIndex | None = None,
) -> pl.DataFrame:
    """Parse one block into typed canonical columns; bad lines go to ``quarantine``."""
    if fmt.columns is not None:
        raw = _split_csv(block, first_line, fmt, max_line_bytes, quarantine, index)
        if raw is not None:
            return _typed(raw, fmt, quarantine)
    lines = block_lines(block, quarantine)
    frame = pl.DataFrame({"l": lines}).with_row_index("line", offset=first_line)
    frame = frame.with_columns(pl.col("line").cast(pl.Int64), n=pl.col("l").str.len_bytes())
    _quarantine_where(frame, pl.col("n") > max_line_bytes, Reason.LINE_TOO_LONG, quarantine)
    _quarantine_where(frame, pl.col("n") == 0, Reason.EMPTY_LINE, quarantine)
    frame = frame.filter((pl.col("n") > 0) & (pl.col("n") <= max_line_bytes)).drop("n")
    raw = (
        _split_json(frame, fmt, quarantine) if fmt.is_json else _split_text(frame, fmt, quarantine)
    )
    return _typed(raw, fmt, quarantine)


def _split_csv(
    block: bytes,
    first_line: int,
    fmt: LogFormat,
    max_line_bytes: int,
    quarantine: Quarantine,
    index: LineIndex | None,
) -> pl.DataFrame | None:
    """Split a block with Arrow's CSV reader (both cores); None if the block needs the regex.

    Empty, over-long and odd-quote lines are cut out first, so that every line the reader sees
    is one row; rows it still rejects go through the strict regex, one by one.
    """
    index = index or LineIndex.of(block)
    ends = index.ends
    starts = np.empty_like(ends)
    starts[:1] = 0
    starts[1:] = ends[:-1] + 1
    lengths = ends - starts
    numbers = np.arange(first_line, first_line + len(ends), dtype=np.int64)
    empty = lengths == 0
    long = lengths > max_line_bytes
    odd = index.odd_quotes & ~empty & ~long
    skip = empty | long | odd
    kept = numbers[~skip]
    data = block if not skip.any() else b"".join(_runs(block, starts, ends, ~skip))
    rejected: list[str] = []

    def reject(row: pa_csv.InvalidRow) -> str:
        rejected.append(row.text)
        return "skip"

    width = fmt.columns[-1].first + fmt.columns[-1].width  # type: ignore[index]
    names = [f"c{i}" for i in range(width)]
    try:
        table = pa_csv.read_csv(
            pa.py_buffer(data),
            read_options=pa_csv.ReadOptions(column_names=names, block_size=8 << 20),
            parse_options=pa_csv.ParseOptions(
                delimiter=" ",
                quote_char='"',
                escape_char="\\",
                double_quote=False,
                newlines_in_values=False,
                ignore_empty_lines=False,
                invalid_row_handler=reject,
            ),
            convert_options=pa_csv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except pa.ArrowInvalid:
        return None  # not valid UTF-8 somewhere: the line-by-line path counts and repairs it
    if rejected:
        kept_ends = np.cumsum(lengths[~skip] + 1) - 1
        positions = _locate(data, rejected, kept_ends)
        if positions is None:
            return None
        retry = np.zeros(len(kept), dtype=bool)
        retry[positions] = True
        odd[np.flatnonzero(~skip)[retry]] = True
        kept = kept[~retry]
    if table.num_rows != len(kept):
        return None  # the reader joined or split lines after all: take the careful path
    frame = pl.from_arrow(table).with_columns(line=pl.Series(kept))  # type: ignore[union-attr]
    columns: dict[str, pl.Expr] = {}
    for column in fmt.columns:  # type: ignore[union-attr]
        source = pl.col(f"c{column.first}")
        if column.width == 2:
            source = (source + " " + pl.col(f"c{column.first + 1}")).str.strip_chars("[]")
        if column.pattern is None:
            targets = [(column.fields[0], source)]
        else:
            groups = source.str.extract_groups(column.pattern)
            targets = [(f, groups.struct.field(str(i + 1))) for i, f in enumerate(column.fields)]
        for field, expr in targets:
            if field is not Field.IGNORED and field.value not in columns:
                columns[field.value] = expr
    parsed = frame.select(pl.col("line"), **columns)
    # Counted only now: a block that falls back to the line-by-line path counts them there.
    quarantine.add(Reason.EMPTY_LINE, numbers[empty].tolist())
    quarantine.add(Reason.LINE_TOO_LONG, numbers[long].tolist())
    if odd.any():
        texts = [block[starts[i] : ends[i]].decode("utf-8", "replace") for i in np.flatnonzero(odd)]
        rescued = _strict_fallback(numbers[odd].tolist(), texts, fmt, quarantine)
        if rescued:
            parsed = pl.concat([parsed, _fields_frame(rescued, fmt).select(parsed.columns)])
    return parsed


def _runs(
    block: bytes, starts: np.ndarray, ends: np.ndarray, keep: np.ndarray
) -> Iterator[memoryview]:
    """The bytes of the kept lines, as few views as possible (joined once, by the caller)."""
    view = memoryview(block)
    edges = np.flatnonzero(np.diff(np.concatenate(([0], keep.astype(np.int8), [0]))))
    for first, stop in zip(edges[::2], edges[1::2], strict=True):
        yield view[starts[first] : ends[stop - 1] + 1]


def _locate(data: bytes, texts: list[str], ends: np.ndarray) -> np.ndarray | None:
    """Line indexes (within ``data``) of rows the CSV reader rejected, found by their text."""
    found = []
    seen: dict[bytes, int] = {}
    for text in texts:
        needle = text.encode("utf-8")
        at = data.find(needle, seen.get(needle, 0))
        while at > 0 and data[at - 1] != 10:
            at = data.find(needle, at + 1)
        if at < 0:
            return None
        seen[needle] = at + 1
        found.append(int(np.searchsorted(ends, at)))
    return np.asarray(sorted(found), dtype=np.int64)


def _split_text(frame: pl.DataFrame, fmt: LogFormat, quarantine: Quarantine) -> pl.DataFrame:
    names = [f"g{i}" for i in range(len(fmt.fields))]
    split = frame.select(
        "line",
        "l",
        parts=pl.col("l").str.extract_groups(fmt.fast_pattern).struct.rename_fields(names),
    ).unnest("parts")
    matched = split.filter(pl.col(names[0]).is_not_null()).drop("l")
    missed = split.filter(pl.col(names[0]).is_null())
    if not missed.is_empty():
        rescued = _strict_fallback(missed["line"].to_list(), missed["l"].to_list(), fmt, quarantine)
        if rescued:
            matched = pl.concat(
                [matched, pl.DataFrame(rescued, schema=matched.schema, orient="row")]
            )
    return _named(matched, fmt)


def _fields_frame(rows: list[tuple[object, ...]], fmt: LogFormat) -> pl.DataFrame:
    """Rows of (line, group 1, group 2, ...) from the strict regex, as named fields."""
    names = ["line", *[f"g{i}" for i in range(len(fmt.fields))]]
    schema = {name: pl.String for name in names} | {"line": pl.Int64}
    return _named(pl.DataFrame(rows, schema=schema, orient="row"), fmt)


def _named(groups: pl.DataFrame, fmt: LogFormat) -> pl.DataFrame:
    """Columns g0, g1, ... -> canonical field names (the first group wins a repeated field)."""
    columns = {}
    for i, field in enumerate(fmt.fields):
        if field is not Field.IGNORED and field.value not in columns:
            columns[field.value] = pl.col(f"g{i}")
    return groups.select(pl.col("line"), **columns)


def _strict_fallback(
    numbers: list[int], texts: list[str], fmt: LogFormat, quarantine: Quarantine
) -> list[tuple[object, ...]]:
    rescued: list[tuple[object, ...]] = []
    by_reason: dict[Reason, list[int]] = {}
    for number, text in zip(numbers, texts, strict=True):
        match = fmt.strict_pattern.match(text)
        if match:
            groups = (g.replace('\\"', '"').replace("\\\\", "\\") for g in match.groups())
            rescued.append((number, *groups))
        else:
            by_reason.setdefault(_diagnose(text), []).append(number)
    for reason, found in by_reason.items():
        quarantine.add(reason, found)
    return rescued


def _diagnose(text: str) -> Reason:
    """Why a line failed the format (only the reason leaves this function, never the text)."""
    unescaped_quotes = text.count('"') - text.count('\\"')
    if unescaped_quotes % 2:
        return Reason.UNTERMINATED_QUOTE
    return Reason.FIELD_COUNT


def _split_json(frame: pl.DataFrame, fmt: LogFormat, quarantine: Quarantine) -> pl.DataFrame:
    keys = [(key, field) for key, field in fmt.json_keys if field is not Field.IGNORED]
    rows: list[tuple[object, ...]] = []
    bad: list[int] = []
    for number, text in frame.select("line", "l").iter_rows():
        try:
            obj = json.loads(text)
        except ValueError:
            obj = None
        if not isinstance(obj, dict):
            bad.append(number)
            continue
        rows.append((number, *(_json_text(obj.get(key)) for key, _ in keys)))
    quarantine.add(Reason.BAD_JSON, bad)
    schema = {"line": pl.Int64, **{field.value: pl.String for _, field in keys}}
    return pl.DataFrame(rows, schema=schema, orient="row")


def _json_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return json.dumps(value)


def _typed(raw: pl.DataFrame, fmt: LogFormat, quarantine: Quarantine) -> pl.DataFrame:
    """String fields -> typed canonical columns; lines with an invalid field are quarantined."""
    cols = set(raw.columns)

    def text(field: Field) -> pl.Expr:
        return pl.col(field.value) if field.value in cols else pl.lit(None, pl.String)

    dash = {"-", ""}
    exprs: dict[str, pl.Expr] = {
        "client": text(Field.CLIENT),
        "login": pl.when(text(Field.LOGIN).is_in(list(dash)))
        .then(None)
        .otherwise(text(Field.LOGIN)),
        "status": text(Field.STATUS).str.to_integer(strict=False),
        "referer": text(Field.REFERER),
        "user_agent": text(Field.USER_AGENT),
        "site": text(Field.SITE),
    }
    size = text(Field.BYTES)
    exprs["bytes"] = pl.when(size == "-").then(0).otherwise(size.str.to_integer(strict=False))
    exprs["response_us"] = _response_us(raw, cols)
    if Field.REQUEST.value in cols:
        request = text(Field.REQUEST).str.extract_groups(_REQUEST)
        exprs["method"] = request.struct.field("1")
        exprs["target"] = request.struct.field("2")
        exprs["protocol"] = request.struct.field("3")
    else:
        target = text(Field.TARGET)
        query = text(Field.QUERY)
        exprs["method"] = text(Field.METHOD)
        exprs["target"] = (
            pl.when(query.is_null() | query.is_in(["", "-"]))
            .then(target)
            .otherwise(target + pl.lit("?") + query)
        )
        exprs["protocol"] = text(Field.PROTOCOL)
    typed = raw.with_columns(ts=_timestamps(raw, fmt)).select("line", "ts", **exprs)
    size_given = pl.lit(Field.BYTES.value in cols)

    # Each bad line is counted once, under the first problem found, in this order.
    checks = [
        (Reason.MISSING_CLIENT, pl.col("client").is_null() | pl.col("client").is_in(list(dash))),
        (Reason.BAD_TIMESTAMP, pl.col("ts").is_null()),
        (Reason.BAD_STATUS, ~pl.col("status").is_between(100, 599).fill_null(False)),
        (Reason.BAD_SIZE, size_given & (pl.col("bytes").is_null() | (pl.col("bytes") < 0))),
        (Reason.BAD_RESPONSE_TIME, pl.col("response_us") == -1),
    ]
    reason = pl.lit(None, pl.String)
    for cause, condition in reversed(checks):
        reason = pl.when(condition).then(pl.lit(cause.value)).otherwise(reason)
    typed = typed.with_columns(reason=reason)
    bad = typed.filter(pl.col("reason").is_not_null()).group_by("reason").agg("line")
    for cause, numbers in bad.iter_rows():
        quarantine.add(Reason(cause), sorted(numbers))
    good = typed.filter(pl.col("reason").is_null())
    return good.select([pl.col(name).cast(dtype) for name, dtype in PARSED_SCHEMA.items()])


def _timestamps(raw: pl.DataFrame, fmt: LogFormat) -> pl.Expr:
    """Parse each distinct timestamp once (a busy log repeats each second many times)."""
    if Field.TIME_CLF.value in raw.columns:
        column, pattern = Field.TIME_CLF.value, "%d/%b/%Y:%H:%M:%S %z"
    else:
        column, pattern = Field.TIME_ISO.value, "%Y-%m-%dT%H:%M:%S%z"
    distinct = raw[column].unique()
    parsed = distinct.str.strptime(pl.Datetime("us", "UTC"), pattern, strict=False)
    return pl.col(column).replace_strict(distinct, parsed, default=None, return_dtype=parsed.dtype)


def _response_us(raw: pl.DataFrame, cols: set[str]) -> pl.Expr:
    """Response time in microseconds; '-' is unknown (null), garbage is -1 (quarantined)."""
    for field, scale in (
        (Field.RESPONSE_US, 1),
        (Field.RESPONSE_MS, 1000),
        (Field.RESPONSE_S, 10**6),
    ):
        if field.value in cols:
            value = pl.col(field.value)
            number = value.cast(pl.Float64, strict=False)
            return (
                pl.when(value.is_null() | value.is_in(["-", ""]))
                .then(None)
                .when(number.is_null() | (number < 0))
                .then(-1)
                .otherwise((number * scale).round(0))
                .cast(pl.Int64)
            )
    return pl.lit(None, pl.Int64)


def _quarantine_where(
    frame: pl.DataFrame, condition: pl.Expr, reason: Reason, quarantine: Quarantine
) -> None:
    quarantine.add(reason, frame.filter(condition)["line"].to_list())
