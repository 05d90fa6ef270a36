"""Populations: which units (or rows) every cell of several tables is made of, as atoms.

Tables that count the same thing (a **family**: distinct units of one store table, its rows,
or the sum of one of its columns) are linked whatever their dimensions, filters, periods or
wording: each of their cells is a set of units. Grouping units by the exact set of cells they
fall into gives **atoms**: every cell of every table of the family is then the sum of the
atoms it contains, exactly, for distinct counts as much as for sums (a visitor counted in two
hours belongs to an atom inside both hours' cells). The protection of linked tables
(``privstats.protect.linked``) and the reviewer's gate reason through these atoms, so that two
tables describing one population are one population by the data, not by their query text.

For sums the atoms group rows, not units: one unit's rows may fall into different cells.

Private: atoms are made of the true data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl
import scipy.sparse as sp

from privstats.exceptions import DisclosureError
from privstats.protect import Table
from privstats.schema import PERSON_KEYS
from privstats.store import Store
from privstats.tabulate import _engine
from privstats.tabulate.backends import NONE_CODE, OTHERS, PAD
from privstats.tabulate.query import QUANTILES, Measure, Query

Family = tuple[str, ...]


def family_of(query: Query, cap_binds: bool = True) -> Family | None:
    """The family a query's cells belong to; None when they are not sums of units or rows
    (quantiles, statistics over units, and a cap that clips someone's contribution)."""
    if query.per is not None or query.measure in QUANTILES:
        return None
    if query.cap == 1 and query.measure is Measure.REQUESTS:
        return ("units", query.table)  # one request per person and period: persons counted
    if query.cap is not None and cap_binds:
        return None
    if query.measure is Measure.VISITORS:
        return ("units", query.table)
    if query.measure is Measure.ORGANISATIONS:
        return ("organisations", query.table)
    if query.measure is Measure.REQUESTS:
        return ("rows", query.table)
    assert query.values is not None
    return ("sum", query.table, query.values)  # sums, and means: a mean shows its sum


@dataclass(frozen=True, eq=False)
class Atoms:
    """The atoms of one family and, per member table, the atoms of each of its cells.

    ``value``: the atom's units (counts), rows or sum; ``persons``: its distinct units in its
    busiest key period (the lower bound cells count persons by); ``by_period``: atoms ×
    periods, the atom's distinct units per key period; ``top1``/``top2``: its two largest
    per-unit contributions; ``cells``: per member, a cells × atoms 0/1 matrix.
    """

    family: Family
    value: np.ndarray
    persons: np.ndarray
    by_period: sp.csr_matrix
    top1: np.ndarray
    top2: np.ndarray
    cells: tuple[sp.csr_matrix, ...]
    # Magnitudes: atoms × units (a person in a key period), each unit's contribution, so that
    # the leading contributions of any set of atoms can be told exactly.
    by_unit: sp.csr_matrix | None = None

    @property
    def n(self) -> int:
        return int(self.value.size)

    @property
    def of_units(self) -> bool:
        """Whether an atom's value counts units (else it sums rows or a column)."""
        return self.family[0] in ("units", "organisations")


def build_atoms(
    store: Store,
    members: Sequence[tuple[Query, Table]],
    relevant: Sequence[np.ndarray | None] | None = None,
) -> Atoms:
    """The atoms of one family's member tables, each given as its query and true table.

    ``relevant`` marks, per member, the cells that take part (published, or public in effect):
    leaves that no relevant cell tells apart are one leaf, so that atoms stay as few as what
    is published can distinguish (the 290 paths a top-10 table leaves out are one "rest")."""
    families = {family_of(q, cap_binds=False) for q, _ in members}
    if len(families) != 1 or None in families or not members:
        raise DisclosureError("atoms are built for the tables of one family")
    family = families.pop()
    assert family is not None
    frame = _family_rows(store, [q for q, _ in members], family)
    leaves = [f"_leaf{i}" for i in range(len(members))]
    relevant = list(relevant) if relevant is not None else [None] * len(members)
    expressions = []
    for (query, table), mask, name in zip(members, relevant, leaves, strict=True):
        leaf = _leaf(store, query, table)
        if mask is not None:
            merged = _representatives(table, mask)
            leaf = leaf.replace_strict(
                list(range(table.n)), merged, default=-1, return_dtype=pl.Int64
            )
        expressions.append(leaf.alias(name))
    frame = frame.with_columns(*expressions).filter(
        pl.any_horizontal(*(pl.col(c) >= 0 for c in leaves))
    )
    if family[0] in ("units", "organisations"):
        # One signature per unit: for each member, the sorted leaves the unit falls into.
        key = ["_period", "_person"] if family[0] == "units" else ["_unit"]
        keep = [] if family[0] == "units" else [pl.col("_period").first()]
        units = (
            frame.group_by(key)
            .agg(*[pl.col(c).filter(pl.col(c) >= 0).unique().sort() for c in leaves], *keep)
            .with_columns(_atom=(pl.struct(leaves).rank("dense") - 1).cast(pl.Int64))
        )
        atom_of_leaf = [units.select(c, "_atom").explode(c) for c in leaves]
        contributions = units.select("_atom", "_period", _c=pl.lit(1.0))
    else:
        rows = frame.with_columns(
            _atom=(pl.struct(leaves).rank("dense") - 1).cast(pl.Int64),
            _c=pl.col("_value") if family[0] == "sum" else pl.lit(1.0),
        )
        atom_of_leaf = [rows.select(c, "_atom").unique() for c in leaves]
        contributions = rows.group_by("_atom", "_period", "_person").agg(pl.col("_c").sum())
    # polars types max() as any literal or None; of a non-empty Int64 column it is an int.
    n = int(contributions["_atom"].max()) + 1 if contributions.height else 0  # type: ignore[arg-type]
    value, persons, by_period, top1, top2 = _per_atom(contributions, n)
    cells = tuple(
        _incidence(pairs, name, table, n)
        for pairs, name, (_, table) in zip(atom_of_leaf, leaves, members, strict=True)
    )
    by_unit = None if family[0] in ("units", "organisations") else _by_unit(contributions, n)
    return Atoms(family, value, persons, by_period, top1, top2, cells, by_unit)


def _by_unit(contributions: pl.DataFrame, n: int) -> sp.csr_matrix:
    """atoms × units of ``_c``, from one row per atom, key period and unit."""
    unit = pl.struct("_period", "_person").rank("dense").cast(pl.Int64) - 1
    frame = contributions.with_columns(_unit=unit)
    # polars types max() as any literal or None; of a non-empty Int64 column it is an int.
    units = int(frame["_unit"].max()) + 1 if frame.height else 0  # type: ignore[arg-type]
    return sp.csr_matrix(
        (
            frame["_c"].to_numpy().astype(float),
            (frame["_atom"].to_numpy(), frame["_unit"].to_numpy()),
        ),
        shape=(n, units),
    )


def _family_rows(store: Store, queries: Sequence[Query], family: Family) -> pl.DataFrame:
    """Every row a member may read, over the union of their periods: the raw columns the
    members' dimensions and filters need, ``_period``, ``_person`` (the linked unit), the
    summed column as ``_value`` and the organisation as ``_unit``."""
    table = queries[0].table
    starts, ends = [q.start for q in queries], [q.end for q in queries]
    first = None if None in starts else min(d for d in starts if d is not None)
    last = None if None in ends else max(d for d in ends if d is not None)
    names = {n for q in queries for n in (*q.dims, *(f.column for f in q.where))}
    joined = {n for n in names if n in _engine.JOINED and table in _engine.JOINED[n].holders}
    needs = {c for n in names - joined for c in _engine.DERIVED_NEEDS.get(n, (n,))}
    raw = sorted((needs | joined) - {"ts"})
    period = PERSON_KEYS[table][0]
    lazy = _engine.rows(store, table, first and first - PAD, last and last + PAD)
    lazy = _engine.with_joined(lazy, store, table, joined, queries[0].tz)
    return lazy.select(
        "ts",
        *raw,
        *(
            [_engine.value_column(family[2]).cast(pl.Float64).alias("_value")]
            if family[0] == "sum"
            else []
        ),
        (pl.lit("-") if period == "-" else pl.col(period).cast(pl.String)).alias("_period"),
        "_person",
        *([pl.col("org").alias("_unit")] if family[0] == "organisations" else []),
    ).collect()


def _leaf(store: Store, query: Query, table: Table) -> pl.Expr:
    """Each row's leaf cell of ``table`` (its position in the canonical order), or -1 when
    the row lies outside the query's period and filters."""
    derived = _engine.derived_columns(query.tz)

    def resolve(name: str) -> pl.Expr:
        return derived.get(name, pl.col(name))

    inside = pl.lit(True)
    day = _engine.local_time(query.tz).dt.date()
    if query.start:
        inside &= day >= query.start
    if query.end:
        inside &= day <= query.end
    typed = _engine.typed_filters(store, query.table, query.where)
    for condition in _engine.filter_conditions(typed, resolve):
        inside &= condition.fill_null(False)
    versus = dict(query.versus)
    position: pl.Expr = pl.lit(0, dtype=pl.Int64)
    stride = 1
    for axis in range(len(table.dims) - 1, -1, -1):
        dim = table.dims[axis]
        code = resolve(dim).cast(pl.String).fill_null(NONE_CODE)
        if dim in versus:
            code = pl.when(code == versus[dim]).then(pl.lit(versus[dim]))
            code = code.otherwise(pl.lit(OTHERS))
        codes = [str(c) for c in table.codes[dim]]
        at = code.replace_strict(codes, list(range(len(codes))), default=-1, return_dtype=pl.Int64)
        position = pl.when((at < 0) | (position < 0)).then(-1).otherwise(position + at * stride)
        stride *= len(codes)
    return pl.when(inside).then(position).otherwise(-1)


def _representatives(table: Table, relevant: np.ndarray) -> list[int]:
    """For each cell, the first cell lying in exactly the same relevant cells (-1: in none)."""
    first: dict[tuple[int, ...], int] = {}
    out = []
    for cell, ups in enumerate(table.containing()):
        signature = tuple(int(u) for u in ups if relevant[u])
        out.append(first.setdefault(signature, cell) if signature else -1)
    return out


def _per_atom(
    contributions: pl.DataFrame, n: int
) -> tuple[np.ndarray, np.ndarray, sp.csr_matrix, np.ndarray, np.ndarray]:
    """Value, persons, units per period and leading contributions of each atom, from one row
    per atom, key period and unit (``_c``: the unit's contribution to the atom)."""
    per_period = contributions.group_by("_atom", "_period").agg(
        units=pl.len(),
        total=pl.col("_c").sum(),
        first=pl.col("_c").max(),
        second=pl.when(pl.len() > 1).then(pl.col("_c").top_k(2).min()).otherwise(0.0),
    )
    atoms = per_period.group_by("_atom").agg(
        value=pl.col("total").sum(),
        persons=pl.col("units").max(),
        top1=pl.col("first").sum(),
        top2=pl.col("second").sum(),
    )
    at = atoms["_atom"].to_numpy()

    def spread(column: str) -> np.ndarray:
        out = np.zeros(n)
        out[at] = atoms[column].to_numpy().astype(float)
        return out

    period_codes = per_period["_period"].cast(pl.String).unique().sort().to_list()
    index = {p: i for i, p in enumerate(period_codes)}
    by_period = sp.csr_matrix(
        (
            per_period["units"].to_numpy().astype(float),
            (per_period["_atom"].to_numpy(), [index[p] for p in per_period["_period"].to_list()]),
        ),
        shape=(n, len(period_codes)),
    )
    return spread("value"), spread("persons"), by_period, spread("top1"), spread("top2")


def _incidence(pairs: pl.DataFrame, leaf: str, table: Table, n_atoms: int) -> sp.csr_matrix:
    """cells × atoms: an atom lies in every cell containing one of its leaves."""
    containing = table.containing()
    pairs = pairs.filter(pl.col(leaf).is_not_null() & (pl.col(leaf) >= 0)).unique()
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    for cell, atoms in pairs.group_by(leaf).agg(pl.col("_atom")).iter_rows():
        ups = containing[int(cell)]
        atom_ids = np.asarray(atoms, dtype=np.int64)
        rows.append(np.repeat(ups, atom_ids.size))
        cols.append(np.tile(atom_ids, ups.size))
    if not rows:
        return sp.csr_matrix((table.n, n_atoms))
    r, c = np.concatenate(rows), np.concatenate(cols)
    matrix = sp.csr_matrix((np.ones(r.size), (r, c)), shape=(table.n, n_atoms))
    matrix.data[:] = 1.0  # an atom reaching a cell through two leaves is in it once
    return matrix
