"""HTML, SVG and CSS: every text and attribute value, and the self-containment check.

Self-containment (HTML and SVG, standalone or embedded, and CSS): only ``data:`` URIs and
in-page ``#anchors`` may be referenced. Anything else in ``src``, ``href``, ``xlink:href``,
``srcset``, ``poster``, ``action``, ``formaction``, ``<object data>``, ``<meta refresh>``,
``<?xml-stylesheet?>``, CSS ``url(...)``, ``@import`` or ``image-set()`` is reported: as an
*external resource* when a browser would load it on opening the file (it tells a third party the
reader's address), as an *external link* when it would only be followed on a click (``<a>``,
``<area>``, forms). Any ``<script>``, ``on...`` event handler or ``javascript:`` URL is a *script*:
reports are script-free. ``xmlns`` names and ``DOCTYPE`` identifiers are never fetched and are
not reported.

Chart geometry (path data, coordinates, transforms) is not scanned as text: a matplotlib SVG is
mostly numbers, whose runs would look like phone numbers and pseudonyms.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from html.parser import HTMLParser

from privstats.leaks.findings import Kind
from privstats.leaks.pieces import PLAIN_NUMBER, FileType, Fixed, LineCol, Sink, embed

_C0_AND_SPACE = "".join(chr(code) for code in range(0x21))


def check_url(sink: Sink, value: str, where: str, *, resource: bool, what: str) -> str:
    """Report ``value`` if it points outside the file; returns the text to scan for it.

    A ``data:`` URI's content is handed on as a blob and blanked in the returned text, so its
    base64 is not scanned as words.
    """
    # as browsers do (the URL standard): no tabs or line breaks, no spaces or controls around
    url = re.sub(r"[\t\n\r]", "", value).strip(_C0_AND_SPACE)
    lowered = url.lower()
    if not url or url.startswith("#") or lowered == "about:blank":
        return value
    if lowered.startswith("data:"):
        embed(sink, url, where)
        head = url.split(",", 1)[0]
        return head + " " * (len(value) - len(head))
    if lowered.startswith(("javascript:", "vbscript:")):
        sink.issue(Kind.SCRIPT, url, where, f"a script URL in {what}")
        return value
    scheme = re.match(r"([a-z][a-z0-9+.-]*):", lowered)
    how = (
        f"{scheme.group(1)}:"
        if scheme
        else ("network-path" if url.startswith("//") else "relative")
    )
    if resource:
        note = f"{what} loads a {how} reference from outside the file"
        sink.issue(Kind.EXTERNAL_RESOURCE, url, where, note)
    else:
        sink.issue(Kind.EXTERNAL_LINK, url, where, f"{what} links to a {how} reference")
    return value


_CSS_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)
_CSS_URL = re.compile(r"url\(\s*(?:\"([^\"]*)\"|'([^']*)'|([^)\"'\s]*))\s*\)", re.IGNORECASE)
_CSS_IMPORT = re.compile(r"@import\s+(?:\"([^\"]*)\"|'([^']*)')", re.IGNORECASE)
_CSS_IMAGE_SET = re.compile(r"image-set\(([^)]*)\)", re.IGNORECASE)
_CSS_STRING = re.compile(r"\"([^\"]*)\"|'([^']*)'")


def check_css(css: str, locate: Callable[[int], str], sink: Sink) -> str:
    """Report CSS references outside the file; returns the CSS with data: URIs blanked."""
    visible = _CSS_COMMENT.sub(lambda m: " " * len(m.group()), css)
    blanks: list[tuple[int, int, str]] = []
    references = [(m, "CSS url()") for m in _CSS_URL.finditer(visible)]
    references += [(m, "CSS @import") for m in _CSS_IMPORT.finditer(visible)]
    for image_set in _CSS_IMAGE_SET.finditer(visible):
        for string in _CSS_STRING.finditer(visible, image_set.start(1), image_set.end(1)):
            references.append((string, "CSS image-set()"))
    seen: set[tuple[int, int]] = set()
    for match, what in references:
        groups = range(1, match.re.groups + 1)
        group = next((g for g in groups if match.group(g) is not None), 0)
        start, end = match.span(group)
        if (start, end) in seen or _in_namespace_rule(visible, match.start()):
            continue
        seen.add((start, end))
        checked = check_url(sink, css[start:end], locate(start), resource=True, what=what)
        if checked != css[start:end]:
            blanks.append((start, end, checked))
    for start, end, checked in sorted(blanks, reverse=True):
        css = css[:start] + checked + css[end:]
    return css


def _in_namespace_rule(css: str, position: int) -> bool:
    """``@namespace svg url(http://www.w3.org/2000/svg);`` names a namespace, loads nothing."""
    statement = (
        max(css.rfind(";", 0, position), css.rfind("}", 0, position), css.rfind("{", 0, position))
        + 1
    )
    return css[statement:position].lstrip().lower().startswith("@namespace")


# --- HTML and SVG --------------------------------------------------------------------------

_NAME = re.compile(r"[a-z][a-z0-9:_.-]{0,40}")
_RESOURCE_ATTRS = frozenset({
    "src", "poster", "background", "codebase", "archive", "lowsrc", "dynsrc", "manifest",
    "icon", "profile",
})  # fmt: skip
_LINK_ATTRS = frozenset({"action", "formaction", "ping", "longdesc"})
_LINK_TAGS = frozenset({"a", "area"})
# Chart geometry: numbers and drawing commands only (see the module's notes).
_GEOMETRY_ATTRS = frozenset({
    "d", "points", "viewbox", "transform", "x", "y", "x1", "x2", "y1", "y2", "cx", "cy", "r",
    "rx", "ry", "width", "height", "dx", "dy", "offset", "stroke-width", "stroke-dasharray",
    "stroke-dashoffset", "stroke-miterlimit", "font-size", "opacity", "fill-opacity",
    "stroke-opacity", "gradienttransform", "patterntransform", "pathlength",
})  # fmt: skip
_GEOMETRY_CHARS = re.compile(r"[^\s0-9.,eE+\-%MmLlHhVvCcSsQqTtAaZz]")  # one fast pass
_GEOMETRY_VALUE = re.compile(
    r"(?:[\s0-9.,eE+\-%]|[MmLlHhVvCcSsQqTtAaZz](?![A-Za-z])"
    r"|(?:translate|rotate|scale|matrix|skewX|skewY)\(|\)|px|pt|em)*"
)
_SRCSET_ATTRS = frozenset({"srcset", "imagesrcset"})
_REFRESH_URL = re.compile(r"url\s*=\s*['\"]?([^'\"]+)", re.IGNORECASE)
_PI_HREF = re.compile(r"href\s*=\s*(?:\"([^\"]*)\"|'([^']*)')", re.IGNORECASE)
_CELL_END_TAGS = frozenset({"td", "th", "tr", "table", "thead", "tbody", "tfoot"})


def srcset_urls(value: str) -> list[str]:
    """The URLs of a ``srcset`` (a data: URI holds commas, so split as the HTML spec says)."""
    urls: list[str] = []
    position = 0
    while position < len(value):
        while position < len(value) and (value[position].isspace() or value[position] == ","):
            position += 1
        start = position
        while position < len(value) and not value[position].isspace():
            position += 1
        url = value[start:position].rstrip(",")
        if url:
            urls.append(url)
        if value[start:position].endswith(","):
            continue
        depth = 0
        while position < len(value):  # skip the descriptors up to the next comma
            char = value[position]
            depth += char == "("
            depth -= char == ")"
            position += 1
            if char == "," and depth <= 0:
                break
    return urls


class _Cell:
    __slots__ = ("chunks", "header", "index", "table")

    def __init__(self, table: _Table, index: int, header: bool) -> None:
        self.table, self.index, self.header = table, index, header
        self.chunks: list[tuple[str, int, int]] = []


class _Table:
    __slots__ = ("column", "headers", "index", "row")

    def __init__(self, index: int) -> None:
        self.index, self.row, self.column = index, 0, 0
        self.headers: dict[int, str] = {}  # column → the header cell's text, for labels


class _MarkupExtractor(HTMLParser):
    def __init__(self, sink: Sink) -> None:
        super().__init__(convert_charrefs=True)
        self.sink = sink
        self._raw: str | None = None  # 'script' or 'style' while inside one
        self._tables: list[_Table] = []
        self._table_count = 0
        self._cell: _Cell | None = None
        self._names: dict[str, str] = {}

    # names from markup are shown in locations only when they are plain and hold no finding
    def _name(self, name: str) -> str:
        shown = self._names.get(name)
        if shown is None:
            safe = _NAME.fullmatch(name) and self.sink.safe(name)
            shown = self._names[name] = name if safe else "?"
        return shown

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._element(tag, attrs)
        if tag in ("script", "style"):
            self._raw = tag

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._element(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag == self._raw:
            self._raw = None
        if tag in _CELL_END_TAGS:
            self._flush_cell()
        if tag == "table" and self._tables:
            self._tables.pop()

    def _element(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        line, col = self.getpos()
        name = self._name(tag)
        self._track_table(tag)
        if tag == "script":
            self.sink.issue(
                Kind.SCRIPT,
                "",
                f"{line}:{col + 1} <{name}>",
                "a script element: reports hold no script",
            )
        values = {key.lower(): value for key, value in attrs if value is not None}
        if tag == "meta" and values.get("http-equiv", "").lower() == "refresh":
            target = _REFRESH_URL.search(values.get("content", ""))
            if target:
                check_url(
                    self.sink,
                    target.group(1),
                    f"{line}:{col + 1} <meta refresh>",
                    resource=False,
                    what="<meta refresh>",
                )
        for key, value in attrs:
            if value is not None:
                self._attribute(tag, name, key.lower(), value, f"{line}:{col + 1}")

    def _attribute(self, tag: str, name: str, key: str, value: str, place: str) -> None:
        if key in _GEOMETRY_ATTRS and (
            _GEOMETRY_CHARS.search(value) is None
            or (len(value) < 500 and _GEOMETRY_VALUE.fullmatch(value))
        ):
            return
        where = f"{place} <{name} {self._name(key)}>"
        what = f"<{name} {self._name(key)}>"
        scanned = value
        if key.startswith("on"):
            self.sink.issue(Kind.SCRIPT, value, where, "an event handler: reports hold no script")
        elif key in ("href", "xlink:href"):
            scanned = check_url(self.sink, value, where, resource=tag not in _LINK_TAGS, what=what)
        elif key in _RESOURCE_ATTRS or (key == "data" and tag == "object"):
            scanned = check_url(self.sink, value, where, resource=True, what=what)
        elif key in _LINK_ATTRS:
            scanned = check_url(self.sink, value, where, resource=False, what=what)
        elif key in _SRCSET_ATTRS:
            for url in srcset_urls(value):
                if check_url(self.sink, url, where, resource=True, what=what) != url:
                    scanned = scanned.replace(url, url.split(",", 1)[0] + ",")
        elif key == "srcdoc":
            self.sink.blob(value.encode("utf-8"), where, FileType.HTML)
            return
        if key == "style" or "url(" in scanned.lower():
            scanned = check_css(scanned, lambda _offset: where, self.sink)
        self.sink.text(scanned, Fixed(where), label=key)

    def _track_table(self, tag: str) -> None:
        if tag == "table":
            self._flush_cell()
            self._tables.append(_Table(self._table_count))
            self._table_count += 1
        elif tag == "tr" and self._tables:
            self._flush_cell()
            self._tables[-1].row += 1
            self._tables[-1].column = 0
        elif tag in ("td", "th") and self._tables:
            self._flush_cell()
            table = self._tables[-1]
            self._cell = _Cell(table, table.column, header=tag == "th")
            table.column += 1

    def _flush_cell(self) -> None:
        """A ``<td>`` holding a plain number is a table cell (see scan.py); ``<th>`` is a label."""
        cell, self._cell = self._cell, None
        if cell is None or not cell.chunks:
            return
        whole = "".join(chunk for chunk, _, _ in cell.chunks).strip()
        table = cell.table
        if cell.header and cell.index not in table.headers:
            table.headers[cell.index] = whole
        if not cell.header and PLAIN_NUMBER.fullmatch(whole):
            _, line, col = cell.chunks[0]
            column = f"table {table.index + 1}, column {cell.index + 1}"
            label = table.headers.get(cell.index, "")
            self.sink.text(whole, LineCol(line, col), label=label, column=column, numeric=True)
            return
        for chunk, line, col in cell.chunks:
            self.sink.text(chunk, LineCol(line, col))

    def handle_data(self, data: str) -> None:
        if data.isspace():
            return
        line, col = self.getpos()
        if self._raw == "style":
            where = LineCol(line, col + 1)
            self.sink.text(
                check_css(data, lambda offset: where.locate(data, offset), self.sink),
                where,
                label="style",
            )
        elif self._raw == "script":
            self.sink.text(data, LineCol(line, col + 1), label="script")
        elif self._cell is not None:
            self._cell.chunks.append((data, line, col + 1))
        else:
            self.sink.text(data, LineCol(line, col + 1))

    def handle_comment(self, data: str) -> None:
        line, col = self.getpos()
        self.sink.text(data, LineCol(line, col + 5), label="comment")

    def handle_decl(self, decl: str) -> None:
        line, col = self.getpos()
        self.sink.text(decl, LineCol(line, col + 3), label="declaration")

    def unknown_decl(self, data: str) -> None:
        line, col = self.getpos()
        self.sink.text(data, LineCol(line, col + 3), label="declaration")

    def handle_pi(self, data: str) -> None:
        line, col = self.getpos()
        if data.lower().startswith("xml-stylesheet"):
            target = _PI_HREF.search(data)
            if target:
                url = target.group(1) if target.group(1) is not None else target.group(2)
                check_url(
                    self.sink,
                    url,
                    f"{line}:{col + 1} <?xml-stylesheet?>",
                    resource=True,
                    what="<?xml-stylesheet?>",
                )
        self.sink.text(data, LineCol(line, col + 3), label="processing instruction")


def extract_markup(text: str, sink: Sink) -> None:
    """HTML or SVG: text, attribute values, comments, styles and scripts, and references."""
    parser = _MarkupExtractor(sink)
    parser.feed(text)
    parser.close()
    parser._flush_cell()
