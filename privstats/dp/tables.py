"""A DP table: the query's rows bounded, every key noised, the draw stored, the result recorded.

``crosstab(..., method="dp")`` and the report runner's decisions come here (``dp_table``). The
steps, each in its own module:

1. the rows the query selects (``tabulate._engine.read_rows``: filters, time zone, ``versus``);
2. rows outside the table's public key space are dropped (``keys``); with no public key space,
   the keys will be selected with DP;
3. each privacy unit's contributions bounded, cells counted (``bounding``);
4. the draw for this query, mechanism and bounded data: the stored one, else new noise from
   OpenDP, stored (``draws``, ``mechanisms``);
5. post-processing (``postprocess``) and the record the budget and the gate read.

The record's ``protection["dp"]`` says what the budget charges: the unit, the periods, ρ (and δ
of partition selection), the sensitivity, the bounds, the noise scale, the library's version,
the draw and a commitment to its numbers.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import polars as pl

from privstats.config import Config, DPConfig, RuleSet, load_config
from privstats.dp import keys as _keys
from privstats.dp import mechanisms, postprocess
from privstats.dp.bounding import Bounded, Bounds, bound
from privstats.dp.draws import Draw, DrawStore, draw_id
from privstats.exceptions import DisclosureError
from privstats.protect import TOTAL, Hierarchy, Method, ProtectedTable, ProtectionRecord, Status
from privstats.protect.record import checksum, rules_dict
from privstats.store import Store
from privstats.tabulate._engine import ancestors, read_rows
from privstats.tabulate.query import Measure, Query
from privstats.workspace import require_rows

# Units of privacy, by table: what one budget protects.
VISITOR_DAY = "visitor-day"
PERSON = "person"
_SUPPORTED = {
    Measure.VISITORS: "visitors",
    Measure.REQUESTS: "requests",
    Measure.SUM: "sum",
    Measure.ORGANISATIONS: "organisations",
}
_SEPARATOR = "\x1f"


def unit_of(table: str) -> str:
    return VISITOR_DAY if table == "access" else PERSON


def check_query(query: Query, settings: DPConfig) -> None:
    """A ``DisclosureError`` for a query DP mode cannot answer, saying what it can."""
    if query.measure not in _SUPPORTED or query.per is not None:
        raise DisclosureError(
            "DP mode publishes counts (visitors, requests, organisations) and sums; a mean or "
            "a quantile is not one of them (ask for the sum and the count instead)"
        )
    if query.start is None or query.end is None:
        raise DisclosureError(
            "a DP table needs a period (start and end): its budget is charged per day or month"
        )
    if query.measure is Measure.SUM and query.values not in settings.clip:
        raise DisclosureError(
            f"a DP sum of '{query.values}' needs its range: add it under [dp.clip]"
        )


def charged_periods(query: Query) -> list[str]:
    """The budget periods a table of ``query`` is charged to: the UTC days its rows can come
    from (web), or the months of its period (CRM)."""
    assert query.start is not None and query.end is not None
    if query.table == "access":
        # A local day reaches into the UTC days on either side of it.
        pad = dt.timedelta(days=0 if query.tz == "UTC" else 1)
        return _keys.days(query.start - pad, query.end + pad)
    return sorted({d[:7] for d in _keys.days(query.start, query.end)})


def dp_table(
    query: Query,
    store: Store,
    rules: RuleSet | None = None,
    config: Config | None = None,
    *,
    draw: bool = True,
) -> ProtectedTable:
    """``query`` as a DP table (see the module's notes). With ``draw=False`` only a stored draw
    is served (the gate checks, it never draws): none is a ``DisclosureError``."""
    config = config or load_config()
    settings = config.dp
    rules = rules or config.disclosure.rules()
    check_query(query, settings)
    # Noise on an empty period would look like data: a period without rows is an error.
    require_rows(store, [query.table], query.start, query.end)
    dims = list(query.dims)
    frame = read_rows(store, query)
    unit = ["_period", "_person"] if query.table == "access" else ["_person"]
    days_only = frame["_period"].str.contains(r"^\d{4}-\d{2}-\d{2}$").all()
    if query.table == "access" and frame.height and not days_only:
        raise DisclosureError(
            "DP mode on the web charges a budget per visitor-day: it needs visitor "
            'pseudonyms that change every day ([key] rotation = "day")'
        )
    codes = {d: _keys.public_codes(query, d, config) for d in dims}
    public = all(c is not None for c in codes.values())
    for dim, allowed in codes.items():
        if allowed is not None:
            frame = frame.filter(pl.col(dim).is_in(list(allowed)))
    hierarchies: dict[str, Hierarchy] = {}
    for dim, _name in query.hierarchies:
        days = codes.get(dim) or sorted(frame[dim].unique().to_list())
        if days:
            hierarchies[dim] = Hierarchy.calendar(days)
    measure = _SUPPORTED[query.measure]
    # Totals that are sums of their parts are computed from the noisy parts (see postprocess):
    # only the leaves are counted and noised then.
    one_cell = all(d in _keys.one_per_unit(query) for d in dims)
    summed = (
        settings.consistent and public and (query.margins or bool(hierarchies))
        and (measure in ("requests", "sum") or one_cell)
    )  # fmt: skip
    bounds = Bounds(
        max_cells=settings.max_cells,
        per_cell=query.cap or settings.max_per_cell,
        clip=settings.clip.get(query.values or "") if measure == "sum" else None,
    )
    bounded = bound(
        frame, dims=dims, unit=unit, measure=measure, bounds=bounds,
        one_per_unit=_keys.one_per_unit(query), margins=query.margins and not summed,
        hierarchies={} if summed else hierarchies, values=query.values,
    )  # fmt: skip
    ups = [_up_map(codes[d], hierarchies.get(d), query.margins) for d in dims]
    mechanism = {
        **_mechanism(bounded, settings, public),
        "totals": "summed" if summed else "noised",
    }
    ident = draw_id(query.to_dict(), mechanism, bounded.digest)
    draws = DrawStore(store.root)
    stored = draws.get(ident)
    if stored is None:
        if not draw:
            raise DisclosureError(
                "the store no longer gives the data this DP table was drawn from (late logs "
                "or an erasure changed it): run the report again for a new, charged table"
            )
        drawn = [{} for _ in ups] if summed else ups  # summed: the leaves alone
        stored = draws.put(_draw(ident, bounded, mechanism, codes, drawn, dims, public))
    return _protected(query, rules, settings, stored, mechanism, codes, ups, public, summed)


def _mechanism(bounded: Bounded, settings: DPConfig, public: bool) -> dict[str, Any]:
    sens = bounded.sensitivity
    rho = settings.rho_per_table
    scale = mechanisms.gaussian_scale(rho, sens.l2)
    out: dict[str, Any] = {
        "mechanism": "discrete_gaussian" if public else "gaussian_threshold",
        "measure": mechanisms.MEASURE,
        "library": f"{mechanisms.LIBRARY} {mechanisms.LIBRARY_VERSION}",
        "rho": rho,
        "delta": 0.0,
        "scale": scale,
        "threshold": None,
        "sensitivity": sens.to_dict(),
        "bounds": bounded.bounds.to_dict(),
        "keys": "public" if public else "selected",
    }
    if not public:
        threshold = mechanisms.selection_threshold(
            scale, sens.l0, sens.l2, sens.linf, settings.selection_delta
        )
        spent, delta = mechanisms.selection_cost(scale, threshold, sens.l0, sens.l2, sens.linf)
        out.update(threshold=threshold, rho=spent, delta=delta)
    return out


def _all_codes(dim_codes: Sequence[str], hierarchy: Hierarchy | None, margins: bool) -> list[str]:
    aggregates = [str(a) for a in hierarchy.aggregates] if hierarchy is not None else []
    return [*dim_codes, *aggregates, *([TOTAL] if margins else [])]


def _public_keys(
    codes: Mapping[str, Sequence[str] | None], query: Query, hierarchies: dict[str, Hierarchy]
) -> list[tuple[str, ...]]:
    keys: list[tuple[str, ...]] = [()]
    for dim in query.dims:
        listed = codes[dim]
        assert listed is not None
        options = _all_codes(listed, hierarchies.get(dim), query.margins)
        keys = [(*k, c) for k in keys for c in options]
    return keys


def _draw(
    ident: str,
    bounded: Bounded,
    mechanism: dict[str, Any],
    codes: Mapping[str, Sequence[str] | None],
    ups: Sequence[dict[str, list[str]]],
    dims: Sequence[str],
    public: bool,
) -> Draw:
    true = {
        tuple(str(row[d]) for d in dims): int(row["value"])
        for row in bounded.cells.iter_rows(named=True)
    }
    if public:
        every = sorted(_expanded(codes, dims, ups))
        noisy = mechanisms.add_noise(np.array([true.get(k, 0) for k in every], np.int64),
                                     mechanism["scale"])  # fmt: skip
        return Draw.of(ident, list(zip(every, noisy.tolist(), strict=True)), mechanism)
    released = mechanisms.select_and_noise(
        {_SEPARATOR.join(k): v for k, v in true.items()}, mechanism["scale"],
        mechanism["threshold"],
    )  # fmt: skip
    return Draw.of(ident, [(tuple(k.split(_SEPARATOR)), v) for k, v in released.items()],
                   mechanism)  # fmt: skip


def _expanded(
    codes: Mapping[str, Sequence[str] | None],
    dims: Sequence[str],
    ups: Sequence[dict[str, list[str]]],
) -> set[tuple[str, ...]]:
    """Every key of a public table: leaves and every total and subtotal they add into."""
    keys: set[tuple[str, ...]] = {()}
    for d, dim in enumerate(dims):
        listed = codes[dim]
        assert listed is not None
        options = {*listed, *(u for c in listed for u in ups[d].get(c, ()))}
        keys = {(*k, c) for k in keys for c in options}
    return keys


def _protected(
    query: Query,
    rules: RuleSet,
    settings: DPConfig,
    stored: Draw,
    mechanism: dict[str, Any],
    codes: Mapping[str, Sequence[str] | None],
    ups: Sequence[dict[str, list[str]]],
    public: bool,
    summed: bool,
) -> ProtectedTable:
    dims = list(query.dims)
    drawn = stored.values()
    hierarchies = {
        d: Hierarchy.calendar(codes[d] or []) for d, _ in query.hierarchies if codes.get(d)
    }
    if public:
        order = _public_keys(codes, query, hierarchies)
    else:
        order = sorted(drawn, key=lambda k: tuple(_natural(c) for c in k))
    if summed:
        leaves = _leaves(order, ups)
        parts = np.rint(postprocess.non_negative(np.array([drawn.get(k, 0) for k in leaves])))
        values = postprocess.totals_from_parts(parts, postprocess.membership(order, leaves, ups))
    else:
        values = np.rint(postprocess.non_negative(np.array([drawn.get(k, 0) for k in order])))
    low = postprocess.below_threshold(values, settings.release_threshold)
    keep = np.ones(len(order), dtype=bool)
    if query.top is not None:
        ranked = sorted(range(len(order)), key=lambda i: (-values[i], order[i]))
        keep[:] = False
        keep[ranked[: query.top]] = True
    frame = pd.DataFrame(
        {d: pd.Series([k[i] for k in order], dtype=object) for i, d in enumerate(dims)}
    )
    frame["value"] = np.where(low, np.nan, values)
    frame["marker"] = pd.Series(np.where(low, f"<{settings.release_threshold}", ""), dtype=object)
    frame = frame[keep].reset_index(drop=True)
    protection = {
        "dp": {
            **mechanism,
            "unit": unit_of(query.table),
            "periods": charged_periods(query),
            "draw": stored.id,
            "commitment": stored.commitment(),
            "margin_of_error_95": mechanisms.margin_of_error(mechanism["scale"]),
            "post_processing": {
                "totals_from_parts": summed,
                "nonnegative_integers": True,
                "release_threshold": settings.release_threshold,
            },
        }
    }
    record = ProtectionRecord(
        query=query.to_dict(), method=Method.DP, rules=rules_dict(rules),
        protection=protection, status=Status.PASS, cells=(), rule_counts={},
        audit={"passed": True, "method": "dp"}, checksum="",
    )  # fmt: skip
    unsigned = ProtectedTable(
        dims=tuple(dims), shown=frame, status=Status.PASS, record=record, audit=None
    )
    record = dataclasses.replace(record, checksum=checksum(unsigned.to_frame()))
    return ProtectedTable(
        dims=tuple(dims), shown=frame, status=Status.PASS, record=record, audit=None
    )


def _up_map(
    codes: Sequence[str] | None, hierarchy: Hierarchy | None, margins: bool
) -> dict[str, list[str]]:
    """Each public leaf code of a dimension and every code it adds into (none: not public)."""
    if codes is None:
        return {}
    closed = ancestors(hierarchy, margins)
    default = [TOTAL] if margins else []
    return {c: [str(u) for u in closed.get(c, default)] for c in codes}


def _fan(ups: Sequence[dict[str, list[str]]]) -> int:
    fan = 1
    for u in ups:
        fan *= 1 + max((len(v) for v in u.values()), default=0)
    return fan


def _leaves(
    order: Sequence[tuple[str, ...]], ups: Sequence[dict[str, list[str]]]
) -> list[tuple[str, ...]]:
    """The keys made of leaf codes only (no total or subtotal in any dimension)."""
    return [k for k in order if all(code in ups[d] for d, code in enumerate(k))]


def _natural(code: str) -> tuple[int, int, str]:
    return (0, int(code), "") if code.isdigit() else (1, 0, code)
