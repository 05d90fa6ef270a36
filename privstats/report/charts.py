"""A chart for every published table, drawn from the protected table itself at render time.

Drawn from the same ``ReportTable`` the page shows (labels translated, totals left out), so a
chart can never show a number the table does not. A hidden cell is never left out silently: a
line breaks there and a grey ``x`` on the axis marks it; a bar is replaced by the ``x``; a heat
map's cell is hatched. Labels stay readable from a few days to a year: at most a dozen ticks,
days written short.
"""

from __future__ import annotations

import datetime as dt
import enum
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from babel.dates import format_date

from privstats.report.i18n import Language, format_number, message
from privstats.report.table import HIDDEN_MARKER, TOTAL_CODE, CellState, ReportTable

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle
    from matplotlib.ticker import FuncFormatter


class ChartKind(enum.StrEnum):
    LINE = "line"  # values over time: days, weeks, months
    BAR = "bar"  # a short ordered category: hours, weekdays, status classes
    RANKED = "ranked"  # a ranked list read by name: paths, browsers, domains (horizontal bars)
    HEATMAP = "heatmap"  # two dimensions: weekday by hour


_INK, _MUTED, _MARK = "#1d5b8f", "#5a6570", "#9aa3ab"
_PALETTE = ("#1d5b8f", "#d1782c", "#3f8f4f", "#8f3f7a", "#6b6b6b")
_MAX_TICKS = 12
_WIDTH = 7.5  # inches: the page's text width at 96 dpi, and A4's printable width


@dataclass(frozen=True)
class _Series:
    label: str
    values: tuple[float | None, ...]  # None: hidden or not shown exactly (marked)
    missing: tuple[bool, ...]  # nothing to count: neither drawn nor marked


@dataclass(frozen=True)
class _Data:
    categories: tuple[str, ...]
    codes: tuple[str, ...]
    series: tuple[_Series, ...]

    @property
    def marked(self) -> bool:
        return any(
            v is None and not m
            for s in self.series
            for v, m in zip(s.values, s.missing, strict=True)
        )


def _data(table: ReportTable) -> _Data:
    """The table's leaf cells: rows and columns with a total left out."""

    # A table laid out already has no codes: its labels are its codes.
    row_codes = table.row_codes or table.rows
    column_codes = table.column_codes or table.columns
    rows = [i for i, codes in enumerate(row_codes) if TOTAL_CODE not in codes]
    columns = [j for j, codes in enumerate(column_codes) if TOTAL_CODE not in codes]
    series = []
    for j in columns:
        values: list[float | None] = []
        missing = []
        for i in rows:
            cell = table.cells[i][j]
            values.append(float(cell.value) if cell.state is CellState.VALUE else None)  # type: ignore[arg-type]
            missing.append(cell.state is CellState.MISSING)
        series.append(_Series(" · ".join(table.columns[j]), tuple(values), tuple(missing)))
    return _Data(
        tuple(" · ".join(table.rows[i]) for i in rows),
        tuple(" · ".join(row_codes[i]) for i in rows),
        tuple(series),
    )


def _short_day(code: str, language: Language) -> str | None:
    try:
        day = dt.date.fromisoformat(code)
    except ValueError:
        return None
    return format_date(day, "d.MM" if language is Language.PL else "d MMM", locale=language.value)


def _ticks(axes: Axes, data: _Data, language: Language) -> None:
    """At most ``_MAX_TICKS`` labels along x, evenly spaced; days written short."""
    n = len(data.categories)
    step = max(1, math.ceil(n / _MAX_TICKS))
    positions = list(range(0, n, step))
    labels = []
    for p in positions:
        short = _short_day(data.codes[p], language)
        labels.append(short if short is not None else data.categories[p])
    axes.set_xticks(positions, labels)
    longest = max((len(label) for label in labels), default=0)
    if longest * len(positions) > 90:  # about the characters a 7.5-inch axis holds at 9 pt
        axes.tick_params(axis="x", labelrotation=30)
        for label in axes.get_xticklabels():
            label.set_horizontalalignment("right")


def _number_axis(axes: Axes, data: _Data, language: Language, axis: str = "y") -> None:
    from matplotlib.ticker import MaxNLocator, NullFormatter

    target = axes.yaxis if axis == "y" else axes.xaxis
    if not any(v is not None for s in data.series for v in s.values):
        # Every cell hidden: an axis of numbers would be made up; only the marks are drawn.
        (axes.set_ylim if axis == "y" else axes.set_xlim)(0, 1)
        target.set_major_formatter(NullFormatter())
        return
    target.set_major_locator(MaxNLocator(nbins=5))
    target.set_major_formatter(_formatter(language))


def _mark(axes: Axes, positions: Sequence[float], horizontal: bool = False) -> None:
    """Grey ``x`` on the value axis where a cell is hidden."""
    if not positions:
        return
    zeros = [0.0] * len(positions)
    xs, ys = (zeros, positions) if horizontal else (positions, zeros)
    axes.plot(xs, ys, linestyle="none", marker="x", markersize=7, markeredgewidth=1.8,
              color=_MARK, clip_on=False, zorder=5)  # fmt: skip


def _style(axes: Axes) -> None:
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    axes.grid(axis="y", color="#e3e7ea", linewidth=0.8)
    axes.set_axisbelow(True)


def _hidden_positions(series: _Series) -> list[float]:
    return [
        float(i) for i, (v, m) in enumerate(zip(series.values, series.missing, strict=True))
        if v is None and not m
    ]  # fmt: skip


def _line(figure: Figure, data: _Data, language: Language) -> Axes:
    axes = figure.add_subplot()
    n = len(data.categories)
    for k, series in enumerate(data.series):
        ys = [math.nan if v is None else v for v in series.values]
        axes.plot(range(n), ys, color=_PALETTE[k % len(_PALETTE)], linewidth=1.8,
                  marker="o" if n <= 40 else None, markersize=3.5,
                  label=series.label if len(data.series) > 1 else None)  # fmt: skip
        _mark(axes, _hidden_positions(series))
    _ticks(axes, data, language)
    axes.set_xlim(-0.5, n - 0.5)
    axes.set_ylim(bottom=0)
    return axes


def _bar(figure: Figure, data: _Data, language: Language) -> Axes:
    axes = figure.add_subplot()
    k = len(data.series)
    width = 0.8 / k
    for s, series in enumerate(data.series):
        offset = (s - (k - 1) / 2) * width
        xs = [i + offset for i in range(len(data.categories))]
        heights = [0.0 if v is None else v for v in series.values]
        axes.bar(xs, heights, width=width * 0.92, color=_PALETTE[s % len(_PALETTE)],
                 label=series.label if k > 1 else None)  # fmt: skip
        _mark(axes, [xs[int(p)] for p in _hidden_positions(series)])
    _ticks(axes, data, language)
    return axes


def _ranked(figure: Figure, data: _Data, language: Language) -> Axes:
    axes = figure.add_subplot()
    series = data.series[0]
    n = len(data.categories)
    heights = [0.0 if v is None else v for v in series.values]
    axes.barh(range(n), heights, height=0.7, color=_INK)
    top = max(heights, default=0.0) or 1.0
    for i, value in enumerate(series.values):
        if value is not None:
            axes.text(value + top * 0.01, i, format_number(value, language, 0), va="center",
                      fontsize=8, color=_MUTED)  # fmt: skip
    _mark(axes, _hidden_positions(series), horizontal=True)
    axes.set_yticks(range(n), [_clip(label) for label in data.categories])
    axes.invert_yaxis()
    axes.set_xlim(0, top * 1.12)
    axes.grid(axis="x", color="#e3e7ea", linewidth=0.8)
    axes.grid(axis="y", visible=False)
    return axes


def _clip(label: str, width: int = 48) -> str:
    return label if len(label) <= width else label[: width - 1] + "…"


def _heatmap(figure: Figure, data: _Data, language: Language) -> Axes:
    import numpy as np

    axes = figure.add_subplot()
    grid = np.array(
        [[math.nan if v is None else v for v in s.values] for s in data.series], dtype=float
    ).T
    hidden = np.array([[v is None and not m for v, m in zip(s.values, s.missing, strict=True)]
                       for s in data.series]).T  # fmt: skip
    masked = np.ma.masked_invalid(grid)
    # Vector cells (a mesh of paths), not imshow's embedded bitmap: nothing for a reader's
    # browser to decode, and sharp in print.
    rows, columns = grid.shape
    image = axes.pcolormesh(np.arange(columns + 1) - 0.5, np.arange(rows + 1) - 0.5, masked,
                            cmap="Blues", edgecolors="white", linewidth=0.5)  # fmt: skip
    axes.invert_yaxis()
    for i, j in zip(*np.nonzero(hidden), strict=True):
        axes.add_patch(_hatch(j, i))
    axes.set_yticks(range(len(data.categories)), data.categories)
    axes.set_xticks(range(len(data.series)), [s.label for s in data.series])
    axes.tick_params(axis="x", labelsize=8)
    if masked.count():  # a scale for the shown cells; none when every cell is hidden
        colorbar = figure.colorbar(image, ax=axes, fraction=0.04, pad=0.02)
        if colorbar.solids is not None:
            colorbar.solids.set_rasterized(False)  # matplotlib embeds a bitmap for many colours
        colorbar.ax.yaxis.set_major_formatter(_formatter(language))
    return axes


def _formatter(language: Language) -> FuncFormatter:
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda v, _: format_number(v, language, 0 if float(v).is_integer() else 1))


def _hatch(x: float, y: float) -> Rectangle:
    from matplotlib.patches import Rectangle

    return Rectangle((x - 0.5, y - 0.5), 1, 1, facecolor="white", edgecolor=_MARK,
                     hatch="xx", linewidth=0)  # fmt: skip


_DRAW = {ChartKind.LINE: _line, ChartKind.BAR: _bar, ChartKind.RANKED: _ranked,
         ChartKind.HEATMAP: _heatmap}  # fmt: skip


def chart_svg(table: ReportTable, language: Language) -> str | None:
    """The table's chart (``table.chart``) as SVG text, or None when it has none or nothing
    to draw. ``table`` is expected with its labels already in ``language``."""
    if not table.chart:
        return None
    kind = ChartKind(table.chart)
    data = _data(table)
    if not data.categories or not data.series:
        return None
    from matplotlib import rc_context
    from matplotlib.figure import Figure

    rows = len(data.categories)
    height = {
        ChartKind.RANKED: 0.6 + 0.28 * rows,
        ChartKind.HEATMAP: 0.9 + 0.3 * rows,
    }.get(kind, 2.8)
    settings: dict[str, Any] = {
        "svg.fonttype": "none", "svg.hashsalt": table.name, "font.size": 9,
        "font.family": "DejaVu Sans", "axes.edgecolor": _MUTED, "axes.labelcolor": "#1d2327",
        "xtick.color": _MUTED, "ytick.color": _MUTED,
    }  # fmt: skip
    with rc_context(settings):  # type: ignore[arg-type]  # typed as the literal rc names
        figure = Figure(figsize=(_WIDTH, height))
        axes = _DRAW[kind](figure, data, language)
        if kind in (ChartKind.LINE, ChartKind.BAR):
            _style(axes)
        if kind is not ChartKind.HEATMAP:
            _number_axis(axes, data, language, "x" if kind is ChartKind.RANKED else "y")
        _labels(axes, table, kind)
        _legend(axes, data, language, kind)
        buffer = io.BytesIO()
        undated = {"Date": None, "Creator": None, "Format": None, "Type": None}
        figure.savefig(buffer, format="svg", bbox_inches="tight", metadata=undated)
    return buffer.getvalue().decode("utf-8")


def _labels(axes: Axes, table: ReportTable, kind: ChartKind) -> None:
    category = " · ".join(n for n in table.row_names if n)
    # The value column's own short label; the table's unit, often a sentence, stays below it.
    value = " · ".join(table.columns[0]) if len(table.columns) == 1 else table.unit
    if kind is ChartKind.RANKED:
        axes.set_xlabel(value)
    elif kind is ChartKind.HEATMAP:
        axes.set_ylabel(category)
        axes.set_xlabel(" · ".join(n for n in table.column_names if n))
    else:
        axes.set_xlabel(category)
        axes.set_ylabel(value)


def _legend(axes: Axes, data: _Data, language: Language, kind: ChartKind) -> None:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles, labels = axes.get_legend_handles_labels()
    if data.marked:
        hidden = message("legend.hidden", language)
        if kind is ChartKind.HEATMAP:
            handles.append(Patch(facecolor="white", edgecolor=_MARK, hatch="xx"))
        else:
            handles.append(Line2D([], [], linestyle="none", marker="x", color=_MARK,
                                  markersize=7, markeredgewidth=1.8))  # fmt: skip
        labels.append(f"{HIDDEN_MARKER}: {hidden}")
    if handles:
        # Above the plot, where no tick label can run into it.
        axes.legend(handles, labels, loc="lower left", bbox_to_anchor=(0, 1.01), frameon=False,
                    ncols=min(4, len(handles)), fontsize=8)  # fmt: skip
