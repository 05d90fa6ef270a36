"""The cell model derives a table's relations from its dimensions and refuses inconsistent ones."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from privstats.exceptions import DisclosureError
from privstats.protect import TOTAL, Additivity, Hierarchy, Table


def _holds(table: Table) -> None:
    values = table.values
    for total, parts, exact in table.relations:
        if exact:
            assert values[total] == pytest.approx(values[parts].sum())
        else:
            assert values[total] <= values[parts].sum() + 1e-9
            assert (values[parts] <= values[total] + 1e-9).all()


def test_a_two_way_table_with_margins_has_one_relation_per_row_and_column(grid):
    frame = grid(np.arange(1, 13).reshape(3, 4))
    table = Table.from_frame(frame, ["r", "c"], kind="count")

    assert table.n == 4 * 5
    # 4 column relations (+ the total column), 3 row relations (+ the total row).
    assert len(table.relations) == 5 + 4
    _holds(table)
    assert table.codes["c"] == ("c0", "c1", "c2", "c3", TOTAL)
    assert table.is_margin.sum() == 4 + 3 + 1


def test_margins_that_do_not_add_up_are_refused(grid):
    frame = grid(np.array([[1, 2], [3, 4]]))
    frame.loc[(frame.r == "r0") & (frame.c == TOTAL), "value"] += 1

    with pytest.raises(DisclosureError, match="do not equal the sum"):
        Table.from_frame(frame, ["r", "c"], kind="count")


def test_absent_cells_are_empty_and_input_order_does_not_matter(grid):
    frame = grid(np.array([[0, 5], [7, 11]]))
    table = Table.from_frame(frame, ["r", "c"], kind="count")
    sparse = Table.from_frame(
        frame[frame.value > 0].sample(frac=1, random_state=3), ["r", "c"], kind="count"
    )

    pd.testing.assert_frame_equal(table.cells, sparse.cells)
    assert sparse.empty.sum() == 1


def test_duplicate_cells_and_unknown_columns_are_refused(grid):
    frame = grid(np.array([[1, 2], [3, 4]]))
    with pytest.raises(DisclosureError, match="more than one row"):
        Table.from_frame(pd.concat([frame, frame.iloc[:1]]), ["r", "c"], kind="count")
    with pytest.raises(DisclosureError, match="lacks the columns"):
        Table.from_frame(frame, ["r", "nope"], kind="count")
    with pytest.raises(DisclosureError, match="top1 and top2"):
        Table.from_frame(frame.assign(persons=frame.value), ["r", "c"], kind="magnitude")


def _calendar_frame(
    days: list[dt.date], hierarchy: Hierarchy, rng: np.random.Generator
) -> pd.DataFrame:
    leaves = {d.isoformat(): int(rng.integers(0, 40)) for d in days}
    rows = dict(leaves)
    for agg, parts in hierarchy.relations:
        rows[agg] = sum(leaves[p] for p in parts)
    rows[TOTAL] = sum(leaves.values())
    return pd.DataFrame({"day": list(rows), "value": list(rows.values())})


def test_days_add_up_to_iso_weeks_and_to_months_although_weeks_straddle_months():
    days = [dt.date(2026, 9, 25) + dt.timedelta(days=i) for i in range(14)]
    hierarchy = Hierarchy.calendar(days)
    frame = _calendar_frame(days, hierarchy, np.random.default_rng(0))
    table = Table.from_frame(frame, ["day"], kind="count", hierarchies={"day": hierarchy})

    codes = table.codes["day"]
    assert codes[:14] == tuple(d.isoformat() for d in days)
    assert {"2026-09", "2026-10", "2026-W39", "2026-W40", "2026-W41"} <= set(codes)
    # 3 weeks and 2 months, each the sum of its days; the total from weeks and from months.
    assert len(table.relations) == 3 + 2 + 2
    _holds(table)
    week_40 = table.relations.parts_of(list(table.relations.total).index(codes.index("2026-W40")))
    assert sorted(codes[i] for i in week_40)[0] == "2026-09-28"
    assert sorted(codes[i] for i in week_40)[-1] == "2026-10-04"


def test_a_tree_hierarchy_nests_subtotals():
    hierarchy = Hierarchy.tree({"a1": "A", "a2": "A", "b1": "B", "A": "AB", "B": "AB", "c": "C"})
    values = {"a1": 1, "a2": 2, "b1": 3, "c": 4, "A": 3, "B": 3, "AB": 6, "C": 4, TOTAL: 10}
    frame = pd.DataFrame({"g": list(values), "value": list(values.values())})
    table = Table.from_frame(frame, ["g"], kind="count", hierarchies={"g": hierarchy})

    assert len(table.relations) == 4 + 1
    _holds(table)
    with pytest.raises(DisclosureError, match="cycle"):
        Hierarchy.tree({"a": "b", "b": "a", "c": "d"})


def test_distinct_person_counts_are_sub_additive_and_exact_where_they_add_up(grid):
    frame = grid(np.array([[3, 4], [5, 6]]))
    # One person visited in both columns of row r0: the row counts 6 persons, not 7.
    frame.loc[(frame.r == "r0") & (frame.c == TOTAL), "value"] = 6
    frame.loc[(frame.r == TOTAL) & (frame.c == TOTAL), "value"] = 17
    with pytest.raises(DisclosureError):
        Table.from_frame(frame, ["r", "c"], kind="count")

    table = Table.from_frame(frame, ["r", "c"], kind="count", additivity=Additivity.SUBADDITIVE)
    assert (~table.relations.exact).sum() == 2  # row r0, and the grand total over the column totals
    _holds(table)

    frame.loc[(frame.r == "r0") & (frame.c == TOTAL), "value"] = 2  # fewer than a part
    with pytest.raises(DisclosureError, match="not sub-additive"):
        Table.from_frame(frame, ["r", "c"], kind="count", additivity="subadditive")
