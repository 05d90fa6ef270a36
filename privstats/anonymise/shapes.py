"""Compiled shape keys: the regex passes of ``urls._shape_keys`` as one loop over Arrow bytes.

``urls._shape_keys`` stays the definition. The kernel here replays its passes byte by byte
(query cut, e-mails, UUIDs, hex tokens, numbers, each a leftmost-first, non-overlapping
replace-all that consumes the character ending the segment), but only for texts it can vouch
for: non-null, printable ASCII (bytes 0x20-0x7e), where the regexes' white space is the space
alone and a byte is a character. Every other text is reported back for the regex path, and
the caller is told whether any text holds a byte used as a mark (which turns grouping off).
The kernel runs without the GIL and makes no Python object per text.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from privstats.compiled import kernel

# Mark bytes, as in ``urls._SHAPED``: e-mail, UUID, number, hex token.
_EMAIL, _UUID, _NUMBER, _HEX = 1, 2, 3, 4
_SLASH, _SPACE, _QMARK, _HASH, _DASH, _AT, _PERCENT = 47, 32, 63, 35, 45, 64, 37


def arrow_strings(texts: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Offsets (int64, one more than texts), bytes and validity of a string array, as views.

    The array's own offset is applied; a null's bytes are never read (validity says so).
    """
    if pa.types.is_large_string(texts.type) or pa.types.is_large_binary(texts.type):
        width = np.int64
    elif pa.types.is_string(texts.type) or pa.types.is_binary(texts.type):
        width = np.int32
    else:
        raise TypeError("a string or binary array is expected")
    n = len(texts)
    offsets, data = texts.buffers()[1:3]
    start = texts.offset
    offs = np.frombuffer(offsets, dtype=width, count=n + 1, offset=start * np.dtype(width).itemsize)
    empty = data is None or not data.size
    body = np.zeros(1, np.uint8) if empty else np.frombuffer(data, dtype=np.uint8)
    if texts.null_count:
        valid = np.asarray(texts.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    else:
        valid = np.ones(n, dtype=bool)
    return offs.astype(np.int64), body, valid


@kernel
def _is_hex(c: int) -> bool:
    return (48 <= c <= 57) or (65 <= c <= 70) or (97 <= c <= 102)


@kernel
def _is_uuid(buf: np.ndarray, start: int, end: int) -> bool:
    """Whether ``buf[start:end]`` is ``[0-9a-fA-F]{8}-?...{4}-?...{4}-?...{4}-?...{12}``.

    Each ``-?`` is decided by the next byte alone: a dash is no hex digit, so taking it when it
    is there is the only way on.
    """
    at = start
    for group in range(5):
        if group and at < end and buf[at] == _DASH:
            at += 1
        count = 8 if group == 0 else 12 if group == 4 else 4
        if at + count > end:
            return False
        for i in range(at, at + count):
            if not _is_hex(buf[i]):
                return False
        at += count
    return at == end


# Byte classes, looked up once per byte.
_DELIMITER, _DIGIT, _HEXDIGIT, _AT_SIGN, _PERCENT_SIGN, _UNSURE, _MARK = 1, 2, 4, 8, 16, 32, 64
_SPECIAL = _DELIMITER | _AT_SIGN | _PERCENT_SIGN | _UNSURE


def _byte_classes() -> np.ndarray:
    classes = np.zeros(256, dtype=np.uint8)
    for c in b"/ ?#":
        classes[c] |= _DELIMITER
    for c in b"0123456789":
        classes[c] |= _DIGIT
    for c in b"0123456789abcdefABCDEF":
        classes[c] |= _HEXDIGIT
    classes[_AT] |= _AT_SIGN
    classes[_PERCENT] |= _PERCENT_SIGN
    for c in list(range(32)) + list(range(127, 256)):
        classes[c] |= _UNSURE
    for c in (_EMAIL, _UUID, _NUMBER, _HEX):
        classes[c] |= _MARK
    return classes


_CLASSES = _byte_classes()


@kernel
def _shape_tokens(out: np.ndarray, begin: int, end: int, found: np.ndarray, count: int) -> int:
    """The four ``replace_all('/' + pattern + end, '/' + mark + end)`` passes over the
    ``count`` tokens of ``out[begin:end]`` that fit some pattern; the new end.

    Each pattern's span is the longest run of its class after a slash, and matches only when
    the next byte may end a segment; no such byte is in a class, so a span matches exactly
    when it is a whole token (the bytes between two of ``/ ?#``) that fits the pattern. A
    match replaces its token by the mark (which fits no later pattern) and takes the byte
    ending it, so within one pass the token right after a matched one, opened by that byte,
    cannot match. ``found`` holds, per token: start, end, patterns fitted (bit per mark),
    token number, and gets the mark.
    """
    for kind in (_EMAIL, _UUID, _HEX, _NUMBER):
        last = -2  # token number of this pass's last match
        for j in range(count):
            row = 5 * j
            if found[row + 4] == 0 and found[row + 2] & (1 << kind) and found[row + 3] != last + 1:
                found[row + 4] = kind
                last = found[row + 3]
    w = found[0]
    r = found[0]
    for j in range(count):
        row = 5 * j
        for i in range(r, found[row]):
            out[w] = out[i]
            w += 1
        r = found[row]
        if found[row + 4]:
            out[w] = found[row + 4]
            w += 1
            r = found[row + 1]
    for i in range(r, end):
        out[w] = out[i]
        w += 1
    return w


@kernel(inline=True)
def _record(
    found: np.ndarray, tokens: int, out: np.ndarray, start: int, stop: int, flags: int, number: int
) -> int:
    """Note the token ``out[start:stop]`` in ``found`` (start, stop, patterns, ordinal, mark) if
    it fits any pattern; the count of tokens noted."""
    fits = _fits(out, start, stop, flags)
    if not fits:
        return tokens
    row = 5 * tokens
    found[row] = start
    found[row + 1] = stop
    found[row + 2] = fits
    found[row + 3] = number
    found[row + 4] = 0
    return tokens + 1


@kernel
def _fits(out: np.ndarray, start: int, stop: int, flags: int) -> int:
    """The patterns a whole token ``out[start:stop]`` fits, a bit per mark (0: none)."""
    size = stop - start
    fits = 0
    email = flags & _AT_SIGN != 0
    if not email and flags & _PERCENT_SIGN:
        for i in range(start, stop - 2):
            if out[i] == _PERCENT and out[i + 1] == 52 and out[i + 2] == 48:
                email = True
                break
    if email:
        fits |= 1 << _EMAIL
    if 32 <= size <= 36 and _is_uuid(out, start, stop):
        fits |= 1 << _UUID
    if flags & _HEXDIGIT and size >= 16:
        fits |= 1 << _HEX
    if flags & _DIGIT and size != 32:
        fits |= 1 << _NUMBER
    return fits


@kernel
def shape_keys_kernel(
    offsets: np.ndarray,
    data: np.ndarray,
    valid: np.ndarray,
    take: np.ndarray,
    requests: bool,
    classes: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
    """Shape keys of the texts ``take`` picks: (key offsets, key bytes, vouched, any mark).

    One pass per text copies it to the output, cutting the query as ``urls._QUERY_IN_REQUEST``
    (requests: method, spaces, a target opening with a slash, cut from its first ? or # to
    the next space) or ``urls._QUERY`` (targets: from the first ? or # on) does, and notes the
    tokens that fit a shape pattern; only texts holding such tokens are rewritten. A text not
    vouched for (null, or a byte outside 0x20-0x7e) gets an empty key here and must be keyed
    by the regex path. ``any mark`` tells whether a picked non-null text holds a byte
    0x01-0x04 anywhere.
    """
    count = len(take)
    total = 0
    longest = 0
    for t in range(count):
        i = take[t]
        size = offsets[i + 1] - offsets[i]
        total += size
        longest = max(longest, size)
    out_offsets = np.zeros(count + 1, dtype=np.int64)
    out = np.empty(max(total, 1), dtype=np.uint8)
    vouched = np.zeros(count, dtype=np.bool_)
    found = np.empty(5 * (longest + 1), dtype=np.int64)
    marked = False
    w = 0
    for t in range(count):
        i = take[t]
        out_offsets[t] = w
        if not valid[i]:
            continue
        k = offsets[i]
        stop = offsets[i + 1]
        w0 = w
        ok = True
        # Where the query cut stands: 0 in the method, 1 in the spaces after it, 2 in a target
        # path that opened with a slash (a ? or # there starts the cut), 3 past all that.
        phase = 0 if requests else 2 if k < stop and data[k] == _SLASH else 3
        tokens = 0  # tokens fitting some pattern
        number = 0  # tokens seen
        opening = w  # first byte of the current token
        flags = _DIGIT | _HEXDIGIT  # classes all its bytes share, and @ or % if it holds one
        while k < stop:
            c = data[k]
            kind = classes[c]
            if kind & _SPECIAL == 0:
                flags &= kind | _AT_SIGN | _PERCENT_SIGN
                if phase == 1:
                    phase = 3
                out[w] = c
                w += 1
                k += 1
                continue
            if kind & _UNSURE:
                ok = False
                if kind & _MARK:
                    marked = True
                k += 1
                continue
            if kind & _DELIMITER == 0:  # @ or %
                flags = (flags & (kind | _AT_SIGN | _PERCENT_SIGN)) | kind
                if phase == 1:
                    phase = 3
                out[w] = c
                w += 1
                k += 1
                continue
            if phase == 2 and c in (_QMARK, _HASH):
                k += 1
                while k < stop:
                    c = data[k]
                    if requests and c == _SPACE:
                        break
                    if classes[c] & _UNSURE:
                        ok = False
                        if classes[c] & _MARK:
                            marked = True
                    k += 1
                phase = 3
                continue
            # A token ends here: opened by a slash and ended by this byte, it may be shaped.
            if (
                opening > w0
                and out[opening - 1] == _SLASH
                and w > opening
                and (requests or c != _SPACE)
            ):
                tokens = _record(found, tokens, out, opening, w, flags, number)
            number += 1
            if requests:
                if c == _SPACE:
                    if phase == 0:
                        phase = 1 if w > w0 else 3
                    elif phase == 2:
                        phase = 3
                elif phase == 1:
                    phase = 2 if c == _SLASH else 3
            out[w] = c
            w += 1
            k += 1
            opening = w
            flags = _DIGIT | _HEXDIGIT
        if not ok:
            w = w0
            continue
        vouched[t] = True
        # The last token ends the text: only a target's may be shaped there.
        if not requests and opening > w0 and out[opening - 1] == _SLASH and w > opening:
            tokens = _record(found, tokens, out, opening, w, flags, number)
        if tokens:
            w = _shape_tokens(out, w0, w, found, tokens)
    out_offsets[count] = w
    return out_offsets, out[:w], vouched, marked


def shape_keys(
    texts: pa.Array, take: np.ndarray, *, requests: bool
) -> tuple[pa.Array, np.ndarray, bool]:
    """Keys of ``texts[take]`` as a string array, which of them the kernel vouched for, and
    whether any holds a mark byte. Keys of texts not vouched for are empty placeholders."""
    offsets, data, valid = arrow_strings(texts)
    key_offsets, key_bytes, vouched, marked = shape_keys_kernel(
        offsets, data, valid, np.asarray(take, dtype=np.int64), requests, _CLASSES
    )
    kind = pa.large_string() if key_offsets[-1] >= 2**31 else pa.string()
    width = np.int64 if kind == pa.large_string() else np.int32
    keys = pa.Array.from_buffers(
        kind,
        len(take),
        [None, pa.py_buffer(key_offsets.astype(width)), pa.py_buffer(key_bytes)],
    )
    return keys, vouched, bool(marked)
