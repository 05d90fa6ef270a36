"""The analyst's API: ``crosstab`` and ``pivot_table`` over the store, protected on the way out.

They take pandas' arguments (as ACRO's do), but name columns of a store table instead of
passing arrays, and return a ``ProtectedTable``: what may be shown, and its record. The true
cell values exist only inside this module and the protection engine.

How a cell is measured, person by person:

* every cell is first reduced to one contribution per person and key period (a visitor's
  requests, bytes, ...), so that one busy visitor is one contributor, however many rows;
* ``persons`` is a lower bound on the distinct people in the cell whatever the linkage of
  pseudonyms across key periods: the largest single-period count, never the sum;
* ``top1``/``top2`` are upper bounds on the largest two per-person contributions: the sums over
  periods of each period's largest and second largest, as if the same people led every day.
  Over-estimating the leaders makes the dominance and p % rules stricter, never weaker.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import polars as pl

from privstats.config import RuleSet, load_config
from privstats.exceptions import DisclosureError
from privstats.frames import TableSet
from privstats.protect import (
    TOTAL,
    Additivity,
    CellKind,
    Hierarchy,
    Method,
    ProtectedTable,
    ProtectionRecord,
    Status,
    Table,
    protect,
)
from privstats.protect.record import checksum
from privstats.schema import PERSON_KEYS, TABLES
from privstats.solvers import quiet_highs
from privstats.store import Store
from privstats.workspace import open_store, require_rows, store_partners

__all__ = [
    "OTHERS",
    "PERSONS",
    "Measure",
    "TrueTable",
    "crosstab",
    "partners",
    "pivot_table",
    "rows",
    "true_table",
]


class Measure(enum.StrEnum):
    REQUESTS = "requests"  # rows, summed per person: a magnitude
    VISITORS = "visitors"  # distinct persons: a count
    ORGANISATIONS = "organisations"  # distinct organisations (CRM tables): a count
    SUM = "sum"
    MEAN = "mean"
    MEDIAN = "median"
    P90 = "p90"
    P99 = "p99"


_ALIASES = {
    None: Measure.REQUESTS, "count": Measure.REQUESTS, "size": Measure.REQUESTS,
    "nunique": Measure.VISITORS, "persons": Measure.VISITORS, "sum": Measure.SUM,
    "orgs": Measure.ORGANISATIONS,
    "mean": Measure.MEAN, "median": Measure.MEDIAN, "p50": Measure.MEDIAN,
}  # fmt: skip
_QUANTILES = {Measure.MEDIAN: 0.5, Measure.P90: 0.9, Measure.P99: 0.99}

# Dimensions derived from the time stamp and the status, besides the stored columns.
DERIVED = ("hour", "day", "week", "month", "weekday", "status_class", "error")
# The code of every row ``versus`` does not single out.
OTHERS = "others"
# ``values=PERSONS`` with ``per=``: distinct persons per unit (active persons per organisation).
PERSONS = "persons"
# Units ``per=`` can measure: organisations, or persons (the table's own pseudonym).
_UNITS = ("org", "person")
_DERIVED_FROM = {name: "status" if name in ("status_class", "error") else "ts" for name in DERIVED}


def crosstab(
    index: str | Sequence[str],
    columns: str | Sequence[str] | None = None,
    values: str | None = None,
    aggfunc: str | Measure | Sequence[str | Measure] | None = None,
    margins: bool = False,
    *,
    store: Store | Path | str | None = None,
    table: str = "access",
    start: dt.date | str | None = None,
    end: dt.date | str | None = None,
    where: Mapping[str, Any] | None = None,
    rules: RuleSet | None = None,
    method: Method | str = Method.SUPPRESS,
    hierarchies: Mapping[str, Hierarchy | str] | None = None,
    cap: int | None = None,
    tz: str = "UTC",
    versus: Mapping[str, Any] | None = None,
    per: str | None = None,
) -> ProtectedTable | TableSet:
    """A protected cross-tabulation of ``table``, shaped like ``pandas.crosstab``.

    ``index``/``columns`` name columns of the table or derived ones (hour, day, week, month,
    weekday, status_class, error). Without ``values`` cells count requests (rows);
    ``aggfunc="visitors"`` counts distinct persons, ``"organisations"`` distinct organisations
    (CRM tables); with ``values`` (e.g. ``"bytes"``, ``"response_us"``) ``aggfunc`` is sum,
    mean, median, p90 or p99. ``hierarchies`` adds subtotals, e.g. ``{"day": "calendar"}`` for
    days within ISO weeks and months; ``cap`` counts each person at most that much in a cell
    before aggregation.

    ``versus={"partner": "acme"}`` compares one group with the rest: the dimension ``partner``
    keeps the code ``acme`` and every other value becomes ``OTHERS``; with ``margins=True`` its
    total is the whole service, protected in the same table, so that "whole service minus
    acme" cannot give a hidden cell of the others back.

    ``per="org"`` (or ``"person"``) with a mean or quantile measures units first and then
    takes the statistic over the units of each cell: ``per="org", values=PERSONS,
    aggfunc="median"`` is the median number of active persons per organisation; ``values``
    None counts rows per unit, a numeric column sums it per unit. Such a cell, like every
    statistic, must count at least the threshold's number of persons.

    A list ``aggfunc`` (``["visitors", "requests"]``) gives one protected table per measure,
    side by side in ``pivot()`` (a ``privstats.frames.TableSet``).
    """
    if isinstance(aggfunc, list | tuple):
        arguments = {name: value for name, value in locals().items() if name != "aggfunc"}
        return TableSet({str(one): crosstab(aggfunc=one, **arguments) for one in aggfunc})
    quiet_highs()  # before the protection engine's first model: no banner in a notebook's cell
    store = _store(store)
    truth = true_table(
        index, columns, values, aggfunc, margins, store=store, table=table, start=start,
        end=end, where=where, hierarchies=hierarchies, cap=cap, tz=tz, versus=versus, per=per,
    )  # fmt: skip
    rules = rules or load_config().disclosure.rules()
    if truth.grid is None:
        # No row matched: an empty period is missing data (an error); filters that match
        # nothing in a period with data are an answer.
        require_rows(store, [table], _day(start), _day(end))
        return _empty(truth.dims, rules, method, truth.query)
    return protect(truth.grid, rules, method=method, query=truth.query)


@dataclass(frozen=True)
class TrueTable:
    """What ``crosstab`` protects: the query as its record keeps it, and every true cell with
    its contributors (``grid`` is None when no row matches). Not for release: the reviewer's
    gate judges published tables against it."""

    query: dict[str, Any]
    dims: list[str]
    grid: Table | None


def true_table(
    index: str | Sequence[str],
    columns: str | Sequence[str] | None = None,
    values: str | None = None,
    aggfunc: str | Measure | None = None,
    margins: bool = False,
    *,
    store: Store | Path | str | None = None,
    table: str = "access",
    start: dt.date | str | None = None,
    end: dt.date | str | None = None,
    where: Mapping[str, Any] | None = None,
    hierarchies: Mapping[str, Hierarchy | str] | None = None,
    cap: int | None = None,
    tz: str = "UTC",
    versus: Mapping[str, Any] | None = None,
    per: str | None = None,
) -> TrueTable:
    """The unprotected table behind ``crosstab`` with the same arguments (but the rules)."""
    measure = _measure(values, aggfunc, per)
    dims = [*_names(index), *_names(columns)]
    if not dims:
        raise DisclosureError("a table needs at least one dimension")
    if len(set(dims)) != len(dims):
        raise DisclosureError("a dimension may appear only once")
    if cap is not None and cap < 1:
        raise DisclosureError("a contribution cap must be at least 1")
    for name in versus or {}:
        if name not in dims:
            raise DisclosureError(f"versus names '{name}', which is not a dimension of the table")
    store = _store(store)
    start_day, end_day = _day(start), _day(end)
    frame = rows(
        store, table, dims, values=values, start=start_day, end=end_day, where=where, tz=tz,
        versus=versus, unit=_unit(measure, per),
    )  # fmt: skip
    query = {
        "table": table,
        "index": _names(index),
        "columns": _names(columns),
        "values": values,
        "measure": measure.value,
        "margins": margins,
        "start": start_day.isoformat() if start_day else None,
        "end": end_day.isoformat() if end_day else None,
        "where": {k: _jsonable(v) for k, v in (where or {}).items()},
        "hierarchies": {k: str(v) for k, v in (hierarchies or {}).items()},
        "cap": cap,
        "tz": tz,
        **({"versus": {k: _jsonable(v) for k, v in versus.items()}} if versus else {}),
        **({"per": per} if per else {}),
    }
    if frame.height == 0:
        return TrueTable(query, dims, None)
    hierarchy_objects = _hierarchies(hierarchies, frame, dims)
    cells = _cells(frame, dims, measure, margins, hierarchy_objects, cap, per, values)
    kind = {
        Measure.VISITORS: CellKind.COUNT,
        Measure.ORGANISATIONS: CellKind.COUNT,
        Measure.REQUESTS: CellKind.MAGNITUDE,
        Measure.SUM: CellKind.MAGNITUDE,
    }.get(measure, CellKind.STATISTIC)
    grid = Table.from_frame(
        cells,
        dims,
        kind=kind,
        margins=margins,
        hierarchies=hierarchy_objects,
        additivity=Additivity.SUBADDITIVE if kind is CellKind.COUNT else Additivity.EXACT,
    )
    return TrueTable(query, dims, grid)


def partners(store: Store | Path | str | None = None) -> list[str]:
    """The partner keys of the store's CRM accounts, sorted (for one report per partner).

    Partners are businesses that receive reports, not persons: their keys may be listed.
    """
    return store_partners(_store(store))


def _empty(
    dims: list[str], rules: RuleSet, method: Method | str, query: Mapping[str, Any]
) -> ProtectedTable:
    """A table with no cells: nothing in the period and filters (no rows, nothing to hide)."""
    shown = pd.DataFrame({**{d: pd.Series(dtype=object) for d in dims}, "value": [], "marker": []})
    shown["marker"] = shown["marker"].astype(object)
    record = ProtectionRecord(
        query=dict(query),
        method=Method(method),
        rules=dataclasses.asdict(rules),
        protection={},
        status=Status.PASS,
        cells=(),
        rule_counts={},
        audit={"passed": True, "cells": 0},
        checksum=checksum(shown),
    )
    return ProtectedTable(
        dims=tuple(dims), shown=shown, status=Status.PASS, record=record, audit=None
    )


def pivot_table(
    values: str | None = None,
    index: str | Sequence[str] | None = None,
    columns: str | Sequence[str] | None = None,
    aggfunc: str | Measure | None = "mean",
    margins: bool = False,
    **options: Any,
) -> ProtectedTable:
    """``pandas.pivot_table``'s argument order over ``crosstab``."""
    if index is None:
        raise DisclosureError("pivot_table needs an index")
    if values is None and aggfunc == "mean":
        aggfunc = None
    return crosstab(index, columns, values, aggfunc, margins, **options)


def _measure(values: str | None, aggfunc: str | Measure | None, per: str | None) -> Measure:
    try:
        measure = _ALIASES[aggfunc] if aggfunc in _ALIASES else Measure(aggfunc)
    except ValueError:
        choices = ", ".join(m.value for m in Measure)
        raise DisclosureError(f"unknown aggfunc '{aggfunc}'; choose one of {choices}") from None
    if per is not None:
        if per not in _UNITS:
            raise DisclosureError(f"per= is one of {', '.join(_UNITS)}")
        if measure not in (Measure.MEAN, *_QUANTILES):
            raise DisclosureError("per= goes with a mean or a quantile (median, p90, p99)")
        if values == PERSONS and per != "org":
            raise DisclosureError("values='persons' with per= counts persons per organisation")
        return measure
    if values == PERSONS:
        raise DisclosureError("values='persons' needs per='org'")
    if measure is Measure.REQUESTS and values is not None and aggfunc is None:
        return Measure.SUM
    needs_values = measure not in (Measure.REQUESTS, Measure.VISITORS, Measure.ORGANISATIONS)
    if needs_values and values is None:
        raise DisclosureError(f"aggfunc '{measure.value}' needs values=")
    if not needs_values and values is not None:
        raise DisclosureError(f"aggfunc '{measure.value}' takes no values=")
    return measure


def _names(names: str | Sequence[str] | None) -> list[str]:
    if names is None:
        return []
    return [names] if isinstance(names, str) else list(names)


def _store(store: Store | Path | str | None) -> Store:
    return open_store(store)


def _day(value: dt.date | str | None) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise DisclosureError(f"'{value}' is not a date like 2026-10-01") from None


def rows(
    store: Store,
    table: str,
    dims: Sequence[str],
    *,
    values: str | None = None,
    start: dt.date | str | None = None,
    end: dt.date | str | None = None,
    where: Mapping[str, Any] | None = None,
    tz: str = "UTC",
    versus: Mapping[str, Any] | None = None,
    unit: str | None = None,
) -> pl.DataFrame:
    """The rows a table of ``dims`` reads: dimensions (derived ones computed, ``versus`` applied),
    the measured column, ``_period``, ``_person`` and the unit. Not for release."""
    if table not in TABLES:
        raise DisclosureError(f"unknown table '{table}'; tables: {', '.join(TABLES)}")
    stored = set(TABLES[table].names)
    period, person = PERSON_KEYS[table]
    if values == PERSONS:
        values = None
    if unit is not None and unit not in stored:
        raise DisclosureError(f"table '{table}' has no '{unit}' to count or measure per")
    for name in [*dims, *([values] if values else []), *(where or {})]:
        if name not in stored and _DERIVED_FROM.get(name) not in stored:
            raise DisclosureError(f"table '{table}' has no column '{name}'")
        if name in (period, person) or name in ("visitor", "person"):
            raise DisclosureError(f"'{name}' is a pseudonym and cannot be tabulated")
    # The store is partitioned by UTC day; a local day may reach into its neighbours.
    pad = dt.timedelta(days=1)
    first, last = _day(start), _day(end)
    lazy = store.scan(table, first and first - pad, last and last + pad)
    local = pl.col("ts").dt.convert_time_zone(tz)
    derived = {
        "hour": local.dt.hour(),
        "day": local.dt.date().cast(pl.String),
        "week": local.dt.strftime("%G-W%V"),
        "month": local.dt.strftime("%Y-%m"),
        "weekday": local.dt.weekday(),
        "status_class": (pl.col("status") // 100).cast(pl.String) + "xx",
        "error": (pl.col("status") >= 500).cast(pl.Int64),
    }
    # Only what the query uses, and only from columns the table has (CRM tables have no status).
    used = {*dims, *(where or {})}
    lazy = lazy.with_columns(**{k: v for k, v in derived.items() if k in used and k not in stored})
    if first:
        lazy = lazy.filter(local.dt.date() >= first)
    if last:
        lazy = lazy.filter(local.dt.date() <= last)
    for name, wanted in (where or {}).items():
        if isinstance(wanted, list | tuple | set | frozenset):
            lazy = lazy.filter(pl.col(name).cast(pl.String).is_in([str(w) for w in wanted]))
        else:
            lazy = lazy.filter(pl.col(name).cast(pl.String) == str(wanted))
    picked = [*dims, *([values] if values else [])]
    frame = lazy.select(
        *[
            pl.col(d).cast(pl.String).fill_null("(none)") if d in dims else pl.col(d)
            for d in picked
        ],
        (pl.lit("-") if period == "-" else pl.col(period).cast(pl.String)).alias("_period"),
        pl.col(person).alias("_person"),
        *([pl.col(unit).alias("_unit")] if unit is not None else []),
    ).collect()
    for name, wanted in (versus or {}).items():
        code = str(wanted)
        if code == OTHERS:
            raise DisclosureError(f"versus cannot single out the code '{OTHERS}'")
        frame = frame.with_columns(
            pl.when(pl.col(name) == code).then(pl.lit(code)).otherwise(pl.lit(OTHERS)).alias(name)
        )
    return frame


def _unit(measure: Measure, per: str | None) -> str | None:
    """The stored column counted (organisations) or measured per (``per="org"``), if any."""
    if measure is Measure.ORGANISATIONS or per == "org":
        return "org"
    return None


def _hierarchies(
    given: Mapping[str, Hierarchy | str] | None, frame: pl.DataFrame, dims: list[str]
) -> dict[str, Hierarchy]:
    out: dict[str, Hierarchy] = {}
    for dim, spec in (given or {}).items():
        if dim not in dims:
            raise DisclosureError(f"a hierarchy is given for '{dim}', which is not a dimension")
        if isinstance(spec, Hierarchy):
            out[dim] = spec
        elif spec == "calendar" and dim == "day":
            out[dim] = Hierarchy.calendar(frame["day"].unique().sort().to_list())
        else:
            raise DisclosureError("hierarchies are Hierarchy objects or 'calendar' for 'day'")
    return out


def _ancestors(hierarchy: Hierarchy | None, margins: bool) -> dict[Hashable, list[Hashable]]:
    """For each leaf code, every code it adds up into (subtotals, and the total)."""
    parents: dict[Hashable, set[Hashable]] = {}
    if hierarchy is not None:
        for subtotal, parts in hierarchy.relations:
            for part in parts:
                parents.setdefault(part, set()).add(subtotal)
    closed: dict[Hashable, list[Hashable]] = {}
    for code in parents:
        seen: set[Hashable] = set()
        todo = list(parents[code])
        while todo:
            up = todo.pop()
            if up not in seen:
                seen.add(up)
                todo.extend(parents.get(up, ()))
        closed[code] = sorted(seen, key=str)
    if margins:
        closed = {code: [*ups, TOTAL] for code, ups in closed.items()}
    return closed


def _cells(
    frame: pl.DataFrame,
    dims: list[str],
    measure: Measure,
    margins: bool,
    hierarchies: Mapping[str, Hierarchy],
    cap: int | None,
    per: str | None = None,
    values: str | None = None,
) -> pd.DataFrame:
    """One row per cell (margins and subtotals included) with value, persons, top1, top2."""
    if measure in _QUANTILES or measure is Measure.MEAN:
        rows = _expand(frame, dims, margins, hierarchies)
        if per is not None:
            return _unit_statistics(rows, dims, measure, per, values)
        return _statistics(rows, dims, measure)
    keys = [*dims, "_period", "_person"]
    contribution = (
        pl.len() if measure is not Measure.SUM else pl.col(frame.columns[len(dims)]).sum()
    )
    leaves = frame.group_by(keys).agg(c=contribution.cast(pl.Float64))
    # A person's contribution to a total is the sum of their contributions to its parts.
    per_person = _expand(leaves, dims, margins, hierarchies).group_by(keys).agg(pl.col("c").sum())
    if cap is not None:
        per_person = per_person.with_columns(c=pl.col("c").clip(upper_bound=cap))
    per_period = per_person.group_by([*dims, "_period"]).agg(
        n=pl.len(),
        total=pl.col("c").sum(),
        first=pl.col("c").max(),
        second=pl.when(pl.len() > 1).then(pl.col("c").top_k(2).min()).otherwise(0.0),
    )
    cells = per_period.group_by(dims).agg(
        persons=pl.col("n").max(),
        visits=pl.col("n").sum(),
        value=pl.col("total").sum(),
        top1=pl.col("first").sum(),
        top2=pl.col("second").sum(),
    )
    if measure is Measure.VISITORS:
        # Distinct persons, counted once per key period (exact per period, additive over them).
        cells = cells.with_columns(value=pl.col("visits").cast(pl.Float64))
    if measure is Measure.ORGANISATIONS:
        # Organisation pseudonyms never rotate: distinct over the whole period.
        units = (
            _expand(frame.select(*dims, "_unit"), dims, margins, hierarchies)
            .group_by(dims)
            .agg(orgs=pl.col("_unit").n_unique().cast(pl.Float64))
        )
        cells = cells.join(units, on=dims).with_columns(value=pl.col("orgs")).drop("orgs")
    return cells.drop("visits").to_pandas()


def _expand(
    frame: pl.DataFrame, dims: list[str], margins: bool, hierarchies: Mapping[str, Hierarchy]
) -> pl.DataFrame:
    """Each row, once for its own cell and once for every subtotal and total it adds up into."""
    for dim in dims:
        ups = _ancestors(hierarchies.get(dim), margins)
        codes = frame[dim].unique().to_list()
        pairs = [(c, up) for c in codes for up in ups.get(c, [TOTAL] if margins else [])]
        if not pairs:
            continue
        mapping = pl.DataFrame(pairs, schema={dim: pl.String, "_up": pl.String}, orient="row")
        raised = frame.join(mapping, on=dim).with_columns(pl.col("_up").alias(dim)).drop("_up")
        frame = pl.concat([frame, raised])
    return frame


def _statistics(rows: pl.DataFrame, dims: list[str], measure: Measure) -> pd.DataFrame:
    column = pl.col(rows.columns[len(dims)]).cast(pl.Float64)
    stat = column.mean() if measure is Measure.MEAN else column.quantile(_QUANTILES[measure])
    values = rows.group_by(dims).agg(value=stat)
    persons = (
        rows.group_by([*dims, "_period"])
        .agg(n=pl.col("_person").n_unique())
        .group_by(dims)
        .agg(persons=pl.col("n").max())
    )
    return values.join(persons, on=dims).to_pandas()


def _unit_statistics(
    rows: pl.DataFrame, dims: list[str], measure: Measure, per: str, values: str | None
) -> pd.DataFrame:
    """A mean or quantile over units (organisations or persons) of each cell's per-unit measure."""
    units = ["_unit"] if per == "org" else ["_period", "_person"]
    if values == PERSONS:
        amount = pl.struct("_period", "_person").n_unique()
    elif values is not None:
        amount = pl.col(values).sum()
    else:
        amount = pl.len()
    per_unit = rows.group_by([*dims, *units]).agg(amount=amount.cast(pl.Float64))
    column = pl.col("amount")
    stat = column.mean() if measure is Measure.MEAN else column.quantile(_QUANTILES[measure])
    cells = per_unit.group_by(dims).agg(value=stat)
    persons = (
        rows.group_by([*dims, "_period"])
        .agg(n=pl.col("_person").n_unique())
        .group_by(dims)
        .agg(persons=pl.col("n").max())
    )
    return cells.join(persons, on=dims).to_pandas()


def _jsonable(value: Any) -> Any:
    if isinstance(value, list | tuple | set | frozenset):
        return sorted(str(v) for v in value)
    return str(value)
