"""Builders of small protected-table inputs, shared by the protect tests."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from privstats.protect import TOTAL, Table


def grid_frame(values: np.ndarray, rows: str = "r", cols: str = "c") -> pd.DataFrame:
    """One row per cell of a 2-D count grid, with row, column and grand totals."""
    n_rows, n_cols = values.shape
    records = [
        (f"{rows}{i}", f"{cols}{j}", values[i, j]) for i in range(n_rows) for j in range(n_cols)
    ]
    records += [(f"{rows}{i}", TOTAL, values[i].sum()) for i in range(n_rows)]
    records += [(TOTAL, f"{cols}{j}", values[:, j].sum()) for j in range(n_cols)]
    records += [(TOTAL, TOTAL, values.sum())]
    return pd.DataFrame(records, columns=[rows, cols, "value"])


@pytest.fixture
def count_grid() -> Callable[..., Table]:
    def build(values) -> Table:
        return Table.from_frame(grid_frame(np.asarray(values)), ["r", "c"], kind="count")

    return build


def _cell(table: Table, **key) -> int:
    mask = np.ones(table.n, dtype=bool)
    for dim, code in key.items():
        mask &= (table.cells[dim] == code).to_numpy()
    (found,) = np.flatnonzero(mask)
    return int(found)


@pytest.fixture
def at() -> Callable[..., int]:
    """Position of the cell with the given key: ``at(table, r="r0", c="c1")``."""
    return _cell


@pytest.fixture
def grid() -> Callable[..., pd.DataFrame]:
    return grid_frame
