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
  valid UTF-8 (Python's strict decoder's rules);
- the time is ``[dd/Mon/yyyy:HH:MM:SS +hhmm]``, a real date and time, and becomes microseconds
  since the epoch; the status is three digits from 100 to 599; a size is ``-`` (0) or up to 18
  digits; a response time is ``-`` (unknown) or digits with at most as many decimals as its
  unit has below the microsecond, under 2**50 microseconds (so float arithmetic is exact);
- a literal token is its text, byte for byte.

Text fields are dictionary-encoded as they go: an open-addressing hash table over the value's
bytes, and every hash match confirmed by comparing the bytes, so the codes are exact. Values get
codes in the order they first appear; the distinct values come out as Arrow string arrays.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from privstats.compiled import kernel
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
    min_line: int  # bytes of the shortest line the plan can keep

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
            min_line=sum(_MIN_WIDTH.get(t.kind, len(t.literal)) for t in tokens) + len(tokens) - 1,
        )


_MIN_WIDTH = {Kind.PLAIN: 1, Kind.QUOTED: 2, Kind.TIME: 28}


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
    buf = np.frombuffer(block, dtype=np.uint8)
    if not buf.flags.writeable:
        buf = buf.copy()  # one array type for the kernel (bytes are read-only): one compilation
    found = _scan(
        buf,
        plan.program,
        plan.literal_spans,
        plan.literals,
        len(plan.coded),
        plan.min_line,
        max_line_bytes,
    )
    lines, rows, row_line, row_span, others, codes, ts, status, size, response, known = found[:11]
    distinct, offsets, data = found[11:]
    values = [
        pa.Array.from_buffers(
            pa.string(),
            int(distinct[j]),
            [None, pa.py_buffer(offsets[j, : distinct[j] + 1]), pa.py_buffer(data[j])],
        )
        for j in range(len(plan.coded))
    ]
    return Scan(
        lines=int(lines),
        row_line=row_line[:rows],
        row_span=row_span[:rows],
        other_span=others,
        codes=codes[:, :rows],
        values=values,
        ts=ts[:rows],
        status=status[:rows],
        size=size[:rows],
        response_us=response[:rows],
        response_known=known[:rows],
    )


# -- the kernels ------------------------------------------------------------------------------

_SPACE = 32
_QUOTE = 34
_NEWLINE = 10
_CR = 13
_K1 = np.uint64(0x9E3779B97F4A7C15)
_K2 = np.uint64(0xBF58476D1CE4E5B9)
_MONTHS = np.frombuffer(b"JanFebMarAprMayJunJulAugSepOctNovDec", dtype=np.uint8).copy()
_MONTH_DAYS = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)
_MAX_RESPONSE_US = 1 << 50
_BATCH = 64  # rows encoded together
_ONES = np.uint64(0x0101010101010101)
_HIGHS = np.uint64(0x8080808080808080)
_QUOTES = np.uint64(0x2222222222222222)
_NEWLINES = np.uint64(0x0A0A0A0A0A0A0A0A)
_LOW32 = np.uint64(0xFFFFFFFF)
_BANGS = np.uint64(0x2121212121212121)
_BYTE_INDEX = np.uint64(0x0001020304050607)  # (1 << 8k) * this >> 56 == k


@kernel(inline=True)
def _word(buf: np.ndarray, p: int, n: int) -> np.uint64:
    """The ``n`` (<= 8) bytes at ``p`` as a little-endian word, zero above them."""
    # Unsigned indices: numba then skips its negative-index wraparound, and LLVM can read
    # the eight bytes with one load.
    w = np.uint64(0)
    at = np.uint64(p)
    for k in range(n):
        w |= np.uint64(buf[at + np.uint64(k)]) << np.uint64(8 * k)
    return w


@kernel(inline=True)
def _mix(h: np.uint64, w: np.uint64) -> np.uint64:
    return (h ^ w) * _K1


@kernel(inline=True)
def _final(h: np.uint64, length: int) -> np.uint64:
    h ^= np.uint64(length) * _K2
    h ^= h >> np.uint64(31)
    return h * _K2


@kernel(inline=True)
def _hash(buf: np.ndarray, start: int, end: int) -> np.uint64:
    """A 64-bit hash of ``buf[start:end]`` (not a proof of equality: codes compare bytes)."""
    h = np.uint64(0)
    p = start
    while p + 8 <= end:
        h = _mix(h, _word(buf, p, 8))
        p += 8
    if p < end:
        h = _mix(h, _word(buf, p, end - p))
    return _final(h, end - start)


@kernel(inline=True)
def _first(found: np.uint64) -> int:
    """Which byte of a word holds the lowest of the bits 0x80 set in ``found``."""
    low = (found & (~found + np.uint64(1))) >> np.uint64(7)  # 1 << 8k
    return np.int64((low * _BYTE_INDEX) >> np.uint64(56))


@kernel(inline=True)
def _quoted(buf: np.ndarray, p: int) -> tuple:
    """From ``p``, where the first quote or newline is; whether a byte before it is not ASCII;
    the hash of the bytes before it (as ``_hash``). Eight bytes at a time."""
    n = len(buf)
    h = np.uint64(0)
    high = np.uint64(0)
    start = p
    while p + 8 <= n:
        w = _word(buf, p, 8)
        x = w ^ _QUOTES
        y = w ^ _NEWLINES
        found = ((x - _ONES) & ~x & _HIGHS) | ((y - _ONES) & ~y & _HIGHS)
        if found:
            k = _first(found)
            if k:
                tail = w & ((np.uint64(1) << np.uint64(8 * k)) - np.uint64(1))
                h = _mix(h, tail)
                high |= tail
            return p + k, (high & _HIGHS) != 0, _final(h, p + k - start)
        h = _mix(h, w)
        high |= w
        p += 8
    q = p
    while q < n and _at(buf, q) != _QUOTE and _at(buf, q) != _NEWLINE:
        q += 1
    if q > p:
        tail = _word(buf, p, q - p)
        h = _mix(h, tail)
        high |= tail
    return q, (high & _HIGHS) != 0, _final(h, q - start)


@kernel(inline=True)
def _plain(buf: np.ndarray, p: int) -> int:
    """From ``p``, where the first byte that is not printable ASCII, or is a quote, is."""
    n = len(buf)
    while p + 8 <= n:
        w = _word(buf, p, 8)
        x = w ^ _QUOTES
        # Bytes under '!' (white space, controls), '~' and above, quotes; the lowest flag of
        # each test is exact (borrows and carries only run upwards from a flagged byte).
        found = ((w - _BANGS) & ~w & _HIGHS) | ((w | (w + _ONES)) & _HIGHS)
        found |= (x - _ONES) & ~x & _HIGHS
        if found:
            return p + _first(found)
        p += 8
    while p < n and 33 <= _at(buf, p) <= 126 and _at(buf, p) != _QUOTE:
        p += 1
    return p


@kernel(inline=True)
def _at(buf: np.ndarray, i: int) -> int:
    """``buf[i]`` for ``i >= 0``, without numba's negative-index wraparound."""
    return buf[np.uint64(i)]


@kernel(inline=True)
def _same(data: np.ndarray, a: int, buf: np.ndarray, b: int, length: int) -> bool:
    """Whether ``data[a:a + length]`` equals ``buf[b:b + length]``, eight bytes at a time.

    Every word is compared, without an early exit (a mismatch is rare: the hashes matched);
    the last word is masked to the value's bytes, and read whole only where both arrays
    have the bytes past the value.
    """
    if length == 0:
        return True
    last = (length - 1) & ~7  # where the last (maybe partial) word starts
    if a + last + 8 > len(data) or b + last + 8 > len(buf):
        rest = length - last
        tail = _word(data, a + last, rest) ^ _word(buf, b + last, rest)
    else:
        keep = np.uint64(0xFFFFFFFFFFFFFFFF) >> np.uint64(8 * (8 - (length - last)))
        tail = (_word(data, a + last, 8) ^ _word(buf, b + last, 8)) & keep
    diff = tail
    for k in range(0, last, 8):
        diff |= _word(data, a + k, 8) ^ _word(buf, b + k, 8)
    return diff == 0


@kernel
def _utf8(buf: np.ndarray, start: int, end: int) -> bool:
    """Whether the bytes are valid UTF-8 as Python's strict decoder has it."""
    p = start
    while p < end:
        b = buf[p]
        if b < 0x80:
            p += 1
            continue
        if 0xC2 <= b <= 0xDF:
            need, low, high = 1, 0x80, 0xBF
        elif b == 0xE0:
            need, low, high = 2, 0xA0, 0xBF
        elif b == 0xED:
            need, low, high = 2, 0x80, 0x9F
        elif 0xE1 <= b <= 0xEF:
            need, low, high = 2, 0x80, 0xBF
        elif b == 0xF0:
            need, low, high = 3, 0x90, 0xBF
        elif 0xF1 <= b <= 0xF3:
            need, low, high = 3, 0x80, 0xBF
        elif b == 0xF4:
            need, low, high = 3, 0x80, 0x8F
        else:
            return False
        if p + need >= end:
            return False
        c = buf[p + 1]
        if c < low or c > high:
            return False
        for k in range(2, need + 1):
            c = buf[p + k]
            if c < 0x80 or c > 0xBF:
                return False
        p += need + 1
    return True


@kernel(inline=True)
def _digits(buf: np.ndarray, p: int, n: int) -> int:
    """The number written by ``n`` ASCII digits at ``p``, or -1 if one is not a digit."""
    value = 0
    for k in range(n):
        d = np.int64(_at(buf, p + k)) - 48
        if d < 0 or d > 9:
            return -1
        value = value * 10 + d
    return value


@kernel(inline=True)
def _time(buf: np.ndarray, p: int, months: np.ndarray, month_days: np.ndarray) -> tuple:
    """'dd/Mon/yyyy:HH:MM:SS +hhmm' at ``p`` as microseconds since the epoch; ok flag first."""
    if _at(buf, p + 2) != 47 or _at(buf, p + 6) != 47 or _at(buf, p + 11) != 58:
        return False, 0
    if _at(buf, p + 14) != 58 or _at(buf, p + 17) != 58 or _at(buf, p + 20) != _SPACE:
        return False, 0
    day = _digits(buf, p, 2)
    year = _digits(buf, p + 7, 4)
    hour = _digits(buf, p + 12, 2)
    minute = _digits(buf, p + 15, 2)
    second = _digits(buf, p + 18, 2)
    zone_h = _digits(buf, p + 22, 2)
    zone_m = _digits(buf, p + 24, 2)
    sign = _at(buf, p + 21)
    if min(day, year, hour, minute, second, zone_h, zone_m) < 0 or (sign != 43 and sign != 45):
        return False, 0
    month = -1
    for m in range(12):
        if (
            buf[p + 3] == months[3 * m]
            and buf[p + 4] == months[3 * m + 1]
            and buf[p + 5] == months[3 * m + 2]
        ):
            month = m + 1
    if month < 0 or hour > 23 or minute > 59 or second > 59 or zone_h > 23 or zone_m > 59:
        return False, 0
    leap = (year % 4 == 0 and year % 100 != 0) or year % 400 == 0
    last = month_days[month - 1] + (1 if month == 2 and leap else 0)
    if day < 1 or day > last:
        return False, 0
    # Days since 1970-01-01 in the proleptic Gregorian calendar (H. Hinnant's days_from_civil).
    y = year - 1 if month <= 2 else year
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    mp = month - 3 if month > 2 else month + 9
    doy = (153 * mp + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    days = era * 146097 + doe - 719468
    zone = zone_h * 3600 + zone_m * 60
    if sign == 43:
        zone = -zone
    seconds = days * 86400 + hour * 3600 + minute * 60 + second + zone
    return True, seconds * 1_000_000


@kernel(inline=True)
def _power_of_ten(power: int) -> int:
    value = 1
    for _ in range(power):
        value *= 10
    return value


@kernel(inline=True)
def _response(buf: np.ndarray, start: int, end: int, power: int) -> tuple:
    """(ok, known, microseconds) of a response time written in units of 10**-power s...

    ``power`` is 0 for microseconds, 3 for milliseconds, 6 for seconds: '-' is unknown, digits
    with at most ``power`` decimals are exact; anything else is left to the slow path.
    """
    if end - start == 1 and buf[start] == 45:
        return True, False, 0
    whole = 0
    p = start
    while p < end and 48 <= buf[p] <= 57 and p - start < 15:
        whole = whole * 10 + np.int64(buf[p]) - 48
        p += 1
    if p == start:
        return False, False, 0
    micros = whole * _power_of_ten(power)
    if p < end:
        decimals = end - p - 1
        if buf[p] != 46 or decimals < 1 or decimals > power:
            return False, False, 0
        fraction = _digits(buf, p + 1, decimals)
        if fraction < 0:
            return False, False, 0
        micros += fraction * _power_of_ten(power - decimals)
    if micros >= _MAX_RESPONSE_US:
        return False, False, 0
    return True, True, micros


@kernel(inline=True)
def _typed(
    buf: np.ndarray, s: int, q: int, action: int, arg: int, row: int,
    status: np.ndarray, size: np.ndarray, response: np.ndarray, known: np.ndarray,
) -> bool:  # fmt: skip
    """Type the value at ``buf[s:q]`` into ``row`` of its column; False if it is not exact."""
    if action == 3:
        value = _digits(buf, s, 3) if q - s == 3 else -1
        if value < 100 or value > 599:
            return False
        status[row] = value
    elif action == 4:
        if q - s == 1 and buf[s] == 45:
            size[row] = 0
        else:
            value = _digits(buf, s, q - s) if 0 < q - s <= 18 else -1
            if value < 0:
                return False
            size[row] = value
    elif action == 5:
        fine, is_known, micros = _response(buf, s, q, arg)
        if not fine:
            return False
        response[row] = micros
        known[row] = is_known
    return True


@kernel(inline=True)
def _code(
    buf: np.ndarray, s: int, q: int, h: np.uint64, j: int, tables: np.ndarray,
    sizes: np.ndarray, data: np.ndarray, stride: int, offsets: np.ndarray,
    entry_hash: np.ndarray, distinct: np.ndarray,
) -> int:  # fmt: skip
    """The code of ``buf[s:q]`` (hash ``h``) among token ``j``'s values; a new value gets the
    next code. A code is found only when the bytes are equal, never by the hash alone.

    Token ``j``'s table is the first ``sizes[j]`` slots of ``tables[j]``, a slot holding
    (low half of the value's hash << 32) | (code + 1); it doubles when half full.
    """
    mask = np.uint64(sizes[j] - 1)
    base = j * stride  # where token j's values are kept in ``data``
    tag = (h & _LOW32) << np.uint64(32)
    slot = (h >> np.uint64(32)) & mask
    length = q - s
    while True:
        found = tables[j, slot]
        if found == 0:
            break
        if (found & ~_LOW32) == tag:
            e = np.int64(found & _LOW32) - 1
            at = offsets[j, e]
            if offsets[j, e + 1] - at == length and _same(data, base + at, buf, s, length):
                return e
        slot = (slot + np.uint64(1)) & mask
    e = distinct[j]
    distinct[j] = e + 1
    at = offsets[j, e]
    for k in range(length):
        data[np.uint64(base + at + k)] = _at(buf, s + k)
    offsets[j, e + 1] = at + length
    entry_hash[j, e] = h
    tables[j, slot] = tag | np.uint64(e + 1)
    if 2 * (e + 1) > sizes[j] and 2 * sizes[j] <= tables.shape[1]:
        sizes[j] *= 2
        mask = np.uint64(sizes[j] - 1)
        tables[j, : sizes[j]] = 0
        for k in range(e + 1):
            g = entry_hash[j, k]
            slot = (g >> np.uint64(32)) & mask
            while tables[j, slot] != 0:
                slot = (slot + np.uint64(1)) & mask
            tables[j, slot] = ((g & _LOW32) << np.uint64(32)) | np.uint64(k + 1)
    return e


@kernel(inline=True)
def _encode(
    buf: np.ndarray, first: int, last: int, value_span: np.ndarray, value_hash: np.ndarray,
    codes: np.ndarray, tables: np.ndarray, sizes: np.ndarray, data: np.ndarray,
    offsets: np.ndarray, entry_hash: np.ndarray, distinct: np.ndarray,
) -> None:  # fmt: skip
    """Codes of rows ``first`` to ``last`` (excluded), column by column."""
    stride = len(buf)
    for j in range(codes.shape[0]):
        for r in range(first, last):
            if (
                r > first
                and value_hash[j, r] == value_hash[j, r - 1]
                and value_span[j, r - 1, 1] - value_span[j, r - 1, 0]
                == value_span[j, r, 1] - value_span[j, r, 0]
                and _same(
                    buf, value_span[j, r - 1, 0], buf, value_span[j, r, 0],
                    value_span[j, r, 1] - value_span[j, r, 0],
                )
            ):  # fmt: skip
                codes[j, r] = codes[j, r - 1]  # as the row before (a login of '-', say)
                continue
            codes[j, r] = _code(
                buf, value_span[j, r, 0], value_span[j, r, 1], value_hash[j, r], j, tables,
                sizes, data, stride, offsets, entry_hash, distinct,
            )  # fmt: skip


@kernel
def _scan(
    buf: np.ndarray,
    program: np.ndarray,
    literal_spans: np.ndarray,
    literals: np.ndarray,
    n_coded: int,
    min_line: int,
    max_line: int,
) -> tuple:
    """Read every line of ``buf``: keep those proven to read as the tokens say (the module
    docstring lists the proofs), hand over the others as spans.

    Returns the line count, the kept rows (line, span, codes, typed values), the handed-over
    spans and, per coded token, the distinct values as Arrow offsets (int32) and data.
    """
    n = len(buf)
    lines = 0
    for i in range(n):
        lines += buf[i] == _NEWLINE
    # No kept line is shorter than ``min_line``: that bounds the rows (and memory).
    most = min(lines, n // (min_line + 1))
    n_tokens = program.shape[0]
    row_line = np.empty(most, dtype=np.int64)
    row_span = np.empty((most, 2), dtype=np.int64)
    other = np.empty((min(lines, 1024), 3), dtype=np.int64)
    codes = np.empty((n_coded, most), dtype=np.int32)
    ts = np.zeros(most, dtype=np.int64)
    status = np.zeros(most, dtype=np.int16)
    size = np.zeros(most, dtype=np.int64)
    response = np.zeros(most, dtype=np.int64)
    known = np.zeros(most, dtype=np.bool_)
    # Per coded token, its distinct values as they come (Arrow offsets and data), and an
    # open-addressing table: slot -> (low half of the value's hash << 32) | (code + 1).
    offsets = np.empty((n_coded, most + 1), dtype=np.int32)  # each filled before it is read
    offsets[:, 0] = 0
    entry_hash = np.empty((n_coded, most), dtype=np.uint64)
    distinct = np.zeros(n_coded, dtype=np.int64)
    # Values are stored as they come, each token's in its own row of ``data`` (pages are only
    # touched as they fill); tables start small and grow in place.
    data = np.empty(n_coded * n, dtype=np.uint8)
    bits = 4
    while (1 << bits) < 2 * most:
        bits += 1
    tables = np.empty((n_coded, 1 << bits), dtype=np.uint64)
    sizes = np.full(n_coded, min(1 << 10, 1 << bits), dtype=np.int64)
    tables[:, : sizes[0]] = 0  # the rest is cleared as a table grows into it
    # Each kept row's text values (span and hash), encoded by batches of rows, column by
    # column: the batch's bytes are still in cache, and a tight loop per column lets the
    # processor overlap the tables' cache misses.
    value_span = np.empty((n_coded, most, 2), dtype=np.int64)
    value_hash = np.empty((n_coded, most), dtype=np.uint64)
    months = _MONTHS
    month_days = _MONTH_DAYS

    rows = 0
    others = 0
    p = 0
    last_time, last_micros = -1, 0  # the last time read, and where it was written
    for line in range(lines):
        start = p
        ok = rows < most
        for t in range(n_tokens):
            if not ok:
                break
            kind = program[t, 0]
            action = program[t, 1]
            if t > 0:
                if _at(buf, p) != _SPACE:
                    ok = False
                    break
                p += 1
            if kind == 0:  # plain: printable ASCII but the quote, at least one byte
                q = _plain(buf, p)
                if q == p:
                    ok = False
                    break
                s = p
                p = q
                if action == 1:
                    value_hash[program[t, 2], rows] = _hash(buf, s, q)
            elif kind == 1:  # quoted: no quote inside, ASCII or valid UTF-8
                if _at(buf, p) != _QUOTE:
                    ok = False
                    break
                s = p + 1
                q, high, h = _quoted(buf, s)
                if _at(buf, q) != _QUOTE or (high and not _utf8(buf, s, q)):
                    ok = False
                    break
                p = q + 1
            elif kind == 2:  # [dd/Mon/yyyy:HH:MM:SS +hhmm]
                if p + 28 > n or _at(buf, p) != 91 or _at(buf, p + 27) != 93:
                    ok = False
                    break
                if last_time >= 0 and _same(buf, last_time, buf, p, 28):
                    micros = last_micros  # logs are in time order: often the line before's
                else:
                    fine, micros = _time(buf, p + 1, months, month_days)
                    if not fine:
                        ok = False
                        break
                    last_time, last_micros = p, micros
                if action == 2:
                    ts[rows] = micros
                p += 28
                continue
            else:  # a literal, byte for byte
                ls = literal_spans[t, 0]
                ln = literal_spans[t, 1]
                if p + ln > n:
                    ok = False
                    break
                for k in range(ln):
                    if buf[p + k] != literals[ls + k]:
                        ok = False
                if ok:
                    p += ln
                continue
            if action == 1:
                j = program[t, 2]
                value_span[j, rows, 0] = s
                value_span[j, rows, 1] = q
                if kind == 1:
                    value_hash[j, rows] = h
            elif action >= 3 and not _typed(
                buf, s, q, action, program[t, 2], rows, status, size, response, known
            ):
                ok = False
        end = p
        if ok:
            while _at(buf, p) == _CR:
                p += 1
            ok = _at(buf, p) == _NEWLINE and p - start <= max_line
        if not ok:
            while _at(buf, p) != _NEWLINE:
                p += 1
            if others == len(other):
                grown = np.empty((min(lines, 2 * len(other)), 3), dtype=np.int64)
                grown[:others] = other
                other = grown
            other[others, 0] = line
            other[others, 1] = start
            other[others, 2] = p
            others += 1
            p += 1
            continue
        p += 1
        row_line[rows] = line
        row_span[rows, 0] = start
        row_span[rows, 1] = end
        rows += 1
        if rows % _BATCH == 0:
            _encode(buf, rows - _BATCH, rows, value_span, value_hash, codes, tables, sizes,
                    data, offsets, entry_hash, distinct)  # fmt: skip

    _encode(buf, 0 if rows < _BATCH else rows - rows % _BATCH, rows, value_span, value_hash,
            codes, tables, sizes, data, offsets, entry_hash, distinct)  # fmt: skip
    values = [data[j * n : j * n + offsets[j, distinct[j]]].copy() for j in range(n_coded)]
    return (
        lines, rows, row_line, row_span, other[:others], codes, ts, status, size, response,
        known, distinct, offsets, values,
    )  # fmt: skip
