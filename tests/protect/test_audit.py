"""The audit bounds hidden cells by the attacker's own linear programs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from privstats.exceptions import DisclosureError
from privstats.protect import Knowledge, Requirement, Table, audit


def _none(table: Table) -> Requirement:
    return Requirement(lower=np.zeros(table.n), upper=np.zeros(table.n))


def test_intervals_of_a_two_by_two_rectangle_are_the_exact_attacker_bounds(count_grid, at):
    table = count_grid([[3, 20], [30, 40]])
    hidden = np.zeros(table.n, bool)
    for r, c in [("r0", "c0"), ("r0", "c1"), ("r1", "c0"), ("r1", "c1")]:
        hidden[at(table, r=r, c=c)] = True
    result = audit(table, Knowledge.suppressed(table, hidden), _none(table))

    # r0: x + y = 23, column c0: x + z = 33, c1: y + w = 60, all >= 0.
    assert (result.lo[at(table, r="r0", c="c0")], result.hi[at(table, r="r0", c="c0")]) == (0, 23)
    assert (result.lo[at(table, r="r1", c="c0")], result.hi[at(table, r="r1", c="c0")]) == (10, 33)
    assert result.targets.sum() == 4
    assert np.isnan(result.lo[at(table, r="r0", c="Total")])


def test_a_cell_alone_in_its_row_is_recovered_exactly_and_fails(count_grid, at):
    table = count_grid([[3, 20], [30, 40]])
    hidden = np.zeros(table.n, bool)
    sensitive = at(table, r="r0", c="c0")
    hidden[sensitive] = True
    needed = Requirement(lower=np.where(hidden, 3.0, 0), upper=np.where(hidden, 7.0, 0))
    result = audit(table, Knowledge.suppressed(table, hidden), needed)

    assert result.lo[sensitive] == result.hi[sensitive] == 3
    assert not result.passed
    assert result.summary() == {"passed": False, "cells_audited": 1, "cells_unsafe": 1}


def test_a_wide_enough_interval_passes_and_a_narrow_one_does_not(count_grid, at):
    table = count_grid([[3, 20], [30, 40]])
    hidden = np.zeros(table.n, bool)
    for r, c in [("r0", "c0"), ("r0", "c1"), ("r1", "c0"), ("r1", "c1")]:
        hidden[at(table, r=r, c=c)] = True
    sensitive = at(table, r="r0", c="c0")
    fits = Requirement(
        lower=np.where(np.arange(table.n) == sensitive, 3.0, 0),
        upper=np.where(np.arange(table.n) == sensitive, 20.0, 0),
    )
    too_much = Requirement(
        lower=fits.lower, upper=np.where(np.arange(table.n) == sensitive, 21.0, 0)
    )

    assert audit(table, Knowledge.suppressed(table, hidden), fits).passed
    assert not audit(table, Knowledge.suppressed(table, hidden), too_much).passed


def test_without_the_non_negative_floor_cells_may_go_below_zero():
    frame = pd.DataFrame(
        {
            "k": ["a", "b", "c", "Total"],
            "value": [-4.0, 10.0, 6.0, 12.0],
            "persons": [12, 12, 12, 36],
            "top1": [1.0, 2.0, 1.0, 2.0],
            "top2": [1.0, 1.0, 1.0, 2.0],
        }
    )
    table = Table.from_frame(frame, ["k"], kind="magnitude")
    assert not table.nonnegative
    hidden = np.array([True, True, False, False])
    result = audit(table, Knowledge.suppressed(table, hidden), _none(table))
    assert result.lo[0] == -np.inf and result.hi[0] == np.inf


def test_sub_additive_totals_bound_a_part_by_its_total(grid, at):
    frame = grid(np.array([[3, 14], [16, 18]]))
    frame.loc[(frame.r == "r0") & (frame.c == "Total"), "value"] = 15
    frame.loc[(frame.r == "Total") & (frame.c == "Total"), "value"] = 49
    table = Table.from_frame(frame, ["r", "c"], kind="count", additivity="subadditive")
    hidden = np.zeros(table.n, bool)
    hidden[at(table, r="r0", c="c0")] = True
    result = audit(table, Knowledge.suppressed(table, hidden), _none(table))

    # The row holds 15 persons, 14 of them in c1: c0 has at least 1 and at most 15;
    # its column (exact: 19 = 3 + 16) pins it to 3.
    cell = at(table, r="r0", c="c0")
    assert result.lo[cell] == pytest.approx(3) and result.hi[cell] == pytest.approx(3)


def test_bounds_that_exclude_the_truth_are_refused(count_grid):
    table = count_grid([[3, 20], [30, 40]])
    with pytest.raises(DisclosureError):
        Knowledge(lo=np.ones(3), hi=np.zeros(3))
    wrong = Knowledge(lo=np.full(table.n, 50.0), hi=np.full(table.n, 60.0))
    with pytest.raises(DisclosureError, match="outside"):
        audit(table, wrong, _none(table))
