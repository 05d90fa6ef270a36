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


def _visits(values: list[float], persons: list[float]) -> Table:
    """Visitor-days of a few days: a cell may count more visits than persons."""
    frame = pd.DataFrame(
        {
            "k": ["a", "b", "c", "Total"],
            "value": [*values, sum(values)],
            "persons": [*persons, max(persons)],
        }
    )
    return Table.from_frame(frame, ["k"], kind="count", additivity="subadditive")


def test_less_than_shows_a_small_value_as_less_than_and_hides_many_visits_of_few_persons():
    # a: three persons on twelve days (12 visits); b: 4 visits of 4 persons; c: 60 of 40.
    result = protect(_visits([12, 4, 60], [3, 4, 40]), RuleSet(), method=Method.LESS_THAN)
    shown = dict(zip(result.shown["k"], result.shown["marker"], strict=True))
    assert shown["a"] == "x" and shown["b"] == "<10"
    assert result.status is not Status.FAIL, result.record.message


def test_rounding_hides_a_cell_of_few_persons_whose_value_it_cannot_blur():
    # 95 visits of three persons, rounded to 95, would say "about 95 visits by few people".
    result = protect(_visits([95, 60, 70], [3, 40, 50]), RuleSet(), method=Method.ROUND)
    shown = dict(zip(result.shown["k"], result.shown["marker"], strict=True))
    assert shown["a"] == "x"
    assert 95 not in result.shown["value"].tolist()
