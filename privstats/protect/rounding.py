"""The alternatives to suppression: rounding to a base, and ``<N`` in place of small counts.

Rounding (count tables). Each cell goes to one of the two multiples of the base next to it
(a multiple stays put), chosen by a HiGHS MILP so that the rounded table still adds up:
*controlled rounding*. Rounding cells one by one would break the totals, and the totals
would then narrow the cells again. The attacker knows each true count lies within
``base - 1`` of its rounded value, and no count is negative; the audit intersects that with
the table's relations. A cell the rules flagged passes when the relations narrow it no
further than its rounding does: its interval still spans ``[r - (base-1), r + (base-1)]``,
clipped at zero. A table for which no controlled rounding exists (possible in three or more
dimensions and with crossed hierarchies) fails; use suppression there.

``<N`` (count tables). A count that fails only the threshold is shown as ``<N`` (N the
threshold); the attacker learns that it lies in ``[1, N-1]``. Other flagged cells are hidden.
Where the table has margins, secondary suppression then hides further cells until every
``<N`` cell can still be anywhere in ``[1, N-1]`` as far as the attacker can tell, which the
audit checks like any suppressed table.
"""

from __future__ import annotations

import highspy
import numpy as np
import scipy.sparse as sp

from privstats.config import RuleSet
from privstats.exceptions import DisclosureError
from privstats.protect.audit import Knowledge
from privstats.protect.cells import CellKind, Table
from privstats.protect.protection import Requirement
from privstats.protect.rules import Rule, Verdicts

_STATUS = highspy.HighsModelStatus


def _require_counts(table: Table, what: str) -> np.ndarray:
    if table.kind is not CellKind.COUNT:
        raise DisclosureError(f"{what} protects count tables only; use suppression")
    values = np.nan_to_num(table.values)
    if np.any(values != np.round(values)) or np.any(values < 0):
        raise DisclosureError(f"{what} needs whole, non-negative counts")
    return values


def controlled_round(table: Table, base: int) -> np.ndarray:
    """The table rounded to multiples of ``base`` so that every relation still holds."""
    values = _require_counts(table, "rounding")
    floor = np.floor(values / base) * base
    off = values != floor
    free = np.flatnonzero(off)
    rel = table.relations
    if free.size == 0 or not len(rel):
        return np.where(off & (values - floor >= base / 2), floor + base, floor)
    column = np.full(table.n, -1)
    column[free] = np.arange(free.size)

    rows, cols, vals, lo, hi = [], [], [], [], []
    row = 0

    def add(cells: np.ndarray, signs: np.ndarray, exact: bool) -> None:
        # sum(sign * (floor + base * up)) == 0, or <= 0: in units of the base.
        nonlocal row
        constant = float(signs @ floor[cells]) / base
        mask = column[cells] >= 0
        rows.append(np.full(int(mask.sum()), row))
        cols.append(column[cells][mask])
        vals.append(signs[mask].astype(float))
        lo.append(-constant if exact else -highspy.kHighsInf)
        hi.append(-constant)
        row += 1

    for total, parts, exact in rel:
        cells = np.concatenate([[total], parts])
        signs = np.concatenate([[1.0], -np.ones(parts.size)])
        add(cells, signs, exact)
        if not exact:
            for p in parts:
                add(np.array([p, total]), np.array([1.0, -1.0]), False)

    a = sp.csc_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=(row, free.size),
    )
    # Stay close to the truth: rounding up costs (base - 2 * remainder) more than down.
    cost = base - 2.0 * (values[free] - floor[free])
    model = highspy.Highs()
    model.setOptionValue("output_flag", False)
    model.setOptionValue("random_seed", 0)
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = free.size, row
    lp.col_cost_ = cost
    lp.col_lower_ = np.zeros(free.size)
    lp.col_upper_ = np.ones(free.size)
    lp.row_lower_ = np.array(lo, float)
    lp.row_upper_ = np.array(hi, float)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = a.indptr.astype(np.int32)
    lp.a_matrix_.index_ = a.indices.astype(np.int32)
    lp.a_matrix_.value_ = a.data
    lp.integrality_ = [highspy.HighsVarType.kInteger] * free.size
    model.passModel(lp)
    model.run()
    if model.getModelStatus() != _STATUS.kOptimal:
        raise DisclosureError("no controlled rounding of this table keeps its totals")
    up = np.asarray(model.getSolution().col_value) > 0.5
    rounded = floor.copy()
    rounded[free[up]] += base
    return rounded


def rounded_knowledge(table: Table, rounded: np.ndarray, base: int) -> Knowledge:
    """What the attacker knows of each cell from its rounded value alone."""
    lo = np.maximum(rounded - (base - 1), 0.0)
    hi = rounded + (base - 1.0)
    return Knowledge(lo=lo, hi=hi)


def rounded_requirement(table: Table, verdicts: Verdicts, knowledge: Knowledge) -> Requirement:
    """Flagged cells must keep the whole interval their rounding gives them."""
    values = np.nan_to_num(table.values)
    primary = verdicts.primary
    lower = np.where(primary, values - knowledge.lo, 0.0)
    upper = np.where(primary, knowledge.hi - values, 0.0)
    return Requirement(lower=lower, upper=upper)


def unblurred(table: Table, verdicts: Verdicts, rules: RuleSet) -> np.ndarray:
    """Flagged cells whose value rounding does not blur into "small": a count of fewer than
    ``threshold`` persons whose value is ``threshold`` or more (visits over several days)."""
    values = np.nan_to_num(table.values)
    return verdicts.primary & (values > rules.threshold - 1)


def less_than_cells(table: Table, verdicts: Verdicts, rules: RuleSet) -> np.ndarray:
    """Cells shown as ``<N``: counts that fail the threshold rule and no other, and whose value
    lies in ``[1, N-1]`` (a cell of three persons on twelve days counts 12 visits: hidden)."""
    values = _require_counts(table, "'<N'")
    flags = verdicts.flags
    others = flags.drop(columns=[Rule.THRESHOLD.value]).to_numpy(bool).any(axis=1)
    small_value = (values >= 1) & (values <= rules.threshold - 1)
    return flags[Rule.THRESHOLD.value].to_numpy(bool) & ~others & small_value


def less_than_bounds(
    table: Table, small: np.ndarray, rules: RuleSet
) -> tuple[np.ndarray, np.ndarray]:
    """A-priori bounds of every cell once hidden: ``[1, N-1]`` for ``<N`` cells."""
    floor = np.zeros(table.n) if table.nonnegative else np.full(table.n, -np.inf)
    ceiling = np.full(table.n, np.inf)
    floor[small] = 1.0
    ceiling[small] = rules.threshold - 1.0
    return floor, ceiling


def less_than_requirement(
    table: Table, small: np.ndarray, base: Requirement, rules: RuleSet
) -> Requirement:
    """``<N`` cells must stay anywhere in ``[1, N-1]``; other flagged cells keep ``base``."""
    values = np.nan_to_num(table.values)
    lower = np.where(small, values - 1.0, base.lower)
    upper = np.where(small, rules.threshold - 1.0 - values, base.upper)
    return Requirement(lower=lower, upper=upper)
