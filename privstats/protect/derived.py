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
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import highspy
import numpy as np
import scipy.sparse as sp

from privstats.exceptions import DisclosureError

_INF = highspy.kHighsInf
_STATUS = highspy.HighsModelStatus


@dataclass(frozen=True)
class Derived:
    """A population the shown cells pin: its atoms, value and persons."""

    atoms: np.ndarray
    value: float
    persons: float


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
    cells = _relevant_cells(incidence, small)
    if cells.size == 0:
        return None
    # Only combinations of these cells can pin a population of small groups alone.
    incidence = incidence[:, cells].tocsr()
    touched = np.diff(incidence.indptr) > 0
    small &= touched
    if not small.any():
        return None
    keep = np.flatnonzero(touched)
    local = np.full(n_groups, -1)
    local[keep] = np.arange(keep.size)
    known = []
    for atoms in exclude:
        groups = np.unique(inverse[atoms])
        whole = np.isin(inverse, groups).sum() == np.asarray(atoms).size
        if whole and (local[groups] >= 0).all():
            known.append(local[groups])
    chosen = _solve(
        incidence[keep], small[keep], per_period[keep], (merge @ value)[keep], threshold,
        time_limit, known,
    )  # fmt: skip
    if chosen is not None:
        chosen = keep[chosen]
    if chosen is None:
        return None
    atoms = np.flatnonzero(np.isin(inverse, chosen))
    total = float(value[atoms].sum())
    worst = float(by_period[atoms].sum(axis=0).max()) if by_period.shape[1] else 0.0
    return Derived(atoms=atoms, value=total, persons=worst)


def _relevant_cells(incidence: sp.csr_matrix, small: np.ndarray) -> np.ndarray:
    """The shown cells some combination pinning small groups alone must use.

    A pinned population of small groups is ``u = M' lambda`` with ``lambda`` in the null space
    of the large groups' rows; directions of that space that give ``u = 0`` (shown cells that
    merely repeat each other) do not matter. Eigenvalues are classed as null generously: a
    cell kept needlessly only enlarges the exact MILP that follows, never hides a population.
    """
    big = incidence[~small].tocsc()
    gram = (big.T @ big).toarray()
    eigenvalues, vectors = np.linalg.eigh(gram)
    null = vectors[:, eigenvalues <= 1e-7 * max(1.0, float(eigenvalues.max(initial=0.0)))]
    if null.shape[1] == 0:
        return np.zeros(0, dtype=np.int64)
    image = incidence[small] @ null
    if not np.abs(image).max(initial=0.0) > 1e-9:
        return np.zeros(0, dtype=np.int64)
    _, singular, right = np.linalg.svd(image, full_matrices=False)
    directions = null @ right[singular > 1e-9 * max(1.0, float(singular.max()))].T
    return np.flatnonzero(np.abs(directions).max(axis=1) > 1e-9)


def _solve(
    incidence: sp.csr_matrix,
    small: np.ndarray,
    per_period: sp.csr_matrix,
    group_value: np.ndarray,
    threshold: int,
    time_limit: float,
    known: Sequence[np.ndarray] = (),
) -> np.ndarray | None:
    """Groups of a smallest pinned population: u = M' lambda, u 0/1 on small groups, 0 else;
    none of the ``known`` group sets."""
    n_groups, n_cells = incidence.shape
    small_ids = np.flatnonzero(small)
    n_u = small_ids.size
    # Columns: lambda (one per shown cell, free), then u (one per small group, binary).
    u_of = np.full(n_groups, -1)
    u_of[small_ids] = np.arange(n_u)
    coo = incidence.tocoo()
    rows = [coo.row, small_ids]
    cols = [coo.col, n_cells + np.arange(n_u)]
    vals = [coo.data.astype(float), -np.ones(n_u)]
    n_rows = n_groups
    lo = [np.zeros(n_groups)]
    hi = [np.zeros(n_groups)]
    # Persons in each key period, over the chosen groups, stay below the threshold.
    periods = per_period[small_ids].T.tocoo()
    if periods.nnz:
        rows.append(n_rows + periods.row)
        cols.append(n_cells + periods.col)
        vals.append(periods.data.astype(float))
        n_periods = per_period.shape[1]
        lo.append(np.full(n_periods, -_INF))
        hi.append(np.full(n_periods, threshold - 1.0))
        n_rows += n_periods
    # At least one group.
    rows.append(np.full(n_u, n_rows))
    cols.append(n_cells + np.arange(n_u))
    vals.append(np.ones(n_u))
    lo.append(np.ones(1))
    hi.append(np.full(1, _INF))
    n_rows += 1
    # Not a known population: sum over its groups of (1 - u) plus the others' u is at least 1.
    for groups in known:
        inside = np.zeros(n_u)
        member = u_of[groups]
        if (member < 0).any():
            continue  # it holds a group that is not small: it cannot be chosen anyway
        inside[member] = 1.0
        rows.append(np.full(n_u, n_rows))
        cols.append(n_cells + np.arange(n_u))
        vals.append(np.where(inside > 0, -1.0, 1.0))
        lo.append(np.full(1, 1.0 - inside.sum()))
        hi.append(np.full(1, _INF))
        n_rows += 1
    a = sp.csc_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=(n_rows, n_cells + n_u),
    )
    model = highspy.Highs()
    model.setOptionValue("output_flag", False)
    model.setOptionValue("random_seed", 0)
    model.setOptionValue("time_limit", float(time_limit))
    lp = highspy.HighsLp()
    lp.num_col_ = n_cells + n_u
    lp.num_row_ = n_rows
    lp.col_cost_ = np.concatenate([np.zeros(n_cells), group_value[small_ids]])
    lp.col_lower_ = np.concatenate([np.full(n_cells, -_INF), np.zeros(n_u)])
    lp.col_upper_ = np.concatenate([np.full(n_cells, _INF), np.ones(n_u)])
    lp.row_lower_ = np.concatenate(lo)
    lp.row_upper_ = np.concatenate(hi)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = a.indptr.astype(np.int32)
    lp.a_matrix_.index_ = a.indices.astype(np.int32)
    lp.a_matrix_.value_ = a.data.astype(float)
    lp.integrality_ = [highspy.HighsVarType.kContinuous] * n_cells + [
        highspy.HighsVarType.kInteger
    ] * n_u
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
    return small_ids[x[n_cells:] > 0.5]
