"""Planted identifiers and builders of a clean report folder, for the leak-scanner tests.

The clean folder holds what a rendered report holds (HTML with inline CSS, an inline chart SVG
and an embedded PNG, a CSV per table, ``manifest.json``) plus a standalone SVG, PNG and XLSX,
and it is built to tempt the detectors: a software version that looks like an IPv4 address,
referring domains, SHA-256 checksums, measures of ten and eleven digits that pass the NIP and
PESEL checksums by chance, dates and times. It must scan clean.
"""

from __future__ import annotations

import base64
import hashlib
import json
import struct
import zlib
from pathlib import Path

# Planted identifiers (made up, in reserved ranges and domains where there are any).
IP = "203.0.113.216"
EMAIL = "zofia.kanarek@example.pl"
NAME = "Zofia Kanarek"
USER_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.6099.109 Safari/537.36"
)
TRACEBACK = (
    "Traceback (most recent call last):\n"
    '  File "/home/analyst/report.py", line 12, in <module>\n'
    "ValueError: bad row"
)
CANARIES = [NAME, EMAIL, IP, "2001:db8:cafe::4242", "Jan Kowalski", "+48 512 345 678"]

# Measures that pass an identifier's checksum by chance, as real sums of bytes will.
NIP_LIKE_BYTES = 5261040828  # passes NIP's checksum
PESEL_LIKE_BYTES = 44051401359  # passes PESEL's checksum and has a valid birth date

CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
    "form-action 'none'"
)
CSS = """\
:root { --ink: #1d2327; --rule: #d5dbe0; }
body { margin: 0 auto; max-width: 72rem; font: 16px/1.5 system-ui, "DejaVu Sans", sans-serif; }
.facts dt::after { content: ":"; }
table.data td.num { text-align: right; white-space: nowrap; }
figure svg { max-width: 100%; height: auto; }
@media print { nav { display: none; } }
"""


def minimal_png(*chunks: tuple[bytes, bytes], trailing: bytes = b"") -> bytes:
    """A 1×1 grey PNG with the given extra (type, body) chunks before its image data."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    parts = [b"\x89PNG\r\n\x1a\n", chunk(b"IHDR", header)]
    parts += [chunk(kind, body) for kind, body in chunks]
    parts += [chunk(b"IDAT", zlib.compress(b"\x00\x80")), chunk(b"IEND", b"")]
    return b"".join(parts) + trailing


def text_chunk(keyword: str, text: str) -> tuple[bytes, bytes]:
    return b"tEXt", keyword.encode("latin-1") + b"\0" + text.encode("latin-1")


def report_html(chart_svg: str, chart_png: bytes, extra: str = "") -> str:
    """The page of a clean report; ``extra`` is placed before the footer (for mutations)."""
    inline_svg = chart_svg[chart_svg.index("<svg") :]
    png = base64.b64encode(chart_png).decode("ascii")
    nbsp = "\u00a0"
    rows = "".join(
        f'<tr><th scope="row">2026-10-{day:02d}</th>'
        f'<td class="num">{1000 + day * 37:,}</td>'.replace(",", nbsp)
        + f'<td class="num">{(NIP_LIKE_BYTES + day * 1_000_003):,}</td>'.replace(",", nbsp)
        + '<td class="marker">#</td></tr>'
        for day in range(1, 31)
    )
    return f"""<!DOCTYPE html>
<html lang="pl">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<meta name="referrer" content="no-referrer">
<title>Ruch w serwisie — październik 2026</title>
<style>
{CSS}</style>
</head>
<body>
<header><h1>Ruch w serwisie</h1>
<dl class="facts"><div><dt>Partner</dt><dd>acme</dd></div>
<div><dt>Okres</dt><dd>październik 2026</dd></div>
<div><dt>Wygenerowano</dt><dd>1 listopada 2026, 02:15 UTC</dd></div></dl></header>
<main>
<nav aria-label="Spis treści"><ol><li><a href="#table-daily">Odsłony dziennie</a></li>
<li><a href="#figure-browsers">Przeglądarki</a></li></ol></nav>
<section id="methodology"><h2>Metodologia i ochrona danych</h2>
<p>Komórki, do których przyczyniło się mniej niż 10 osób, są ukryte i oznaczone jako „#”.
Liczymy osoby, nie żądania: jedna osoba z tysiącem odsłon to jedna osoba.</p></section>
<section class="table" id="table-daily"><h2>Odsłony dziennie</h2>
<table class="data"><thead><tr><th class="corner">dzień</th><th>odsłony</th><th>bajty</th>
<th>osoby</th></tr></thead><tbody>{rows}</tbody></table>
<p class="note">Dane tej tabeli: plik daily.csv obok raportu.</p></section>
<section class="table" id="table-referers"><h2>Domeny odsyłające</h2>
<table class="data"><tbody><tr><th>google.com</th><td class="num">412</td></tr>
<tr><th>www.facebook.com</th><td class="num">97</td></tr><tr><th>duckduckgo.com</th>
<td class="num">31</td></tr><tr><th>/crm/contacts/{{id}}/edit</th><td class="num">12,5 %</td></tr>
</tbody></table></section>
<section class="figure" id="figure-browsers"><h2>Przeglądarki</h2>
<figure>{inline_svg}<figcaption>Wykres z tabel chronionych: browsers. Chrome 120,
Firefox 121, Safari 17.</figcaption></figure>
<img alt="Udział przeglądarek" src="data:image/png;base64,{png}"></section>
{extra}
</main>
<footer><p>Przygotowano programem privstats 1.2.3.4 (Python 3.11.7).</p>
<p>Każda osoba może poprosić operatora o wgląd w swoje dane, ich poprawienie lub usunięcie.</p>
</footer>
</body>
</html>
"""


def daily_csv(extra_row: list[str] | None = None) -> str:
    lines = ["day,requests,bytes,persons"]
    for day in range(1, 31):
        lines.append(f"2026-10-{day:02d},{1000 + day * 37},{NIP_LIKE_BYTES + day * 1_000_003},#")
    lines.append(f"2026-10-31,{PESEL_LIKE_BYTES},{NIP_LIKE_BYTES},.")
    if extra_row:
        lines.append(",".join(extra_row))
    return "\ufeff" + "\r\n".join(lines) + "\r\n"


def write_report(folder: Path, chart_svg: str, chart_png: bytes) -> Path:
    """A clean report folder; returns it."""
    import openpyxl

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "report.html").write_text(report_html(chart_svg, chart_png), encoding="utf-8")
    (folder / "daily.csv").write_text(daily_csv(), encoding="utf-8")
    (folder / "browsers.svg").write_text(chart_svg, encoding="utf-8")
    (folder / "browsers.png").write_bytes(chart_png)
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "daily"
    sheet.append(["day", "requests", "bytes"])
    for day in range(1, 31):
        sheet.append([f"2026-10-{day:02d}", 1000 + day, NIP_LIKE_BYTES + day * 1_000_003])
    workbook.properties.creator = "privstats"
    workbook.properties.title = "Ruch w serwisie"
    workbook.save(folder / "daily.xlsx")
    files = {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.iterdir())
    }
    manifest = {
        "format": 1,
        "report": "traffic_report",
        "partner": "acme",
        "period": "2026-10",
        "generated_at": "2026-11-01T02:15:00+00:00",
        "software": {"privstats": "1.2.3.4"},
        "key_fingerprint": "3fa2c1d09e8b",
        "notebook_sha256": hashlib.sha256(b"notebook").hexdigest(),
        "rules": {"threshold": 10, "nk_n": 2, "nk_k": 90.0, "p_ratio": 10.0},
        "input_catalog_ids": ["catalog-2026-10-01-a1"],
        "tables": [
            {
                "name": "daily",
                "hidden_cells": 3,
                "shape": [31, 3],
                "totals": {"bytes": NIP_LIKE_BYTES, "requests": PESEL_LIKE_BYTES},
                "record": {"checksum": hashlib.sha256(b"daily").hexdigest()},
            }
        ],
        "files": files,
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return folder
