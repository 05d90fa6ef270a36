"""Derived populations: groups of fewer than ``threshold`` persons that shown cells pin exactly.

Each table of a linked set may be safe alone while a combination of shown cells gives a small
group away: a month minus all its days but one, all partners minus two, a row total of one
report minus a cell of another, ``A + B - (A or B)`` for two modules' users. Over the atoms
of a family (``privstats.tabulate.populations``) every shown cell is a sum of atoms, and a
population (a set of atoms) is known exactly when its indicator is a linear combination of
the shown cells' indicators. Every atom holds at least one unit, so the true atom counts lie
inside the attacker's feasible set, and a population is pinned exactly when, and only when,
that linear condition holds.

:func:`find_small` looks for such a population holding between 1 and ``threshold - 1``
persons (counted as everywhere: the largest number of units in one key period) by a MILP over
the shown cells' coefficients and 0/1 atom choices, solved with HiGHS. Atoms the shown cells
cannot tell apart are merged first; a population holding a large atom is never small, so only
small atoms are choices. The MILP finds the smallest pinned population, or proves there is
none; it is run again after each population is protected.

:func:`find_dominated` looks, in a family of sums, for the difference of two shown cells of
different tables (one inside the other) that one or two contributors dominate: the primary
rules never saw that population, which no table shows as a cell.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import highspy
import numpy as np
import scipy.linalg
import scipy.sparse as sp
from scipy.sparse.linalg import lsqr

from privstats.config import RuleSet
from privstats.exceptions import DisclosureError

_INF = highspy.kHighsInf
# Made-up combinations (a rounding artefact) set aside before the search gives up, at most.
_RETRIES = 5
_STATUS = highspy.HighsModelStatus


@dataclass(frozen=True)
class Derived:
    """A population the shown cells pin: its atoms, value and persons."""

    atoms: np.ndarray
    value: float
    persons: float
    # A population found for dominance (``find_dominated``): its two largest contributions.
    top1: float = 0.0
    top2: float = 0.0

    @property
    def dominated(self) -> bool:
        return self.top1 > 0


def find_small(
    shown: sp.csr_matrix,
    value: np.ndarray,
    by_period: sp.csr_matrix,
    threshold: int,
    *,
    exclude: Sequence[np.ndarray] = (),
    time_limit: float = 60.0,
) -> Derived | None:
    """The smallest population of 1 to ``threshold - 1`` persons that ``shown`` (cells × atoms)
    pins exactly, or None. ``by_period`` holds each atom's units per key period; populations
    in ``exclude`` (atom sets already known) are not found again."""
    n_atoms = shown.shape[1]
    if n_atoms == 0 or shown.shape[0] == 0:
        return None
    columns = shown.T.tocsr()
    columns.sort_indices()
    # Atoms in exactly the same shown cells are one choice for the attacker.
    keys = [
        columns.indices[columns.indptr[a] : columns.indptr[a + 1]].tobytes() for a in range(n_atoms)
    ]
    _, group, inverse = np.unique(
        np.asarray(keys, dtype=object), return_index=True, return_inverse=True
    )
    n_groups = group.size
    merge = sp.csr_matrix(
        (np.ones(n_atoms), (inverse, np.arange(n_atoms))), shape=(n_groups, n_atoms)
    )
    per_period = (merge @ by_period).tocsr()
    persons = (
        per_period.max(axis=1).toarray().ravel() if per_period.shape[1] else np.zeros(n_groups)
    )
    small = (persons >= 1) & (persons <= threshold - 1)
    if not small.any():
        return None
    incidence = columns[group].tocsr()  # groups × shown cells: each group's column once
    space = _pinned_space(incidence, small)
    if space is None:
        return None
    ids, basis = space
    # Groups whose choice is the same function of the combination are one choice.
    scale = float(np.abs(basis).max())
    rows = np.round(basis / scale, 9) + 0.0
    _, first, klass = np.unique(rows, axis=0, return_index=True, return_inverse=True)
    klass = klass.ravel()
    n_classes = first.size
    to_class = sp.csr_matrix(
        (np.ones(ids.size), (klass, np.arange(ids.size))), shape=(n_classes, ids.size)
    )
    class_of_group = np.full(n_groups, -1)
    class_of_group[ids] = klass
    group_value = merge @ value
    known: list[np.ndarray] = []
    for atoms in exclude:
        classes = np.unique(class_of_group[inverse[np.asarray(atoms)]])
        if (classes >= 0).all():
            known.append(classes)
    for _ in range(_RETRIES):
        chosen = _solve(
            basis[first], to_class @ per_period[ids], to_class @ group_value[ids], threshold,
            time_limit, known,
        )  # fmt: skip
        if chosen is None:
            return None
        atoms = np.flatnonzero(np.isin(class_of_group[inverse], chosen))
        if _pinned(shown, atoms):
            total = float(value[atoms].sum())
            worst = float(by_period[atoms].sum(axis=0).max()) if by_period.shape[1] else 0.0
            return Derived(atoms=atoms, value=total, persons=worst)
        known.append(chosen)  # rounding made a combination up: look again without it
    raise DisclosureError(
        "the search for small populations given away by combining tables did not settle"
    )


def _pinned_space(
    incidence: sp.csr_matrix, small: np.ndarray
) -> tuple[np.ndarray, np.ndarray] | None:
    """The small groups a pinned population can hold, and an orthonormal basis of the choices
    ``u`` such a population can be (their rows of it); None when there is none.

    A pinned population of small groups is ``u = M lambda`` (``M``: groups × shown cells)
    with ``M_big lambda = 0``: ``lambda`` lies in the null space of the large groups' rows, and
    ``u`` in that space's image on the small groups, a space of few dimensions.
    """
    big = incidence[~small].toarray()
    null = scipy.linalg.null_space(big) if big.shape[0] else np.eye(incidence.shape[1])
    if null.shape[1] == 0:
        return None
    image = incidence[small] @ null
    if not np.abs(image).max(initial=0.0) > 1e-9:
        return None
    left, singular, _ = np.linalg.svd(image, full_matrices=False)
    basis = left[:, singular > 1e-9 * max(1.0, float(singular.max()))]
    used = np.abs(basis).max(axis=1) > 1e-9
    if basis.shape[1] == 0 or not used.any():
        return None
    return np.flatnonzero(small)[used], basis[used]


def _pinned(shown: sp.csr_matrix, atoms: np.ndarray) -> bool:
    """Whether the population of ``atoms`` is a linear combination of the shown cells."""
    target = np.zeros(shown.shape[1])
    target[atoms] = 1.0
    weights = lsqr(shown.T.tocsr(), target, atol=1e-14, btol=1e-14, iter_lim=20_000)[0]
    return float(np.abs(shown.T @ weights - target).max()) < 1e-6


def _solve(
    basis: np.ndarray,
    per_period: sp.csr_matrix,
    class_value: np.ndarray,
    threshold: int,
    time_limit: float,
    known: Sequence[np.ndarray] = (),
) -> np.ndarray | None:
    """Classes of a smallest pinned population: ``u = basis nu``, ``u`` 0/1, at least one, fewer
    than ``threshold`` persons in every key period, none of the ``known`` class sets."""
    n_u, d = basis.shape
    # Columns: nu (free), then u (binary, one per class).
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    vals: list[np.ndarray] = []
    lo: list[np.ndarray] = []
    hi: list[np.ndarray] = []
    dense = np.nonzero(np.abs(basis) > 0)
    rows += [dense[0], np.arange(n_u)]
    cols += [dense[1], d + np.arange(n_u)]
    vals += [basis[dense], -np.ones(n_u)]
    lo.append(np.zeros(n_u))
    hi.append(np.zeros(n_u))
    n_rows = n_u
    periods = per_period.T.tocoo()
    if periods.nnz:
        rows.append(n_rows + periods.row)
        cols.append(d + periods.col)
        vals.append(periods.data.astype(float))
        lo.append(np.full(per_period.shape[1], -_INF))
        hi.append(np.full(per_period.shape[1], threshold - 1.0))
        n_rows += per_period.shape[1]
    everything = [np.arange(n_u)]
    for chosen in [*everything, *known]:
        inside = np.zeros(n_u, dtype=bool)
        inside[chosen] = True
        first = chosen is everything[0]
        rows.append(np.full(n_u, n_rows))
        cols.append(d + np.arange(n_u))
        # At least one class; and not a known population: sum (1 - u) inside + sum u outside.
        vals.append(np.ones(n_u) if first else np.where(inside, -1.0, 1.0))
        lo.append(np.ones(1) if first else np.full(1, 1.0 - inside.sum()))
        hi.append(np.full(1, _INF))
        n_rows += 1
    a = sp.csc_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=(n_rows, d + n_u),
    )
    model = highspy.Highs()
    model.setOptionValue("output_flag", False)
    model.setOptionValue("random_seed", 0)
    model.setOptionValue("time_limit", float(time_limit))
    lp = highspy.HighsLp()
    lp.num_col_ = d + n_u
    lp.num_row_ = n_rows
    lp.col_cost_ = np.concatenate([np.zeros(d), class_value])
    lp.col_lower_ = np.concatenate([np.full(d, -_INF), np.zeros(n_u)])
    lp.col_upper_ = np.concatenate([np.full(d, _INF), np.ones(n_u)])
    lp.row_lower_ = np.concatenate(lo)
    lp.row_upper_ = np.concatenate(hi)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = a.indptr.astype(np.int32)
    lp.a_matrix_.index_ = a.indices.astype(np.int32)
    lp.a_matrix_.value_ = a.data.astype(float)
    lp.integrality_ = [highspy.HighsVarType.kContinuous] * d + [highspy.HighsVarType.kInteger] * n_u
    model.passModel(lp)
    model.run()
    status = model.getModelStatus()
    if status == _STATUS.kInfeasible:
        return None
    found = model.getInfo().primal_solution_status == highspy.SolutionStatus.kSolutionStatusFeasible
    if status != _STATUS.kOptimal and not found:
        # Not proven either way: the caller must treat the tables as unsafe.
        raise DisclosureError(
            "the search for small populations given away by combining tables did not finish"
        )
    x = np.asarray(model.getSolution().col_value)
    return np.flatnonzero(x[d:] > 0.5)


def find_dominated(
    shown: sp.csr_matrix,
    owners: np.ndarray,
    by_unit: sp.csr_matrix,
    top: np.ndarray,
    rules: RuleSet,
    *,
    exclude: Sequence[np.ndarray] = (),
    limit: int = 2000,
) -> Derived | None:
    """A population that two shown cells of different tables pin by their difference (one
    cell's atoms inside the other's: 1-31 October minus 1-30, all partners minus all but one)
    and whose largest contributions the (n, k) dominance or p % rule flags, or None.

    ``owners``: each shown cell's table; ``by_unit``: atoms × units contributions; ``top``: an
    upper bound per atom on its two largest contributions together, which rules most pairs out
    before their units are added up (at most ``limit`` of the smallest are). A difference that
    no pair of cells makes is the small-group search's (``find_small``), not this one's."""
    cells = (shown > 0).astype(np.int64).tocsr()
    sizes = np.asarray(cells.sum(axis=1)).ravel()
    value = np.asarray(cells @ np.asarray(by_unit.sum(axis=1)).ravel()).ravel()
    bound = np.asarray(cells @ top).ravel()
    overlap = (cells @ cells.T).tocoo()
    i, j, common = overlap.row, overlap.col, overlap.data
    nested = (owners[i] != owners[j]) & (common == sizes[j]) & (sizes[i] > sizes[j])
    i, j = i[nested], j[nested]
    v = value[i] - value[j]
    ub = np.minimum(bound[i] - bound[j], v)
    # Only a difference whose leading contributions could reach the rules is looked into.
    maybe = (v > 0) & (ub >= min(rules.nk_k / 100.0, 1.0 / (1.0 + rules.p_ratio / 100.0)) * v)
    i, j = i[maybe], j[maybe]
    order = np.argsort(v[maybe], kind="stable")[:limit]
    seen = {np.asarray(a, dtype=np.int64).tobytes() for a in exclude}
    for k in order:
        atoms = np.setdiff1d(cells[i[k]].indices, cells[j[k]].indices)
        key = atoms.astype(np.int64).tobytes()
        if key in seen:
            continue
        seen.add(key)
        units = np.asarray(by_unit[atoms].sum(axis=0)).ravel()
        units = units[units > 0]
        if not units.size:
            continue
        leading = np.sort(units)[::-1]
        top1, top2 = float(leading[0]), float(leading[1]) if units.size > 1 else 0.0
        total = float(units.sum())
        topn = top1 if rules.nk_n == 1 else top1 + top2
        if topn >= rules.nk_k / 100.0 * total or total - top1 - top2 < rules.p_ratio / 100.0 * top1:
            return Derived(atoms, total, float(units.size), top1, top2)
    return None
