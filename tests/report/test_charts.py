"""Every table's chart is drawn from the protected table: hidden cells marked, never dropped."""

from __future__ import annotations

import datetime as dt

import pytest

from privstats.report import charts
from privstats.report.html import sanitize_svg
from privstats.report.i18n import Language
from privstats.report.table import CHARTS, TOTAL_CODE, Cell, CellState, ReportTable


def table(
    codes: list[str], values: list[float | None], chart: str, dim: str = "day"
) -> ReportTable:
    cells = tuple(
        (Cell(CellState.VALUE, v) if v is not None else Cell(CellState.HIDDEN),) for v in values
    )
    rows = tuple((c,) for c in codes)
    return ReportTable(
        name="t", title="T", columns=(("visitors",),), rows=rows, cells=cells, record={},
        status="ok", row_names=(dim,), row_codes=rows, index_dims=(dim,), chart=chart,
    )  # fmt: skip


def test_the_chart_kinds_are_the_tables():
    assert set(CHARTS) == {"", *charts.ChartKind}


def test_a_hidden_day_is_marked_on_the_line_not_left_out():
    days = ["2026-10-01", "2026-10-02", "2026-10-03", TOTAL_CODE]
    svg = charts.chart_svg(table(days, [120.0, None, 130.0, 400.0], "line"), Language.EN)
    assert svg is not None
    assert "x: cell hidden to protect privacy" in svg
    assert "400" not in svg.split("<text")[-1], "the total is not drawn"
    # The sanitiser of report.html accepts it as it is.
    assert "<svg" in sanitize_svg(svg, "chart-t", "T")


def test_without_hidden_cells_there_is_no_hidden_legend():
    svg = charts.chart_svg(table(["1", "2"], [12.0, 15.0], "bar", "hour"), Language.PL)
    assert svg is not None and "ukryta" not in svg


def test_a_year_of_days_gets_at_most_a_dozen_labels():
    first = dt.date(2026, 1, 1)
    days = [(first + dt.timedelta(days=i)).isoformat() for i in range(365)]
    svg = charts.chart_svg(table(days, [float(i % 50 + 10) for i in range(365)], "line"),
                           Language.PL)  # fmt: skip
    assert svg is not None
    labels = [d for d in ("1.01", "1.02", "1.03") if f">{d}<" in svg]
    assert labels, "days are written short, Polish style"
    ticks = svg.count('id="xtick_')
    assert 0 < ticks <= 12


@pytest.mark.parametrize("kind", ["ranked", "bar"])
def test_categories_keep_their_translated_labels(kind):
    svg = charts.chart_svg(table(["page views", "API calls"], [30.0, None], kind, "resource"),
                           Language.EN)  # fmt: skip
    assert svg is not None and "page views" in svg and "API calls" in svg


def test_a_heatmap_hatches_hidden_cells():
    cells = ((Cell(CellState.VALUE, 20.0), Cell(CellState.HIDDEN)),
             (Cell(CellState.VALUE, 30.0), Cell(CellState.VALUE, 25.0)))  # fmt: skip
    grid = ReportTable(
        name="w", title="W", columns=(("0",), ("1",)), rows=(("1",), ("2",)), cells=cells,
        record={}, status="ok", row_names=("weekday",), column_names=("hour",),
        row_codes=(("1",), ("2",)), column_codes=(("0",), ("1",)), index_dims=("weekday",),
        column_dims=("hour",), chart="heatmap",
    )  # fmt: skip
    svg = charts.chart_svg(grid, Language.EN)
    assert svg is not None and "<pattern" in svg and "cell hidden" in svg


def test_a_table_without_a_chart_draws_none():
    assert charts.chart_svg(table(["1"], [12.0], ""), Language.EN) is None


def test_a_heatmap_is_drawn_in_vectors_without_an_embedded_image():
    cells = tuple(tuple(Cell(CellState.VALUE, float(h + d)) for h in range(24)) for d in range(7))
    grid = ReportTable(
        name="w", title="W", columns=tuple((str(h),) for h in range(24)),
        rows=tuple((str(d),) for d in range(1, 8)), cells=cells, record={}, status="ok",
        row_names=("weekday",), column_names=("hour",), chart="heatmap",
    )  # fmt: skip
    svg = charts.chart_svg(grid, Language.EN)
    assert svg is not None and "<image" not in svg and "data:" not in svg


def test_a_chart_of_hidden_cells_only_draws_no_made_up_scale():
    svg = charts.chart_svg(table(["2026-09", "2026-10"], [None, None], "bar", "month"),
                           Language.EN)  # fmt: skip
    assert svg is not None and "cell hidden" in svg
    assert ">0.0<" not in svg and ">-0.1<" not in svg
