"""The independent audit: what an attacker can deduce about every cell that is not shown exactly.

This module shares no model-building code with secondary suppression on purpose: it reads the
table's declared relations and what is published, builds its own linear programs and solves,
for every target cell, ``min x_i`` and ``max x_i`` subject to

* every shown value (a cell shown exactly is fixed; a rounded or ``<N`` cell lies in its
  published interval),
* the table's relations (``total = sum(parts)``, or ``total <= sum(parts)`` and
  ``part <= total`` for distinct-person counts),
* what is known a priori: no cell is negative unless the table has negative contributions.

That is the attacker's problem, solved with HiGHS. A cell fails when its interval does not
reach the required protection (see ``protection``); a table fails when any cell fails.

The intervals come from published information only, so a reviewer may read them when the
table is released; the true values and protection levels, which are secret, never leave this
module. An interval computed for a table that is then *not* released is derived from values
that were never shown, so ``record`` keeps only counts for a failed table.
"""

from __future__ import annotations

from dataclasses import dataclass

import highspy
import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from privstats.exceptions import DisclosureError
from privstats.protect.cells import Table
from privstats.protect.protection import Requirement

_INF = highspy.kHighsInf


@dataclass(frozen=True, eq=False)
class Knowledge:
    """What an attacker knows of each cell from the publication alone: ``lo <= x <= hi``."""

    lo: np.ndarray
    hi: np.ndarray

    def __post_init__(self) -> None:
        if self.lo.shape != self.hi.shape or np.any(self.lo > self.hi):
            raise DisclosureError("published cell bounds are inconsistent")

    @property
    def exact(self) -> np.ndarray:
        return self.lo == self.hi

    @classmethod
    def suppressed(
        cls,
        table: Table,
        hidden: np.ndarray,
        floor: np.ndarray | None = None,
        ceiling: np.ndarray | None = None,
    ) -> Knowledge:
        """Shown cells are exact; a hidden one lies in ``[floor, ceiling]`` (default: not
        negative if the table has no negative contribution, unbounded above)."""
        values = np.nan_to_num(table.values)
        if floor is None:
            floor = np.full(table.n, 0.0 if table.nonnegative else -np.inf)
        if ceiling is None:
            ceiling = np.full(table.n, np.inf)
        lo = np.where(hidden, floor, values)
        hi = np.where(hidden, ceiling, values)
        return cls(lo=lo.astype(float), hi=hi.astype(float))


@dataclass(frozen=True, eq=False)
class AuditResult:
    """Per target cell the attacker's interval; NaN for cells that were not targets."""

    lo: np.ndarray
    hi: np.ndarray
    targets: np.ndarray
    safe: np.ndarray

    @property
    def unsafe(self) -> np.ndarray:
        return self.targets & ~self.safe

    @property
    def passed(self) -> bool:
        return not self.unsafe.any()

    def summary(self) -> dict[str, int | bool]:
        return {
            "passed": self.passed,
            "cells_audited": int(self.targets.sum()),
            "cells_unsafe": int(self.unsafe.sum()),
        }


def audit(
    table: Table,
    knowledge: Knowledge,
    required: Requirement,
    targets: np.ndarray | None = None,
) -> AuditResult:
    """Bound every target cell (default: every cell not shown exactly) and judge it."""
    n = table.n
    if knowledge.lo.shape != (n,):
        raise DisclosureError("published bounds do not match the table")
    values = np.nan_to_num(table.values)
    tol = 1e-6 * np.maximum(1.0, np.abs(values))
    if np.any(values < knowledge.lo - tol) or np.any(values > knowledge.hi + tol):
        raise DisclosureError("the audit found the true table outside its own published bounds")
    free = ~knowledge.exact
    targets = free.copy() if targets is None else (np.asarray(targets, bool) & free)
    lo = np.full(n, np.nan)
    hi = np.full(n, np.nan)
    lo[targets] = knowledge.lo[targets]
    hi[targets] = knowledge.hi[targets]
    if targets.any() and len(table.relations) and table.additive:
        _bound(table, knowledge, free, targets, lo, hi)
    inside = (lo <= values + tol) & (hi >= values - tol)
    if not inside[targets].all():
        raise DisclosureError("the audit found the true table outside its own published bounds")
    reaches_low = lo <= values - required.lower + tol
    reaches_high = hi >= values + required.upper - tol
    safe = np.where(targets, reaches_low & reaches_high, True)
    return AuditResult(lo=lo, hi=hi, targets=targets, safe=safe)


def _bound(
    table: Table,
    knowledge: Knowledge,
    free: np.ndarray,
    targets: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
) -> None:
    rel = table.relations
    counts = np.diff(rel.ptr)
    rows = np.concatenate([np.arange(len(rel)), np.repeat(np.arange(len(rel)), counts)])
    cols = np.concatenate([rel.total, rel.parts])
    signs = np.concatenate([np.ones(len(rel)), -np.ones(rel.parts.size)])
    # total - sum(parts) == 0, or <= 0 for a sub-additive relation ...
    a = sp.csr_matrix((signs, (rows, cols)), shape=(len(rel), table.n))
    a.sum_duplicates()
    upper = np.zeros(len(rel))
    lower = np.where(rel.exact, 0.0, -np.inf)
    # ... and part - total <= 0 for every part of a sub-additive relation.
    sub = np.flatnonzero(~rel.exact)
    if sub.size:
        k = counts[sub]
        n_extra = int(k.sum())
        extra_rows = np.arange(n_extra)
        part_cols = np.concatenate([rel.parts_of(r) for r in sub])
        total_cols = np.repeat(rel.total[sub], k)
        b = sp.csr_matrix(
            (
                np.concatenate([np.ones(n_extra), -np.ones(n_extra)]),
                (np.concatenate([extra_rows, extra_rows]), np.concatenate([part_cols, total_cols])),
            ),
            shape=(n_extra, table.n),
        )
        a = sp.vstack([a, b]).tocsr()
        upper = np.concatenate([upper, np.zeros(n_extra)])
        lower = np.concatenate([lower, np.full(n_extra, -np.inf)])

    # Move what is known exactly to the right-hand side.
    fixed_values = np.where(free, 0.0, knowledge.lo)
    shift = a @ fixed_values
    a_free = a[:, free].tocsr()
    keep = np.diff(a_free.indptr) > 0
    a_free = a_free[keep]
    row_lo = lower[keep] - shift[keep]
    row_hi = upper[keep] - shift[keep]
    free_idx = np.flatnonzero(free)

    # Cells linked by no relation are bounded by their own published interval only.
    n_free = free_idx.size
    blocks: list[list[sp.csr_matrix | sp.csc_matrix | None]] = [[None, a_free.T], [a_free, None]]
    graph = sp.csr_matrix(sp.bmat(blocks)) if a_free.shape[0] else None
    if graph is None:
        return
    _, label = connected_components(graph, directed=False)
    col_groups = _groups(label[:n_free])
    row_groups = _groups(label[n_free:])
    for comp, cols_c in col_groups.items():
        rows_c = row_groups.get(comp)
        if rows_c is None or not targets[free_idx[cols_c]].any():
            continue
        _bound_component(
            a_free[rows_c][:, cols_c].tocsc(),
            row_lo[rows_c],
            row_hi[rows_c],
            knowledge.lo[free_idx[cols_c]],
            knowledge.hi[free_idx[cols_c]],
            free_idx[cols_c],
            targets,
            lo,
            hi,
        )


def _groups(label: np.ndarray) -> dict[int, np.ndarray]:
    order = np.argsort(label, kind="stable")
    sorted_labels = label[order]
    cuts = np.flatnonzero(np.diff(sorted_labels)) + 1
    return {
        int(chunk[0]): idx
        for chunk, idx in zip(np.split(sorted_labels, cuts), np.split(order, cuts), strict=True)
    }


def _bound_component(
    a: sp.csc_matrix,
    row_lo: np.ndarray,
    row_hi: np.ndarray,
    col_lo: np.ndarray,
    col_hi: np.ndarray,
    cells: np.ndarray,
    targets: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
) -> None:
    model = highspy.Highs()
    model.setOptionValue("output_flag", False)
    model.setOptionValue("presolve", "off")
    # Only the objective changes between solves, so the last basis stays primal feasible:
    # primal simplex restarts from it (about ten times faster than dual simplex here).
    model.setOptionValue("simplex_strategy", 4)
    lp = highspy.HighsLp()
    lp.num_col_ = a.shape[1]
    lp.num_row_ = a.shape[0]
    lp.col_cost_ = np.zeros(a.shape[1])
    lp.col_lower_ = np.where(np.isfinite(col_lo), col_lo, -_INF)
    lp.col_upper_ = np.where(np.isfinite(col_hi), col_hi, _INF)
    lp.row_lower_ = np.where(np.isfinite(row_lo), row_lo, -_INF)
    lp.row_upper_ = np.where(np.isfinite(row_hi), row_hi, _INF)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = a.indptr.astype(np.int32)
    lp.a_matrix_.index_ = a.indices.astype(np.int32)
    lp.a_matrix_.value_ = a.data.astype(float)
    model.passModel(lp)
    previous = None
    for local, cell in enumerate(cells):
        if not targets[cell]:
            continue
        if previous is not None:
            model.changeColCost(previous, 0.0)
        previous = local
        for sense, out in ((1.0, lo), (-1.0, hi)):
            model.changeColCost(local, sense)
            model.run()
            status = model.getModelStatus()
            if status == highspy.HighsModelStatus.kOptimal:
                out[cell] = model.getSolution().col_value[local]
            elif status in (
                highspy.HighsModelStatus.kUnbounded,
                highspy.HighsModelStatus.kUnboundedOrInfeasible,
            ):
                out[cell] = -np.inf * sense
            else:
                raise DisclosureError("the audit's linear program could not be solved")
