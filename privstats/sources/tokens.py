"""Log lines of space-separated tokens read by one compiled pass over a block, without the GIL.

A format such as ``%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i" %D`` is a row of
tokens: plain (no white space), quoted, the bracketed time, or a literal. ``scan`` walks a block
of lines byte by byte and, for each line, proves that the format's fast regex reads it exactly
as the tokens do, in which case it keeps the line (a *row*); otherwise it hands the line over,
as a span of bytes, to the line-by-line parser (``lines``), which stays the definition.

A row is kept only when its reading is the regex's one and only reading, and its typed values
are what ``parsed.typed`` would make of its texts:

- tokens are apart by exactly one space, the line ends right after the last one (before any
  ``\\r``), and it is no longer than the longest line allowed;
- a plain token is one or more printable ASCII bytes other than the quote (so no white space
  of any kind, and no empty token that would let the regex shift its groups);
- a quoted token opens and closes with a quote and holds none inside; its bytes are ASCII or
  valid UTF-8 (Python's strict decoder's rules), and none is NUL (a line holding one is
  quarantined whole);
- the time is ``[dd/Mon/yyyy:HH:MM:SS +hhmm]``, a real date and time, and becomes microseconds
  since the epoch; the status is three digits from 100 to 599; a size is ``-`` (0) or up to 18
  digits; a response time is ``-`` (unknown) or digits with at most as many decimals as its
  unit has below the microsecond, under 2**50 microseconds (so float arithmetic is exact);
- a literal token is its text, byte for byte.

Text fields are dictionary-encoded as they go: an open-addressing hash table over the value's
bytes, and every hash match confirmed by comparing the bytes, so the codes are exact. Values get
codes in the order they first appear; the distinct values come out as Arrow string arrays.

The pass is C (``_scan.c``, built with the package): this module makes its plan and wraps
its output.
"""

from __future__ import annotations

import enum
import functools
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from privstats.sources import _scan
from privstats.sources.logformat import _TOKEN, Field, LogFormat


class Kind(enum.IntEnum):
    """How a token is written on the line."""

    PLAIN = 0
    QUOTED = 1
    TIME = 2  # [dd/Mon/yyyy:HH:MM:SS +hhmm]
    LITERAL = 3


class Action(enum.IntEnum):
    """What becomes of a token's value."""

    SKIP = 0  # checked, not kept
    CODE = 1  # dictionary-encoded text
    TIME = 2  # microseconds since the epoch
    STATUS = 3  # int16
    SIZE = 4  # int64, '-' is 0
    RESPONSE = 5  # int64 microseconds, '-' unknown; ``arg`` is the unit's power of ten


_RESPONSE_POWERS = {Field.RESPONSE_US: 0, Field.RESPONSE_MS: 3, Field.RESPONSE_S: 6}
_TYPED_ACTIONS = {Field.STATUS: Action.STATUS, Field.BYTES: Action.SIZE}


@dataclass(frozen=True)
class Token:
    """One token of a line: how it is written, and what it carries."""

    kind: Kind
    fields: tuple[Field, ...] = ()
    pattern: re.Pattern[str] | None = None  # splits a token of several directives ('%v:%p')
    literal: bytes = b""


@dataclass(frozen=True)
class TokenPlan:
    """The reading of a format whose lines are space-separated tokens, ready for ``scan``."""

    tokens: tuple[Token, ...]
    coded: tuple[int, ...]  # which tokens are dictionary-encoded, in output order
    typed: dict[Field, int]  # fields ``scan`` types itself -> their token
    # Per token, the fields it is read for (a repeated field is read from its first token),
    # with their group in the token's pattern.
    carries: tuple[tuple[tuple[int, Field], ...], ...]
    program: np.ndarray  # int64 (tokens, 3): kind, action, argument
    literals: np.ndarray  # uint8: the literal tokens' bytes, one after the other
    literal_spans: np.ndarray  # int64 (tokens, 2): start and length in ``literals``

    @classmethod
    def of(cls, fmt: LogFormat) -> TokenPlan | None:
        """The plan of ``fmt``, or None when its lines are not space-separated tokens."""
        if fmt.columns is None:
            return None
        texts = re.findall(r'"[^"]*"|\[[^\]]*\]|\S+', fmt.spec)
        if len(texts) != len(fmt.columns):
            return None
        tokens = []
        for text, column in zip(texts, fmt.columns, strict=True):
            inner = text[1:-1] if text[0] in '"[' else text
            directives = [m for m in _TOKEN.finditer(inner) if m.group(0) != "%%"]
            whole = len(directives) == 1 and directives[0].span() == (0, len(inner))
            if column.width == 2:
                # The time: only '%t' and '[$time_local]', whose line text is '[...]'.
                if not (whole and (text == "%t" or text[0] == "[")):
                    return None
                tokens.append(Token(Kind.TIME, column.fields))
            elif not directives:
                literal = text.replace("%%", "%").encode("utf-8")
                if not literal or any(b <= 32 or b >= 127 or b == 34 for b in literal):
                    return None
                tokens.append(Token(Kind.LITERAL, literal=literal))
            elif text[0] == '"':
                tokens.append(Token(Kind.QUOTED, column.fields))
            elif text[0] == "[" or column.width != 1:
                return None
            else:
                pattern = re.compile(column.pattern) if column.pattern else None
                tokens.append(Token(Kind.PLAIN, column.fields, pattern))
        return cls._compiled(tuple(tokens))

    @classmethod
    def _compiled(cls, tokens: tuple[Token, ...]) -> TokenPlan:
        # A field repeated in a format is read from its first token (as the line parser does);
        # of several response times, ``parsed.typed`` takes microseconds, then ms, then s.
        winner: dict[Field, int] = {}
        for i, token in enumerate(tokens):
            for name in token.fields:
                if name is not Field.IGNORED:
                    winner.setdefault(name, i)
        response = next((f for f in _RESPONSE_POWERS if f in winner), None)
        program = np.zeros((len(tokens), 3), dtype=np.int64)
        spans = np.zeros((len(tokens), 2), dtype=np.int64)
        literals = bytearray()
        coded: list[int] = []
        typed: dict[Field, int] = {}
        carries = tuple(
            tuple((g, f) for g, f in enumerate(t.fields) if winner.get(f) == i)
            for i, t in enumerate(tokens)
        )
        for i, token in enumerate(tokens):
            mine = [f for _, f in carries[i]]
            action, arg = Action.SKIP, 0
            if token.kind is Kind.LITERAL:
                spans[i] = (len(literals), len(token.literal))
                literals += token.literal
            elif not mine:
                pass
            elif token.kind is Kind.TIME:
                action = Action.TIME
            elif token.pattern is not None:
                action = Action.CODE
            elif mine[0] in _TYPED_ACTIONS:
                action = _TYPED_ACTIONS[mine[0]]
            elif mine[0] in _RESPONSE_POWERS:
                if mine[0] is response:
                    action, arg = Action.RESPONSE, _RESPONSE_POWERS[mine[0]]
            else:
                action = Action.CODE
            if action is Action.CODE:
                arg = len(coded)
                coded.append(i)
            elif action is not Action.SKIP:
                typed[mine[0]] = i
            program[i] = (int(token.kind), int(action), arg)
        return cls(
            tokens=tokens,
            coded=tuple(coded),
            typed=typed,
            carries=carries,
            program=program,
            literals=np.frombuffer(bytes(literals) or b"\0", dtype=np.uint8),
            literal_spans=spans,
        )


@dataclass
class Scan:
    """A block read token by token: kept rows, typed and coded, and the lines handed over."""

    lines: int  # lines in the block
    row_line: np.ndarray  # int64: 0-based line of each kept row, ascending
    row_span: np.ndarray  # int64 (rows, 2): where each kept row's line starts and ends
    other_span: np.ndarray  # int64 (n, 3): line, start, end of each line handed over
    codes: np.ndarray  # int32 (coded tokens, rows)
    values: list[pa.Array]  # distinct values of each coded token, string
    ts: np.ndarray  # int64 microseconds since the epoch, UTC
    status: np.ndarray  # int16
    size: np.ndarray  # int64
    response_us: np.ndarray  # int64 (0 where unknown)
    response_known: np.ndarray  # bool


def scan(block: Any, plan: TokenPlan, max_line_bytes: int) -> Scan:
    """Read ``block`` (whole lines, any buffer) as ``plan`` says; see the module docstring."""
    found = _scan.scan(
        block,
        plan.program,
        plan.literal_spans,
        plan.literals,
        len(plan.coded),
        max_line_bytes,
    )
    lines, rows, others, row_line, row_span, other, codes, ts, status, size = found[:10]
    response, known, distinct = found[10:]
    values = [
        pa.Array.from_buffers(pa.string(), count, [None, pa.py_buffer(offsets), pa.py_buffer(data)])
        for count, offsets, data in distinct
    ]
    return Scan(
        lines=lines,
        row_line=np.frombuffer(row_line, dtype=np.int64),
        row_span=np.frombuffer(row_span, dtype=np.int64).reshape(rows, 2),
        other_span=np.frombuffer(other, dtype=np.int64).reshape(others, 3),
        codes=np.frombuffer(codes, dtype=np.int32).reshape(len(plan.coded), rows),
        values=values,
        ts=np.frombuffer(ts, dtype=np.int64),
        status=np.frombuffer(status, dtype=np.int16),
        size=np.frombuffer(size, dtype=np.int64),
        response_us=np.frombuffer(response, dtype=np.int64),
        response_known=np.frombuffer(known, dtype=np.bool_),
    )


@dataclass(frozen=True)
class Typed:
    """Values typed by ``read_typed``: which texts the compiled pass vouched for, and theirs."""

    vouched: np.ndarray  # bool, per text
    values: np.ndarray  # per text (0 where not vouched): microseconds, status, size
    known: np.ndarray  # bool, per text: a response time was logged (not '-')


@functools.cache
def _field_plan(field: Field) -> tuple[Kind, TokenPlan, Action]:
    """The plan of a line holding ``field`` alone, made once per field."""
    kind = Kind.TIME if field is Field.TIME_CLF else Kind.PLAIN
    plan = TokenPlan._compiled((Token(kind, (field,)),))
    return kind, plan, Action(int(plan.program[plan.typed[field], 1]))


def read_typed(texts: pa.Array, field: Field) -> Typed:
    """The values of single fields (``%t``'s time, a status, a size, a response time) as the
    compiled pass types them, for the texts it vouches for: the lines handed over (a quote
    escaped in an agent, say) mostly hold fields it reads, so their typing need not load the
    slower path's engine. The others are left to the caller.
    """
    kind, plan, action = _field_plan(field)
    n = len(texts)
    rows: list[int] = []
    lines: list[bytes] = []
    for i, text in enumerate(texts.to_pylist()):
        if text is not None and "\n" not in text:
            rows.append(i)
            lines.append(f"[{text}]".encode() if kind is Kind.TIME else text.encode())
    dtype = np.int16 if action is Action.STATUS else np.int64
    typed = Typed(np.zeros(n, dtype=bool), np.zeros(n, dtype=dtype), np.zeros(n, dtype=bool))
    if not lines:
        return typed
    found = scan(b"\n".join(lines) + b"\n", plan, max(len(line) for line in lines))
    kept = np.asarray(rows, dtype=np.int64)[found.row_line]
    typed.vouched[kept] = True
    column = {
        Action.TIME: found.ts,
        Action.STATUS: found.status,
        Action.SIZE: found.size,
        Action.RESPONSE: found.response_us,
    }[action]
    typed.values[kept] = column
    if action is Action.RESPONSE:
        typed.known[kept] = found.response_known
    return typed
