"""PNG images: every text chunk and metadata read, pixels not, damage reported."""

from __future__ import annotations

import io
import zlib

from leaks.planted import EMAIL, IP, NAME, minimal_png, text_chunk

from privstats.leaks import CanarySet, Finding, Kind, LeakScanner


def scan(data: bytes, canaries: CanarySet | None = None) -> list[Finding]:
    return LeakScanner(canaries).scan_bytes(data, "chart.png")


def test_a_matplotlib_png_is_clean(chart_png: bytes) -> None:
    assert b"tEXt" in chart_png and b"matplotlib" in chart_png
    assert scan(chart_png) == []


def test_every_text_chunk_kind_is_read(canaries: CanarySet) -> None:
    png = minimal_png(
        text_chunk("Author", NAME),
        (b"zTXt", b"Comment\0\0" + zlib.compress(f"from {IP}".encode())),
        (b"iTXt", b"Description\0\0\0pl\0Opis\0" + f"kontakt {EMAIL}".encode()),
        (b"iTXt", b"Source\0\1\0\0\0" + zlib.compress(b"seen 10.0.0.7")),
    )
    findings = scan(png, canaries)
    assert [(f.kind, f.location) for f in findings] == [
        (Kind.CANARY, "tEXt chunk 'Author'"),
        (Kind.CANARY, "zTXt chunk 'Comment'"),
        (Kind.CANARY, "iTXt chunk 'Description'"),
        (Kind.IPV4, "iTXt chunk 'Source'"),
    ]
    assert all(NAME not in str(f) and EMAIL not in str(f) for f in findings)


def test_exif_and_unknown_ancillary_chunks_are_read_as_strings() -> None:
    exif = b"MM\0*\0\0\0\x08" + b"\0" * 6 + f"Artist: {EMAIL}\0".encode()
    png = minimal_png((b"eXIf", exif), (b"prVt", f"\x01\x02seen {IP}\x00".encode()))
    assert [(f.kind, f.location) for f in scan(png)] == [
        (Kind.EMAIL, "eXIf chunk"), (Kind.IPV4, "prVt chunk"),
    ]  # fmt: skip


def test_a_keyword_that_is_itself_an_identifier_is_not_shown() -> None:
    png = minimal_png(text_chunk(EMAIL, "x"))
    findings = scan(png)
    assert [(f.kind, f.location) for f in findings] == [(Kind.EMAIL, "tEXt chunk (keyword)")]
    assert EMAIL not in str(findings[0])


def test_data_after_the_end_of_the_image_is_scanned() -> None:
    findings = scan(minimal_png(trailing=f"hidden {EMAIL}".encode()))
    assert [(f.kind, f.location) for f in findings] == [
        (Kind.EMAIL, "data after the end of the PNG image > 1:8")
    ]


def test_damage_is_reported_not_passed() -> None:
    png = minimal_png(text_chunk("Comment", "fine"))
    assert [f.kind for f in scan(png[:-20])] == [Kind.UNSCANNABLE]  # truncated
    bomb = minimal_png((b"zTXt", b"Comment\0\0" + b"not zlib"))
    assert [(f.kind, f.note) for f in scan(bomb)] == [
        (Kind.UNSCANNABLE, "a PNG chunk that cannot be read")
    ]


def test_pillow_written_text_is_found() -> None:
    from PIL import Image, PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Author", NAME, zip=True)
    info.add_itxt("Comment", f"from {IP}", lang="pl")
    buffer = io.BytesIO()
    Image.new("RGB", (2, 2)).save(buffer, format="PNG", pnginfo=info)
    canaries = CanarySet.build([NAME], b"k" * 32)
    assert [f.kind for f in scan(buffer.getvalue(), canaries)] == [Kind.CANARY, Kind.IPV4]
