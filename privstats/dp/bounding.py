"""Contribution bounding: how much one privacy unit can change a DP table, enforced in the data.

Noise is scaled to the most one unit (a visitor-day on the web, a person in the CRM) can change
the table, so that bound must hold for every unit, however busy: a visitor with 5,000 requests
is cut down to it before anything is counted. Per unit, in this order:

1. **values are clipped** to ``[0, clip]`` (a response time of an hour counts as ``clip``);
2. **one value per unit** of every dimension the unit cannot hold two of in honest data (the
   day of a visitor-day, the device of a visitor): the unit keeps one, chosen by keyed hash
   order, so a person linked over two devices counts on one of them;
3. **at most ``max_cells`` cells**: the unit keeps that many of its cells, the first in keyed
   hash order, and drops the others;
4. **at most ``per_cell`` per cell**: one for counts of units, ``per_cell`` requests, or
   ``per_cell * clip`` of a sum.

The keyed hash orders a unit's cells by a hash of its pseudonym (itself an HMAC under the
store's secret key) with the cell's codes: nobody without the key can predict which cells a
unit keeps, and the choice depends on that unit's rows alone, as bounding must (a choice that
looked at other units would leak through the bound). Margins and subtotals are computed from
the bounded rows, and the sensitivity (:class:`Sensitivity`) counts them: a unit in ``L`` cells
of a table whose every cell adds into ``A - 1`` totals moves at most ``A * L`` cells.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from privstats.protect import Hierarchy
from privstats.tabulate._engine import ancestors, expand

# Seeds of polars' row hash. Fixed: the order must be the same every run (a re-run must find
# the same bounded data); the secret is in the pseudonyms being hashed. Polars keeps its hash
# stable within a version only: after an upgrade the same data has another digest, so a re-run
# draws (and is charged) anew; never the other way round.
_ORDER_SEED = 0x7072697673746174
_DIGEST_SEED = 0x6469676573740001


@dataclass(frozen=True)
class Bounds:
    """What one unit may contribute (see the module's notes)."""

    max_cells: int
    per_cell: int
    # Upper clip of a summed value (lower clip 0); None for counts.
    clip: int | None = None

    def to_dict(self) -> dict[str, int | None]:
        return {"max_cells": self.max_cells, "per_cell": self.per_cell, "clip": self.clip}


@dataclass(frozen=True)
class Sensitivity:
    """How far one unit moves the table: ``l0`` cells, by at most ``linf`` each, ``l2`` in all."""

    l0: int
    l2: float
    linf: float

    def to_dict(self) -> dict[str, float]:
        return {"l0": self.l0, "l2": self.l2, "linf": self.linf}


@dataclass(frozen=True)
class Bounded:
    """Per cell (margins included) the bounded value, the cells each leaf adds into, and a
    digest of the bounded contributions (which identifies the data, never reveals it)."""

    cells: pl.DataFrame  # dims..., value (Int64)
    sensitivity: Sensitivity
    bounds: Bounds
    digest: str
    units: int  # units that contributed: for the record's text only, never published


def fan_out(dims: Sequence[str], margins: bool, hierarchies: Mapping[str, Hierarchy]) -> int:
    """The most cells one leaf cell adds into, itself included (``A``)."""
    fan = 1
    for dim in dims:
        ups = ancestors(hierarchies.get(dim), margins)
        most = max((len(v) for v in ups.values()), default=0)
        fan *= 1 + max(most, 1 if margins else 0)
    return fan


def sensitivity(kind: str, bounds: Bounds, leaves: int, fan: int) -> Sensitivity:
    """The sensitivity of a table where each unit keeps ``leaves`` leaf cells.

    ``kind`` is ``count`` (each unit adds one to a cell, totals included: a unit is counted once
    in a total) or ``sum`` (contributions add up in totals: a total holds up to ``leaves``
    contributions of the unit). Leaves move by ``per_cell`` at most; each of the ``fan - 1``
    total positions above them by ``leaves * per_cell``, over at most ``leaves`` cells whose
    contributions add to that much, so their squares add to at most its square.
    """
    if kind == "count":
        each = 1.0
        l2_squared = fan * leaves * each**2
        linf = each
    else:
        each = float(bounds.per_cell * (bounds.clip or 1))
        l2_squared = leaves * each**2 + (fan - 1) * (leaves * each) ** 2
        linf = each * (leaves if fan > 1 else 1)
    return Sensitivity(l0=fan * leaves, l2=math.sqrt(l2_squared), linf=linf)


def bound(
    frame: pl.DataFrame,
    *,
    dims: Sequence[str],
    unit: Sequence[str],
    measure: str,
    bounds: Bounds,
    one_per_unit: Sequence[str],
    margins: bool,
    hierarchies: Mapping[str, Hierarchy],
    values: str | None = None,
) -> Bounded:
    """Bound ``frame`` (rows as ``read_rows`` gives them) unit by unit and count the cells.

    ``measure``: ``visitors`` (distinct units per cell), ``organisations`` (distinct ``_unit``
    per cell, persons bounded), ``requests`` (rows) or ``sum`` (of ``values``).
    """
    dims = list(dims)
    unit = list(unit)
    if measure == "sum":
        assert values is not None and bounds.clip is not None
        amount = pl.col(values).fill_null(0).clip(0, bounds.clip).cast(pl.Int64).sum()
    elif measure == "requests":
        amount = pl.len().cast(pl.Int64)
    else:
        amount = pl.lit(1, dtype=pl.Int64).first()
    keys = [*unit, *dims]
    extra = ["_unit"] if measure == "organisations" else []
    if extra:
        # An organisation counts in a cell when a person of it kept that cell.
        leaves = frame.group_by([*keys, *extra]).agg(c=amount)
    else:
        leaves = frame.group_by(keys).agg(c=amount)
    for dim in one_per_unit:
        if dim in dims:
            rank = pl.struct([*unit, dim]).hash(_ORDER_SEED)
            leaves = leaves.filter(rank == rank.min().over(unit))
    constrained = all(d in one_per_unit for d in dims)
    kept = 1 if constrained else bounds.max_cells
    if not constrained:
        cell = pl.struct(keys).hash(_ORDER_SEED)
        leaves = leaves.with_columns(_h=cell)
        distinct = leaves.select([*keys, "_h"]).unique()
        chosen = distinct.filter(pl.col("_h").rank("dense").over(unit) <= kept).drop("_h")
        leaves = leaves.drop("_h").join(chosen, on=keys, how="semi")
    cap = 1 if measure in ("visitors", "organisations") else bounds.per_cell * (bounds.clip or 1)
    leaves = leaves.with_columns(pl.col("c").clip(0, cap))
    digest = _digest(leaves, [*keys, *extra, "c"])
    units = leaves.select(unit).n_unique() if leaves.height else 0
    expanded = expand(leaves, dims, margins, hierarchies)
    if measure == "visitors":
        cells = expanded.group_by(dims).agg(value=pl.struct(unit).n_unique().cast(pl.Int64))
    elif measure == "organisations":
        cells = expanded.group_by(dims).agg(value=pl.col("_unit").n_unique().cast(pl.Int64))
    else:
        cells = expanded.group_by(dims).agg(value=pl.col("c").sum().cast(pl.Int64))
    kind = "count" if measure in ("visitors", "organisations") else "sum"
    fan = fan_out(dims, margins, hierarchies)
    return Bounded(cells, sensitivity(kind, bounds, kept, fan), bounds, digest, units)


def _digest(frame: pl.DataFrame, columns: Sequence[str]) -> str:
    """SHA-256 of the bounded contributions, whatever their row order.

    The rows hold keyed pseudonyms, so the digest cannot be matched against guessed counts by
    anyone without the store; it changes when any unit's bounded contribution changes (late
    logs, an erasure) and only then.
    """
    if frame.height == 0:
        return hashlib.sha256(b"empty").hexdigest()
    hashed = frame.select(pl.struct(list(columns)).hash(_DIGEST_SEED)).to_series()
    ordered = np.sort(hashed.to_numpy())
    digest = hashlib.sha256()
    digest.update(",".join(columns).encode("utf-8"))
    digest.update(ordered.tobytes())
    return digest.hexdigest()
