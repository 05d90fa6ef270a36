"""A reduction as one SQL query, for the backends that speak SQL (DuckDB, Spark).

The query says what ``polars_backend`` says in Polars expressions, step by step: the rows with
their linked unit and local time, the joined dimensions, the derived columns (before the
filters: an entry page is the first of the visitor's day, whatever the query keeps of that
day), the filters, then one line per cell, period and unit. What the dialects spell apart (a
time zone, a date's format, a regular expression, a parameter) is a ``Dialect``'s; the rest is
written once. Every value is bound as a parameter, never spliced into the text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import polars as pl

from privstats.schema import PERSON_KEYS, TABLES
from privstats.tabulate import _engine, traffic
from privstats.tabulate.backends import (
    NETWORK,
    NONE_CODE,
    OTHERS,
    PERIOD,
    PERSON,
    ROWS,
    SUM,
    UNIT,
    VALUE,
    Reduction,
)
from privstats.tabulate.query import Filter


class Parameters:
    """Values bound to the query, named ``p0``, ``p1``, ... behind the dialect's marker."""

    def __init__(self, marker: str) -> None:
        self.marker = marker
        self.values: dict[str, Any] = {}

    def __call__(self, value: Any) -> str:
        name = f"p{len(self.values)}"
        self.values[name] = value
        return f"{self.marker}{name}"

    def used(self, sql: str) -> dict[str, Any]:
        """The values ``sql`` names: only the derived columns a query uses are in it."""
        named = set(re.findall(re.escape(self.marker) + r"(p\d+)\b", sql))
        return {k: v for k, v in self.values.items() if k in named}


@dataclass(frozen=True)
class Dialect:
    """How one engine spells what the query needs. Templates take ``{t}`` (a time stamp),
    ``{tz}`` (the bound time zone), ``{x}`` (a text) or ``{pattern}``."""

    quote: str  # around a column's name
    marker: str  # before a parameter's name
    text: str  # the type of text
    local: str  # a UTC time stamp {t} as the wall clock of {tz}
    date_format: Callable[[str], str]  # strftime's format as the dialect's
    week: str  # ISO year and week, "2026-W05", of {t}
    weekday: str  # 1 = Monday ... 7 = Sunday, of {t}
    matches: str  # whether {x} matches {pattern}
    pattern: Callable[[str], str]  # a Rust (Polars) regular expression as the dialect's
    trim: str  # {x} without white space at either end, as Polars' strip_chars
    same: str  # equality that holds between two nulls

    def name(self, column: str) -> str:
        return self.quote + column.replace(self.quote, self.quote * 2) + self.quote

    def format(self, t: str, spec: str) -> str:
        return self.date_format(spec).format(t=t)


def _derived(r: Reduction, d: Dialect, p: Parameters) -> dict[str, str]:
    """SQL of every derived column (``_engine.derived_columns``) over ``_local``."""
    resource = "CASE WHEN path IS NULL THEN 'page'"
    for pattern, kind in r.traffic.resource_rules():
        match = d.matches.format(x="path", pattern=p(d.pattern(pattern)))
        resource += f" WHEN {match} THEN '{kind}'"
    resource += " ELSE 'page' END"

    def among(codes: tuple[str, ...] | list[str], x: str) -> str:
        return f"{x} IN ({', '.join(p(c) for c in codes)})" if codes else "FALSE"

    label = "split_part(referer_domain, '.', 1)"
    channel = (
        f"CASE WHEN referer_kind = 'none' THEN '{traffic.DIRECT}'"
        f" WHEN referer_kind = 'internal' OR {among(r.traffic.site_domains, 'referer_domain')}"
        f" THEN '{traffic.INTERNAL}'"
        f" WHEN referer_domain IS NULL THEN '{traffic.UNKNOWN}'"
        f" WHEN {among(traffic.SEARCH_LABELS, label)} THEN '{traffic.SEARCH}'"
        f" WHEN {among(traffic.SOCIAL_LABELS, label)} THEN '{traffic.SOCIAL}'"
        f" ELSE '{traffic.REFERRAL}' END"
    )
    page = f"({resource}) = 'page'"
    first_page = (
        f"min(CASE WHEN {page} THEN ts END)"
        " OVER (PARTITION BY key_period, visitor, CAST(_local AS DATE))"
    )
    # Polars divides a column by a constant as a product with its reciprocal (1001 / 1000 is
    # 1.0010000000000001 there): the same product gives the same doubles, filters and codes.
    values = {
        name: f"CAST({stored} AS DOUBLE) * {p(1 / divisor)}"
        for name, (stored, divisor) in _engine.VALUES.items()
    }
    version = f"browser || ' ' || coalesce(CAST(browser_major AS {d.text}), '')"
    return {
        "hour": "CAST(hour(_local) AS BIGINT)",
        "day": d.format("_local", "%Y-%m-%d"),
        "week": d.week.format(t="_local"),
        "month": d.format("_local", "%Y-%m"),
        "weekday": d.weekday.format(t="_local"),
        # Floor division, as Polars' //, written the same way in both dialects.
        "status_class": f"CAST(CAST(floor(status / 100) AS BIGINT) AS {d.text}) || 'xx'",
        "error": "CAST(status >= 500 AS BIGINT)",
        "resource": resource,
        "channel": channel,
        "entry": f"{page} AND ts = {first_page}",
        "browser_version": d.trim.format(x=version),
        **values,
    }


def _condition(f: Filter, d: Dialect, p: Parameters) -> str:
    column = d.name(f.column)
    if f.between is not None:
        condition = f"{column} BETWEEN {p(f.between[0])} AND {p(f.between[1])}"
    else:
        condition = f"{column} IN ({', '.join(p(v) for v in f.values)})"
    return f"(NOT ({condition}) OR {column} IS NULL)" if f.negate else condition


def floats(r: Reduction) -> list[str]:
    """The dimensions holding doubles (derived values): an engine writes a double unlike
    Polars (Java: ``5.12E-4``, not ``0.000512``), so they leave the query as numbers and Polars
    writes them (one double, one text: grouping by either is the same)."""
    versus = dict(r.versus)
    return [d for d in r.dims if d not in versus and _engine.column_type(r.table, d).is_float()]


def _float_versus(column: str, code: str, r: Reduction, p: Parameters) -> str:
    """``versus`` on a double dimension without writing its doubles: the code is the text of
    one double, or of none (a code Polars would not write, like ``1.50``)."""
    matches = [f"{column} IS NULL"] if code == NONE_CODE else []
    try:
        number: float | None = float(code)
    except ValueError:
        number = None
    if number is not None and pl.Series([number]).cast(pl.String)[0] == code:
        matches.append(f"{column} = {p(number)}")
    single = " OR ".join(matches) or "FALSE"
    return f"CASE WHEN {single} THEN {p(code)} ELSE {p(OTHERS)} END"


def joined_sources(r: Reduction) -> list[str]:
    """The tables the reduction's joined dimensions read."""
    used = {*r.dims, *(f.column for f in r.where), *([r.values] if r.values else [])}
    return sorted(
        {j.source for name, j in _engine.JOINED.items() if name in used and r.table in j.holders}
    )


def query(
    r: Reduction, d: Dialect, rows: str, sources: Mapping[str, str | None]
) -> tuple[str, dict[str, Any]]:
    """The reduction's SQL and its parameters. ``rows`` is what the table's files are read
    as; ``sources`` the same for each table a joined dimension reads (None: it has no file)."""
    p = Parameters(d.marker)
    stored = set(TABLES[r.table].names)
    period, _ = PERSON_KEYS[r.table]
    used = {*r.dims, *(f.column for f in r.where), *([r.values] if r.values else [])}
    stored_value = _engine.VALUES[r.values][0] if r.values in _engine.VALUES else r.values
    value = d.name(stored_value) if stored_value else None
    local = d.local.format(t="s.ts", tz=p(r.tz))
    if r.table == "access":
        # A visitor seen logged in is that person for the whole key period: one aggregate of
        # the logged-in rows, joined back (cheaper than a window over every row).
        logins = f"SELECT key_period, visitor, min(person) AS _login FROM {rows}"
        logins += " WHERE person IS NOT NULL GROUP BY key_period, visitor"
        steps = [
            f"src AS (SELECT s.*, coalesce(l._login, s.visitor) AS {PERSON}, {local} AS _local"
            f" FROM {rows} s LEFT JOIN ({logins}) l"
            " ON s.key_period = l.key_period AND s.visitor = l.visitor)"
        ]
    else:
        person = d.name(PERSON_KEYS[r.table][-1])
        steps = [f"src AS (SELECT s.*, {person} AS {PERSON}, {local} AS _local FROM {rows} s)"]
    source = "src"
    for name, joined in _engine.JOINED.items():
        if name not in used or r.table not in joined.holders:
            continue
        keys = joined.keys(r.table)
        month = d.format(d.local.format(t="ts", tz=p(r.tz)), "%Y-%m")
        view = sources.get(joined.source)
        if view is None:
            # No file of the source table: no row to join, as Polars' empty scan.
            typed = ", ".join(
                f"CAST(NULL AS {'BIGINT' if k == 'person' else d.text}) AS {d.name(k)}"
                for k in keys
            )
            months = f"SELECT {typed}, CAST(NULL AS {d.text}) AS {d.name(name)} WHERE FALSE"
        elif joined.first:
            months = f"SELECT {', '.join(keys)}, min({month}) AS {d.name(name)} FROM {view}"
            months += f" GROUP BY {', '.join(keys)}"
        else:
            months = f"SELECT DISTINCT {', '.join(keys)}, {month} AS {d.name(name)} FROM {view}"
        on = " AND ".join(f"{source}.{d.name(k)} {d.same} m.{d.name(k)}" for k in keys)
        steps.append(
            f"j_{name} AS (SELECT {source}.*, m.{d.name(name)} FROM {source}"
            f" LEFT JOIN ({months}) m ON {on})"
        )
        source = f"j_{name}"
    derived = {k: v for k, v in _derived(r, d, p).items() if k in used and k not in stored}
    columns = "".join(f", {sql} AS {d.name(name)}" for name, sql in derived.items())
    steps.append(f"derived AS (SELECT *{columns} FROM {source})")
    where = [f"CAST(_local AS DATE) >= {p(r.first)}"] if r.first else []
    where += [f"CAST(_local AS DATE) <= {p(r.last)}"] if r.last else []
    where += [_condition(f, d, p) for f in r.where]
    where += [f"{value} IS NOT NULL"] if value and r.require_value else []
    versus = dict(r.versus)
    kept_as_numbers = floats(r)
    dims = []
    for dim in r.dims:
        code = f"coalesce(CAST({d.name(dim)} AS {d.text}), {p(NONE_CODE)})"
        if dim in kept_as_numbers:
            code = d.name(dim)
        elif dim in versus and _engine.column_type(r.table, dim).is_float():
            code = _float_versus(d.name(dim), versus[dim], r, p)
        elif dim in versus:
            code = f"CASE WHEN {code} = {p(versus[dim])} THEN {p(versus[dim])}"
            code += f" ELSE {p(OTHERS)} END"
        dims.append(f"{code} AS {d.name(dim)}")
    keys = [
        *dims,
        f"{p('-')} AS {PERIOD}" if period == "-" else f"CAST({period} AS {d.text}) AS {PERIOD}",
        PERSON,
        *([f"org AS {UNIT}"] if r.org else []),
        *([f"CAST(network AS {d.text}) AS {NETWORK}"] if r.network else []),
        *([f"CAST({value} AS BIGINT) AS {VALUE}"] if value and r.by_value else []),
    ]
    aggregates = [f"count(*) AS {ROWS}"]
    if value and not r.by_value:
        aggregates.append(f"CAST(coalesce(sum({value}), 0) AS BIGINT) AS {SUM}")
    sql = (
        f"WITH {', '.join(steps)} SELECT {', '.join([*keys, *aggregates])} FROM derived"
        + (f" WHERE {' AND '.join(where)}" if where else "")
        + " GROUP BY ALL"
    )
    return sql, p.used(sql)


def empty(r: Reduction) -> pl.DataFrame:
    """No line, with the columns and types the engine expects."""
    schema: dict[str, pl.DataType] = {d: pl.String() for d in r.dims}
    schema |= {PERIOD: pl.String(), PERSON: pl.Int64()}
    schema |= {UNIT: pl.Int64()} if r.org else {}
    schema |= {NETWORK: pl.String()} if r.network else {}
    schema |= {VALUE: pl.Int64()} if r.by_value else {}
    schema |= {ROWS: pl.Int64()}
    schema |= {SUM: pl.Int64()} if r.values and not r.by_value else {}
    return pl.DataFrame(schema=schema)


def lines(r: Reduction, frame: pl.DataFrame) -> pl.DataFrame:
    """An engine's result as the engine's lines: doubles written as Polars writes them, the
    columns in order and type."""
    frame = frame.with_columns(pl.col(d).cast(pl.String).fill_null(NONE_CODE) for d in floats(r))
    return frame.select(pl.col(name).cast(kind) for name, kind in empty(r).schema.items())
