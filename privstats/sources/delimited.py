"""Space-delimited log lines split by Arrow's CSV reader, then proven equal to the regex reading.

Arrow splits a block of lines into columns in native code, about twenty times faster than a
regex per line. Its reading can differ from the format's regex on odd lines (a quote inside a
field, a field that is not quoted where the format quotes it, a tab inside a field), so every
row it returns is checked before it is trusted:

- geometry: the field lengths plus separators and the format's quotes must add up to exactly the
  line's length, and the lines must tile the block, newline by newline;
- quotes: each quoted field must open and close at the byte where the format puts its quotes;
- values (checked later, once per distinct value): no quote inside a quoted field, no white
  space inside an unquoted one, brackets only where the time field has them.

Together these prove the line reads ``f0 f1 "f2" ...`` with the format's literals exactly, which
is the only text the fast regex matches with those groups. A row that fails is sent, as its raw
bytes, to the line-by-line parser, as are the rows Arrow rejects; a block that does not tile
(a stray carriage return, say) is read line by line entirely.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv

from privstats.sources.logformat import _TOKEN, Field, LogFormat

_QUOTE = 34
_NEWLINE = 10
_CR = 13
# Kept per row rather than dictionary-encoded: nearly every value is distinct.
_NUMERIC = frozenset({Field.BYTES, Field.RESPONSE_US, Field.RESPONSE_MS, Field.RESPONSE_S})


class SlotKind(enum.Enum):
    """How one CSV column of a line is written by the server."""

    PLAIN = "plain"  # no white space: \S* in the regex
    QUOTED = "quoted"  # "...": no quote inside
    TIME_OPEN = "time_open"  # "[01/Oct/2026:12:00:03" of a bracketed time
    TIME_CLOSE = "time_close"  # "+0200]"
    LITERAL = "literal"  # text written as is, like nginx's " - "


@dataclass(frozen=True)
class Slot:
    """One CSV column: how it is written and which fields it carries."""

    kind: SlotKind
    fields: tuple[Field, ...] = ()
    pattern: re.Pattern[str] | None = None  # splits a token of several directives ('%v:%p')
    literal: str | None = None
    numeric: bool = False  # kept per row (bytes, response time), not dictionary-encoded


@dataclass(frozen=True)
class DelimitedPlan:
    """The CSV reading of a format whose lines are space-separated tokens."""

    slots: tuple[Slot, ...]

    @property
    def width(self) -> int:
        return len(self.slots)

    @property
    def quoted(self) -> np.ndarray:
        return np.array([s.kind is SlotKind.QUOTED for s in self.slots])

    @classmethod
    def of(cls, fmt: LogFormat) -> DelimitedPlan | None:
        """The plan of ``fmt``, or None when its lines cannot be read as delimited text."""
        if fmt.columns is None:
            return None
        tokens = re.findall(r'"[^"]*"|\[[^\]]*\]|\S+', fmt.spec)
        if len(tokens) != len(fmt.columns):
            return None
        slots: list[Slot] = []
        for token, column in zip(tokens, fmt.columns, strict=True):
            inner = token[1:-1] if token[0] in '"[' else token
            directives = [m for m in _TOKEN.finditer(inner) if m.group(0) != "%%"]
            if column.width == 2:
                slots.append(Slot(SlotKind.TIME_OPEN, column.fields))
                slots.append(Slot(SlotKind.TIME_CLOSE))
            elif not directives:
                slots.append(Slot(SlotKind.LITERAL, literal=token.replace("%%", "%")))
            elif token[0] == '"':
                slots.append(Slot(SlotKind.QUOTED, column.fields))
            elif token[0] == "[" or column.width != 1:
                return None  # a bracketed token that is not the time: not planned for
            else:
                pattern = re.compile(column.pattern) if column.pattern else None
                numeric = pattern is None and column.fields[0] in _NUMERIC
                slots.append(Slot(SlotKind.PLAIN, column.fields, pattern, numeric=numeric))
        return cls(tuple(slots))


@dataclass
class Split:
    """A block read by the CSV reader, with every row placed on its line."""

    table: pa.Table  # binary columns c0, c1, ... (chunked); one row per accepted row
    line: np.ndarray  # 0-based line index (within the block) of each accepted row
    start: np.ndarray  # byte offset of each accepted row's line
    length: np.ndarray  # its length in bytes (without the "\n")
    trusted: np.ndarray  # bool: geometry and quotes proven; values still to check
    others: list[tuple[int, bytes]]  # (line index, raw bytes): for the line-by-line parser
    lines: int  # lines in the block


def split(block: Any, plan: DelimitedPlan) -> Split | None:
    """Read ``block`` (whole lines, any buffer) with the CSV reader; None if it must go line
    by line."""
    names = [f"c{i}" for i in range(plan.width)]
    rejected: list[tuple[int, str]] = []

    def reject(row: pa_csv.InvalidRow) -> str:
        rejected.append((row.number, row.text))
        return "skip"

    try:
        table = pa_csv.read_csv(
            pa.py_buffer(block),
            # One thread (both cores are busy with other stages) in 1 MiB pieces: the reader's
            # working memory stays small. Row numbers in rejected rows need one thread.
            read_options=pa_csv.ReadOptions(column_names=names, use_threads=False),
            parse_options=pa_csv.ParseOptions(
                delimiter=" ",
                quote_char='"',
                escape_char=False,
                double_quote=False,
                newlines_in_values=False,
                ignore_empty_lines=False,
                invalid_row_handler=reject,
            ),
            convert_options=pa_csv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.binary()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError):
        return None  # e.g. a rejected row that is not UTF-8: Arrow cannot hand it over
    return _place(block, plan, table, rejected)


def _place(
    block: Any, plan: DelimitedPlan, table: pa.Table, rejected: list[tuple[int, str]]
) -> Split | None:
    """Put each row on its line and prove the geometry; None if rows and lines do not match."""
    buf = np.frombuffer(block, dtype=np.uint8)
    accepted = table.num_rows
    total = accepted + len(rejected)
    is_rejected = np.zeros(total, dtype=bool)
    numbers = np.array([n for n, _ in rejected], dtype=np.int64) - 1
    if len(numbers) and (numbers.min() < 0 or numbers.max() >= total):
        return None
    is_rejected[numbers] = True

    widths = [_widths(column) for column in table.columns]
    content = np.sum(widths, axis=0, dtype=np.int64) if widths else np.zeros(0, np.int64)
    quoted = plan.quoted
    # What each row's line must measure if it is written as the format says; a row whose
    # fields are all empty is an empty line.
    raw = np.where(content == 0, 0, content + (plan.width - 1) + 2 * int(quoted.sum()))

    rejected_texts = [text.encode("utf-8") for _, text in rejected]
    row_bytes = np.empty(total, dtype=np.int64)
    row_bytes[~is_rejected] = raw
    row_bytes[is_rejected] = [len(t) for t in rejected_texts]
    spans = np.ones(total, dtype=np.int64)
    spans[is_rejected] = [t.count(b"\n") + 1 for t in rejected_texts]
    first_line = np.cumsum(spans) - spans

    placed = _tiled(buf, row_bytes)
    if placed is not None:
        starts, ends = placed
        line_bytes = row_bytes
        fits = np.ones(total, dtype=bool)
    else:
        # Some row is not written as the format says, or lines end in CRLF: place rows by the
        # newlines themselves, and doubt the rows whose line has another length.
        newlines = np.flatnonzero(buf == _NEWLINE)
        carriage = np.flatnonzero(buf == _CR)
        if len(carriage) and not (buf[np.minimum(carriage + 1, len(buf) - 1)] == _NEWLINE).all():
            return None  # a carriage return inside a line: the CSV reader splits there
        if int(spans.sum()) != len(newlines):
            return None
        last_line = first_line + spans - 1
        line_starts = np.concatenate(([0], newlines[:-1] + 1))
        has_cr = np.zeros(len(newlines), dtype=bool)
        inner = newlines > 0
        has_cr[inner] = buf[newlines[inner] - 1] == _CR
        starts = line_starts[first_line]
        ends = newlines[last_line]
        line_bytes = ends - starts
        fits = line_bytes - has_cr[last_line] == row_bytes

    others: list[tuple[int, bytes]] = []
    for (start, end, line), text in zip(
        _rows(starts, ends, first_line, is_rejected), rejected_texts, strict=True
    ):
        piece = bytes(block[start:end])
        if piece.rstrip(b"\r") != text.rstrip(b"\r"):
            return None
        others.extend((line + i, part) for i, part in enumerate(piece.split(b"\n")))

    kept = ~is_rejected
    start = starts[kept]
    trusted = (content > 0) & fits[kept]
    if quoted.any() and accepted:
        # Where each quoted field opens and closes, if the line is written as the format says
        # (rows that fit their line keep these positions inside it; the others are doubted).
        at = np.where(trusted, start, 0)
        marks = []
        for width, is_quoted in zip(widths, quoted.tolist(), strict=True):
            if is_quoted:
                marks += [at.copy(), at + width + 1]
                at += width + 3
            else:
                at += width + 1
        spots = np.minimum(np.concatenate(marks), len(buf) - 1)
        found = np.take(buf, spots).reshape(len(marks), accepted) == _QUOTE
        trusted &= found.all(axis=0)
    return Split(
        table=table,
        line=first_line[kept],
        start=start,
        length=line_bytes[kept],
        trusted=trusted,
        others=others,
        lines=int(spans.sum()),
    )


def _widths(column: pa.ChunkedArray) -> np.ndarray:
    """Byte length of each value of a binary column, from its offsets."""
    parts = [np.zeros(0, dtype=np.int32)]
    for chunk in column.chunks:
        offsets = np.frombuffer(chunk.buffers()[1], dtype=np.int32)
        parts.append(np.diff(offsets[chunk.offset : chunk.offset + len(chunk) + 1]))
    return np.concatenate(parts)


def _tiled(buf: np.ndarray, row_bytes: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Row starts and ends if the rows, one per line, tile the block exactly; else None."""
    ends = np.cumsum(row_bytes + 1) - 1
    if len(ends) == 0 or ends[-1] != len(buf) - 1 or not (buf[ends] == _NEWLINE).all():
        return None
    return ends - row_bytes, ends


def _rows(
    starts: np.ndarray, ends: np.ndarray, first_line: np.ndarray, is_rejected: np.ndarray
) -> list[tuple[int, int, int]]:
    """(start, end, first line) of each rejected row, in order."""
    picked = np.flatnonzero(is_rejected)
    return list(
        zip(
            starts[picked].tolist(),
            ends[picked].tolist(),
            first_line[picked].tolist(),
            strict=True,
        )
    )
