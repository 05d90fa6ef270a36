"""A protected table becomes a plain, JSON-serialisable ReportTable; hidden cells keep no value."""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from privstats.exceptions import DisclosureError, ReportError
from privstats.report.table import Cell, CellState, ReportTable


class Status(enum.Enum):
    SUPPRESSED = "suppressed"


@dataclass(frozen=True)
class Record:
    rules: dict
    when: dt.date

    def to_dict(self) -> dict:
        return {"rules": self.rules, "when": self.when, "status": Status.SUPPRESSED}


@dataclass(frozen=True)
class Protected:
    shown: pd.DataFrame
    record: object
    hidden: pd.DataFrame | None = None


def test_cells_take_their_state_from_the_mask() -> None:
    shown = pd.DataFrame(
        {"persons": [np.int64(12), np.nan, np.nan], "note": ["<10", "x", None]},
        index=pd.Index([dt.date(2026, 10, 1), dt.date(2026, 10, 2), dt.date(2026, 10, 3)]),
    )
    hidden = pd.DataFrame({"persons": [False, True, False], "note": [False, False, False]})
    table = ReportTable.from_protected(
        Protected(shown, Record({"threshold": 10, "nk_n": 2}, dt.date(2026, 11, 1)), hidden),
        name="days",
        title="Days",
    )
    assert table.cells == (
        (Cell(CellState.VALUE, 12), Cell(CellState.TEXT, "<10")),
        (Cell(CellState.HIDDEN), Cell(CellState.TEXT, "x")),
        (Cell(CellState.MISSING), Cell(CellState.MISSING)),
    )
    assert table.rows == (("2026-10-01",), ("2026-10-02",), ("2026-10-03",))
    assert table.status == "suppressed"
    assert table.rules == {"threshold": 10, "nk_n": 2}
    assert table.record["when"] == "2026-11-01"
    assert table.hidden_count == 1


def test_without_a_mask_a_missing_value_counts_as_hidden() -> None:
    table = ReportTable.from_protected(
        Protected(pd.DataFrame({"n": [1.5, np.nan]}), {"status": "suppressed"}),
        name="t",
        title="T",
    )
    assert table.cells[1] == (Cell(CellState.HIDDEN),)


def test_a_round_trip_through_json_keeps_everything() -> None:
    columns = pd.MultiIndex.from_product([["desktop"], ["hits", "visitors"]], names=["d", "m"])
    shown = pd.DataFrame([[1, np.nan]], columns=columns, index=pd.Index([0], name="hour"))
    table = ReportTable.from_protected(
        Protected(shown, {"status": "pass"}), name="t", title="T", unit="persons", decimals=1
    )
    again = ReportTable.from_json(table.to_json())
    assert again == table
    assert again.columns == (("desktop", "hits"), ("desktop", "visitors"))
    assert again.column_names == ("d", "m")
    assert again.row_names == ("hour",)


def test_hidden_cells_carry_no_value() -> None:
    with pytest.raises(ValueError, match="carries no value"):
        Cell(CellState.HIDDEN, 3)


def test_a_record_that_cannot_be_written_is_refused() -> None:
    with pytest.raises(ReportError, match="mapping"):
        ReportTable.from_protected(Protected(pd.DataFrame({"n": [1]}), [1, 2]), name="t", title="T")


def test_a_series_is_refused_like_a_dataframe() -> None:
    with pytest.raises(DisclosureError):
        ReportTable.from_protected(pd.Series([1, 2]), name="t", title="T")


def test_decimals_per_column_show_every_value_exactly() -> None:
    shown = pd.DataFrame({"a": [1.0, 2.0], "b": [0.5, 1234.0], "c": [0.25, 1.125]})
    table = ReportTable.from_protected(Protected(shown, {}), name="t", title="T")
    assert table.column_decimals() == (0, 1, 2)


def _engine_table():
    from privstats.protect import TOTAL, Table, protect

    counts = {("a", "x1"): 120, ("a", "x2"): 3, ("b", "x1"): 200, ("b", "x2"): 150}
    cells = [{"g": g, "h": h, "value": v} for (g, h), v in counts.items()]
    cells += [
        {"g": g, "h": TOTAL, "value": sum(v for k, v in counts.items() if k[0] == g)}
        for g in ("a", "b")
    ]
    cells += [
        {"g": TOTAL, "h": h, "value": sum(v for k, v in counts.items() if k[1] == h)}
        for h in ("x1", "x2")
    ]
    cells.append({"g": TOTAL, "h": TOTAL, "value": sum(counts.values())})
    frame = pd.DataFrame(cells)
    return protect(Table.from_frame(frame, ["g", "h"], kind="count"), query={"measure": "people"})


def test_the_engines_markers_and_total_code_are_the_reports() -> None:
    import privstats.protect as protect
    from privstats.report.table import HIDDEN_MARKER, TOTAL_CODE

    assert HIDDEN_MARKER == protect.HIDDEN_MARKER
    assert TOTAL_CODE == protect.TOTAL


def test_an_engine_table_is_pivoted_last_dimension_across() -> None:
    table = ReportTable.from_protected(_engine_table(), name="t", title="T")
    assert table.row_names == ("g",) and table.column_names == ("h",)
    assert table.rows == (("a",), ("b",), ("Total",))
    assert table.columns == (("x1",), ("x2",), ("Total",))
    hidden = [[c.state is CellState.HIDDEN for c in row] for row in table.cells]
    assert sum(map(sum, hidden)) == table.hidden_count >= 2  # the small cell and its partner
    assert hidden[0][1]  # a / x2 counts 3 persons
    assert table.cells[2][2] == Cell(CellState.VALUE, 473.0)
    assert table.status == "suppressed"
    assert table.rules["threshold"] == 10
    assert "cells" not in table.record and table.record["cells_protected"] == table.hidden_count
    assert {tuple(c["reasons"]) for c in table.review_record["cells"]} >= {("threshold",)}


def test_an_engine_table_can_be_laid_out_the_other_way() -> None:
    table = ReportTable.from_protected(
        _engine_table(), name="t", title="T", index=["h"], columns=["g"]
    )
    assert table.rows == (("x1",), ("x2",), ("Total",))
    renamed = ReportTable.from_protected(
        _engine_table(), name="t", title="T", labels={"g": "grupa", "h": "godzina"}
    )
    assert (renamed.row_names, renamed.column_names) == (("grupa",), ("godzina",))
    one = ReportTable.from_protected(_engine_table(), name="t", title="T", index=["g", "h"])
    assert one.columns == (("people",),)  # the query's measure heads the single column
    assert len(one.rows) == 9
    with pytest.raises(ReportError, match="each of the table's dimensions once"):
        ReportTable.from_protected(_engine_table(), name="t", title="T", index=["g"], columns=[])


def test_categories_relabel_values_and_top_keeps_the_largest_rows() -> None:
    from privstats.protect import Table, protect

    counts = {"a": 40, "b": 300, "c": 3, "d": 120}
    frame = pd.DataFrame([{"k": k, "value": v} for k, v in counts.items()])
    engine = protect(Table.from_frame(frame, ["k"], kind="count", margins=False), query={})
    table = ReportTable.from_protected(
        engine, name="t", title="T", categories={"k": {"b": "bee"}}, top=3
    )
    assert table.rows == (("bee",), ("d",), ("a",))  # c counts 3 persons: hidden, ranked last
    with pytest.raises(ReportError, match="totals"):
        ReportTable.from_protected(_engine_table(), name="t", title="T", top=2)


def test_the_csv_names_rows_and_columns_by_codes_and_the_page_by_words() -> None:
    from privstats.report.csvout import csv_text

    table = ReportTable.from_protected(
        _engine_table(),
        name="t",
        title="T",
        labels={"g": "grupa"},
        categories={"g": {"a": "ala", "b": "bela"}, "h": {"x2": "drugi"}},
        order={"g": ["b", "a"], "h": ["x2"]},
    )
    assert table.rows == (("bela",), ("ala",), ("Total",))  # listed order first, totals last
    assert table.columns == (("drugi",), ("x1",), ("Total",))
    assert table.row_codes == (("b",), ("a",), ("Total",))
    assert table.column_codes == (("x2",), ("x1",), ("Total",))
    assert (table.index_dims, table.column_dims) == (("g",), ("h",))
    lines = csv_text(table).splitlines()
    assert lines[0] == "g,x2,x1,Total"
    assert [line.split(",")[0] for line in lines[1:]] == ["b", "a", "Total"]
    assert ReportTable.from_json(table.to_json()) == table
    with pytest.raises(ReportError, match="order names a dimension"):
        ReportTable.from_protected(_engine_table(), name="t", title="T", order={"k": ["a"]})


def test_a_one_dimensional_csv_is_headed_by_the_measure() -> None:
    from privstats.report.csvout import csv_text

    table = ReportTable.from_protected(
        _engine_table(), name="t", title="T", index=["g", "h"], value_label="osoby"
    )
    assert table.columns == (("osoby",),)
    assert csv_text(table).splitlines()[0] == "g,h,people"
