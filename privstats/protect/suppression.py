"""Secondary suppression: the fewest, cheapest further cells to hide so that no hidden sensitive
cell can be narrowed below its required protection from the totals and the cells shown.

The method is the optimal cell-suppression model of Fischetti and Salazar-González (the one
behind tau-ARGUS's OPT), solved by cut generation with HiGHS:

* A *master* MILP chooses which cells to hide (binary ``x_j``), minimising information loss
  subject to the cuts found so far; sensitive cells are hidden from the start.
* For a chosen pattern, an *attacker* LP per sensitive cell and direction asks how far the
  cell can move while everything shown stays as shown: a deviation ``y`` with ``A y = 0``
  (``<=`` the slack for sub-additive relations), ``y_j = 0`` for shown cells and
  ``-L_j <= y_j <= U_j`` for hidden ones (``L_j`` down to the a-priori floor, ``U_j`` up).
  When the cell cannot move by its protection level, the LP's dual gives a Benders cut
  ``sum_j (U_j max(d_j, 0) + L_j max(-d_j, 0)) x_j >= level - mu's`` with
  ``d = g + A' pi``, valid for every pattern, which the master must then satisfy.
* A deviation that does reach the level is a witness of protection. Witnesses are cached by
  their support and reused while those cells stay hidden, and one LP solution often proves
  several cells at once, which keeps the number of LPs small on large tables.

The loop ends when every sensitive cell has a witness under the master's latest pattern, so
the pattern is optimal for the chosen cost among all safe patterns (up to the MIP gap).

Information loss (``CostModel``): by default a hidden cell costs its absolute value plus one,
the classic choice of tau-ARGUS (response as cost): it hides many small cells rather than a
large total that analysts rely on, and the added one breaks ties toward fewer hidden cells.
``UNIT`` minimises the number of hidden cells; ``LOG`` weighs ``1 + log(1 + |v|)``, between.

Reproducibility: cells are in the table's canonical order, targets are visited in index
order, and HiGHS runs with a fixed seed, so the same table always gives the same pattern.
(The thread count is left alone: HiGHS fixes it process-wide at its first solve, and a later
model asking for another count fails to run.)
"""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass

import highspy
import numpy as np
import scipy.sparse as sp

from privstats.exceptions import ConfigError, DisclosureError
from privstats.protect.cells import Table
from privstats.protect.protection import Requirement

_INF = highspy.kHighsInf
_STATUS = highspy.HighsModelStatus


class CostModel(enum.StrEnum):
    VALUE = "value"
    UNIT = "unit"
    LOG = "log"


@dataclass(frozen=True)
class SuppressionOptions:
    cost: CostModel = CostModel.VALUE
    time_limit: float = 300.0
    max_rounds: int = 500
    mip_rel_gap: float = 1e-6

    def __post_init__(self) -> None:
        if self.time_limit <= 0:
            raise ConfigError("suppression time_limit must be positive")
        if self.max_rounds < 1:
            raise ConfigError("suppression max_rounds must be at least 1")
        if not 0 <= self.mip_rel_gap < 1:
            raise ConfigError("suppression mip_rel_gap must lie in [0, 1)")


@dataclass(frozen=True, eq=False)
class SuppressionResult:
    hidden: np.ndarray
    secondary: np.ndarray
    rounds: int
    cuts: int
    lps: int


def cell_costs(table: Table, model: CostModel) -> np.ndarray:
    v = np.abs(np.nan_to_num(table.values))
    if model is CostModel.UNIT:
        return np.ones(table.n)
    if model is CostModel.LOG:
        return 1.0 + np.log1p(v)
    return v + 1.0


def suppress(
    table: Table,
    primary: np.ndarray,
    required: Requirement,
    options: SuppressionOptions | None = None,
    *,
    bounds: tuple[np.ndarray, np.ndarray] | None = None,
) -> SuppressionResult:
    """Choose the complementary cells to hide; raises ``DisclosureError`` if none will do.

    ``bounds`` are what the attacker knows of each cell once it is hidden (default: not
    negative when the table has no negative contribution, unbounded above).
    """
    options = options or SuppressionOptions()
    primary = np.asarray(primary, dtype=bool)
    if not table.additive or not primary.any():
        return SuppressionResult(primary.copy(), np.zeros(table.n, bool), 0, 0, 0)
    return _CutLoop(table, primary, required, options, bounds).run()


class _Deviation:
    """The attacker's deviation space for all cells, before a pattern is chosen."""

    def __init__(self, table: Table, bounds: tuple[np.ndarray, np.ndarray] | None) -> None:
        rel = table.relations
        n = table.n
        counts = np.diff(rel.ptr)
        rows = [np.arange(len(rel)), np.repeat(np.arange(len(rel)), counts)]
        cols = [rel.total, rel.parts]
        vals = [np.ones(len(rel)), -np.ones(rel.parts.size)]
        row_hi = [np.zeros(len(rel))]
        row_lo = [np.where(rel.exact, 0.0, -_INF)]
        next_row = len(rel)
        for r in np.flatnonzero(~rel.exact):
            parts = rel.parts_of(r)
            k = parts.size
            ids = np.arange(next_row, next_row + k)
            rows += [ids, ids]
            cols += [parts, np.full(k, rel.total[r])]
            vals += [np.ones(k), -np.ones(k)]
            row_hi.append(np.zeros(k))
            row_lo.append(np.full(k, -_INF))
            next_row += k
        matrix = sp.csr_matrix(
            (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
            shape=(next_row, n),
        )
        matrix.sum_duplicates()
        values = np.nan_to_num(table.values)
        # A deviation y keeps (a + y) within the relation bounds: slack = bound - A a.
        activity = matrix @ values
        self.matrix = matrix
        self.matrix_t = matrix.T.tocsr()
        self.row_hi = np.concatenate(row_hi) - activity
        self.row_lo = np.concatenate(row_lo) - activity
        self.row_lo[~np.isfinite(np.concatenate(row_lo))] = -_INF
        self.row_hi[np.abs(self.row_hi) < 1e-9] = 0.0
        self.row_lo[np.abs(self.row_lo) < 1e-9] = 0.0
        big = 2.0 * float(np.abs(values).sum()) + 1.0
        if bounds is None:
            floor = np.full(n, 0.0 if table.nonnegative else -np.inf)
            ceiling = np.full(n, np.inf)
        else:
            floor, ceiling = bounds
        self.up = np.minimum(ceiling - values, big)
        self.down = np.minimum(values - floor, big)
        if np.any(self.up < 0) or np.any(self.down < 0):
            raise DisclosureError("a cell lies outside the bounds an attacker is assumed to know")


class _CutLoop:
    def __init__(
        self,
        table: Table,
        primary: np.ndarray,
        required: Requirement,
        options: SuppressionOptions,
        bounds: tuple[np.ndarray, np.ndarray] | None,
    ) -> None:
        self.table = table
        self.primary = primary
        self.options = options
        self.deadline = time.monotonic() + options.time_limit
        self.dev = _Deviation(table, bounds)
        self.cost = cell_costs(table, options.cost)
        self.candidate = ~primary & ~table.empty
        # Targets: (cell, +1 up / -1 down, level), in cell order.
        self.targets: list[tuple[int, int, float]] = []
        for i in np.flatnonzero(primary):
            if required.upper[i] > 0:
                self.targets.append((int(i), 1, float(required.upper[i])))
            if required.lower[i] > 0:
                self.targets.append((int(i), -1, float(required.lower[i])))
        self.witness: dict[int, np.ndarray] = {}
        self.cuts: list[tuple[np.ndarray, np.ndarray]] = []
        self.lps = 0

    def run(self) -> SuppressionResult:
        hidden = self.primary.copy()
        for rounds in range(1, self.options.max_rounds + 1):
            if time.monotonic() > self.deadline:
                break
            pending = [
                t for t in range(len(self.targets))
                if t not in self.witness or not hidden[self.witness[t]].all()
            ]  # fmt: skip
            if not pending:
                return self._result(hidden, rounds - 1)
            new_cuts = self._separate(hidden, pending)
            if not new_cuts:
                return self._result(hidden, rounds)
            self.cuts.extend(new_cuts)
            hidden = self._master()
        raise DisclosureError("secondary suppression did not converge within its limits")

    def _result(self, hidden: np.ndarray, rounds: int) -> SuppressionResult:
        return SuppressionResult(
            hidden=hidden, secondary=hidden & ~self.primary, rounds=rounds,
            cuts=len(self.cuts), lps=self.lps,
        )  # fmt: skip

    # -- the attacker's LP over a pattern -------------------------------------------------
    def _separate(
        self, hidden: np.ndarray, pending: list[int]
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        dev = self.dev
        cols = np.flatnonzero(hidden)
        sub = dev.matrix[:, cols].tocsr()
        rows = np.flatnonzero(np.diff(sub.indptr) > 0)
        sub = sub[rows].tocsc()
        model = _lp_model(sub, dev.row_lo[rows], dev.row_hi[rows], -dev.down[cols], dev.up[cols])
        local = {int(c): k for k, c in enumerate(cols)}
        proven: set[int] = set()
        cuts = []
        previous = None
        for t in pending:
            if t in proven:
                continue
            cell, sense, level = self.targets[t]
            j = local[cell]
            if previous is not None and previous != j:
                model.changeColCost(previous, 0.0)
            previous = j
            model.changeColCost(j, -float(sense))
            model.run()
            self.lps += 1
            status = model.getModelStatus()
            if status in (_STATUS.kUnbounded, _STATUS.kUnboundedOrInfeasible):
                # Cannot happen with finite caps; treat as protected by an unbounded move.
                self.witness[t] = cols
                proven.add(t)
                continue
            if status != _STATUS.kOptimal:
                raise DisclosureError("an attacker LP of secondary suppression failed")
            solution = model.getSolution()
            y = np.asarray(solution.col_value)
            reach = float(sense) * y[j]
            if reach >= level * (1 - 1e-9) - 1e-9:
                self._prove(y, cols, pending, proven)
                continue
            cuts.append(self._cut(np.asarray(solution.row_dual), rows, cell, sense, level))
        return [c for c in cuts if c is not None]

    def _prove(self, y: np.ndarray, cols: np.ndarray, pending: list[int], proven: set[int]) -> None:
        """One deviation proves every pending target it moves far enough."""
        support = cols[np.abs(y) > 1e-9]
        moved = np.zeros(self.table.n)
        moved[cols] = y
        for t in pending:
            if t in proven:
                continue
            cell, sense, level = self.targets[t]
            if sense * moved[cell] >= level * (1 - 1e-9) - 1e-9:
                proven.add(t)
                self.witness[t] = support

    def _cut(
        self, row_dual: np.ndarray, rows: np.ndarray, cell: int, sense: int, level: float
    ) -> tuple[np.ndarray, np.ndarray] | None:
        dev = self.dev
        pi = np.zeros(dev.matrix.shape[0])
        pi[rows] = row_dual
        # Inequality rows carry mu = -pi >= 0; equality rows any sign.
        inequality = dev.row_lo == -_INF
        pi[inequality] = np.minimum(pi[inequality], 0.0)
        d = dev.matrix_t @ pi
        d[cell] += sense
        coef = dev.up * np.maximum(d, 0.0) + dev.down * np.maximum(-d, 0.0)
        mu_slack = float(-(pi[inequality] @ dev.row_hi[inequality]))
        rhs = level - mu_slack - float(coef[self.primary].sum())
        if rhs <= 1e-9 * max(1.0, level):
            return None
        coef = np.where(self.candidate, np.minimum(coef, rhs), 0.0)
        # Dropping a tiny coefficient is valid when its largest effect leaves the rhs.
        tiny = (coef > 0) & (coef < 1e-9 * rhs)
        rhs -= float(coef[tiny].sum())
        coef[tiny] = 0.0
        support = np.flatnonzero(coef > 0)
        if support.size == 0 or rhs <= 0:
            raise DisclosureError("a sensitive cell cannot be protected even by hiding all cells")
        return support, coef[support] / rhs

    # -- the master MILP ------------------------------------------------------------------
    def _master(self) -> np.ndarray:
        variables = np.unique(np.concatenate([s for s, _ in self.cuts]))
        index = {int(c): k for k, c in enumerate(variables)}
        rows, cols, vals = [], [], []
        for r, (support, coef) in enumerate(self.cuts):
            rows.append(np.full(support.size, r))
            cols.append(np.array([index[int(c)] for c in support]))
            vals.append(coef)
        a = sp.csc_matrix(
            (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
            shape=(len(self.cuts), variables.size),
        )
        model = _lp_model(
            a, np.ones(len(self.cuts)), np.full(len(self.cuts), _INF),
            np.zeros(variables.size), np.ones(variables.size), cost=self.cost[variables],
            integer=True,
        )  # fmt: skip
        model.setOptionValue("mip_rel_gap", self.options.mip_rel_gap)
        model.setOptionValue("time_limit", max(1.0, self.deadline - time.monotonic()))
        model.run()
        status = model.getModelStatus()
        if status == _STATUS.kInfeasible:
            raise DisclosureError("no pattern of hidden cells protects every sensitive cell")
        x = np.asarray(model.getSolution().col_value)
        if x.size != variables.size or status not in (_STATUS.kOptimal, _STATUS.kTimeLimit):
            raise DisclosureError("the suppression master problem could not be solved")
        hidden = self.primary.copy()
        hidden[variables[x > 0.5]] = True
        return hidden


def _lp_model(
    a: sp.csc_matrix,
    row_lo: np.ndarray,
    row_hi: np.ndarray,
    col_lo: np.ndarray,
    col_hi: np.ndarray,
    *,
    cost: np.ndarray | None = None,
    integer: bool = False,
) -> highspy.Highs:
    model = highspy.Highs()
    model.setOptionValue("output_flag", False)
    model.setOptionValue("random_seed", 0)
    if not integer:
        model.setOptionValue("presolve", "off")
    lp = highspy.HighsLp()
    lp.num_col_ = a.shape[1]
    lp.num_row_ = a.shape[0]
    lp.col_cost_ = np.zeros(a.shape[1]) if cost is None else np.asarray(cost, float)
    lp.col_lower_ = np.asarray(col_lo, float)
    lp.col_upper_ = np.asarray(col_hi, float)
    lp.row_lower_ = np.asarray(row_lo, float)
    lp.row_upper_ = np.asarray(row_hi, float)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = a.indptr.astype(np.int32)
    lp.a_matrix_.index_ = a.indices.astype(np.int32)
    lp.a_matrix_.value_ = a.data.astype(float)
    if integer:
        lp.integrality_ = [highspy.HighsVarType.kInteger] * a.shape[1]
    model.passModel(lp)
    return model
