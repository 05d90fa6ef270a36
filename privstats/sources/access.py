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
import json
import sys
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import polars as pl
import pyarrow as pa

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


def raw_digest(source: Input) -> str | None:
    """SHA-256 of the file's bytes as stored (None for stdin), to skip known files early."""
    if source.path is None:
        return None
    digest = hashlib.sha256()
    try:
        with source.path.open("rb") as handle:
            while chunk := handle.read(1 << 22):
                digest.update(chunk)
    except OSError as exc:
        raise InputError(f"cannot read {source.label}: {exc.strerror}") from None
    return digest.hexdigest()


class BlockReader:
    """Yields blocks of whole lines, hashing the decompressed content as it goes."""

    def __init__(self, source: Input, block_bytes: int = BLOCK_BYTES) -> None:
        self.source = source
        self.block_bytes = block_bytes
        self.content = hashlib.sha256()
        self.lines_read = 0

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
            return gzip.GzipFile(fileobj=handle, mode="rb")  # type: ignore[return-value]
        return handle

    def __iter__(self) -> Iterator[tuple[int, bytes]]:
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
                block = data[:cut]
                start = self.lines_read + 1
                self.lines_read += block.count(b"\n")
                yield start, block
            if carry:
                start = self.lines_read + 1
                self.lines_read += 1
                yield start, carry + b"\n"
        finally:
            if handle is not sys.stdin.buffer:
                handle.close()


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
    block: bytes, first_line: int, fmt: LogFormat, max_line_bytes: int, quarantine: Quarantine
) -> pl.DataFrame:
    """Parse one block into typed canonical columns; bad lines go to ``quarantine``."""
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
    columns = {}
    for name, field in zip(names, fmt.fields, strict=True):
        if field is not Field.IGNORED and field.value not in columns:
            columns[field.value] = pl.col(name)
    return matched.select(pl.col("line"), **columns)


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
