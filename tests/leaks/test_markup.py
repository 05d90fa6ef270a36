"""HTML, SVG and CSS: self-containment, scripts, and text hidden in attributes and embeds."""

from __future__ import annotations

import base64
from pathlib import Path
from urllib.parse import quote

import pytest
from leaks.planted import EMAIL, IP, minimal_png, text_chunk

from privstats.leaks import Finding, Kind, LeakScanner
from privstats.leaks.markup import srcset_urls


def scan(html: str, name: str = "report.html") -> list[Finding]:
    return LeakScanner().scan_text(html, name)


def kinds_and_places(findings: list[Finding]) -> list[tuple[Kind, str]]:
    return [(f.kind, f.location) for f in findings]


EXTERNAL = {
    "script src": ('<script src="https://cdn.example.net/r.js"></script>', Kind.EXTERNAL_RESOURCE),
    "stylesheet": ('<link rel="stylesheet" href="https://cdn.example.net/a.css">',
                   Kind.EXTERNAL_RESOURCE),
    "preconnect": ('<link rel="preconnect" href="//fonts.example.net">', Kind.EXTERNAL_RESOURCE),
    "image": ('<img src="https://img.example.net/p.png">', Kind.EXTERNAL_RESOURCE),
    "relative image": ('<img src="chart.png">', Kind.EXTERNAL_RESOURCE),
    "srcset": ('<img src="data:," srcset="data:, 1x, https://x.example/2.png 2x">',
               Kind.EXTERNAL_RESOURCE),
    "iframe": ('<iframe src="https://maps.example.net/embed"></iframe>', Kind.EXTERNAL_RESOURCE),
    "object": ('<object data="https://x.example/movie.swf"></object>', Kind.EXTERNAL_RESOURCE),
    "video poster": ('<video poster="https://x.example/p.jpg"></video>', Kind.EXTERNAL_RESOURCE),
    "base": ('<base href="https://x.example/">', Kind.EXTERNAL_RESOURCE),
    "css url": ("<style>body { background: url(https://x.example/bg.png) }</style>",
                Kind.EXTERNAL_RESOURCE),
    "css import": ("<style>@import 'https://x.example/theme.css';</style>",
                   Kind.EXTERNAL_RESOURCE),
    "css image-set": ("<style>a { background: image-set('https://x.example/a.png' 1x) }</style>",
                      Kind.EXTERNAL_RESOURCE),
    "style attribute": ('<div style="background-image:url(\'//x.example/a.png\')">x</div>',
                        Kind.EXTERNAL_RESOURCE),
    "svg image": ('<svg><image href="https://x.example/a.png"/></svg>', Kind.EXTERNAL_RESOURCE),
    "svg use": ('<svg><use xlink:href="https://x.example/s.svg#icon"/></svg>',
                Kind.EXTERNAL_RESOURCE),
    "link": ('<a href="https://partner.example/">partner</a>', Kind.EXTERNAL_LINK),
    "mailto link": ('<a href="mailto:office@example.pl">write</a>', Kind.EXTERNAL_LINK),
    "form": ('<form action="https://x.example/submit"></form>', Kind.EXTERNAL_LINK),
    "meta refresh": ('<meta http-equiv="refresh" content="0; url=https://x.example/">',
                     Kind.EXTERNAL_LINK),
    "inline script": ("<script>document.title = 'x'</script>", Kind.SCRIPT),
    "event handler": ('<img src="data:," onerror="alert(1)">', Kind.SCRIPT),
    "javascript url": ('<a href="javascript:alert(1)">x</a>', Kind.SCRIPT),
    "svg script": ("<svg><script>alert(1)</script></svg>", Kind.SCRIPT),
    "javascript url split by a tab": ('<a href="java&#9;script:alert(1)">x</a>', Kind.SCRIPT),
    "javascript url as entities": ('<a href="&#106;avascript:alert(1)">x</a>', Kind.SCRIPT),
}  # fmt: skip


@pytest.mark.parametrize("case", EXTERNAL)
def test_anything_outside_the_file_or_any_script_is_reported(case: str) -> None:
    html, kind = EXTERNAL[case]
    assert kind in {f.kind for f in scan(f"<html><body>{html}</body></html>")}


def test_in_page_anchors_and_data_uris_are_allowed() -> None:
    html = """<html><head><style>
      /* url(https://x.example/ignored-in-a-comment.png) */
      .a { background: url("data:image/gif;base64,R0lGODlhAQABAAAAACw=") }
      .b { clip-path: url(#clip1); }
    </style></head><body>
      <a href="#methodology">Metodologia</a> <a href="">here</a>
      <img src="data:image/svg+xml;utf8,<svg xmlns='http://www.w3.org/2000/svg'></svg>">
      <svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">
        <use xlink:href="#DejaVuSans-30"/><g clip-path="url(#p1)"></g></svg>
      <iframe src="about:blank"></iframe>
    </body></html>"""
    findings = scan(html)
    # the GIF is a format the scanner cannot read: it says so, and nothing else is wrong
    assert [(f.kind, f.note) for f in findings] == [
        (Kind.UNSCANNABLE, "a GIF image: cannot be checked")
    ]


def test_a_css_namespace_rule_loads_nothing() -> None:
    css = "<style>@namespace svg url(http://www.w3.org/2000/svg); a { color: red }</style>"
    assert scan(css) == []


def test_a_reference_named_twice_is_one_finding() -> None:
    css = "<style>a { background: image-set(url('https://x.example/a.png') 1x) }</style>"
    assert [f.kind for f in scan(css)] == [Kind.EXTERNAL_RESOURCE]


def test_a_standalone_matplotlib_svg_is_clean(chart_svg: str, tmp_path: Path) -> None:
    assert chart_svg.startswith("<?xml") and "<!DOCTYPE svg" in chart_svg
    assert scan(chart_svg, "chart.svg") == []


def test_an_xml_stylesheet_instruction_is_an_external_resource() -> None:
    svg = '<?xml-stylesheet href="https://x.example/s.css" type="text/css"?><svg></svg>'
    assert [f.kind for f in scan(svg, "chart.svg")] == [Kind.EXTERNAL_RESOURCE]


def test_text_and_attribute_values_and_comments_are_scanned() -> None:
    html = f"""<html><body>
<p title="seen {IP}">ok</p>
<!-- contact {EMAIL} -->
<input value="{IP}">
</body></html>"""
    assert kinds_and_places(scan(html)) == [
        (Kind.IPV4, "2:1 <p title>"), (Kind.EMAIL, "3:14"), (Kind.IPV4, "4:1 <input value>"),
    ]  # fmt: skip


def test_entities_are_decoded_before_scanning() -> None:
    encoded = "".join(f"&#{ord(c)};" for c in EMAIL)
    assert [f.kind for f in scan(f"<p>{encoded}</p>")] == [Kind.EMAIL]


def test_embedded_data_uris_are_scanned_inside() -> None:
    svg = f"<svg xmlns='http://www.w3.org/2000/svg'><text>{EMAIL}</text></svg>"
    png = minimal_png(text_chunk("Comment", f"by {IP}"))
    html = (
        f'<img src="data:image/svg+xml;base64,{base64.b64encode(svg.encode()).decode()}">\n'
        f'<img src="data:image/svg+xml,{quote(svg)}">\n'
        f'<img src="data:image/png;base64,{base64.b64encode(png).decode()}">\n'
        "<iframe srcdoc=\"<script src='https://x.example/a.js'></script>\"></iframe>\n"
    )
    findings = scan(html)
    assert kinds_and_places(findings) == [
        (Kind.EMAIL, "1:1 <img src> > data:image/svg+xml > 1:47"),
        (Kind.EMAIL, "2:1 <img src> > data:image/svg+xml > 1:47"),
        (Kind.IPV4, "3:1 <img src> > data:image/png > tEXt chunk 'Comment'"),
        (Kind.SCRIPT, "4:1 <iframe srcdoc> > 1:1 <script>"),
        (Kind.EXTERNAL_RESOURCE, "4:1 <iframe srcdoc> > 1:1 <script src>"),
    ]


def test_an_external_reference_inside_an_embedded_svg_is_found() -> None:
    svg = "<svg><image href='https://tracker.example/p.gif'/></svg>"
    html = f'<img src="data:image/svg+xml;base64,{base64.b64encode(svg.encode()).decode()}">'
    assert [f.kind for f in scan(html)] == [Kind.EXTERNAL_RESOURCE]


def test_an_undecodable_data_uri_is_unscannable() -> None:
    assert [f.kind for f in scan('<img src="data:image/png;base64,@@@@">')] == [Kind.UNSCANNABLE]


def test_numbers_in_a_table_column_of_identifiers_are_reported() -> None:
    rows = "".join(
        f"<tr><td>{nip}</td><td>{n}</td></tr>"
        for n, nip in enumerate(["5261040828", "7251801126", "1132191233"])
    )
    findings = scan(f"<table><tr><th>NIP</th><th>n</th></tr>{rows}</table>")
    assert [f.kind for f in findings] == [Kind.NIP] * 3
    assert findings[0].note == "in a column of identifiers"


def test_a_measure_that_passes_a_checksum_by_chance_is_not_reported() -> None:
    rows = "".join(
        f"<tr><th>{d}</th><td>{b}</td></tr>"
        for d, b in [("a", 5261040828), ("b", 5261040829), ("c", 7000000001), ("d", 812345678)]
    )
    assert scan(f"<table><tr><th>day</th><th>bytes</th></tr>{rows}</table>") == []


def test_a_row_label_is_text_not_a_measure() -> None:
    findings = scan("<table><tr><th>5261040828</th><td>12</td></tr></table>")
    assert [f.kind for f in findings] == [Kind.NIP]


def test_srcset_candidates_are_split_as_browsers_do() -> None:
    assert srcset_urls("a.png 1x, data:image/png;base64,AAA= 2x,c.png") == [
        "a.png", "data:image/png;base64,AAA=", "c.png",
    ]  # fmt: skip
    assert srcset_urls("data:image/svg+xml,a,b 100w") == ["data:image/svg+xml,a,b"]
