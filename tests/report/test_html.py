"""report.html is self-contained, script-free, escapes the data, and speaks both languages."""

from __future__ import annotations

import datetime as dt
import re
from html.parser import HTMLParser

import pytest

from privstats.exceptions import ReportError
from privstats.report.html import (
    CONTENT_SECURITY_POLICY,
    FigureItem,
    ReportDocument,
    TextItem,
    render_report,
    sanitize_svg,
)
from privstats.report.i18n import Language
from privstats.report.table import Cell, CellState, ReportTable

NBSP = "\u00a0"
PLANTED = ("<script>alert(1)</script>", "<img src=x onerror=alert(2)>")
REFERENCING = ("href", "src", "xlink:href", "action", "formaction", "poster", "data", "srcset")


class Page(HTMLParser):
    """Every start tag with its attributes, and the text as a browser would show it."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


@pytest.fixture(params=["pl", "en"])
def rendered(request):
    return request.getfixturevalue(f"tiny_{request.param}")


def test_nothing_is_loaded_from_outside_the_file(rendered) -> None:
    html = rendered.html
    page = Page(html)
    names = {tag for tag, _ in page.tags}
    assert names.isdisjoint({"script", "link", "iframe", "object", "embed", "img", "base"})
    for tag, attrs in page.tags:
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, name)
            if name in REFERENCING:
                assert value is not None and value.startswith("#"), (tag, name, value)
            if name == "style" and value:
                assert re.fullmatch(r"[^()]*(url\(#[\w.-]+\)[^()]*)*", value), (tag, value)
    assert "@import" not in html
    assert not re.search(r"url\((?!#)", html)
    assert "<!DOCTYPE svg" not in html
    assert "xmlns" not in html


def test_a_content_security_policy_forbids_scripts_and_loads(rendered) -> None:
    page = Page(rendered.html)
    policies = [
        attrs["content"]
        for tag, attrs in page.tags
        if tag == "meta" and attrs.get("http-equiv") == "Content-Security-Policy"
    ]
    assert policies == [CONTENT_SECURITY_POLICY]
    assert "default-src 'none'" in CONTENT_SECURITY_POLICY
    assert "script" not in CONTENT_SECURITY_POLICY  # no exception for scripts of any kind


def test_planted_markup_in_the_data_is_shown_as_text(rendered) -> None:
    html = rendered.html
    for planted in PLANTED:
        assert planted not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    page = Page(html)
    shown = "".join(page.text)
    for planted in PLANTED:
        assert planted in shown
    # the same labels on the chart's axis, escaped inside the SVG
    svg = html[html.index("<svg") : html.index("</svg>")]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in svg
    # and the notebook's own text, which carried markup, too
    assert "<b>" not in html


def test_chart_text_is_kept_as_text(tiny_pl) -> None:
    html = tiny_pl.html
    svg = html[html.index("<svg") : html.index("</svg>")]
    assert svg.count("<text") >= 3
    assert ">osoby<" in svg
    assert ">przeglądarka<" in svg
    assert "DejaVuSans-" not in svg  # text drawn as glyph outlines would carry glyph ids
    assert 'role="img"' in svg and 'aria-label="Osoby według przeglądarki"' in svg
    ids = re.findall(r'\sid="([^"]+)"', svg)
    assert ids and all(i.startswith("fig-browsers-chart-") for i in ids)


def test_polish_report(tiny_pl) -> None:
    html = tiny_pl.html
    assert '<html lang="pl">' in html
    assert "<h1>Mały raport testowy</h1>" in html
    assert "październik 2026" in html
    assert f"1{NBSP}234{NBSP}567" in html
    assert f"1{NBSP}234,50" in html
    assert ">0,25<" in html
    assert "mniej niż 10 osób" in html
    assert "oznaczone jako „x”" in html
    assert "<dt>x</dt><dd>komórka ukryta w celu ochrony prywatności</dd>" in html
    assert "<dt>.</dt><dd>brak danych (nic do policzenia)</dd>" in html
    assert "<dt>&lt;10</dt><dd>mniej niż 10 osób; dokładna liczba nie jest podawana</dd>" in html
    assert "Ukryte komórki: 1." in html
    assert "Wygenerowano" in html


def test_english_report(tiny_en) -> None:
    html = tiny_en.html
    assert '<html lang="en">' in html
    assert "<h1>Tiny test report</h1>" in html
    assert "October 2026" in html
    assert "1,234,567" in html
    assert "1,234.50" in html
    assert "Cells with fewer than 10 persons are hidden and shown as “x”" in html
    assert "<dt>x</dt><dd>cell hidden to protect privacy</dd>" in html
    assert "Hidden cells: 1." in html
    assert "Generated" in html


def test_negative_numbers_keep_their_sign(tiny_pl, tiny_en) -> None:
    assert ">-5<" in tiny_pl.html
    assert ">-5<" in tiny_en.html


def test_column_headers_of_several_levels_are_merged(tiny_en) -> None:
    html = tiny_en.html
    assert '<th scope="col" colspan="2">desktop</th>' in html
    assert '<th scope="col" colspan="2">mobile</th>' in html
    assert '<th scope="col" class="corner">device</th>' in html


def test_an_engine_table_is_pivoted_with_localised_totals(tiny_pl, tiny_en) -> None:
    for rendered, total in ((tiny_pl, "Ogółem"), (tiny_en, "Total")):
        html = rendered.html
        section = html[html.index('id="table-devices"') :]
        section = section[: section.index("</section>")]
        assert f'<th scope="col">{total}</th>' in section
        assert f'<tr class="total">\n      <th scope="row">{total}</th>' in section
        assert section.count('<td class="num marker">x</td>') == 4
        assert '<th scope="col" class="corner">device</th>' in section


def _table(**overrides) -> ReportTable:
    fields = {
        "name": "t",
        "title": "T <i>",
        "columns": (("persons",),),
        "rows": (("a",), ("b",)),
        "cells": ((Cell(CellState.VALUE, 12),), (Cell(CellState.HIDDEN),)),
        "record": {"status": "suppressed"},
        "status": "suppressed",
        "row_names": ("browser",),
        "rules": {"threshold": 25},
    }
    return ReportTable(**{**fields, **overrides})


def _document(*items, language=Language.EN, rules=None) -> ReportDocument:
    return ReportDocument(
        report="x",
        title="Title & <b>",
        partner=None,
        period="2026-10-01_2026-10-15",
        language=language,
        generated_at=dt.datetime(2026, 11, 3, 12, 5, tzinfo=dt.UTC),
        version="1.2.3",
        items=items,
        rules=rules or {},
    )


def test_the_threshold_in_the_note_comes_from_the_tables_records() -> None:
    html = render_report(_document(_table(), TextItem("a paragraph")))
    assert "Cells with fewer than 25 persons are hidden" in html
    assert "<title>Title &amp; &lt;b&gt;</title>" in html
    assert "all partners" in html
    assert "2026-10-01 – 2026-10-15" in html
    assert "3 November 2026, 12:05 UTC" in html


def test_with_several_thresholds_the_note_states_the_smallest() -> None:
    strict = _table(name="u", rules={"threshold": 40})
    html = render_report(_document(_table(), strict))
    assert "fewer than 25 persons" in html


def test_without_tables_the_note_uses_the_run_rules() -> None:
    figure = FigureItem("f", "F", '<svg xmlns="http://www.w3.org/2000/svg"><path d="M0 0"/></svg>')
    html = render_report(_document(figure, language=Language.PL, rules={"threshold": 15}))
    assert "mniej niż 15 osób" in html


MATPLOTLIB_HEAD = (
    '<?xml version="1.0" encoding="utf-8" standalone="no"?>\n'
    '<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN"\n'
    '  "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">\n'
)
SVG_OPEN = '<svg xmlns:xlink="http://www.w3.org/1999/xlink" xmlns="http://www.w3.org/2000/svg">'


def test_a_matplotlib_svg_is_rebuilt_without_outside_references() -> None:
    svg = (
        MATPLOTLIB_HEAD + SVG_OPEN + "<metadata><rdf>http://purl.org/dc</rdf></metadata>"
        '<defs><style type="text/css">*{stroke-linecap:butt}</style>'
        '<clipPath id="p1"><rect width="1" height="1"/></clipPath></defs>'
        '<g clip-path="url(#p1)"><use xlink:href="#p1"/><text>&lt;b&gt;</text></g></svg>'
    )
    clean = sanitize_svg(svg, "fig-a", "label")
    assert "http" not in clean
    assert "<style" not in clean and "<metadata" not in clean
    assert 'id="fig-a-p1"' in clean
    assert 'clip-path="url(#fig-a-p1)"' in clean
    assert 'href="#fig-a-p1"' in clean
    assert "<text>&lt;b&gt;</text>" in clean


@pytest.mark.parametrize(
    "body",
    [
        "<script>alert(1)</script>",
        '<g onload="alert(1)"/>',
        '<use xlink:href="http://example.invalid/x.svg#a"/>',
        '<image xlink:href="http://example.invalid/x.png"/>',
        '<g style="fill: url(http://example.invalid/p)"/>',
        '<g style="fill: URL(http://example.invalid/p)"/>',
        '<g style="fill: \\75 rl(http://example.invalid/p)"/>',
        '<rect fill="url(//example.invalid/p)"/>',
        '<foreignObject><div xmlns="http://www.w3.org/1999/xhtml">x</div></foreignObject>',
        '<a xlink:href="javascript:alert(1)"><text>x</text></a>',
    ],
)
def test_an_active_or_outside_svg_element_is_refused(body) -> None:
    with pytest.raises(ReportError, match="figure 'fig-a'"):
        sanitize_svg(SVG_OPEN + body + "</svg>", "fig-a", "label")


def test_an_svg_with_entities_is_refused() -> None:
    svg = '<!DOCTYPE svg [<!ENTITY x "y">]><svg xmlns="http://www.w3.org/2000/svg">&x;</svg>'
    with pytest.raises(ReportError, match="document type declaration"):
        sanitize_svg(svg, "fig-a", "label")


def test_an_inline_png_image_is_kept() -> None:
    body = '<image xlink:href="data:image/png;base64,iVBORw0KGgo="/>'
    clean = sanitize_svg(SVG_OPEN + body + "</svg>", "fig-a", "label")
    assert 'href="data:image/png;base64,iVBORw0KGgo="' in clean
