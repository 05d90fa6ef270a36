"""Compiled shape keys: the regex passes of ``urls._shape_keys`` as one loop over Arrow bytes.

``urls._shape_keys`` stays the definition. The kernel here replays its passes byte by byte
(query cut, e-mails, UUIDs, hex tokens, numbers, each a leftmost-first, non-overlapping
replace-all that consumes the character ending the segment), but only for texts it can vouch
for: non-null, without control bytes (0x00-0x1f, 0x7f) or white space beyond ASCII (no-break
space and the like), where the regexes' white space is the space alone. Letters beyond ASCII
(``/blog/zażółć``) are vouched for: no delimiter, digit or hex digit is one, and no byte of
theirs in UTF-8 is below 0x80, so they are ordinary bytes to every rule. Every other text is
reported back for the regex path, and the caller is told whether any text holds a byte used
as a mark (which turns grouping off).
The kernel (``_kernels.shape_keys``, in C) runs without the GIL and makes no Python object
per text.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from privstats.anonymise import _kernels


def arrow_strings(texts: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Offsets (int64, one more than texts), bytes and validity of a string array, as views.

    The array's own offset is applied; a null's bytes are never read (validity says so).
    """
    width: type[np.signedinteger]
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


def kernel_indices(codes: np.ndarray) -> np.ndarray:
    """Codes or indices as the kernels read them: int32 (a block's codes, read as they are,
    which saves a copy per row) or int64, contiguous."""
    codes = np.asarray(codes)
    if codes.dtype in (np.int32, np.int64) and codes.flags.c_contiguous:
        return codes
    return np.ascontiguousarray(codes, dtype=np.int64)


def shape_keys(
    texts: pa.Array, take: np.ndarray, *, requests: bool
) -> tuple[pa.Array, np.ndarray, bool]:
    """Keys of ``texts[take]`` as a string array, which of them the kernel vouched for, and
    whether any holds a mark byte. Keys of texts not vouched for are empty placeholders."""
    offsets, data, valid = arrow_strings(texts)
    take = np.ascontiguousarray(take, dtype=np.int64)
    # A key is never longer than its text: the texts' bytes bound the keys'.
    key_bytes = np.empty(max(_kernels.taken_bytes(offsets, take), 1), dtype=np.uint8)
    key_offsets = np.empty(len(take) + 1, dtype=np.int64)
    vouched = np.empty(len(take), dtype=bool)
    size, marked = _kernels.shape_keys(
        offsets, data, valid, take, requests, key_offsets, key_bytes, vouched
    )
    kind = pa.large_string() if key_offsets[-1] >= 2**31 else pa.string()
    width = np.int64 if kind == pa.large_string() else np.int32
    keys = pa.Array.from_buffers(
        kind,
        len(take),
        [None, pa.py_buffer(key_offsets.astype(width)), pa.py_buffer(key_bytes[:size])],
    )
    return keys, vouched, bool(marked)


def text_hashes(texts: pa.Array, seed: int) -> np.ndarray:
    """A seeded 64-bit hash of each text (uint64), a null unlike any text; in C, without the
    GIL (the first lane of ``_kernels.string_hashes``)."""
    offsets, data, valid = arrow_strings(texts)
    hashes = np.empty((len(valid), 2), dtype=np.uint64)
    seeds = np.array([seed, seed + 1], dtype=np.uint64)
    _kernels.string_hashes(offsets, data, valid, seeds, hashes)
    return hashes[:, 0].copy()
