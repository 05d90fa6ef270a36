"""A privacy unit's contribution is bounded in the data, whatever it did."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from privstats.dp.bounding import Bounds, bound
from privstats.protect import TOTAL


def rows(units: dict[int, list[tuple[str, str, int]]]) -> pl.DataFrame:
    """Rows as ``read_rows`` gives them: (page, device, response) per request of each unit."""
    records = [
        {"_period": "2026-10-01", "_person": person, "page": page, "device": device,
         "response_us": response}
        for person, requests in units.items() for page, device, response in requests
    ]  # fmt: skip
    return pl.DataFrame(records)


def crowd(seed: int) -> dict[int, list[tuple[str, str, int]]]:
    generator = np.random.default_rng(seed)
    pages = [f"/p{i}" for i in range(30)]
    return {
        person: [
            (str(generator.choice(pages)), str(generator.choice(["desktop", "mobile"])),
             int(generator.integers(1_000, 900_000)))
            for _ in range(int(generator.integers(1, 40)))
        ]
        for person in range(1, 400)
    }  # fmt: skip


BUSY = 2**62 + 12345  # a pseudonym


def busy_visitor(seed: int) -> list[tuple[str, str, int]]:
    """5,000 requests over every page, from two devices, some very slow."""
    generator = np.random.default_rng(seed)
    return [
        (f"/p{i % 30}", "desktop" if i % 3 else "mobile", int(generator.integers(1, 60_000_000)))
        for i in range(5_000)
    ]


def table(frame: pl.DataFrame, measure: str, bounds: Bounds, **options: object) -> dict:
    result = bound(
        frame, dims=["page", "device"], unit=["_period", "_person"], measure=measure,
        bounds=bounds, one_per_unit=["device"], margins=bool(options.get("margins")),
        hierarchies={}, values="response_us" if measure == "sum" else None,
    )  # fmt: skip
    cells = {(r["page"], r["device"]): r["value"] for r in result.cells.iter_rows(named=True)}
    return {"cells": cells, "sensitivity": result.sensitivity, "digest": result.digest}


@pytest.mark.parametrize("measure", ["visitors", "requests", "sum"])
@pytest.mark.parametrize("margins", [False, True])
def test_a_visitor_with_5000_requests_moves_the_table_by_at_most_the_bound(
    measure: str, margins: bool
) -> None:
    bounds = Bounds(max_cells=10, per_cell=3, clip=10_000_000 if measure == "sum" else None)
    others = crowd(seed=19)
    without = table(rows(others), measure, bounds, margins=margins)
    with_busy = table(rows({**others, BUSY: busy_visitor(seed=5)}), measure, bounds,
                      margins=margins)  # fmt: skip
    keys = set(without["cells"]) | set(with_busy["cells"])
    change = np.array([with_busy["cells"].get(k, 0) - without["cells"].get(k, 0) for k in keys])
    sensitivity = with_busy["sensitivity"]
    assert np.count_nonzero(change) <= sensitivity.l0
    assert np.abs(change).max() <= sensitivity.linf
    assert math.sqrt(float((change.astype(float) ** 2).sum())) <= sensitivity.l2 + 1e-9
    # The unit kept one device and at most max_cells pages: ten leaf cells, never thirty.
    leaves = [k for k, c in zip(keys, change, strict=True) if c and TOTAL not in k]
    assert len(leaves) == 10 and len({device for _, device in leaves}) == 1
    per_cell = {"visitors": 1, "requests": 3, "sum": 3 * 10_000_000}[measure]
    assert all(abs(c) <= per_cell for k, c in zip(keys, change, strict=True) if k in leaves)
    assert without["digest"] != with_busy["digest"]


def test_the_cells_a_unit_keeps_follow_its_keyed_pseudonym_not_the_order_of_rows() -> None:
    bounds = Bounds(max_cells=3, per_cell=1)
    frame = rows({BUSY: busy_visitor(seed=1), **crowd(seed=2)})
    first = table(frame, "visitors", bounds)
    again = table(frame.sample(fraction=1.0, shuffle=True, seed=3), "visitors", bounds)
    assert first == again
    # Another pseudonym for the same requests keeps other pages: the choice is the hash's.
    other = table(rows({BUSY + 1: busy_visitor(seed=1)}), "visitors", bounds)["cells"]
    mine = table(rows({BUSY: busy_visitor(seed=1)}), "visitors", bounds)["cells"]
    assert len(mine) == len(other) == 3 and mine != other


def test_sums_clip_each_value_to_the_stated_range() -> None:
    slow = rows({BUSY: [("/p1", "desktop", 3_600_000_000)]})
    result = table(slow, "sum", Bounds(max_cells=1, per_cell=1, clip=10_000_000))
    assert result["cells"] == {("/p1", "desktop"): 10_000_000}
