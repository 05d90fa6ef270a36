"""The analyst's API: ``crosstab`` and ``pivot_table`` over the store, protected on the way out.

They take pandas' arguments (as ACRO's do), but name columns of a store table instead of
passing arrays, and return a ``ProtectedTable``: what may be shown, and its record. Each call
builds a typed :class:`Query`, which the record keeps and the reviewer's gate replays; the true
cells exist only inside the engine (``privstats.tabulate._engine``) and the protection engine.
How a cell counts persons and measures statistics is told in the engine's notes.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, overload

import numpy as np
import pandas as pd

from privstats.config import RuleSet, load_config
from privstats.exceptions import DisclosureError
from privstats.frames import TableSet
from privstats.protect import TOTAL, Method, ProtectedTable, ProtectionRecord, Status, protect
from privstats.protect.record import checksum
from privstats.solvers import quiet_highs
from privstats.store import Store
from privstats.tabulate import _engine, decisions
from privstats.tabulate.backends import OTHERS
from privstats.tabulate.query import PERSONS, Between, Measure, Not, Query
from privstats.workspace import open_store, require_rows, store_partners

__all__ = [
    "OTHERS",
    "PERSONS",
    "Between",
    "Measure",
    "Not",
    "Query",
    "crosstab",
    "partners",
    "pivot_table",
]


# A list or tuple of measures gives one table per measure; anything else, one table.
@overload
def crosstab(
    index: str | Sequence[str],
    columns: str | Sequence[str] | None = None,
    values: str | None = None,
    aggfunc: str | Measure | None = None,
    margins: bool = ...,
    *,
    store: Store | Path | str | None = ...,
    table: str = ...,
    start: dt.date | str | None = ...,
    end: dt.date | str | None = ...,
    where: Mapping[str, Any] | None = ...,
    rules: RuleSet | None = ...,
    method: Method | str = ...,
    hierarchies: Mapping[str, str] | None = ...,
    cap: int | None = ...,
    tz: str = ...,
    versus: Mapping[str, Any] | None = ...,
    per: str | None = ...,
    top: int | None = ...,
) -> ProtectedTable: ...
@overload
def crosstab(
    index: str | Sequence[str],
    columns: str | Sequence[str] | None = None,
    values: str | None = None,
    aggfunc: list[str | Measure] | tuple[str | Measure, ...] = ...,
    margins: bool = ...,
    *,
    store: Store | Path | str | None = ...,
    table: str = ...,
    start: dt.date | str | None = ...,
    end: dt.date | str | None = ...,
    where: Mapping[str, Any] | None = ...,
    rules: RuleSet | None = ...,
    method: Method | str = ...,
    hierarchies: Mapping[str, str] | None = ...,
    cap: int | None = ...,
    tz: str = ...,
    versus: Mapping[str, Any] | None = ...,
    per: str | None = ...,
    top: int | None = ...,
) -> TableSet: ...
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
    hierarchies: Mapping[str, str] | None = None,
    cap: int | None = None,
    tz: str = "UTC",
    versus: Mapping[str, Any] | None = None,
    per: str | None = None,
    top: int | None = None,
) -> ProtectedTable | TableSet:
    """A protected cross-tabulation of ``table``, shaped like ``pandas.crosstab``.

    ``index``/``columns`` name columns of the table or derived ones (hour, day, week, month,
    weekday, status_class, error). Without ``values`` cells count requests (rows);
    ``aggfunc="visitors"`` counts distinct persons, ``"organisations"`` distinct organisations
    (CRM tables); with ``values`` (e.g. ``"bytes"``, ``"response_us"``) ``aggfunc`` is sum,
    mean, median, p90 or p99. ``where`` keeps rows by typed values (see :class:`Query`:
    values, lists, ``range``, :class:`Between`, :class:`Not`). ``hierarchies`` adds subtotals,
    ``{"day": "calendar"}`` for days within ISO weeks and months; ``cap`` counts each person at
    most that much in a cell before aggregation.

    ``versus={"partner": "acme"}`` compares one group with the rest: the dimension ``partner``
    keeps the code ``acme`` and every other value becomes ``OTHERS``; with ``margins=True`` its
    total is the whole service, protected in the same table.

    ``per="org"`` (or ``"person"``) with a mean or quantile measures units first and then
    takes the statistic over the units of each cell: ``per="org", values=PERSONS,
    aggfunc="median"`` is the median number of active persons per organisation.

    ``method="dp"`` adds noise from OpenDP to every count or sum instead of hiding cells (see
    ``privstats.dp``): each person's contribution is bounded, keys come from a public key space
    or DP partition selection, and a release is charged to the privacy budget.

    ``top=10`` publishes only the ten largest cells of a one-dimensional table; the rest is
    not published at all (and, being the public total minus those ten, is protected too).

    A list ``aggfunc`` (``["visitors", "requests"]``) gives one protected table per measure,
    side by side in ``pivot()`` (a ``privstats.frames.TableSet``).
    """
    if isinstance(aggfunc, list | tuple):
        arguments = {name: value for name, value in locals().items() if name != "aggfunc"}
        return TableSet({str(one): crosstab(aggfunc=one, **arguments) for one in aggfunc})
    quiet_highs()  # before the protection engine's first model: no banner in a notebook's cell
    query = Query.build(
        index, columns, values, aggfunc, margins, table=table, start=start, end=end,
        where=where, hierarchies=hierarchies, cap=cap, tz=tz, versus=versus, per=per, top=top,
    )  # fmt: skip
    rules = rules or load_config().disclosure.rules()
    # In a report run the runner decides every table over the whole linked set (decisions).
    mode, _ = decisions.current()
    planned = decisions.Planned(query, rules, Method(method))
    if mode is decisions.Mode.FINAL:
        return decisions.decided(planned)
    found = _store(store)
    protected = protect_alone(query, found, rules, method)
    if not len(protected.shown):
        # No row matched: an empty period is missing data (an error); filters that match
        # nothing in a period with data are an answer.
        require_rows(found, [query.table], query.start, query.end)
    if mode is decisions.Mode.PLAN:
        decisions.record(planned)
    return protected


def protect_alone(
    query: Query, store: Store, rules: RuleSet, method: Method | str = Method.SUPPRESS
) -> ProtectedTable:
    """``query`` protected as a table of its own. A sum or count table without margins is
    protected as if its grand total were public (another table shows it, or anyone adds the
    cells up): a hidden cell must not be the total minus the shown ones.

    ``method="dp"`` publishes every cell with noise instead (``privstats.dp``): nothing is
    hidden, and the table is charged to the privacy budget when it is released."""
    if Method(method) is Method.DP:
        from privstats.dp.tables import dp_table

        return dp_table(query, store, rules)
    public_total = query.kind != "statistic" and not query.margins and method != Method.ROUND
    asked = dataclasses.replace(query, margins=True, top=None) if public_total else query
    truth = _engine.true_table(asked, store, rules)
    if truth.grid is None:
        return _empty(query, rules, method)
    known: np.ndarray | None = None
    unpublished = ~_engine.published(query, truth.grid)
    if public_total:
        margin = (truth.grid.keys == TOTAL).to_numpy()
        # np.all, not margin.all: numpy's stubs type the method's result as a scalar or an array
        known = np.all(margin, axis=1)
        unpublished |= margin.any(axis=1) & ~known
    return protect(
        truth.grid, rules, method=method, query=query.to_dict(), known=known,
        unpublished=unpublished,
    )  # fmt: skip


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


def partners(store: Store | Path | str | None = None) -> list[str]:
    """The partner keys of the store's CRM accounts, sorted (for one report per partner).

    Partners are businesses that receive reports, not persons: their keys may be listed.
    """
    return store_partners(_store(store))


def _store(store: Store | Path | str | None) -> Store:
    return open_store(store)


def _empty(query: Query, rules: RuleSet, method: Method | str) -> ProtectedTable:
    """A table with no cells: nothing in the period and filters (no rows, nothing to hide)."""
    dims = list(query.dims)
    shown = pd.DataFrame({**{d: pd.Series(dtype=object) for d in dims}, "value": [], "marker": []})
    shown["marker"] = shown["marker"].astype(object)
    record = ProtectionRecord(
        query=query.to_dict(),
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
