"""The out-of-core backend: one DuckDB query per table over the store's Parquet files.

DuckDB spills to disk when a period's rows do not fit in memory, so a store larger than memory
still tabulates on one machine. The SQL below says what ``polars_backend`` says in Polars
expressions; ``tests/tabulate/test_backends.py`` holds the two to identical reductions. Nothing
is loaded from outside: extensions are neither installed nor loaded on demand (ICU, for time
zones, and Parquet are built into DuckDB's wheel), and spilled data goes to the temporary
folder, never beside the caller.
"""

from __future__ import annotations

import datetime as dt
import re
import tempfile
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from privstats.schema import PERSON_KEYS, TABLES
from privstats.store import Store
from privstats.tabulate import _engine, traffic
from privstats.tabulate.backends import (
    NETWORK,
    PERIOD,
    PERSON,
    ROWS,
    SUM,
    UNIT,
    VALUE,
    Reduction,
)
from privstats.tabulate.query import Filter

_PAD = dt.timedelta(days=1)
_SETTINGS: dict[str, str | bool | int | float | list[str]] = {
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
}


def _name(column: str) -> str:
    return '"' + column.replace('"', '""') + '"'


class _Parameters:
    """Values bound to the query (``$p0``, ``$p1``, ...): no value is ever spliced into SQL."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def __call__(self, value: Any) -> str:
        name = f"p{len(self.values)}"
        self.values[name] = value
        return f"${name}"


def _derived(r: Reduction, p: _Parameters) -> dict[str, str]:
    """SQL of every derived column (``_engine.derived_columns``), over ``_local``, the time
    stamp as the wall clock of ``r.tz``."""
    resource = "CASE WHEN path IS NULL THEN 'page'"
    for pattern, kind in r.traffic.resource_rules():
        resource += f" WHEN regexp_matches(path, {p(pattern)}) THEN '{kind}'"
    resource += " ELSE 'page' END"
    sites = r.traffic.site_domains
    own = f"referer_domain IN (SELECT unnest({p(list(sites))}))" if sites else "FALSE"
    label = "split_part(referer_domain, '.', 1)"
    channel = (
        f"CASE WHEN referer_kind = 'none' THEN '{traffic.DIRECT}'"
        f" WHEN referer_kind = 'internal' OR {own} THEN '{traffic.INTERNAL}'"
        f" WHEN referer_domain IS NULL THEN '{traffic.UNKNOWN}'"
        f" WHEN list_contains({p(list(traffic.SEARCH_LABELS))}, {label}) THEN '{traffic.SEARCH}'"
        f" WHEN list_contains({p(list(traffic.SOCIAL_LABELS))}, {label}) THEN '{traffic.SOCIAL}'"
        f" ELSE '{traffic.REFERRAL}' END"
    )
    page = f"({resource}) = 'page'"
    first_page = f"min(ts) FILTER (WHERE {page})"
    first_page += " OVER (PARTITION BY key_period, visitor, CAST(_local AS DATE))"
    # Times the reciprocal, as polars computes a division by a constant: the same last digit.
    values = {
        name: f"CAST({stored} AS DOUBLE) * {p(1 / divisor)}"
        for name, (stored, divisor) in _engine.VALUES.items()
    }
    return {
        "hour": "CAST(hour(_local) AS BIGINT)",
        "day": "strftime(_local, '%Y-%m-%d')",
        "week": "strftime(_local, '%G-W%V')",
        "month": "strftime(_local, '%Y-%m')",
        "weekday": "CAST(isodow(_local) AS BIGINT)",
        "status_class": "CAST(status // 100 AS VARCHAR) || 'xx'",
        "error": "CAST(status >= 500 AS BIGINT)",
        "resource": resource,
        "channel": channel,
        "entry": f"{page} AND ts = {first_page}",
        "browser_version": "trim(browser || ' ' || coalesce(CAST(browser_major AS VARCHAR), ''))",
        **values,
    }


def _condition(f: Filter, p: _Parameters) -> str:
    column = _name(f.column)
    if f.between is not None:
        condition = f"{column} BETWEEN {p(f.between[0])} AND {p(f.between[1])}"
    else:
        condition = f"{column} IN ({', '.join(p(v) for v in f.values)})"
    return f"(NOT ({condition}) OR {column} IS NULL)" if f.negate else condition


def _scan(paths: list[Path]) -> str:
    # Store paths are the store's own fresh names (no input text), quoted all the same. The
    # folders' "day=" are the UTC days the files hold, not a column: a local day is derived.
    files = ", ".join("'" + str(f).replace("'", "''") + "'" for f in paths)
    return f"read_parquet([{files}], union_by_name = true, hive_partitioning = false)"


def _sql(
    r: Reduction, files: list[Path], sources: dict[str, list[Path]]
) -> tuple[str, dict[str, Any]]:
    """The reduction's query; ``sources`` lists the files of the tables joined dimensions
    read."""
    p = _Parameters()
    stored = set(TABLES[r.table].names)
    period, _ = PERSON_KEYS[r.table]
    used = {*r.dims, *(f.column for f in r.where), *([r.values] if r.values else [])}
    stored_value = _engine.VALUES[r.values][0] if r.values in _engine.VALUES else r.values or ""
    scan = _scan(files)
    if r.table == "access":
        # A visitor seen logged in is that person for the whole key period: one aggregate of
        # the logged-in rows, joined back (cheaper than a window over every row).
        logins = f"SELECT key_period, visitor, min(person) AS _login FROM {scan}"
        logins += " WHERE person IS NOT NULL GROUP BY ALL"
        steps = [
            f"src AS (SELECT s.*, coalesce(l._login, s.visitor) AS {PERSON},"
            f" timezone({p(r.tz)}, s.ts) AS _local FROM {scan} s LEFT JOIN ({logins}) l"
            " ON s.key_period = l.key_period AND s.visitor = l.visitor)"
        ]
    else:
        steps = [
            f"src AS (SELECT *, {_name(PERSON_KEYS[r.table][1])} AS {PERSON},"
            f" timezone({p(r.tz)}, ts) AS _local FROM {scan})"
        ]
    source = "src"
    for name, joined in _engine.JOINED.items():
        if name not in used or r.table not in joined.holders:
            continue
        keys = joined.keys(r.table)
        month = f"strftime(timezone({p(r.tz)}, {'min(ts)' if joined.first else 'ts'}), '%Y-%m')"
        files = sources[joined.source]
        if not files:
            months = f"SELECT {', '.join(f'NULL AS {k}' for k in keys)}, NULL AS {_name(name)}"
        elif joined.first:
            months = f"SELECT {', '.join(keys)}, {month} AS {_name(name)} FROM {_scan(files)}"
            months += " GROUP BY ALL"
        else:
            months = f"SELECT DISTINCT {', '.join(keys)}, {month} AS {_name(name)}"
            months += f" FROM {_scan(files)}"
        on = " AND ".join(f"{source}.{k} IS NOT DISTINCT FROM m.{k}" for k in keys)
        steps.append(
            f"j_{name} AS (SELECT {source}.*, m.{_name(name)} FROM {source}"
            f" LEFT JOIN ({months}) m ON {on})"
        )
        source = f"j_{name}"
    derived = {k: v for k, v in _derived(r, p).items() if k in used and k not in stored}
    columns = "".join(f", {sql} AS {_name(name)}" for name, sql in derived.items())
    # Derived columns before the filters: an entry page is the first of the visitor's day,
    # whatever the query keeps of that day.
    steps.append(f"derived AS (SELECT *{columns} FROM {source})")
    where = [f"CAST(_local AS DATE) >= {p(r.first)}"] if r.first else []
    where += [f"CAST(_local AS DATE) <= {p(r.last)}"] if r.last else []
    where += [_condition(f, p) for f in r.where]
    where += [f"{_name(stored_value)} IS NOT NULL"] if r.values and r.require_value else []
    versus = dict(r.versus)
    dims = []
    for d in r.dims:
        code = f"coalesce(CAST({_name(d)} AS VARCHAR), {p(r.none)})"
        if d in versus:
            code = f"CASE WHEN {code} = {p(versus[d])} THEN {p(versus[d])} ELSE {p(r.others)} END"
        dims.append(f"{code} AS {_name(d)}")
    keys = [
        *dims,
        f"{p('-')} AS {PERIOD}" if period == "-" else f"CAST({period} AS VARCHAR) AS {PERIOD}",
        PERSON,
        *([f"org AS {UNIT}"] if r.org else []),
        *([f"CAST(network AS VARCHAR) AS {NETWORK}"] if r.network else []),
        *([f"CAST({_name(stored_value)} AS BIGINT) AS {VALUE}"] if r.by_value else []),
    ]
    aggregates = [f"count(*) AS {ROWS}"]
    if r.values and not r.by_value:
        aggregates.append(f"CAST(coalesce(sum({_name(stored_value)}), 0) AS BIGINT) AS {SUM}")
    sql = (
        f"WITH {', '.join(steps)} SELECT {', '.join([*keys, *aggregates])} FROM derived"
        + (f" WHERE {' AND '.join(where)}" if where else "")
        + " GROUP BY ALL"
    )
    # Only the derived columns the query uses are in the SQL: bind only the values it names.
    named = set(re.findall(r"\$(p\d+)\b", sql))
    return sql, {k: v for k, v in p.values.items() if k in named}


def _empty(r: Reduction) -> pl.DataFrame:
    schema: dict[str, pl.DataType] = {d: pl.String() for d in r.dims}
    schema |= {PERIOD: pl.String(), PERSON: pl.Int64()}
    schema |= {UNIT: pl.Int64()} if r.org else {}
    schema |= {NETWORK: pl.String()} if r.network else {}
    schema |= {VALUE: pl.Int64()} if r.by_value else {}
    schema |= {ROWS: pl.Int64()}
    schema |= {SUM: pl.Int64()} if r.values and not r.by_value else {}
    return pl.DataFrame(schema=schema)


class DuckDBBackend:
    name = "duckdb"

    def reduce(self, store: Store, reduction: Reduction) -> pl.DataFrame:
        r = reduction
        first, last = r.first and r.first - _PAD, r.last and r.last + _PAD

        def read(files: list[Path]) -> pl.DataFrame:
            if not files:
                return _empty(r)
            sources = {j.source: store.files(j.source) for j in _engine.JOINED.values()}
            sql, parameters = _sql(r, files, sources)
            spill = Path(tempfile.gettempdir()) / "privstats-duckdb"
            with duckdb.connect(config=_SETTINGS) as connection:
                connection.execute("SET TimeZone = 'UTC'")
                connection.execute(f"SET temp_directory = '{spill}'")
                try:
                    result = connection.sql(sql, params=parameters).to_arrow_table()
                except duckdb.Error as exc:
                    # A file gone (replaced by a writer meanwhile: the store reads again) or
                    # damaged. A binder or parser error is a fault of the SQL above: raised.
                    unread = (duckdb.IOException, duckdb.InvalidInputException)
                    if type(exc) is duckdb.Error or isinstance(exc, unread):
                        raise OSError("a store file could not be read") from exc
                    raise
            # Columns in the order and types the engine expects, whatever DuckDB chose.
            frame = pl.DataFrame(pl.from_arrow(result))
            return frame.select(pl.col(name).cast(kind) for name, kind in _empty(r).schema.items())

        return store.snapshot(r.table, first, last, read)
