"""Access logs: read plain, gzip or stdin input in blocks and parse them column-wise.

A block of complete lines is split into columns by Arrow's CSV reader (``delimited``), which
proves for each row that it reads the line exactly as the format's regex would; the few lines
it cannot vouch for, and formats that are not space-separated tokens, go through the
line-by-line parser (``lines``), which is the definition. Fields are then validated and typed
once per distinct value (``parsed``). Bad lines are counted by reason; their content goes
nowhere.
"""

from __future__ import annotations

import glob
import gzip
import hashlib
import io
import sys
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from privstats.exceptions import InputError
from privstats.quarantine import Quarantine
from privstats.sources import delimited
from privstats.sources.delimited import DelimitedPlan, Slot, SlotKind, Split
from privstats.sources.lines import LineParser
from privstats.sources.logformat import Field, LogFormat
from privstats.sources.parsed import (
    SPACE,
    BlockTally,
    Coded,
    ParsedBlock,
    RawFields,
    decoded,
    typed,
)

BLOCK_BYTES = 16 << 20
_GZIP_MAGIC = b"\x1f\x8b"

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
    """Yields blocks of whole lines, hashing the decompressed content as it goes.

    With ``reuse``, every block is read into the same buffer and handed out as a memoryview
    that is only valid until the next block is asked for: no allocation, no copy, no page
    faults per block (ingest parses each block before it reads the next). With ``reuse``,
    lines are not counted either; the caller counts them and keeps ``lines_read`` up to date.
    """

    def __init__(self, source: Input, block_bytes: int = BLOCK_BYTES, reuse: bool = False):
        self.source = source
        self.block_bytes = block_bytes
        self.reuse = reuse
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

    def __iter__(self) -> Iterator[tuple[int, Any, int]]:
        """(number of the first line, the block, how many lines it holds).

        A block is read into its buffer directly and never copied.
        """
        label = self.source.label
        handle = self._open()
        carry = b""
        buffer = bytearray()
        first = True
        try:
            while True:
                size = len(carry) + self.block_bytes
                if not self.reuse or len(buffer) < size:
                    buffer = bytearray(size)
                buffer[: len(carry)] = carry
                filled = len(carry) + self._fill(handle, memoryview(buffer)[len(carry) : size])
                if first and b"\x00" in buffer[len(carry) : min(filled, len(carry) + 65536)]:
                    raise InputError(f"{label} looks binary (it contains NUL bytes), not a log")
                first = False
                if filled == len(carry):
                    break
                self.content.update(memoryview(buffer)[len(carry) : filled])
                cut = buffer.rfind(b"\n", 0, filled) + 1
                if cut == 0:
                    carry = bytes(buffer[:filled])  # no line ends yet: read on
                    continue
                carry = bytes(buffer[cut:filled])
                if self.reuse:
                    yield self._counted(memoryview(buffer)[:cut])
                else:
                    del buffer[cut:]
                    yield self._counted(buffer)
            if carry:
                yield self._counted(bytearray(carry + b"\n"))
        finally:
            if handle is not sys.stdin.buffer:
                handle.close()

    def _fill(self, handle: BinaryIO, view: memoryview) -> int:
        """Read until ``view`` is full or the input ends; the number of bytes read."""
        label = self.source.label
        filled = 0
        while filled < len(view):
            try:
                n = handle.readinto(view[filled:])
            except (EOFError, gzip.BadGzipFile, zlib.error):
                raise InputError(
                    f"{label} is a damaged or truncated gzip file "
                    f"({self.lines_read} lines could be read); nothing was written for it"
                ) from None
            except OSError as exc:
                raise InputError(f"cannot read {label}: {exc.strerror}") from None
            if not n:
                break
            filled += n
        return filled

    def _counted(self, block: Any) -> tuple[int, Any, int]:
        start = self.lines_read + 1
        if self.reuse:
            return start, block, 0
        lines = int(np.count_nonzero(np.frombuffer(block, dtype=np.uint8) == 10))
        self.lines_read += lines
        return start, block, lines


class BlockParser:
    """Parses blocks of one format; safe to share between threads (it keeps no state)."""

    def __init__(self, fmt: LogFormat, max_line_bytes: int) -> None:
        self.fmt = fmt
        self.max_line_bytes = max_line_bytes
        self.plan = DelimitedPlan.of(fmt)
        self.line_parser = LineParser(fmt, max_line_bytes)

    def parse(self, block: Any, first_line: int) -> tuple[ParsedBlock, BlockTally]:
        """Valid lines of ``block`` (whole lines) typed, and the block's bad lines by reason.

        ``block`` is any buffer (bytes, bytearray, memoryview); ``tally.line_count`` counts
        its lines.
        """
        tally = BlockTally()
        split = delimited.split(block, self.plan) if self.plan is not None else None
        if split is None:
            raws = bytes(block).split(b"\n")[:-1]
            tally.line_count = len(raws)
            raw = self._line_by_line(range(first_line, first_line + len(raws)), raws, tally)
        else:
            tally.line_count = split.lines
            fast, others = self._columns(split, block, first_line, tally)
            numbers = [first_line + line for line, _ in others]
            raw = RawFields.concat(
                fast, self._line_by_line(numbers, [text for _, text in others], tally)
            )
        return typed(raw, self.fmt, tally), tally

    def _line_by_line(self, numbers: Any, raws: list[bytes], tally: BlockTally) -> RawFields:
        rows = self.line_parser.parse(list(numbers), raws, tally)  # type: ignore[arg-type]
        return RawFields.from_columns(rows.numbers, rows.fields)

    def _columns(
        self, split: Split, block: Any, first_line: int, tally: BlockTally
    ) -> tuple[RawFields, list[tuple[int, bytes]]]:
        """Fields of the rows the CSV reader read exactly; the other lines, as raw bytes."""
        plan: DelimitedPlan = self.plan  # type: ignore[assignment]
        doubtful = ~split.trusted | (split.length > self.max_line_bytes)
        invalid = np.zeros(len(doubtful), dtype=bool)
        columns: list[Coded | pa.Array | None] = []
        for slot, column in zip(plan.slots, split.table.columns, strict=True):
            if slot.numeric:
                text, bad_utf8 = decoded(column)
                if bad_utf8 is not None:
                    invalid |= bad_utf8
                doubtful |= _spaced(text)
                columns.append(text)
                continue
            coded = Coded.encode(column)
            values, bad_utf8 = decoded(coded.values)
            coded = coded.with_values(values)
            if bad_utf8 is not None:
                invalid |= coded.per_row(bad_utf8)
            wrong = _wrong_values(slot, values)
            if wrong.any():
                doubtful |= coded.per_row(wrong)
            columns.append(coded)
        keep = ~doubtful
        tally.non_utf8 += int(np.count_nonzero(invalid & keep))
        picked = np.flatnonzero(doubtful)
        others = split.others + [
            (line, bytes(block[start : start + length]))
            for line, start, length in zip(
                split.line[picked].tolist(),
                split.start[picked].tolist(),
                split.length[picked].tolist(),
                strict=True,
            )
        ]
        others.sort()
        fields = _slot_fields(plan.slots, columns)
        raw = RawFields(first_line + split.line[keep].astype(np.int64))
        for name, value in fields.items():
            if isinstance(value, Coded):
                raw.coded[name] = value.filter(keep)
            else:
                raw.plain[name] = _one_chunk(value.filter(pa.array(keep)))
        return raw, others


def _one_chunk(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(values, pa.ChunkedArray):
        return values.combine_chunks() if values.num_chunks else pa.array([], values.type)
    return values


def _contains(values: pa.Array, text: str) -> np.ndarray:
    found = pc.match_substring(values, text)
    return np.asarray(found.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)


def _matches(values: pa.Array | pa.ChunkedArray, pattern: str) -> np.ndarray:
    found = pc.match_substring_regex(values, pattern)
    return np.asarray(found.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)


def _spaced(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Which values hold white space (looked for only in values that are not plain digits)."""
    digits = pc.ascii_is_decimal(values).fill_null(False)
    digits = np.asarray(digits.to_numpy(zero_copy_only=False), dtype=bool)
    found = np.zeros(len(digits), dtype=bool)
    others = np.flatnonzero(~digits)
    if len(others):
        found[others] = _matches(values.take(pa.array(others)), SPACE)
    return found


def _wrong_values(slot: Slot, values: pa.Array) -> np.ndarray:
    """Values the format's regex would not read as this slot (they send their lines to it)."""
    kind = slot.kind
    if kind is SlotKind.QUOTED:
        return _matches(values, '["\n]')
    if kind is SlotKind.TIME_OPEN:
        return ~_matches(values, r"^\[[^\]]*$")
    if kind is SlotKind.TIME_CLOSE:
        return ~_matches(values, r"^[^\]]*\]$")
    if kind is SlotKind.LITERAL:
        return np.asarray(
            pc.not_equal(values, pa.scalar(slot.literal, pa.string()))
            .fill_null(True)
            .to_numpy(zero_copy_only=False),
            dtype=bool,
        )
    wrong = _matches(values, SPACE)
    if slot.pattern is not None:
        wrong |= np.array([slot.pattern.match(v or "") is None for v in values.to_pylist()])
    return wrong


def _slot_fields(
    slots: tuple[Slot, ...], columns: list[Coded | pa.Array | None]
) -> dict[Field, Coded | pa.Array]:
    """Canonical fields from the slots' columns (the first slot wins a repeated field)."""
    fields: dict[Field, Coded | pa.Array] = {}

    def put(name: Field, value: Coded | pa.Array) -> None:
        if name is not Field.IGNORED and name not in fields:
            fields[name] = value

    for i, slot in enumerate(slots):
        column = columns[i]
        if slot.kind is SlotKind.TIME_OPEN:
            put(slot.fields[0], _time(column, columns[i + 1]))  # type: ignore[arg-type]
        elif slot.kind in (SlotKind.PLAIN, SlotKind.QUOTED) and slot.pattern is not None:
            texts = column.values.to_pylist()  # type: ignore[union-attr]
            groups = [slot.pattern.match(t or "") for t in texts]
            for g, name in enumerate(slot.fields):
                parts = [m.group(g + 1) if m else None for m in groups]
                put(name, column.with_values(pa.array(parts, pa.string())))  # type: ignore[union-attr]
        elif slot.kind in (SlotKind.PLAIN, SlotKind.QUOTED):
            put(slot.fields[0], column)  # type: ignore[arg-type]
    return fields


def _time(opening: Coded, closing: Coded) -> Coded:
    """'[01/Oct/2026:12:00:03' and '+0200]' -> '01/Oct/2026:12:00:03 +0200', once per pair."""
    if len(closing.values) == 1:
        codes, first = opening.codes, None
        heads = opening.values
        tails = pa.repeat(closing.values[0], len(heads)) if len(heads) else closing.values[:0]
    else:
        pair = opening.codes.astype(np.int64) * len(closing.values) + closing.codes
        _, first, inverse = np.unique(pair, return_index=True, return_inverse=True)
        codes = inverse.astype(np.int32).ravel()
        heads = opening.values.take(pa.array(opening.codes[first]))
        tails = closing.values.take(pa.array(closing.codes[first]))
    joined = pc.binary_join_element_wise(
        pc.utf8_slice_codeunits(heads, 1), pc.utf8_slice_codeunits(tails, 0, -1), " "
    )
    return Coded(codes, joined)


def parse_block(
    block: bytes,
    first_line: int,
    fmt: LogFormat,
    max_line_bytes: int,
    quarantine: Quarantine,
    index: object = None,
) -> pl.DataFrame:
    """Parse one block into typed canonical columns, in line order; bad lines go to ``quarantine``.

    A convenience over ``BlockParser`` for small inputs and tests; ingest keeps the coded form.
    """
    del index  # accepted for compatibility; the parser finds lines itself
    parsed, tally = BlockParser(fmt, max_line_bytes).parse(block, first_line)
    tally.into(quarantine)
    return parsed.to_frame().sort("line")
