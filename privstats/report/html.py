"""``report.html``: one self-contained file built from what the notebook published.

Why not nbconvert: its default template loads require.js and MathJax from a public CDN (every
reader's IP address would go to a third party), it renders every output of every cell (an
accidental ``print`` would reach the partner), and it does not sanitise outputs. This module
builds the page with its own Jinja2 template from the published items only:

- autoescaping on, and every table built here cell by cell, so a browser name such as
  ``<script>alert(1)</script>`` is shown as text;
- no script at all, no external style, font or image; the CSS is inline, charts are inline SVG
  (text kept as text), and a Content-Security-Policy forbids scripts and any load, as a second
  wall should anything slip through;
- each SVG is parsed and rebuilt from a whitelist of elements and attributes: no script, no
  event handler, no reference outside the file.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from babel.dates import format_date
from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from privstats.exceptions import PrivstatsError, ReportError
from privstats.report import charts
from privstats.report.headline import Headline, figures
from privstats.report.i18n import (
    MESSAGES,
    Language,
    format_number,
    format_period,
    format_timestamp,
    message,
)
from privstats.report.parameters import period_days
from privstats.report.table import (
    HIDDEN_MARKER,
    MISSING_MARKER,
    TOTAL_CODE,
    CellState,
    ReportTable,
)

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "base-uri 'none'; form-action 'none'"
)

_BELOW = re.compile(r"^<\s*(\d+)$")


@dataclass(frozen=True)
class FigureItem:
    name: str
    title: str
    svg: str
    caption: str = ""
    alt: str = ""
    tables: tuple[str, ...] = ()


@dataclass(frozen=True)
class TextItem:
    text: str
    heading: bool = False


@dataclass(frozen=True)
class HeadlineItem:
    headlines: tuple[Headline, ...]


Item = ReportTable | FigureItem | TextItem | HeadlineItem


@dataclass(frozen=True)
class ReportDocument:
    """Everything ``report.html`` shows."""

    report: str
    title: str
    partner: str | None
    period: str
    language: Language
    generated_at: dt.datetime
    version: str
    items: tuple[Item, ...]
    rules: dict[str, Any] = field(default_factory=dict)
    # The first and last day the store holds data of within the period (None: unknown).
    covered: tuple[dt.date, dt.date] | None = None


# --- SVG ------------------------------------------------------------------------------------

_SVG_ELEMENTS = frozenset({
    "svg", "g", "defs", "path", "use", "clipPath", "rect", "text", "tspan", "title", "desc",
    "polyline", "polygon", "line", "circle", "ellipse", "linearGradient", "radialGradient",
    "stop", "pattern", "mask", "symbol", "marker", "image",
})  # fmt: skip
_SVG_DROPPED = frozenset({"metadata", "style"})
_LOCAL_REF = re.compile(r"^#[A-Za-z_][\w.-]*$")
_URL_REF = re.compile(r"url\(\s*([^)]*?)\s*\)", re.IGNORECASE)
_INLINE_PNG = re.compile(r"^data:image/png;base64,[A-Za-z0-9+/=\s]+$")


def _local(name: str) -> str:
    return name.rsplit("}", 1)[-1]


def sanitize_svg(svg: str | bytes, prefix: str, label: str) -> Markup:
    """A matplotlib SVG rebuilt from a whitelist, its ids prefixed to stay unique in the page.

    Anything outside the whitelist (a script, an event handler, a reference outside the file)
    is a ``ReportError``: the chart is refused, never silently trimmed.
    """
    text = svg.decode("utf-8") if isinstance(svg, bytes) else svg
    text = re.sub(r"^\s*<\?xml[^>]*\?>", "", text)
    text = re.sub(r"^\s*<!DOCTYPE svg[^>\[]*>", "", text)
    if "<!DOCTYPE" in text or "<!ENTITY" in text:
        raise ReportError(f"figure '{prefix}' holds a document type declaration")
    try:
        root = ET.fromstring(text)
    except ET.ParseError:
        raise ReportError(f"figure '{prefix}' is not well-formed SVG") from None
    if _local(root.tag) != "svg":
        raise ReportError(f"figure '{prefix}' is not an SVG image")
    ids = {el.get("id") for el in root.iter() if el.get("id")}
    _clean(root, prefix, ids)
    root.set("role", "img")
    root.set("aria-label", label)
    return Markup(ET.tostring(root, encoding="unicode", short_empty_elements=True))


def _rename(value: str, prefix: str, ids: set[str | None]) -> str:
    def url(match: re.Match[str]) -> str:
        target = match.group(1).strip("'\"")
        if not _LOCAL_REF.match(target) or target[1:] not in ids:
            raise ReportError(f"figure '{prefix}' refers to something outside the file")
        return f"url(#{prefix}-{target[1:]})"

    return _URL_REF.sub(url, value)


def _clean(element: ET.Element, prefix: str, ids: set[str | None]) -> None:
    for child in list(element):
        if not isinstance(child.tag, str):  # a comment or processing instruction
            element.remove(child)
            continue
        tag = _local(child.tag)
        if tag in _SVG_DROPPED:
            element.remove(child)
            continue
        if tag not in _SVG_ELEMENTS:
            raise ReportError(f"figure '{prefix}' holds an element an SVG chart does not need")
        _clean(child, prefix, ids)
    element.tag = _local(element.tag)
    attributes = dict(element.attrib)
    element.attrib.clear()
    for key, value in attributes.items():
        name = _local(key)
        lowered = value.lower()
        # A backslash could spell "url(" in a CSS escape; matplotlib never writes one.
        active = ("javascript:", "@import", "\\", "expression(")
        if name.lower().startswith("on") or any(word in lowered for word in active):
            raise ReportError(f"figure '{prefix}' holds an active attribute")
        if name == "id":
            value = f"{prefix}-{value}"
        elif name == "href":
            if element.tag == "image" and _INLINE_PNG.match(value):
                pass
            elif _LOCAL_REF.match(value) and value[1:] in ids:
                value = f"#{prefix}-{value[1:]}"
            else:
                raise ReportError(f"figure '{prefix}' refers to something outside the file")
        elif "url(" in lowered:
            value = _rename(value, prefix, ids)
        element.set(name, value)


# --- tables ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Header:
    label: str
    span: int = 1


def _header_rows(table: ReportTable) -> list[list[_Header]]:
    """One header row per column level, adjacent equal labels (under equal parents) merged."""
    levels = max((len(c) for c in table.columns), default=1)
    rows: list[list[_Header]] = []
    for level in range(levels):
        row: list[_Header] = []
        previous: tuple[str, ...] | None = None
        for column in table.columns:
            key = column[: level + 1]
            if key == previous and level < levels - 1:
                row[-1] = _Header(row[-1].label, row[-1].span + 1)
            else:
                row.append(_Header(column[level] if level < len(column) else ""))
            previous = key
        rows.append(row)
    return rows


@dataclass(frozen=True)
class _ShownCell:
    text: str
    css: str


def _shown_cells(table: ReportTable, language: Language) -> list[list[_ShownCell]]:
    decimals = table.column_decimals()
    shown = []
    for row in table.cells:
        out = []
        for cell, places in zip(row, decimals, strict=True):
            if cell.state is CellState.VALUE:
                # A VALUE cell's value is a number (Cell checks it); the type allows text and None.
                text = format_number(cell.value, language, places)  # type: ignore[arg-type]
                out.append(_ShownCell(text, "num"))
            elif cell.state is CellState.HIDDEN:
                out.append(_ShownCell(HIDDEN_MARKER, "num marker"))
            elif cell.state is CellState.MISSING:
                out.append(_ShownCell(MISSING_MARKER, "num marker"))
            else:
                out.append(_ShownCell(str(cell.value), "text"))
        shown.append(out)
    return shown


def _legend(table: ReportTable, language: Language) -> list[tuple[str, str]]:
    """(marker, meaning) for each marker the table shows."""
    entries = []
    if CellState.HIDDEN in table.states:
        entries.append((HIDDEN_MARKER, message("legend.hidden", language)))
    if CellState.MISSING in table.states:
        entries.append((MISSING_MARKER, message("legend.missing", language)))
    for text in sorted(table.texts):
        below = _BELOW.match(text)
        if below:
            meaning = message("legend.below", language, threshold=below.group(1))
            entries.append((text, meaning))
    return entries


def _name(dim: str, code: str, label: str, language: Language) -> str:
    """A label as the reader sees it: the margin code as the word for a total, and a code the
    notebook left untranslated (the label is the code itself) by the catalogue's name for it
    (``code.<dimension>.<code>``, else ``code.any.<code>``)."""
    if label == TOTAL_CODE:
        return message("table.total", language)
    if label != code:
        return label
    for key in (f"code.{dim}.{code}", f"code.any.{code}"):
        if key in MESSAGES:
            return message(key, language)
    return label


def _localise(table: ReportTable, language: Language) -> ReportTable:
    """The table's labels in ``language``: totals and the codes the catalogue names."""

    def swap(
        labels: tuple[tuple[str, ...], ...],
        codes: tuple[tuple[str, ...], ...],
        dims: tuple[str, ...],
    ) -> tuple[tuple[str, ...], ...]:
        out = []
        for i, label in enumerate(labels):
            code = codes[i] if codes else label
            out.append(tuple(
                _name(dims[k] if k < len(dims) else "", code[k] if k < len(code) else part,
                      part, language)
                for k, part in enumerate(label)
            ))  # fmt: skip
        return tuple(out)

    return dataclasses.replace(
        table,
        rows=swap(table.rows, table.row_codes, table.index_dims),
        columns=swap(table.columns, table.column_codes, table.column_dims),
    )


def _table_context(table: ReportTable, language: Language, note: bool = True) -> dict[str, Any]:
    total_rows = [TOTAL_CODE in labels for labels in table.rows]
    table = _localise(table, language)
    corner = len(table.rows[0]) if table.rows else max(len(table.row_names), 1)
    headers = _header_rows(table)
    # As pandas lays it out: each column level's name in the corner of its header row, the row
    # levels' names in a row of their own beneath.
    names = list(table.column_names) + [""] * (len(headers) - len(table.column_names))
    header_rows = [([""] * (corner - 1) + [names[i]], row) for i, row in enumerate(headers)]
    row_names = list(table.row_names)[:corner]
    return {
        "table": table,
        "header_rows": header_rows,
        "row_names_row": row_names if any(row_names) else [],
        "body": list(zip(table.rows, _shown_cells(table, language), total_rows, strict=True)),
        "legend": _legend(table, language),
        "legend_title": message("legend.title", language),
        "note": _note_line(table, language) if note else "",
    }


# --- the page -------------------------------------------------------------------------------


@cache
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("privstats.report", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


@cache
def _stylesheet() -> Markup:
    css = resources.files("privstats.report").joinpath("templates", "report.css")
    text = css.read_text(encoding="utf-8")
    if "url(" in text or "@import" in text or "</" in text:
        raise ReportError("the report stylesheet must not load anything")
    return Markup(text)


def render_table_fragment(table: ReportTable, language: Language | str, note: bool = True) -> str:
    """One table as an HTML fragment (the notebook's preview, and the report's building block);
    ``note=False`` leaves out the line under it (hidden cells or margin of error, the file),
    which a charted table shows under its chart instead."""
    lang = Language.parse(language)
    template = _environment().get_template("table.html.j2")
    return template.render(**_table_context(table, lang, note))


def _number(value: Any, language: Language) -> str:
    number = float(value)
    return format_number(number, language, 0 if number.is_integer() else 1)


def _margin_of_error(table: ReportTable) -> float | None:
    """A DP table's margin of error at 95 % (its record's), else None."""
    protection = table.record.get("protection")
    noise = protection.get("dp") if isinstance(protection, dict) else None
    margin = noise.get("margin_of_error_95") if isinstance(noise, dict) else None
    return float(margin) if isinstance(margin, int | float) else None


def _note(table: ReportTable, language: Language) -> str:
    """Under a table: how many cells are hidden, or a DP table's margin of error."""
    margin = _margin_of_error(table)
    if margin is None:
        return message("table.hidden_cells", language, count=table.hidden_count)
    return message("table.dp_note", language, margin=_number(margin, language))


def _note_line(table: ReportTable, language: Language) -> str:
    """The line under a table: its note and where its data is."""
    download = message("table.download", language, file=f"{table.name}.csv")
    return f"{_note(table, language)} {download}"


def _methodology(document: ReportDocument) -> list[str]:
    language = document.language
    paragraphs = [message("report.methodology.text", language)]
    everything = [item for item in document.items if isinstance(item, ReportTable)]
    # DP tables hide nothing: the threshold and dominance rules speak of the others only.
    tables = [t for t in everything if _margin_of_error(t) is None]
    if len(tables) < len(everything):
        paragraphs.append(message("report.disclosure.dp", language))
        if not tables:
            return paragraphs
    thresholds = [t.rules["threshold"] for t in tables if "threshold" in t.rules]
    if not thresholds and "threshold" in document.rules:
        thresholds = [document.rules["threshold"]]
    if thresholds:
        # With several thresholds the smallest is the true statement for every table: a
        # table with a stricter threshold hides cells below the smallest one too.
        paragraphs.append(
            message(
                "report.disclosure.threshold",
                language,
                threshold=_number(min(thresholds), language),
                marker=HIDDEN_MARKER,
            )
        )
        paragraphs.append(message("report.disclosure.secondary", language))
    rules = next((t.rules for t in tables if {"nk_n", "nk_k", "p_ratio"} <= t.rules.keys()), None)
    if rules is None and {"nk_n", "nk_k", "p_ratio"} <= document.rules.keys():
        rules = document.rules
    if rules is not None:
        paragraphs.append(
            message(
                "report.disclosure.dominance",
                language,
                nk_n=_number(rules["nk_n"], language),
                nk_k=_number(rules["nk_k"], language),
                p_ratio=_number(rules["p_ratio"], language),
            )
        )
    return paragraphs


def _covered(document: ReportDocument) -> str | None:
    """The days the data covers, when they are fewer than the period's."""
    if document.covered is None:
        return None
    first, last = document.covered
    try:
        if "_" in document.period:  # a range of days: "2026-10-01_2026-10-15"
            start, end = (dt.date.fromisoformat(d) for d in document.period.split("_", 1))
        else:
            start, end = period_days(document.period)
    except (ValueError, PrivstatsError):
        return None
    if (first, last) == (start, end):
        return None
    language = document.language
    return message(
        "report.covered.days", language,
        first=format_date(first, "d MMMM y", locale=language.value),
        last=format_date(last, "d MMMM y", locale=language.value),
        days=(last - first).days + 1, of=(end - start).days + 1,
    )  # fmt: skip


def _table_block(table: ReportTable, language: Language, chart: Markup | None) -> dict[str, Any]:
    """A table's section: its chart (if any) with the line under it always in sight (hidden
    cells or the margin of error, and the file), and the numbers, folded below a chart."""
    # Escaped by its template.
    fragment = Markup(render_table_fragment(table, language, note=chart is None))
    note = _note_line(table, language)
    return {"kind": "table", "table": table, "html": fragment, "chart": chart, "note": note}


def render_report(document: ReportDocument) -> str:
    """The complete ``report.html``."""
    language = document.language
    tables = {item.name: item for item in document.items if isinstance(item, ReportTable)}
    blocks: list[dict[str, Any]] = []
    headline: list[Any] = []
    for item in document.items:
        if isinstance(item, ReportTable):
            svg = charts.chart_svg(_localise(item, language), language)
            chart = sanitize_svg(svg, f"chart-{item.name}", item.title) if svg else None
            blocks.append(_table_block(item, language, chart))
        elif (
            isinstance(item, FigureItem)
            and blocks
            and blocks[-1]["kind"] == "table"
            and blocks[-1]["chart"] is None
            and item.tables == (blocks[-1]["table"].name,)
        ):
            # A notebook's own chart of the table just above it: shown as that table's chart,
            # the numbers folded below it.
            chart = sanitize_svg(item.svg, f"fig-{item.name}", item.alt or item.title)
            blocks[-1] = _table_block(blocks[-1]["table"], language, chart)
        elif isinstance(item, FigureItem):
            note = (
                message("figure.from_tables", language, tables=", ".join(item.tables))
                if item.tables
                else ""
            )
            blocks.append(
                {
                    "kind": "figure",
                    "figure": item,
                    "svg": sanitize_svg(item.svg, f"fig-{item.name}", item.alt or item.title),
                    "note": note,
                }
            )
        elif isinstance(item, HeadlineItem):
            headline = figures(item.headlines, tables, language)
        else:
            blocks.append({"kind": "text", "text": item})
    partner = document.partner or message("report.partner.all", language)
    covered = _covered(document)
    template = _environment().get_template("report.html.j2")
    return template.render(
        lang=language.value,
        csp=CONTENT_SECURITY_POLICY,
        css=_stylesheet(),
        title=document.title,
        facts=[
            (message("report.partner", language), partner),
            (message("report.period", language), format_period(document.period, language)),
            *([(message("report.covered", language), covered)] if covered else []),
            (
                message("report.generated", language),
                format_timestamp(document.generated_at, language),
            ),
        ],
        headline_title=message("report.headline", language),
        headline=headline,
        contents_title=message("report.contents", language),
        contents=[
            (f"{b['kind']}-{b[b['kind']].name}", b[b["kind"]].title)
            for b in blocks
            if b["kind"] in ("table", "figure")
        ],
        summary=message("report.methodology.short", language),
        summary_link=message("report.methodology.link", language),
        numbers=message("table.numbers", language),
        methodology_title=message("report.methodology.title", language),
        methodology=_methodology(document),
        blocks=blocks,
        footer=[
            message("footer.software", language, version=document.version),
            message("footer.contact", language),
        ],
    )
