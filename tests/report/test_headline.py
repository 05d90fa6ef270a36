"""Headline figures are worked out from published cells only, and say when they cannot be."""

from __future__ import annotations

from privstats.report.headline import Headline, Read, figures, read
from privstats.report.i18n import Language
from privstats.report.table import TOTAL_CODE, Cell, CellState, ReportTable


def published(name: str, cells: dict[str, float | None]) -> ReportTable:
    rows = tuple((code,) for code in cells)
    return ReportTable(
        name=name, title=name, columns=(("requests",),), rows=rows, row_codes=rows,
        cells=tuple((Cell(CellState.VALUE, v) if v is not None else Cell(CellState.HIDDEN),)
                    for v in cells.values()),
        record={}, status="ok",
    )  # fmt: skip


DAYS = published("visitors-by-day", {"2026-10-01": 100.0, "2026-10-02": None,
                                     "2026-10-03": 140.0, TOTAL_CODE: 300.0})  # fmt: skip
STATUS = published("status-classes", {"2xx": 950.0, "4xx": 40.0, "5xx": 10.0, TOTAL_CODE: 1000.0})


def test_a_total_per_day_is_the_average_even_with_a_hidden_day():
    assert (
        read(Headline("avg", "visitors-by-day", Read.PER_ROW), {"visitors-by-day": DAYS}).value
        == 100
    )


def test_the_busiest_day_is_at_least_the_largest_shown_when_a_day_is_hidden():
    reading = read(Headline("peak", "visitors-by-day", Read.LARGEST), {"visitors-by-day": DAYS})
    assert reading.value == 140 and reading.at_least
    [figure] = figures([Headline("peak", "visitors-by-day", Read.LARGEST, previous=False)],
                       {"visitors-by-day": DAYS}, Language.EN)  # fmt: skip
    assert figure.value == "at least 140"


def test_a_share_and_its_change_in_points():
    before = published("previous-status-classes", {"2xx": 980.0, "4xx": 15.0, "5xx": 5.0,
                                                   TOTAL_CODE: 1000.0})  # fmt: skip
    errors = Headline("errors", "status-classes", Read.CELLS, ("4xx", "5xx"),
                      over="status-classes", percent=True)  # fmt: skip
    [figure] = figures([errors], {"status-classes": STATUS,
                                  "previous-status-classes": before}, Language.EN)  # fmt: skip
    assert figure.value == "5.0 %"
    assert figure.change == "+3.0 pp on the previous period"


def test_a_hidden_cell_hides_the_figure_and_a_missing_period_shows_no_change():
    hidden = Headline("day 2", "visitors-by-day", Read.CELLS, ("2026-10-02",))
    [figure] = figures([hidden], {"visitors-by-day": DAYS}, Language.PL)
    assert figure.value == "x"
    assert figure.change == "brak porównania z poprzednim okresem"


def test_a_table_not_published_gives_nothing():
    assert read(Headline("x", "withheld-table"), {}).value is None


def test_a_cell_of_a_column_is_read_by_its_code():
    cohorts = ReportTable(
        name="cohorts", title="c", columns=(("2026-09",), ("2026-10",)),
        column_codes=(("2026-09",), ("2026-10",)), rows=(("2026-09",),),
        row_codes=(("2026-09",),),
        cells=((Cell(CellState.VALUE, 40.0), Cell(CellState.VALUE, 25.0)),),
        record={}, status="ok",
    )  # fmt: skip
    second = Headline("back", "cohorts", Read.CELLS, ("2026-09",), column="2026-10")
    assert read(second, {"cohorts": cohorts}).value == 25
    assert read(Headline("none", "cohorts", column="2027-01"), {"cohorts": cohorts}).value is None
