"""Post-processing of noisy cells: what is done to them after the noise costs no budget.

Anything computed from the noisy numbers alone keeps their guarantee (DP's post-processing
property), so the published numbers can be made easier to read:

* **consistent**: where totals really are sums of their parts (the measure adds up, or a unit
  counts in one cell of the table), only the parts are noised and every total is the sum of the
  published parts: totals add up exactly and cost no budget of their own, as in the US Census
  Bureau's TopDown algorithm, where the published figures are made to agree;
* **non-negative whole numbers** otherwise: a noisy count below zero is shown as 0.
* a **release threshold**: a cell whose noisy value is below it is shown as ``<N``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from scipy import sparse


def membership(
    keys: Sequence[tuple[str, ...]],
    leaves: Sequence[tuple[str, ...]],
    ups: Sequence[Mapping[str, Sequence[str]]],
) -> sparse.csr_matrix:
    """The matrix (cells x leaves) with a 1 where a leaf adds into a cell (itself included);
    ``ups[d]`` maps a code of dimension ``d`` to every code it adds into."""
    at = {key: i for i, key in enumerate(keys)}
    rows, cols = [], []
    for j, leaf in enumerate(leaves):
        targets: list[tuple[str, ...]] = [()]
        for d, code in enumerate(leaf):
            options = [code, *ups[d].get(code, ())]
            targets = [(*t, o) for t in targets for o in options]
        for target in targets:
            if target in at:
                rows.append(at[target])
                cols.append(j)
    data = np.ones(len(rows))
    return sparse.csr_matrix((data, (rows, cols)), shape=(len(keys), len(leaves)))


def totals_from_parts(leaves: np.ndarray, matrix: sparse.csr_matrix) -> np.ndarray:
    """Every cell as the sum of the (whole, non-negative) leaves that add into it."""
    if matrix.shape[1] == 0:
        return np.zeros(matrix.shape[0])
    return np.asarray(matrix @ leaves.astype(float), dtype=float)


def non_negative(noisy: np.ndarray) -> np.ndarray:
    return np.clip(np.asarray(noisy, dtype=float), 0, None)


def below_threshold(values: np.ndarray, threshold: int) -> np.ndarray:
    """Cells to show as ``<threshold`` (none when the threshold is 0)."""
    if threshold <= 0:
        return np.zeros(values.shape, dtype=bool)
    return values < threshold
