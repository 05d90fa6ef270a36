"""The headline strip: a few figures on top of a report, each worked out from published cells.

A headline figure names the published table it comes from and how it is read there (its
total, a sum of some of its cells, its total per row, its largest cell, one table over
another); the renderer works it out from the tables the report shows. It therefore can never
show a number the tables do not give away already, and a reviewer checks it against their
CSV files. Its change is read the same way from the table of the previous period.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from privstats.exceptions import ReportError
from privstats.report.i18n import Language, format_number, message
from privstats.report.table import TOTAL_CODE, CellState, ReportTable, check_name


class Read(enum.StrEnum):
    TOTAL = "total"  # the table's total (its margin)
    CELLS = "cells"  # the sum of the cells of ``rows``
    PER_ROW = "per_row"  # the total over the number of rows (visitor-days per day)
    # The mean of the cells, where the total is no sum of them (CRM persons per day: a person
    # is one in the period's total however many days they came); "at least" when one is hidden.
    MEAN = "mean"
    LARGEST = "largest"  # the largest cell (shown as "at least" when a cell is hidden)


@dataclass(frozen=True)
class Headline:
    """One figure: ``read`` of ``table`` (``rows``: codes of the first dimension), divided by
    the total of ``over`` when given (a share), compared with the same of ``previous`` (the
    previous period's tables, named ``previous-<table>``)."""

    label: str
    table: str
    read: Read = Read.TOTAL
    rows: tuple[str, ...] = ()
    over: str | None = None
    unit: str = ""
    percent: bool = False
    decimals: int = 0
    previous: bool = True
    # The code of the column to read (default: the total across, if any, else the first).
    column: str | None = None

    def __post_init__(self) -> None:
        check_name(self.table, "a table")
        if self.read is Read.CELLS and not self.rows:
            raise ReportError(f"headline '{self.label}' reads cells but names none")


@dataclass(frozen=True)
class Reading:
    value: float | None
    at_least: bool = False


def _column(table: ReportTable, code: str | None = None) -> int | None:
    """The column a figure reads: the one of ``code``, else the total across if the table has
    one, else the first; None when ``code`` is not a column."""
    codes = table.column_codes or table.columns
    if code is not None:
        return next((j for j, c in enumerate(codes) if c[0] == code), None)
    return next((j for j, c in enumerate(codes) if all(p == TOTAL_CODE for p in c)), 0)


def _total(table: ReportTable, column: int) -> float | None:
    for i, codes in enumerate(table.row_codes or table.rows):
        if all(code == TOTAL_CODE for code in codes):
            cell = table.cells[i][column]
            return float(cell.value) if cell.state is CellState.VALUE else None  # type: ignore[arg-type]
    return None


def _leaves(table: ReportTable, column: int) -> list[tuple[str, float | None]]:
    out = []
    for i, codes in enumerate(table.row_codes or table.rows):
        if TOTAL_CODE not in codes:
            cell = table.cells[i][column]
            value = float(cell.value) if cell.state is CellState.VALUE else None  # type: ignore[arg-type]
            out.append((codes[0], value))
    return out


def read(headline: Headline, tables: Mapping[str, ReportTable], prefix: str = "") -> Reading:
    """The figure from ``tables`` (those named ``prefix + name``); None where a cell it
    needs is hidden or the table is not published."""
    table = tables.get(prefix + headline.table)
    column = _column(table, headline.column) if table is not None else None
    if table is None or column is None:
        return Reading(None)
    leaves = _leaves(table, column)
    value: float | None
    at_least = False
    if headline.read is Read.TOTAL:
        value = _total(table, column)
    elif headline.read is Read.CELLS:
        picked = [v for code, v in leaves if code in headline.rows]
        value = None if not picked or None in picked else sum(picked)  # type: ignore[arg-type]
    elif headline.read is Read.PER_ROW:
        total = _total(table, column)
        value = None if total is None or not leaves else total / len(leaves)
    elif headline.read is Read.MEAN:
        shown = [v for _, v in leaves if v is not None]
        value = sum(shown) / len(leaves) if shown else None
        at_least = len(shown) < len(leaves)
    else:
        shown = [v for _, v in leaves if v is not None]
        value = max(shown) if shown else None
        at_least = len(shown) < len(leaves)
    if value is not None and headline.over is not None:
        over = tables.get(prefix + headline.over)
        place = _column(over) if over is not None else None
        denominator = _total(over, place) if over is not None and place is not None else None
        value = value / denominator if denominator else None
    return Reading(value, at_least)


@dataclass(frozen=True)
class Figure:
    label: str
    value: str
    change: str


def figures(
    headlines: Sequence[Headline], tables: Mapping[str, ReportTable], language: Language
) -> list[Figure]:
    """Each headline as the strip shows it, in ``language``."""
    out = []
    for headline in headlines:
        now = read(headline, tables)
        value = _format(headline, now.value, language)
        if now.at_least and now.value is not None:
            value = message("report.headline.at_least", language, value=value)
        before = read(headline, tables, "previous-") if headline.previous else Reading(None)
        change = message("report.headline.no_change", language) if headline.previous else ""
        if now.value is not None and before.value and not now.at_least and not before.at_least:
            if headline.percent:
                points = (now.value - before.value) * 100
                text = f"{'+' if points >= 0 else '−'}{format_number(abs(points), language, 1)} pp"
            else:
                ratio = (now.value - before.value) / before.value * 100
                text = f"{'+' if ratio >= 0 else '−'}{format_number(abs(ratio), language, 1)} %"
            change = message("report.headline.change", language, change=text)
        out.append(Figure(headline.label, value, change))
    return out


def _format(headline: Headline, value: float | None, language: Language) -> str:
    if value is None:
        return "x"
    if headline.percent:
        return f"{format_number(value * 100, language, max(headline.decimals, 1))} %"
    text = format_number(value, language, headline.decimals)
    return f"{text} {headline.unit}".strip()
