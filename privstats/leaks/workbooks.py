"""XLSX workbooks: every cell of every sheet, the document properties, and every other part.

openpyxl reads the cells (``Sheet!B3``) and properties; everything else is read from the archive
directly: worksheets' headers, footers and validations, comments, custom properties, drawings,
shared strings no cell uses, relationships to outside the file, embedded media (scanned as
blobs), and macro projects (a script: reports hold none).
"""

from __future__ import annotations

import io
import re
import zipfile
from xml.etree import ElementTree

from privstats.leaks.findings import Kind
from privstats.leaks.markup import check_url
from privstats.leaks.pieces import MAX_INFLATED, Fixed, Sink

_SHEET_PART = re.compile(r"xl/worksheets/sheet[0-9]+\.xml")
_COVERED_PARTS = frozenset({"xl/sharedStrings.xml", "docProps/core.xml"})
_PROPERTIES = (
    "title", "subject", "creator", "keywords", "description", "lastModifiedBy", "category",
    "contentStatus", "identifier", "language", "version", "revision",
)  # fmt: skip


def extract_xlsx(data: bytes, sink: Sink) -> None:
    """Every cell of every sheet, the document properties, and every other part of the file."""
    import openpyxl  # here, not at the top: it costs a fifth of a second to import
    from openpyxl.utils import get_column_letter

    workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    strings: set[str] = set()
    try:
        for number, sheet in enumerate(workbook.worksheets, 1):
            sink.text(sheet.title, Fixed(f"sheet {number} (name)"), label="sheet")
            name = (
                sheet.title
                if sink.safe(sheet.title) and "!" not in sheet.title
                else (f"sheet {number}")
            )
            header: dict[int, str] = {}
            for r, row in enumerate(sheet.iter_rows(values_only=True), 1):
                for c, value in enumerate(row, 1):
                    if value is None or isinstance(value, bool):
                        continue
                    letter = get_column_letter(c)
                    where = Fixed(f"{name}!{letter}{r}")
                    if isinstance(value, (int, float)):
                        sink.text(
                            repr(value),
                            where,
                            label=header.get(c, ""),
                            column=f"{name}!{letter}",
                            numeric=True,
                        )
                    elif isinstance(value, str):
                        strings.add(value)
                        if r == 1:
                            header[c] = value.lower()
                        sink.text(value, where, label=header.get(c, "") if r > 1 else "")
        properties = workbook.properties
        for field in _PROPERTIES:
            value = getattr(properties, field, None)
            if isinstance(value, str) and value:
                strings.add(value)
                sink.text(value, Fixed(f"document property {field}"), label=field)
    finally:
        workbook.close()
    _xlsx_parts(data, strings, sink)


def _xlsx_parts(data: bytes, seen: set[str], sink: Sink) -> None:
    """The parts openpyxl does not show: comments, custom properties, links, media, macros."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for number, info in enumerate(archive.infolist(), 1):
            name = info.filename
            if info.is_dir():
                continue
            label = f"part {name}" if sink.safe(name) and len(name) < 120 else f"part {number}"
            if info.file_size > MAX_INFLATED:
                sink.issue(Kind.UNSCANNABLE, "", label, "a workbook part too large to check")
                continue
            content = archive.read(info)
            lowered = name.lower()
            if lowered.endswith("vbaproject.bin"):
                sink.issue(Kind.SCRIPT, "", label, "a macro project: reports hold no script")
            elif lowered.endswith(".rels"):
                _relationships(content, label, sink)
            elif _SHEET_PART.fullmatch(name):  # headers, footers, validations: not the cells
                _xml_text(content, label, sink, skip=seen, cells=False)
            elif lowered.endswith((".xml", ".vml")):
                _xml_text(content, label, sink, skip=seen if name in _COVERED_PARTS else None)
            else:
                sink.blob(content, label)


def _relationships(content: bytes, label: str, sink: Sink) -> None:
    root = ElementTree.fromstring(content)
    for element in root.iter():
        if element.get("TargetMode") == "External":
            target = element.get("Target", "")
            link = element.get("Type", "").endswith("/hyperlink")
            check_url(sink, target, label, resource=not link, what="a workbook relationship")


def _xml_text(
    content: bytes, label: str, sink: Sink, skip: set[str] | None = None, cells: bool = True
) -> None:
    """Every text and attribute value of an XML part; ``skip``: values already scanned;
    ``cells=False``: not inside ``<c>`` (a worksheet's cells, which openpyxl has read)."""
    stack = [ElementTree.fromstring(content)]
    while stack:
        element = stack.pop()
        if not cells and element.tag.rsplit("}", 1)[-1] == "c":
            continue
        for text in (element.text, element.tail, *element.attrib.values()):
            if text and text.strip() and (skip is None or text not in skip):
                sink.text(text, Fixed(label))
        stack.extend(reversed(element))
