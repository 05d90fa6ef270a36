"""The embedded backend: the store's Parquet files through Polars, rows cached between queries
(``_engine.rows``) so that a report's tables read a period once."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from privstats.schema import PERSON_KEYS, TABLES
from privstats.store import Store
from privstats.tabulate import _engine
from privstats.tabulate.backends import (
    NETWORK,
    NONE_CODE,
    OTHERS,
    PAD,
    PERIOD,
    PERSON,
    ROWS,
    SUM,
    UNIT,
    VALUE,
    Reduction,
)


def rows(store: Store, reduction: Reduction, extra: Sequence[str] = ()) -> pl.LazyFrame:
    """The rows ``reduction`` reads, before reducing: its dimensions as text (``versus``
    applied), the value (as readers see it: a derived value rescaled) and, as ``_value``, the
    stored integer it comes from, ``extra`` columns untouched, and the unit columns."""
    r = reduction
    stored = set(TABLES[r.table].names)
    period, _ = PERSON_KEYS[r.table]
    lazy = _engine.rows(store, r.table, r.first and r.first - PAD, r.last and r.last + PAD)
    derived = _engine.derived_columns(r.tz, settings=r.traffic)
    used = {*r.dims, *(f.column for f in r.where), *extra, *([r.values] if r.values else [])}
    lazy = _engine.with_joined(lazy, store, r.table, used, r.tz)
    lazy = lazy.with_columns(**{k: v for k, v in derived.items() if k in used and k not in stored})
    day = _engine.local_time(r.tz).dt.date()
    if r.first:
        lazy = lazy.filter(day >= r.first)
    if r.last:
        lazy = lazy.filter(day <= r.last)
    for condition in _engine.filter_conditions(r.where):
        lazy = lazy.filter(condition)
    if r.values is not None and r.require_value:
        lazy = lazy.filter(pl.col(r.values).is_not_null())
    picked = [*r.dims, *([r.values] if r.values else [])]
    dims = [pl.col(d).cast(pl.String).fill_null(NONE_CODE) for d in r.dims]
    for name, code in r.versus:
        if name in r.dims:
            position = r.dims.index(name)
            dims[position] = (
                pl.when(dims[position] == code).then(pl.lit(code)).otherwise(pl.lit(OTHERS))
                .alias(name)
            )  # fmt: skip
    return lazy.select(
        *dims,
        *([pl.col(r.values), _engine.stored_value(r.values).alias(VALUE)] if r.values else []),
        *[pl.col(c) for c in extra if c not in picked],
        (pl.lit("-") if period == "-" else pl.col(period).cast(pl.String)).alias(PERIOD),
        pl.col(PERSON),
        *([pl.col("org").alias(UNIT)] if r.org else []),
        *([pl.col("network").cast(pl.String).alias(NETWORK)] if "network" in stored else []),
    )


class PolarsBackend:
    name = "polars"

    def reduce(self, store: Store, reduction: Reduction) -> pl.DataFrame:
        r = reduction
        keys = [*r.dims, PERIOD, PERSON, *([UNIT] if r.org else [])]
        keys += [NETWORK] if r.network else []
        aggregates = [pl.len().cast(pl.Int64).alias(ROWS)]
        if r.by_value:
            keys.append(VALUE)
        elif r.values is not None:
            aggregates.append(pl.col(VALUE).sum().cast(pl.Int64).alias(SUM))
        return rows(store, r).group_by(keys).agg(*aggregates).collect()
