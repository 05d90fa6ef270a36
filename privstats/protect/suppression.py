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
* A deviation that does reach the level is a witness of protection. Witnesses are cached
  (support and values) and reused while the pattern leaves them room, and one LP solution
  often proves several cells at once, which keeps the number of LPs small on large tables.

Three phases:

1. *Relaxation.* Cuts are separated at fractional patterns (each cell's range scaled by its
   ``x_j``) until the LP master is protected. These cuts describe the table's structure far
   better than the few an integer pattern yields.
2. *Exact rounds* (at most ``exact_rounds``, while the integer masters have spent fewer
   than ``exact_work`` simplex iterations): integer masters (node-limited, ``mip_rel_gap``)
   and separation. If a pattern has a witness for every target, it is returned and is optimal
   for the chosen cost up to the gap (``optimal`` is true when every master solved to it).
3. *Repair and prune*, for tables whose optimum takes longer to prove (crossed hierarchies
   such as days into ISO weeks and into months): the last pattern is kept, each target still
   unprotected gets the cheapest cells that let it move (one LP over the deviation and the
   share of each candidate's range it uses; any solution is a real witness), and added cells
   no witness needs are shown again, dearest first. Safe, near-optimal, not proven optimal.

Every limit that shapes the result counts work (rounds, nodes), not time, so a pattern does
not depend on the machine; ``time_limit`` is a safety net that fails the table rather than
return anything unproven.

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
from collections.abc import Iterable
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
    # Integer rounds spent on a proven optimum before growing a safe pattern instead.
    exact_rounds: int = 3
    # Branch-and-bound nodes per master MILP: a work limit, unlike time, gives the same
    # pattern on every machine.
    mip_max_nodes: int = 100
    # Simplex iterations all integer masters may spend before phase 3 takes over.
    exact_work: int = 10_000
    # Fractional cells of the relaxation beyond which no integer master is tried.
    exact_fractional: int = 100
    max_rounds: int = 2000
    mip_rel_gap: float = 5e-3

    def __post_init__(self) -> None:
        if self.time_limit <= 0:
            raise ConfigError("suppression time_limit must be positive")
        if min(self.exact_rounds, self.exact_work, self.exact_fractional) < 0 or (
            self.mip_max_nodes < 1
        ):
            raise ConfigError("suppression work limits must be positive")
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
    # Whether the pattern is proven cheapest (else: safe, found by growing and pruning).
    optimal: bool


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
    candidates: np.ndarray | None = None,
) -> SuppressionResult:
    """Choose the complementary cells to hide; raises ``DisclosureError`` if none will do.

    ``primary`` cells are hidden whatever happens (the sensitive ones, and in a linked set the
    cells hidden before and those never published). ``bounds`` are what the attacker knows of
    each cell once it is hidden (default: not negative when the table has no negative
    contribution, unbounded above). ``candidates`` are the cells that may be hidden further
    (default: every other cell that is not empty); the rest stay shown.
    """
    options = options or SuppressionOptions()
    primary = np.asarray(primary, dtype=bool)
    if not table.additive or not primary.any():
        return SuppressionResult(primary.copy(), np.zeros(table.n, bool), 0, 0, 0, True)
    if candidates is None:
        candidates = ~primary & ~table.empty
    return _CutLoop(table, primary, required, options, bounds, candidates & ~primary).run()


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
        candidates: np.ndarray,
    ) -> None:
        self.table = table
        self.primary = primary
        self.options = options
        self.deadline = time.monotonic() + options.time_limit
        self.dev = _Deviation(table, bounds)
        self.cost = cell_costs(table, options.cost)
        self.candidate = np.asarray(candidates, dtype=bool)
        # Targets: (cell, +1 up / -1 down, level), in cell order.
        self.targets: list[tuple[int, int, float]] = []
        for i in np.flatnonzero(primary):
            if required.upper[i] > 0:
                self.targets.append((int(i), 1, float(required.upper[i])))
            if required.lower[i] > 0:
                self.targets.append((int(i), -1, float(required.lower[i])))
        # A witness: the support and values of a deviation that moves the target far enough.
        self.witness: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        # cell -> targets whose witness moves it; kept only while pruning
        self.uses: dict[int, set[int]] | None = None
        self.master_optimal = True
        self.mip_work = 0
        self.rounded_start = False
        self.skip_exact = False
        self.relaxed = primary.astype(float)
        self.violated: list[int] = []
        self.cuts: list[tuple[np.ndarray, np.ndarray]] = []
        self.lps = 0

    def run(self) -> SuppressionResult:
        rounds = 0
        # Phase 1: cuts for the LP relaxation. A fractional pattern lets a sensitive cell move
        # a fraction of each hidden cell's range; cuts separated there describe the table's
        # structure far better than the few an integer pattern yields, so the MILP phase then
        # needs only a handful of rounds.
        x = self.primary.astype(float)
        while rounds < self.options.max_rounds and time.monotonic() < self.deadline:
            rounds += 1
            new_cuts = self._separate(x, self._pending(x))
            if not new_cuts:
                break
            self.cuts.extend(new_cuts)
            x = self._master(integer=False)
        # Phase 2: integer patterns until every sensitive cell has a witness: optimal.
        self.relaxed = x
        fractional = int(np.sum((x > 0.01) & (x < 0.99)))
        # A relaxation far from integral makes every master MILP slow: after the first,
        # go straight to phase 3.
        self.skip_exact = fractional > self.options.exact_fractional
        hidden = self.primary.copy() if not self.cuts else self._master(integer=True) > 0.5
        for _ in range(self.options.exact_rounds):
            # A master that ran out of nodes, or whose rounds grow costly, will not prove an
            # optimum soon: repair instead. Work is counted in simplex iterations, not time.
            if self.skip_exact or not self.master_optimal:
                break
            if self.mip_work > self.options.exact_work:
                break
            if rounds >= self.options.max_rounds or time.monotonic() > self.deadline:
                break
            rounds += 1
            new_cuts = self._separate(hidden.astype(float), self._pending(hidden))
            if not new_cuts:
                return self._result(hidden, rounds, optimal=self.master_optimal)
            self.cuts.extend(new_cuts)
            hidden = self._master(integer=True) > 0.5
        # Phase 3, for tables where proving optimality takes too long: keep what is hidden,
        # protect each cell still without a witness by the cheapest cells that let it move
        # (one LP each), then give back every added cell the pattern turns out not to need.
        # Cells the rounded relaxation hid may be given back as well as those repair adds.
        grown = hidden & ~self.primary if self.rounded_start else np.zeros(self.table.n, bool)
        self._separate(hidden.astype(float), self._pending(hidden))
        for t in self.violated:
            if time.monotonic() > self.deadline:
                raise DisclosureError("secondary suppression did not converge within its limits")
            if not self._separate(hidden.astype(float), self._pending(hidden, [t])):
                continue  # an earlier repair protects it too
            # Look among the cells the LP relaxation uses and the cell's own relations first:
            # a far smaller LP that nearly always has the answer.
            near = (self.relaxed > 1e-9) | self._neighbours(self.targets[t][0])
            try:
                added = self._repair(hidden, t, near)
            except DisclosureError:
                added = self._repair(hidden, t, None)
            grown |= added
            hidden = hidden | added
        if self._separate(hidden.astype(float), self._pending(hidden)):
            raise DisclosureError("secondary suppression could not repair its pattern")
        return self._result(self._prune(hidden, grown), rounds, optimal=False)

    def _neighbours(self, cell: int) -> np.ndarray:
        """Cells sharing a relation with ``cell``."""
        dev = self.dev
        rows = dev.matrix_t[cell].indices
        near = np.zeros(self.table.n, dtype=bool)
        near[dev.matrix[rows].indices] = True
        return near

    def _repair(self, hidden: np.ndarray, t: int, within: np.ndarray | None) -> np.ndarray:
        """Cells to hide so that target ``t`` can move by its level, cheapest by LP.

        Variables: the deviation ``y`` over hidden and candidate cells, and for each candidate
        a share ``z`` of it that is used: ``|y_j| <= min(cap_j, level) z_j``. Any solution is
        a real witness once the cells with ``z > 0`` are hidden, whose true ranges are wider.
        """
        dev = self.dev
        cell, sense, level = self.targets[t]
        allowed = self.candidate if within is None else self.candidate & within
        cols = np.flatnonzero(hidden | allowed)
        extra = np.flatnonzero(~hidden[cols])
        sub = dev.matrix[:, cols].tocsr()
        rows = np.flatnonzero(np.diff(sub.indptr) > 0)
        n_y, n_z, n_rel = cols.size, extra.size, rows.size
        up = np.minimum(dev.up[cols[extra]], level)
        down = np.minimum(dev.down[cols[extra]], level)
        k = np.arange(n_z)
        coupling = sp.csr_matrix(
            (
                np.concatenate([np.ones(n_z), -up, -np.ones(n_z), -down]),
                (
                    np.concatenate([k, k, n_z + k, n_z + k]),
                    np.concatenate([extra, n_y + k, extra, n_y + k]),
                ),
            ),
            shape=(2 * n_z, n_y + n_z),
        )
        a = sp.vstack([sp.hstack([sub[rows], sp.csr_matrix((n_rel, n_z))]), coupling]).tocsc()
        col_lo = np.concatenate([-dev.down[cols], np.zeros(n_z)])
        col_hi = np.concatenate([dev.up[cols], np.ones(n_z)])
        j = int(np.searchsorted(cols, cell))
        if sense > 0:
            col_lo[j] = max(col_lo[j], level)
        else:
            col_hi[j] = min(col_hi[j], -level)
        model = _lp_model(
            a,
            np.concatenate([dev.row_lo[rows], np.full(2 * n_z, -_INF)]),
            np.concatenate([dev.row_hi[rows], np.zeros(2 * n_z)]),
            col_lo,
            col_hi,
            cost=np.concatenate([np.zeros(n_y), self.cost[cols[extra]]]),
        )
        model.run()
        self.lps += 1
        if model.getModelStatus() != _STATUS.kOptimal:
            raise DisclosureError("a sensitive cell cannot be protected even by hiding all cells")
        solution = np.asarray(model.getSolution().col_value)
        added = np.zeros(self.table.n, dtype=bool)
        added[cols[extra[solution[n_y:] > 1e-9]]] = True
        y = solution[:n_y]
        used = np.abs(y) > 1e-9
        self._witness(t, cols[used], y[used])
        return added

    def _pending(self, x: np.ndarray, targets: Iterable[int] | None = None) -> list[int]:
        """Targets whose witness no longer fits the pattern ``x`` (ranges scaled by x)."""
        dev = self.dev
        x = np.asarray(x, dtype=float)
        out = []
        for t in range(len(self.targets)) if targets is None else targets:
            if t not in self.witness:
                out.append(t)
                continue
            support, y = self.witness[t]
            room = np.where(y > 0, dev.up[support], dev.down[support]) * x[support]
            if not np.all(np.abs(y) <= room * (1 + 1e-9) + 1e-9):
                out.append(t)
        return out

    def _witness(self, t: int, support: np.ndarray, y: np.ndarray) -> None:
        if self.uses is not None:
            if t in self.witness:
                for cell in self.witness[t][0]:
                    self.uses[int(cell)].discard(t)
            for cell in support:
                self.uses.setdefault(int(cell), set()).add(t)
        self.witness[t] = (support, y)

    def _prune(self, hidden: np.ndarray, grown: np.ndarray) -> np.ndarray:
        """Show again, dearest first, each grown cell no witness needs any more.

        Only the targets whose witness moves the cell need a new one; the first that finds
        none keeps the cell hidden."""
        self.uses = {}
        for t, (support, _) in self.witness.items():
            for cell in support:
                self.uses.setdefault(int(cell), set()).add(t)
        for cell in sorted(np.flatnonzero(grown), key=lambda c: (-self.cost[c], c)):
            if time.monotonic() > self.deadline:
                raise DisclosureError("secondary suppression did not finish within its time limit")
            trial = hidden.copy()
            trial[cell] = False
            pending = sorted(self.uses.get(int(cell), ()))
            if not pending or not self._separate(trial.astype(float), pending, first=True):
                hidden = trial
        return hidden

    def _result(self, hidden: np.ndarray, rounds: int, *, optimal: bool) -> SuppressionResult:
        return SuppressionResult(
            hidden=hidden, secondary=hidden & ~self.primary, rounds=rounds,
            cuts=len(self.cuts), lps=self.lps, optimal=optimal,
        )  # fmt: skip

    # -- the attacker's LP over a pattern -------------------------------------------------
    def _separate(
        self, x: np.ndarray, pending: list[int], *, first: bool = False
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        """Attacker LPs with each cell's range scaled by ``x`` (1: hidden, 0: shown); with
        ``first``, stop at the first target the pattern does not protect."""
        dev = self.dev
        cols = np.flatnonzero(x > 1e-9)
        scale = x[cols]
        by_row = dev.matrix[:, cols].tocsr()
        rows = np.flatnonzero(np.diff(by_row.indptr) > 0)
        model = _lp_model(
            by_row[rows].tocsc(),
            dev.row_lo[rows],
            dev.row_hi[rows],
            -dev.down[cols] * scale,
            dev.up[cols] * scale,
        )
        local = {int(c): k for k, c in enumerate(cols)}
        proven: set[int] = set()
        cuts = []
        self.violated = []
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
                raise DisclosureError("an attacker LP of secondary suppression is unbounded")
            if status != _STATUS.kOptimal:
                raise DisclosureError("an attacker LP of secondary suppression failed")
            solution = model.getSolution()
            y = np.asarray(solution.col_value)
            reach = float(sense) * y[j]
            if reach >= level * (1 - 1e-9) - 1e-9:
                self._prove(y, cols, pending, proven)
                continue
            self.violated.append(t)
            cuts.append(self._cut(np.asarray(solution.row_dual), rows, cell, sense, level))
            if first:
                break
        return [c for c in cuts if c is not None]

    def _prove(self, y: np.ndarray, cols: np.ndarray, pending: list[int], proven: set[int]) -> None:
        """One deviation proves every pending target it moves far enough, and stays their
        witness for as long as the pattern leaves it room."""
        used = np.abs(y) > 1e-9
        witness = (cols[used], y[used])
        moved = np.zeros(self.table.n)
        moved[cols] = y
        for t in pending:
            if t in proven:
                continue
            cell, sense, level = self.targets[t]
            if sense * moved[cell] >= level * (1 - 1e-9) - 1e-9:
                proven.add(t)
                self._witness(t, *witness)

    def _cut(
        self, row_dual: np.ndarray, rows: np.ndarray, cell: int, sense: int, level: float
    ) -> tuple[np.ndarray, np.ndarray] | None:
        dev = self.dev
        pi = np.zeros(dev.matrix.shape[0])
        pi[rows] = row_dual
        # Inequality rows carry mu = -pi >= 0; equality rows any sign.
        inequality = dev.row_lo == -_INF
        pi[inequality] = np.minimum(pi[inequality], 0.0)
        # scipy-stubs type a sparse matrix times an array as sparse or dense; times a 1-D
        # array it is a 1-D array.
        d: np.ndarray = dev.matrix_t @ pi  # type: ignore[assignment]
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

    # -- the master problem ---------------------------------------------------------------
    def _master(self, *, integer: bool) -> np.ndarray:
        """The cheapest pattern (fractional unless ``integer``) satisfying every cut so far."""
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
            integer=integer,
        )  # fmt: skip
        if integer:
            model.setOptionValue("mip_rel_gap", self.options.mip_rel_gap)
            model.setOptionValue("mip_max_nodes", self.options.mip_max_nodes)
        model.setOptionValue("time_limit", max(1.0, self.deadline - time.monotonic()))
        model.run()
        status = model.getModelStatus()
        if status == _STATUS.kInfeasible:
            raise DisclosureError("no pattern of hidden cells protects every sensitive cell")
        if integer:
            self.mip_work += int(model.getInfo().simplex_iteration_count)
        x = np.asarray(model.getSolution().col_value)
        if status != _STATUS.kOptimal:
            self.master_optimal = False
        if integer and x.size != variables.size:
            # Out of nodes before any integer pattern: the rounded relaxation is the start,
            # which phase 3 repairs and prunes.
            self.rounded_start = True
            return np.maximum(self.relaxed >= 0.5, self.primary).astype(float)
        if x.size != variables.size:
            raise DisclosureError("the suppression master problem could not be solved")
        pattern = self.primary.astype(float)
        pattern[variables] = np.clip(np.round(x) if integer else x, 0.0, 1.0)
        return pattern


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
