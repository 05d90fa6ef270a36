"""Rounding keeps totals, and ``<N`` still goes through suppression and the audit."""

from __future__ import annotations

import numpy as np
import pandas as pd

from privstats.config import RuleSet
from privstats.protect import Method, Status, Table, protect
from privstats.protect.rounding import controlled_round


def test_controlled_rounding_keeps_every_total_and_moves_no_cell_a_whole_base(count_grid):
    rng = np.random.default_rng(3)
    table = count_grid(rng.poisson(12, (12, 9)))
    rounded = controlled_round(table, 5)

    assert (rounded % 5 == 0).all()
    assert (np.abs(rounded - table.values) < 5).all()
    for total, parts, _ in table.relations:
        assert rounded[total] == rounded[parts].sum()


def test_a_rounded_table_passes_its_audit_and_records_the_flagged_cells(count_grid):
    table = count_grid([[3, 20, 17], [30, 40, 12], [14, 15, 16]])
    result = protect(table, method=Method.ROUND)

    assert result.status is Status.SUPPRESSED
    assert (result.shown["value"] % 5 == 0).all()
    (note,) = result.record.cells
    assert note.reasons == ("threshold",)
    lo, hi = note.interval
    assert hi - lo >= 4


def test_rounding_refuses_magnitudes():
    frame = pd.DataFrame(
        {
            "k": ["a", "b", "Total"],
            "value": [5.5, 10.0, 15.5],
            "persons": [3, 12, 15],
            "top1": [3, 2, 3],
            "top2": [1, 1, 2],
        }
    )
    result = protect(Table.from_frame(frame, ["k"], kind="magnitude"), method="round")
    assert result.status is Status.FAIL
    assert "count tables" in result.record.message
    assert result.shown["value"].isna().all()


def test_small_counts_show_as_less_than_the_threshold_and_their_row_is_protected(count_grid, at):
    table = count_grid([[3, 20, 17], [30, 40, 12], [14, 15, 16]])
    result = protect(table, method=Method.LESS_THAN)

    frame = result.to_frame().set_index(["r", "c"])["value"]
    assert frame[("r0", "c0")] == "<10"
    # Alone, "<10" and the row total would give 3 back; a rectangle of hidden cells stays.
    assert (result.shown["marker"] == "x").sum() == 3
    assert result.audit.passed
    sensitive = at(table, r="r0", c="c0")
    assert result.audit.lo[sensitive] <= 1 and result.audit.hi[sensitive] >= 9


def test_without_margins_a_small_count_needs_no_company():
    frame = pd.DataFrame({"k": ["a", "b"], "value": [4, 30]})
    table = Table.from_frame(frame, ["k"], kind="count", margins=False)
    result = protect(table, RuleSet(), method="less_than")
    assert result.to_frame()["value"].tolist() == ["<10", 30.0]
    assert result.status is Status.SUPPRESSED
