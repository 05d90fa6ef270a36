"""The tabulation engine: a ``Query`` over the store's rows, to true cells with their contributors.

Private to the package and the reviewer's gate: nothing here is protected. How a cell is
measured, unit by unit:

* the **unit** of a row is the most linked identity the store holds: within one key period, a
  visitor pseudonym that ever carries a person pseudonym (a login mapped with
  ``login = "person"``) is that person, so one person on four addresses is one unit; other
  visitors are their own unit; CRM rows are their person;
* every cell is first reduced to one contribution per unit and key period (a visitor's
  requests, bytes, ...), so that one busy visitor is one contributor, however many rows;
* ``persons`` is a lower bound on the distinct people in the cell whatever the linkage of
  pseudonyms across key periods: the largest single-period count, never the sum;
* ``top1``/``top2`` are upper bounds on the largest two per-person contributions: the sums over
  periods of each period's largest and second largest, as if the same people led every day.
  Over-estimating the leaders makes the dominance and p % rules stricter, never weaker;
* statistics (means, quantiles) carry what the magnitude rules need: a mean's ``magnitude`` is
  the sum it is the mean of, with its leading contributions; a quantile is taken over units
  (each unit's median counts once) and computed as the average of the ``quantile_window``
  units nearest its rank, with ``side`` units below and above that window (see
  ``privstats.protect.rules``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa

from privstats.config import Config, RuleSet, load_config
from privstats.exceptions import DisclosureError
from privstats.protect import TOTAL, Additivity, CellKind, Hierarchy, Table
from privstats.schema import PERSON_KEYS, TABLES
from privstats.store import Store
from privstats.tabulate import backends, traffic
from privstats.tabulate.backends import (
    NETWORK,
    OTHERS,
    PERIOD,
    PERSON,
    ROWS,
    SUM,
    UNIT,
    VALUE,
    Backend,
    Reduction,
)
from privstats.tabulate.query import PERSONS, QUANTILES, Filter, Measure, Query

# Dimensions derived from stored columns (the time stamp, the status, the path, the referer),
# and the stored columns each needs.
DERIVED_NEEDS: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(("hour", "day", "week", "month", "weekday"), ("ts",)),
    "status_class": ("status",), "error": ("status",), "resource": ("path",),
    "channel": ("referer_kind", "referer_domain"), "entry": ("path", "ts", "key_period", "visitor"),
    "response_ms": ("response_us",), "megabytes": ("bytes",),
    "browser_version": ("browser", "browser_major"),
}  # fmt: skip


@dataclass(frozen=True)
class Joined:
    """A dimension read from another table (``source``) through the person, at the same partner
    where both tables name one, as a month of the query's time zone: the month of the person's
    first row there (``first``), else every month they have a row in (a row of ``holders``
    then stands once in each such month, and once with no month if there is none)."""

    source: str
    holders: tuple[str, ...]
    first: bool

    def keys(self, table: str) -> list[str]:
        both = set(TABLES[table].names) & set(TABLES[self.source].names)
        return ["person", *(["partner"] if "partner" in both else [])]


# A person's sign-up month on each of their CRM rows, and on an account every month its person
# was active in: cohorts and retention, the latter in the accounts' own family so that the
# protection of a release sees each cohort's active persons inside its sign-ups.
JOINED: dict[str, Joined] = {
    "signup_month": Joined("crm_accounts", ("crm_activity", "crm_contact_forms"), first=True),
    "active_month": Joined("crm_activity", ("crm_accounts",), first=False),
}
# Derived values to sum or average (the others are dimensions): the stored units, rescaled for
# readers. A power of ten, so every cell is the stored figure's exactly, moved by its decimals.
VALUES = {"response_ms": ("response_us", 1000), "megabytes": ("bytes", 1_000_000)}
DERIVED = tuple(DERIVED_NEEDS)
_DERIVED_TYPES = {
    "hour": pl.Int64, "day": pl.String, "week": pl.String, "month": pl.String,
    "weekday": pl.Int64, "status_class": pl.String, "error": pl.Int64, "resource": pl.String,
    "channel": pl.String, "entry": pl.Boolean, "response_ms": pl.Float64, "megabytes": pl.Float64,
    "browser_version": pl.String, "signup_month": pl.String, "active_month": pl.String,
}  # fmt: skip
# Unknown filter values listed in an error, at most.
_LISTED = 20


@dataclass(frozen=True)
class TrueTable:
    """What ``crosstab`` protects: the query, and every true cell with its contributors
    (``grid`` is None when no row matches). Not for release."""

    query: Query
    grid: Table | None
    # Whether the query's cap clipped anyone's contribution (else the cap changed nothing).
    cap_binds: bool = False
    # For a mean: the same cells holding the sums the means are taken of (an additive table
    # the magnitude rules and linked protection judge).
    sums: Table | None = None


def true_table(
    query: Query, store: Store, rules: RuleSet | None = None, backend: Backend | None = None
) -> TrueTable:
    """The unprotected table behind ``query``, its rows reduced by ``backend`` (by default the
    one ``[engine] backend`` names)."""
    rules = rules or RuleSet()
    frame = contributions(store, query, backend)
    if frame.height == 0:
        return TrueTable(query, None)
    dims = list(query.dims)
    hierarchies = _hierarchies(query, frame)
    cells, cap_binds = _cells(frame, query, hierarchies, rules)
    networks = _networks(frame, query, hierarchies)
    if networks is not None:
        cells = cells.merge(networks.to_pandas(), on=dims, how="left")
    kind = {"count": CellKind.COUNT, "magnitude": CellKind.MAGNITUDE}.get(
        query.kind, CellKind.STATISTIC
    )
    grid = Table.from_frame(
        cells,
        dims,
        kind=kind,
        margins=query.margins,
        hierarchies=hierarchies,
        additivity=Additivity.SUBADDITIVE if kind is CellKind.COUNT else Additivity.EXACT,
        magnitude="magnitude" if "magnitude" in cells.columns else None,
        units="units" if "units" in cells.columns else None,
        side="side" if "side" in cells.columns else None,
        networks="networks" if "networks" in cells.columns else None,
    )
    sums = None
    if query.measure is Measure.MEAN and query.per is None:
        sums = Table.from_frame(
            cells.assign(value=cells["magnitude"]), dims, kind=CellKind.MAGNITUDE,
            margins=query.margins, hierarchies=hierarchies,
        )  # fmt: skip
    return TrueTable(query, grid, cap_binds, sums)


def published(query: Query, grid: Table) -> np.ndarray:
    """The cells a query publishes: every cell, or with ``top`` the ``top`` leaves of largest
    value (ties by code) and the totals above them."""
    mask = np.ones(grid.n, dtype=bool)
    if query.top is None:
        return mask
    leaves = np.flatnonzero(~(grid.keys == TOTAL).to_numpy().any(axis=1))
    values = np.nan_to_num(grid.values)
    codes = grid.keys[grid.dims[0]].astype(str).to_numpy()
    ranked = sorted(leaves, key=lambda c: (-values[c], codes[c]))
    mask[leaves] = False
    mask[ranked[: query.top]] = True
    return mask


def column_type(table: str, name: str) -> pl.DataType:
    """The polars type of a stored or derived column of ``table``."""
    schema = TABLES[table]
    if name in schema.names:
        kind = schema.field(name).type
        if pa.types.is_dictionary(kind):
            return pl.String()
        # pyarrow is untyped: polars cannot tell from_arrow's Series overload from its frame one.
        return pl.from_arrow(pa.array([], type=kind)).dtype  # type: ignore[union-attr]
    return _DERIVED_TYPES[name]()


def default_backend() -> Backend:
    """The backend ``--engine`` or ``[engine] backend`` names."""
    config = load_config()
    return backends.backend(config.backend, config.engine)


def contributions(store: Store, query: Query, backend: Backend | None = None) -> pl.DataFrame:
    """The rows of ``query`` reduced to one line per cell, period and unit (``Reduction``)."""
    return (backend or default_backend()).reduce(store, reduction(store, query))


def reduction(
    store: Store,
    query: Query,
    *,
    dims: Sequence[str] | None = None,
    extra: Sequence[str] = (),
    start: dt.date | None = None,
    end: dt.date | None = None,
    apply_where: bool = True,
) -> Reduction:
    """What a backend reads for ``query``, its columns and filter values checked.

    ``dims``, ``start`` and ``end`` override the query's; ``extra`` names columns the caller
    reads besides (checked too); ``apply_where=False`` leaves the filters to the caller.
    """
    table = query.table
    if table not in TABLES:
        raise DisclosureError(f"unknown table '{table}'; tables: {', '.join(TABLES)}")
    stored = set(TABLES[table].names)
    period, person = PERSON_KEYS[table]
    dims = list(query.dims if dims is None else dims)
    values = query.values if query.values not in (None, PERSONS) else None
    org = query.measure is Measure.ORGANISATIONS or query.per == "org"
    if org and "org" not in stored:
        raise DisclosureError(f"table '{table}' has no 'org' to count or measure per")
    for name in [*dims, *([values] if values else []), *(f.column for f in query.where), *extra]:
        joined = name in JOINED and table in JOINED[name].holders
        if name not in stored and not joined and not set(DERIVED_NEEDS.get(name, ("",))) <= stored:
            raise DisclosureError(f"table '{table}' has no column '{name}'")
        if name in (period, person, "visitor", "person", "ts"):
            raise DisclosureError(
                f"'{name}' is a pseudonym or a time stamp and cannot be tabulated"
            )
    if values is not None and not column_type(table, values).is_numeric():
        raise DisclosureError(f"'{values}' is not a number to sum or average")
    for _name, code in query.versus:
        if code == OTHERS:
            raise DisclosureError(f"versus cannot single out the code '{OTHERS}'")
    statistic = query.kind == "statistic"
    return Reduction(
        table=table,
        dims=tuple(dims),
        first=query.start if start is None else start,
        last=query.end if end is None else end,
        tz=query.tz,
        where=typed_filters(store, table, query.where) if apply_where else (),
        versus=query.versus,
        values=values,
        by_value=statistic and query.per is None and query.measure in QUANTILES,
        require_value=statistic and values is not None,
        org=org,
        network="network" in stored,
        traffic=traffic.Settings.of(load_config()),
    )


def read_rows(
    store: Store,
    query: Query,
    *,
    dims: Sequence[str] | None = None,
    extra: Sequence[str] = (),
    start: dt.date | None = None,
    end: dt.date | None = None,
    apply_where: bool = True,
) -> pl.DataFrame:
    """The rows a query reads, unreduced (DP bounds them unit by unit): its dimensions as text
    (``versus`` applied), the measured column, ``_period``, ``_person`` (the linked unit) and,
    where needed, ``_unit`` (organisation). Arguments as ``reduction``'s; ``extra`` columns
    come as stored or derived, untouched."""
    from privstats.tabulate.backends import polars_backend

    asked = reduction(
        store, query, dims=dims, extra=extra, start=start, end=end, apply_where=apply_where
    )
    return polars_backend.rows(store, asked, extra).drop(VALUE, strict=False).collect()


# Rows held in memory, at most, for tables read again and again (a report's queries, a linked
# set's tables all read the same days): beyond it each query reads the store itself.
CACHED_ROWS = 20_000_000
_cache: dict[tuple[str, ...], pl.DataFrame] = {}


def rows(store: Store, table: str, first: dt.date | None, last: dt.date | None) -> pl.LazyFrame:
    """Every stored row of ``table`` from ``first`` to ``last`` with ``_person``, its linked
    unit: read once and kept while the store's files stay the same (their names change with
    every write), when they hold at most ``CACHED_ROWS`` rows; else scanned lazily."""
    entries = store.entries(table, first, last)
    lazy = store.scan(table, first, last).with_columns(_person=linked_unit(table))
    if sum(int(e.get("rows", CACHED_ROWS)) for e in entries) > CACHED_ROWS:
        return lazy
    key = (str(store.root), table, *sorted(e["path"] for e in entries))
    frame = _cache.pop(key, None)
    if frame is None:
        frame = lazy.collect()
    _cache[key] = frame  # the latest last: the first is the least recently read
    while sum(f.height for f in _cache.values()) > CACHED_ROWS:
        del _cache[next(iter(_cache))]
    return frame.lazy()


def with_joined(
    lazy: pl.LazyFrame, store: Store, table: str, names: set[str], tz: str
) -> pl.LazyFrame:
    """``lazy`` with the joined dimensions (``JOINED``) among ``names`` added."""
    for name, joined in JOINED.items():
        if name not in names or table not in joined.holders:
            continue
        keys = joined.keys(table)
        month = pl.col("ts").dt.convert_time_zone(tz).dt.strftime("%Y-%m")
        rows = store.scan(joined.source)
        if joined.first:
            # An account's ts is its sign-up day; a person without one (erased, not exported)
            # gets no month.
            months = rows.group_by(keys).agg(month.min().alias(name))
        else:
            months = rows.select(*keys, month.alias(name)).unique()
        lazy = lazy.join(months, on=keys, how="left", nulls_equal=True)
    return lazy


def local_time(tz: str) -> pl.Expr:
    return pl.col("ts").dt.convert_time_zone(tz)


def derived_columns(
    tz: str, config: Config | None = None, settings: traffic.Settings | None = None
) -> dict[str, pl.Expr]:
    """The derived dimensions: from the time stamp in ``tz``, the status, and (with the
    configuration's ``[report]`` and ``[anonymise]`` settings, or ``settings``) the path and the
    referer."""
    local = local_time(tz)
    if settings is None:
        settings = traffic.Settings.of(config or load_config())
    return {
        "hour": local.dt.hour().cast(pl.Int64),
        "day": local.dt.date().cast(pl.String),
        "week": local.dt.strftime("%G-W%V"),
        "month": local.dt.strftime("%Y-%m"),
        "weekday": local.dt.weekday().cast(pl.Int64),
        "status_class": (pl.col("status") // 100).cast(pl.String) + "xx",
        "error": (pl.col("status") >= 500).cast(pl.Int64),
        "resource": traffic.resource(settings),
        "channel": traffic.channel(settings),
        "entry": traffic.entry(settings, local.dt.date()),
        "browser_version": pl.concat_str(
            pl.col("browser").cast(pl.String),
            pl.col("browser_major").cast(pl.String).fill_null(""),
            separator=" ",
        ).str.strip_chars(),
        **{name: value_column(name) for name in VALUES},
    }


def value_column(name: str) -> pl.Expr:
    """A stored value, or a derived one (``VALUES``) from its stored column."""
    if name not in VALUES:
        return pl.col(name)
    stored, divisor = VALUES[name]
    return pl.col(stored).cast(pl.Float64) / divisor


def stored_value(name: str) -> pl.Expr:
    """The stored integer column a value (derived or not) comes from."""
    return pl.col(VALUES[name][0] if name in VALUES else name)


def divisor(name: str | None) -> int:
    """What a stored integer of ``name`` is divided by for readers (1: shown as stored)."""
    return VALUES[name][1] if name in VALUES else 1


def scaled(amount: pl.Expr, name: str | None) -> pl.Expr:
    """``amount`` (a count, or a sum of ``name``'s stored integers) as readers see it: a float,
    a derived value moved by its decimals. Sums stay integers until here, so that no order of
    adding (a backend's, a thread's) changes the last digit of a cell."""
    return amount.cast(pl.Float64) / divisor(name)


def linked_unit(table: str) -> pl.Expr:
    """The most linked identity of each row (see the module's notes)."""
    if table == "access":
        linked = pl.col("person").min().over("key_period", "visitor")
        return pl.coalesce(linked, pl.col("visitor"))
    return pl.col(PERSON_KEYS[table][-1])


def typed_filters(store: Store, table: str, filters: Sequence[Filter]) -> tuple[Filter, ...]:
    """``filters`` with their values as the column's type, checked, for a stored column of
    codes, against the codes the store's table holds."""
    typed = []
    for f in filters:
        kind = column_type(table, f.column)
        if f.between is not None:
            low, high = (_typed(f.column, kind, v) for v in f.between)
            typed.append(Filter(f.column, between=(low, high), negate=f.negate))
        else:
            values = tuple(_typed(f.column, kind, v) for v in f.values)
            if kind == pl.String and f.column in TABLES[table].names:
                _check_known(store, table, f.column, values)
            typed.append(Filter(f.column, values, negate=f.negate))
    return tuple(typed)


def filter_conditions(
    filters: Sequence[Filter], resolve: Callable[[str], pl.Expr] = pl.col
) -> list[pl.Expr]:
    """One boolean expression per filter (typed by ``typed_filters``). ``resolve`` gives the
    expression of a column by name (derived ones included)."""
    conditions = []
    for f in filters:
        column = resolve(f.column)
        if f.between is not None:
            # Literals: polars reads a bare string bound as a column's name.
            condition = column.is_between(pl.lit(f.between[0]), pl.lit(f.between[1]))
        else:
            condition = column.is_in(list(f.values))
        if f.negate:
            condition = ~condition | column.is_null()
        conditions.append(condition)
    return conditions


def _typed(column: str, kind: pl.DataType, value: Any) -> Any:
    """``value`` as the column's type; texts from records of the first query version convert."""
    if kind == pl.Boolean:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise DisclosureError(f"where: '{column}' is true or false, not {type(value).__name__}")
    if kind.is_integer():
        if isinstance(value, bool):
            raise DisclosureError(f"where: '{column}' holds whole numbers")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise DisclosureError(f"where: '{column}' holds whole numbers") from None
        if not number.is_integer():
            raise DisclosureError(f"where: '{column}' holds whole numbers")
        return int(number)
    if kind.is_numeric():
        if isinstance(value, bool):
            raise DisclosureError(f"where: '{column}' holds numbers")
        try:
            return float(value)
        except (TypeError, ValueError):
            raise DisclosureError(f"where: '{column}' holds numbers") from None
    if not isinstance(value, str):
        raise DisclosureError(f"where: '{column}' holds codes (texts), not {type(value).__name__}")
    return value


def _check_known(store: Store, table: str, column: str, values: Sequence[str]) -> None:
    """A code neither the store has held nor the configuration names (a CRM vocabulary's
    code without records yet: an empty answer) is a misspelling, never an empty answer."""
    frame = store.scan(table).select(pl.col(column).cast(pl.String).drop_nulls().unique())
    known = set(frame.collect()[column].to_list())
    configured = load_config().crm.vocabularies().closed.get(column, frozenset())
    codes = known | configured
    unknown = [v for v in values if v not in codes]
    if unknown:
        listed = sorted(codes)[:_LISTED]
        more = f" and {len(codes) - _LISTED} more" if len(codes) > _LISTED else ""
        raise DisclosureError(
            f"where: {len(unknown)} of the {len(values)} value(s) asked for are no code of "
            f"'{column}'; its codes are: {', '.join(listed) or 'none'}{more}"
        )


def _hierarchies(query: Query, frame: pl.DataFrame) -> dict[str, Hierarchy]:
    out: dict[str, Hierarchy] = {}
    for dim, _name in query.hierarchies:  # "calendar" for "day": the one named hierarchy
        out[dim] = Hierarchy.calendar(frame[dim].unique().sort().to_list())
    return out


def ancestors(hierarchy: Hierarchy | None, margins: bool) -> dict[Hashable, list[Hashable]]:
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


def expand(
    frame: pl.DataFrame, dims: Sequence[str], margins: bool, hierarchies: Mapping[str, Hierarchy]
) -> pl.DataFrame:
    """Each row, once for its own cell and once for every subtotal and total it adds up into."""
    for dim in dims:
        ups = ancestors(hierarchies.get(dim), margins)
        codes = frame[dim].unique().to_list()
        pairs = [(c, up) for c in codes for up in ups.get(c, [TOTAL] if margins else [])]
        if not pairs:
            continue
        mapping = pl.DataFrame(pairs, schema={dim: pl.String, "_up": pl.String}, orient="row")
        raised = frame.join(mapping, on=dim).with_columns(pl.col("_up").alias(dim)).drop("_up")
        frame = pl.concat([frame, raised])
    return frame


def _cells(
    frame: pl.DataFrame, query: Query, hierarchies: Mapping[str, Hierarchy], rules: RuleSet
) -> tuple[Any, bool]:
    """One row per cell (margins and subtotals included) with value, persons, top1, top2 and,
    for statistics, what their rules need; and whether the cap clipped a contribution."""
    dims = list(query.dims)
    if query.kind == "statistic":
        expanded = expand(frame, dims, query.margins, hierarchies)
        if query.per is not None:
            return _unit_statistics(expanded, query, rules), False
        return _statistics(expanded, query, rules), False
    keys = [*dims, PERIOD, PERSON]
    amount = pl.col(ROWS if query.values is None else SUM).sum()
    leaves = frame.group_by(keys).agg(c=amount)
    # A person's contribution to a total is the sum of their contributions to its parts.
    per_person = (
        expand(leaves, dims, query.margins, hierarchies).group_by(keys).agg(pl.col("c").sum())
    )
    cap = None if query.cap is None else query.cap * divisor(query.values)
    cap_binds = cap is not None and bool((per_person["c"] > cap).any())
    if cap is not None:
        per_person = per_person.with_columns(c=pl.col("c").clip(upper_bound=cap))
    cells = _leaders(per_person, dims, name=query.values)
    if query.measure is Measure.VISITORS:
        # Distinct persons, counted once per key period (exact per period, additive over them).
        cells = cells.with_columns(value=pl.col("visits").cast(pl.Float64))
    if query.measure is Measure.ORGANISATIONS:
        # Organisation pseudonyms never rotate: distinct over the whole period.
        units = (
            expand(frame.select(*dims, UNIT), dims, query.margins, hierarchies)
            .group_by(dims)
            .agg(orgs=pl.col(UNIT).n_unique().cast(pl.Float64))
        )
        cells = cells.join(units, on=dims).with_columns(value=pl.col("orgs")).drop("orgs")
    return cells.drop("visits").to_pandas(), cap_binds


def _networks(
    frame: pl.DataFrame, query: Query, hierarchies: Mapping[str, Hierarchy]
) -> pl.DataFrame | None:
    """Per cell, the distinct client networks of its busiest key period: nine fake visitors
    from one network do not make nine people. None where the store keeps no networks."""
    if NETWORK not in frame.columns or frame[NETWORK].null_count() == frame.height:
        return None
    dims = list(query.dims)
    lines = expand(frame.select(*dims, PERIOD, NETWORK), dims, query.margins, hierarchies)
    return (
        lines.group_by([*dims, PERIOD])
        .agg(n=pl.col(NETWORK).drop_nulls().n_unique())
        .group_by(dims)
        .agg(networks=pl.col("n").max().cast(pl.Float64))
    )


def _leaders(
    per_person: pl.DataFrame, dims: list[str], column: str = "c", name: str | None = None
) -> pl.DataFrame:
    """Per cell: the sum of contributions, persons (largest single-period count), and upper
    bounds of the two largest contributions; integer contributions of ``name`` (a value)
    added as integers and only then shown as readers see them."""
    c = pl.col(column)
    per_period = per_person.group_by([*dims, PERIOD]).agg(
        n=pl.len(),
        total=c.sum(),
        first=c.max(),
        second=pl.when(pl.len() > 1).then(c.top_k(2).min()).otherwise(0),
    )
    return per_period.group_by(dims).agg(
        persons=pl.col("n").max(),
        visits=pl.col("n").sum(),
        value=scaled(pl.col("total").sum(), name),
        top1=scaled(pl.col("first").sum(), name),
        top2=scaled(pl.col("second").sum(), name),
    )


def _window(values: pl.Expr, q: float, window: int) -> tuple[pl.Expr, pl.Expr]:
    """The average of the ``window`` sorted values nearest rank ``q (n - 1)``, and how many
    values lie outside that window on its thinner side (negative: too few values)."""
    n = values.list.len()
    centre = (pl.lit(q) * (n - 1).cast(pl.Float64)).round(0).cast(pl.Int64)
    first = pl.min_horizontal(pl.max_horizontal(centre - window // 2, pl.lit(0)), n - window)
    first = pl.max_horizontal(first, pl.lit(0))
    mean = values.list.slice(first, window).list.mean()
    side = pl.min_horizontal(first, n - first - window)
    return mean, side


def _quantile_cells(per_unit: pl.DataFrame, dims: list[str], q: float, window: int) -> pl.DataFrame:
    # A unit without the measure (a log format without response times) has no value to rank.
    grouped = per_unit.group_by(dims).agg(v=pl.col("amount").drop_nulls().drop_nans().sort())
    mean, side = _window(pl.col("v"), q, window)
    return grouped.select(*dims, value=mean, side=side.cast(pl.Float64))


def _persons(lines: pl.DataFrame, dims: list[str]) -> pl.DataFrame:
    return (
        lines.group_by([*dims, PERIOD])
        .agg(n=pl.col(PERSON).n_unique())
        .group_by(dims)
        .agg(persons=pl.col("n").max())
    )


def _statistics(lines: pl.DataFrame, query: Query, rules: RuleSet) -> Any:
    """A mean over rows (with the sum it comes from), or a quantile over units."""
    dims = list(query.dims)
    assert query.values is not None
    keys = [*dims, PERIOD, PERSON]
    if query.measure is Measure.MEAN:
        per_person = lines.group_by(keys).agg(c=pl.col(SUM).sum(), rows=pl.col(ROWS).sum())
        leaders = _leaders(per_person, dims, name=query.values)
        count = per_person.group_by(dims).agg(rows=pl.col("rows").sum())
        cells = leaders.join(count, on=dims).with_columns(
            magnitude=pl.col("value"), value=pl.col("value") / pl.col("rows")
        )
        return cells.drop("visits", "rows").to_pandas()
    # Each unit's median counts once: a visitor with 5,000 requests weighs as much as anyone.
    # Every row's value, as readers see it, from each distinct value and its count.
    value = scaled(pl.col(VALUE), query.values).repeat_by(pl.col(ROWS)).explode()
    per_unit = lines.group_by(keys).agg(amount=value.median())
    cells = _quantile_cells(per_unit, dims, QUANTILES[query.measure], rules.quantile_window)
    return cells.join(_persons(lines, dims), on=dims).to_pandas()


def _unit_statistics(lines: pl.DataFrame, query: Query, rules: RuleSet) -> Any:
    """A mean or quantile over units (organisations or persons) of each cell's per-unit amount."""
    dims = list(query.dims)
    units = [UNIT] if query.per == "org" else [PERIOD, PERSON]
    name = query.values if query.values != PERSONS else None
    if query.values == PERSONS:
        amount = pl.struct(PERIOD, PERSON).n_unique().cast(pl.Int64)
    elif query.values is not None:
        amount = pl.col(SUM).sum()
    else:
        amount = pl.col(ROWS).sum()
    per_unit = lines.group_by([*dims, *units]).agg(amount=amount)
    counted = per_unit.group_by(dims).agg(units=pl.len().cast(pl.Float64))
    if query.measure is Measure.MEAN:
        # The mean of the units' amounts is their sum over their number: the sum's rules apply,
        # with each unit as one contributor.
        leaders = per_unit.with_columns(pl.lit("-").alias(PERIOD), pl.lit(0).alias(PERSON))
        cells = _leaders(leaders, dims, "amount", name).join(counted, on=dims)
        cells = cells.with_columns(
            magnitude=pl.col("value"), value=pl.col("value") / pl.col("units")
        ).drop("visits", "persons")
    else:
        per_unit = per_unit.with_columns(amount=scaled(pl.col("amount"), name))
        cells = _quantile_cells(per_unit, dims, QUANTILES[query.measure], rules.quantile_window)
        cells = cells.join(counted, on=dims)
    return cells.join(_persons(lines, dims), on=dims).to_pandas()
