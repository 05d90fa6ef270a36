"""PNG images: their text chunks and metadata, read chunk by chunk with struct and zlib.

Text chunks (tEXt, zTXt, iTXt), EXIF, ICC profile names and descriptions, unknown ancillary
chunks (as printable strings) and data after the image's end are scanned. Pixels are not read:
text drawn into an image cannot be checked (charts are SVG with text kept as text for that).
Compressed text larger than 64 MiB is refused, not inflated.
"""

from __future__ import annotations

import re
import struct
import zlib

from privstats.leaks.findings import Kind
from privstats.leaks.pieces import MAX_INFLATED, PNG_SIGNATURE, Fixed, Sink

_PNG_STRUCTURE = frozenset({
    b"IHDR", b"PLTE", b"IDAT", b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"pHYs", b"sBIT", b"bKGD",
    b"hIST", b"tIME", b"acTL", b"fcTL", b"fdAT", b"cICP", b"mDCv", b"cLLi",
})  # fmt: skip
_PRINTABLE = re.compile(rb"[\x20-\x7e\t]{4,}")


def _inflate(data: bytes) -> bytes:
    inflater = zlib.decompressobj()
    out = inflater.decompress(data, MAX_INFLATED)
    if inflater.unconsumed_tail:
        raise ValueError("compressed text too large")
    return out


def _strings(data: bytes) -> str:
    """Printable runs of binary data, one a line (what ``strings`` shows)."""
    return "\n".join(m.group().decode("ascii") for m in _PRINTABLE.finditer(data))


def extract_png(data: bytes, sink: Sink) -> None:
    """Feed every text a PNG image carries to ``sink`` (see the module's notes)."""
    position = len(PNG_SIGNATURE)
    while position + 8 <= len(data):
        length, chunk_type = struct.unpack(">I4s", data[position : position + 8])
        body = data[position + 8 : position + 8 + length]
        chunk = chunk_type.decode("latin-1")
        chunk = chunk if chunk.isalpha() else "?"
        if len(body) < length:
            sink.issue(Kind.UNSCANNABLE, "", f"{chunk} chunk", "a truncated PNG chunk")
            return
        position += 12 + length
        if chunk_type == b"IEND":
            trailing = data[position:]
            if trailing.strip(b"\0"):
                sink.blob(trailing, "data after the end of the PNG image")
            return
        if chunk_type in _PNG_STRUCTURE:
            continue
        try:
            _png_chunk(chunk_type, chunk, body, sink)
        except (ValueError, zlib.error, IndexError):
            sink.issue(Kind.UNSCANNABLE, "", f"{chunk} chunk", "a PNG chunk that cannot be read")
    sink.issue(Kind.UNSCANNABLE, "", "end of file", "a PNG image without its end chunk")


def _png_chunk(chunk_type: bytes, chunk: str, body: bytes, sink: Sink) -> None:
    keyword_bytes, _, rest = body.partition(b"\0")
    keyword = keyword_bytes.decode("latin-1")
    place = (
        f"{chunk} chunk '{keyword}'"
        if sink.safe(keyword) and len(keyword) < 80
        else (f"{chunk} chunk")
    )
    if chunk_type in (b"tEXt", b"zTXt", b"iTXt", b"iCCP"):
        sink.text(keyword, Fixed(f"{chunk} chunk (keyword)"), label="keyword")
    if chunk_type == b"tEXt":
        sink.text(rest.decode("latin-1"), Fixed(place), label=keyword.lower())
    elif chunk_type == b"zTXt":
        sink.text(_inflate(rest[1:]).decode("latin-1"), Fixed(place), label=keyword.lower())
    elif chunk_type == b"iTXt":
        compressed, _method = rest[0], rest[1]
        language, _, rest = rest[2:].partition(b"\0")
        translated, _, text = rest.partition(b"\0")
        for extra in (language, translated):
            if extra:
                sink.text(extra.decode("utf-8", "replace"), Fixed(place))
        content = _inflate(text) if compressed else text
        sink.text(content.decode("utf-8", "replace"), Fixed(place), label=keyword.lower())
    elif chunk_type == b"iCCP":
        sink.text(_strings(_inflate(rest[1:])), Fixed(f"{chunk} chunk (profile)"))
    elif chunk_type[0:1].islower():  # ancillary: eXIf and anything else, read as strings
        sink.text(_strings(body), Fixed(f"{chunk} chunk"))
    else:
        sink.issue(Kind.UNSCANNABLE, "", f"{chunk} chunk", "an unknown critical PNG chunk")
