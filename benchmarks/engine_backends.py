"""The tabulation backends against the same tables aggregated by hand: seconds and peak memory.

    PRIVSTATS_KEY_FILE=... .venv/bin/python benchmarks/engine_backends.py --store PATH
        [--store PATH ...] [--repeat 3] [--period 2026-10]

On 2 cores a store of 21 M rows takes about 4 minutes a round and 4 more for the memory
processes (2 M rows: under a minute each): with both stores, ``--repeat 1`` keeps the run
near 10 minutes, ``--repeat 3`` took 30 on a busy machine.

For each store and each standard query of a month (visitors by day and hour with margins,
visitors by day, the ten paths with most requests, visitors by browser and device with
margins, requests by status class, visitors by resource, the median response time by
resource, all in UTC, and the day-by-hour table again in Europe/Warsaw), one run times side by
side, the methods taking turns within each of ``--repeat`` rounds (median of the rounds):

- ``_engine.true_table`` on the Polars backend, cold (its row cache cleared first; the files
  are in the page cache) and warm (the period's rows kept from the query before, a report's
  case; a period of more than ``_engine.CACHED_ROWS`` rows is read from the files each time);
- ``true_table`` on the DuckDB backend;
- the same cells aggregated by hand in plain Polars over the store's own Parquet files
  (``Store.files``): stage 1 counts (or sums) the rows of each cell, key period and visitor in
  one pass, with the smallest person the visitor logged in as, then links each visitor to that
  person on these lines (not on every row), derives the dimensions that come from a stored
  code (resource from the path, status class from the status) and adds up per cell, key period
  and person; with margins each total is reduced per person too (a person counted once in a
  total). Stage 2, per cell: the sum, the persons of the busiest key period, and the sums over
  periods of each period's largest and second largest contribution. A median needs every
  value: the period's logins are joined to the rows, each person's median taken, and the cell
  is the mean of the ``quantile_window`` medians nearest its rank. Dimensions stay dates,
  integers or dictionary codes until the cells, which are few;
- the same in one hand-written DuckDB query per table (GROUPING SETS for the margins).

The top ten paths: ``true_table`` holds every path (the ten are picked when the table is
published), so the hand-written versions also compute every path.

It prints each query's rows (those of the files it reads: the period's UTC days and one day on
either side), each method's seconds, privstats' time over the hand-written one of the same
engine, and whether the DuckDB backend's and the hand-written cells equal the Polars
backend's (value and persons; top1 and top2 too for requests, as a count's table keeps no
leading contributions). The hand-written versions leave out what privstats adds: the distinct
client networks of each cell, the checks of the query, the cells made a protectable
``Table``. The machine's load average is printed before and after each store: the figures are
only comparable within one run.

Then, per store, the peak resident memory (``ru_maxrss``) of each method running the whole
query set once in a fresh process, next to the same figure before its first query (Python,
polars, DuckDB and privstats imported). Linux carries ``ru_maxrss`` across fork and exec, so
each process is forked by a shell rather than by this one.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import duckdb  # noqa: E402
import polars as pl  # noqa: E402

from privstats.config import RuleSet, load_config  # noqa: E402
from privstats.protect import TOTAL  # noqa: E402
from privstats.store import Store  # noqa: E402
from privstats.tabulate import _engine, backends, traffic  # noqa: E402
from privstats.tabulate.backends import NONE_CODE  # noqa: E402
from privstats.tabulate.query import QUANTILES, Measure, Query  # noqa: E402

# The store is partitioned by UTC day; a local day may reach into its neighbours.
PAD = dt.timedelta(days=1)
METHODS = ("polars cold", "polars warm", "duckdb", "hand polars", "hand duckdb")


@dataclass(frozen=True)
class Case:
    """One standard query, its period left open."""

    name: str
    index: str
    columns: str | None = None
    values: str | None = None
    aggfunc: str | None = None
    margins: bool = False
    top: int | None = None
    tz: str = "UTC"

    def query(self, first: dt.date, last: dt.date) -> Query:
        return Query.build(
            self.index, self.columns, values=self.values, aggfunc=self.aggfunc,
            margins=self.margins, start=first, end=last, tz=self.tz, top=self.top,
        )  # fmt: skip


CASES = (
    Case("day x hour visitors, margins", "day", "hour", aggfunc="nunique", margins=True),
    Case("day visitors", "day", aggfunc="nunique"),
    Case("path requests, top 10", "path", top=10),
    Case("browser x device visitors, margins", "browser", "device", aggfunc="nunique",
         margins=True),
    Case("status_class requests", "status_class"),
    Case("resource visitors", "resource", aggfunc="nunique"),
    Case("resource median response_ms", "resource", values="response_ms", aggfunc="median"),
    Case("day x hour visitors, margins, Warsaw", "day", "hour", aggfunc="nunique",
         margins=True, tz="Europe/Warsaw"),
)  # fmt: skip


@dataclass(frozen=True)
class Plan:
    """What a hand-written aggregation needs to know of a query."""

    dims: tuple[str, ...]
    first: dt.date
    last: dt.date
    tz: str
    margins: bool
    visitors: bool
    stored: str | None  # the stored integer column summed or ranked
    divisor: int
    quantile: float | None
    files: list[str]
    rules: list[tuple[str, str]]
    window: int

    @classmethod
    def of(cls, store: Store, query: Query, settings: traffic.Settings, window: int) -> Plan:
        assert query.start is not None and query.end is not None
        files = [str(f) for f in store.files("access", query.start - PAD, query.end + PAD)]
        stored = None
        if query.values is not None:
            stored = _engine.VALUES.get(query.values, (query.values, 1))[0]
        return cls(
            dims=query.dims,
            first=query.start,
            last=query.end,
            tz=query.tz,
            margins=query.margins,
            visitors=query.measure is Measure.VISITORS,
            stored=stored,
            divisor=_engine.divisor(query.values),
            quantile=QUANTILES.get(query.measure),
            files=files,
            rules=settings.resource_rules(),
            window=window,
        )

    def grouping_sets(self) -> list[tuple[bool, ...]]:
        """Which dimensions each set keeps: the cells, and with margins every total."""
        if not self.margins:
            return [(True,) * len(self.dims)]
        return list(itertools.product((True, False), repeat=len(self.dims)))


# -- hand-written Polars ----------------------------------------------------------------------


def _polars_resource(rules: Sequence[tuple[str, str]]) -> pl.Expr:
    path = pl.col("path").cast(pl.String)
    kind = pl.lit("page")
    for pattern, name in reversed(rules):
        kind = pl.when(path.str.contains(pattern)).then(pl.lit(name)).otherwise(kind)
    return pl.when(path.is_null()).then(pl.lit("page")).otherwise(kind)


def _polars_dims(plan: Plan) -> tuple[list[pl.Expr], dict[str, pl.Expr]]:
    """Stage 1's keys per row, and the dimensions derived from them after stage 1."""
    local = pl.col("ts").dt.convert_time_zone(plan.tz)
    keys: list[pl.Expr] = []
    after: dict[str, pl.Expr] = {}
    for d in plan.dims:
        if d == "day":
            keys.append(local.dt.date().alias(d))
        elif d == "hour":
            keys.append(local.dt.hour().alias(d))
        elif d == "status_class":
            keys.append(pl.col("status"))
            after[d] = (pl.col("status") // 100).cast(pl.String) + "xx"
        elif d == "resource":
            keys.append(pl.col("path"))
            after[d] = _polars_resource(plan.rules)
        else:
            keys.append(pl.col(d))
    return keys, after


def _polars_leaders(per_person: pl.LazyFrame, plan: Plan) -> pl.LazyFrame:
    dims = list(plan.dims)
    sets = []
    for keep in plan.grouping_sets():
        kept = [d for d, k in zip(dims, keep, strict=True) if k]
        frame = per_person
        if not all(keep):
            frame = frame.group_by(*kept, "key_period", "_p").agg(pl.col("c").sum())
            frame = frame.with_columns(
                pl.lit(TOTAL).alias(d) for d, k in zip(dims, keep, strict=True) if not k
            )
        sets.append(frame.select(*dims, "key_period", "_p", "c"))
    periods = (
        pl.concat(sets)
        .group_by(*dims, "key_period")
        .agg(
            n=pl.len(),
            total=pl.col("c").sum(),
            first=pl.col("c").max(),
            second=pl.when(pl.len() > 1).then(pl.col("c").top_k(2).min()).otherwise(0),
        )
    )
    cells = periods.group_by(dims).agg(
        persons=pl.col("n").max(),
        visits=pl.col("n").sum(),
        total=pl.col("total").sum(),
        top1=pl.col("first").sum(),
        top2=pl.col("second").sum(),
    )
    value = pl.col("visits") if plan.visitors else pl.col("total")
    scale = 1.0 if plan.visitors else float(plan.divisor)
    return cells.select(
        *dims,
        value=value.cast(pl.Float64) / scale,
        persons=pl.col("persons").cast(pl.Float64),
        top1=pl.col("top1").cast(pl.Float64) / plan.divisor,
        top2=pl.col("top2").cast(pl.Float64) / plan.divisor,
    )


def _polars_quantile(scan: pl.LazyFrame, plan: Plan, inside: pl.Expr) -> pl.LazyFrame:
    assert plan.stored is not None and plan.quantile is not None
    dims = list(plan.dims)
    keys, after = _polars_dims(plan)
    logins = scan.group_by("key_period", "visitor").agg(login=pl.col("person").min())
    rows = (
        scan.filter(inside & pl.col(plan.stored).is_not_null())
        .select(*keys, "key_period", "visitor", plan.stored)
        .join(logins, on=["key_period", "visitor"], how="left")
        .with_columns(pl.coalesce("login", "visitor").alias("_p"), **after)
    )
    units = rows.group_by(*dims, "key_period", "_p").agg(
        m=pl.col(plan.stored).median() / plan.divisor
    )
    persons = (
        units.group_by(*dims, "key_period")
        .agg(n=pl.len())
        .group_by(dims)
        .agg(persons=pl.col("n").max().cast(pl.Float64))
    )
    v = pl.col("v")
    n = v.list.len()
    centre = (pl.lit(plan.quantile) * (n - 1).cast(pl.Float64)).round(0).cast(pl.Int64)
    start = pl.max_horizontal(
        pl.min_horizontal(centre - plan.window // 2, n - plan.window), pl.lit(0)
    )
    cells = units.group_by(dims).agg(v=pl.col("m").sort())
    cells = cells.select(
        *dims,
        value=v.list.slice(start, plan.window).list.mean(),
        side=pl.min_horizontal(start, n - start - plan.window).cast(pl.Float64),
    )
    return cells.join(persons, on=dims)


def hand_polars(plan: Plan) -> pl.DataFrame:
    """The query's cells in plain Polars (see the module's notes)."""
    dims = list(plan.dims)
    scan = pl.scan_parquet(plan.files)
    local_day = pl.col("ts").dt.convert_time_zone(plan.tz).dt.date()
    inside = local_day.is_between(plan.first, plan.last)
    if plan.quantile is not None:
        cells = _polars_quantile(scan, plan, inside)
    else:
        keys, after = _polars_dims(plan)
        amount = pl.len() if plan.stored is None else pl.col(plan.stored).sum()
        # Stage 1 over every row of the files (a visitor's login may lie outside the period).
        lines = scan.group_by(*keys, inside.alias("_in"), "key_period", "visitor").agg(
            c=amount.cast(pl.Int64), login=pl.col("person").min()
        )
        linked = pl.col("login").min().over("key_period", "visitor")
        lines = lines.with_columns(_p=pl.coalesce(linked, "visitor")).filter("_in")
        per_person = (
            lines.with_columns(**after)
            .group_by(*dims, "key_period", "_p")
            .agg(pl.col("c").sum())
            .with_columns(pl.col(d).cast(pl.String).fill_null(NONE_CODE) for d in dims)
        )
        cells = _polars_leaders(per_person, plan)
    return cells.with_columns(
        pl.col(d).cast(pl.String).fill_null(NONE_CODE) for d in dims
    ).collect()


# -- hand-written DuckDB ----------------------------------------------------------------------


def _quote(text: object) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def _sql_resource(column: str, rules: Sequence[tuple[str, str]]) -> str:
    resource = f"CASE WHEN {column} IS NULL THEN 'page'"
    for pattern, name in rules:
        resource += f" WHEN regexp_matches({column}, {_quote(pattern)}) THEN {_quote(name)}"
    return resource + " ELSE 'page' END"


def _duckdb_sql(plan: Plan) -> str:
    dims = list(plan.dims)
    source = "read_parquet([" + ", ".join(_quote(f) for f in plan.files) + "])"
    local = f"timezone({_quote(plan.tz)}, ts)"
    inside = f"CAST({local} AS DATE) BETWEEN DATE '{plan.first}' AND DATE '{plan.last}'"
    # Per dimension: stage 1's key per row, and the dimension as text from a column holding it.
    keys: list[str] = []
    texts: list[Callable[[str], str]] = []
    for d in dims:
        if d == "day":
            keys.append(f"CAST({local} AS DATE)")
            texts.append(lambda k: f"CAST({k} AS VARCHAR)")
        elif d == "hour":
            keys.append(f"hour({local})")
            texts.append(lambda k: f"CAST({k} AS VARCHAR)")
        elif d == "status_class":
            keys.append("status")
            texts.append(lambda k: f"CAST({k} // 100 AS VARCHAR) || 'xx'")
        elif d == "resource":
            keys.append("path")
            texts.append(lambda k: _sql_resource(k, plan.rules))
        else:
            keys.append(f'"{d}"')
            texts.append(lambda k: f"coalesce(CAST({k} AS VARCHAR), {_quote(NONE_CODE)})")
    named = ", ".join(f'd{i} AS "{d}"' for i, d in enumerate(dims))
    ds = ", ".join(f"d{i}" for i in range(len(dims)))
    if plan.quantile is not None:
        assert plan.stored is not None
        row_dims = ", ".join(
            f"{text(key)} AS d{i}" for i, (key, text) in enumerate(zip(keys, texts, strict=True))
        )
        n = "len(v)"
        centre = f"CAST(round_even({plan.quantile} * ({n} - 1), 0) AS BIGINT)"
        start = f"greatest(least({centre} - {plan.window // 2}, {n} - {plan.window}), 0)"
        return f"""
        WITH src AS (SELECT * FROM {source}),
        logins AS (SELECT key_period, visitor, min(person) AS login FROM src GROUP BY ALL),
        units AS (
            SELECT {row_dims}, s.key_period, coalesce(l.login, s.visitor) AS p,
                   median(s.{plan.stored}) / {plan.divisor} AS m
            FROM src s JOIN logins l USING (key_period, visitor)
            WHERE {inside} AND s.{plan.stored} IS NOT NULL
            GROUP BY ALL
        ),
        persons AS (
            SELECT {ds}, max(n) AS persons
            FROM (SELECT {ds}, key_period, count(*) AS n FROM units GROUP BY ALL) GROUP BY ALL
        ),
        ranked AS (SELECT {ds}, list(m ORDER BY m) AS v FROM units GROUP BY ALL),
        windows AS (SELECT {ds}, v, {start} AS w FROM ranked)
        SELECT {named}, list_avg(list_slice(v, w + 1, w + {plan.window})) AS value,
               CAST(least(w, len(v) - w - {plan.window}) AS DOUBLE) AS side,
               CAST(persons AS DOUBLE) AS persons
        FROM windows JOIN persons USING ({ds})
        """
    amount = "count(*)" if plan.stored is None else f'sum("{plan.stored}")'
    sets = []
    for keep in plan.grouping_sets():
        kept = [f"d{i}" for i, k in enumerate(keep) if k]
        sets.append("(" + ", ".join([*kept, "key_period", "p"]) + ")")
    totals = ", ".join(f"CASE WHEN grouping(d{i}) = 1 THEN '{TOTAL}' ELSE d{i} END AS e{i}"
                       for i in range(len(dims)))  # fmt: skip
    es = ", ".join(f"e{i}" for i in range(len(dims)))
    value = "sum(n)" if plan.visitors else f"sum(total) / {plan.divisor}"
    return f"""
    WITH lines AS (
        SELECT {", ".join(f"{k} AS k{i}" for i, k in enumerate(keys))}, key_period, visitor,
               {inside} AS _in,
               CAST({amount} AS BIGINT) AS c, min(person) AS login
        FROM {source} GROUP BY ALL
    ),
    linked AS (
        SELECT *, coalesce(min(login) OVER (PARTITION BY key_period, visitor), visitor) AS p
        FROM lines
    ),
    leaves AS (
        SELECT {", ".join(f"{t(f'k{i}')} AS d{i}" for i, t in enumerate(texts))}, key_period, p,
               sum(c) AS c
        FROM linked WHERE _in GROUP BY ALL
    ),
    sets AS (
        SELECT {totals}, key_period, p, sum(c) AS c
        FROM leaves GROUP BY GROUPING SETS ({", ".join(sets)})
    ),
    periods AS (
        SELECT {es}, key_period, count(*) AS n, sum(c) AS total, max(c, 2) AS top
        FROM sets GROUP BY ALL
    )
    SELECT {", ".join(f'e{i} AS "{d}"' for i, d in enumerate(dims))},
           CAST({value} AS DOUBLE) AS value, CAST(max(n) AS DOUBLE) AS persons,
           CAST(sum(top[1]) AS DOUBLE) / {plan.divisor} AS top1,
           CAST(sum(CASE WHEN n > 1 THEN top[2] ELSE 0 END) AS DOUBLE) / {plan.divisor} AS top2
    FROM periods GROUP BY ALL
    """


def hand_duckdb(plan: Plan) -> pl.DataFrame:
    """The query's cells in one DuckDB query (see the module's notes)."""
    with duckdb.connect() as connection:
        connection.execute("SET TimeZone = 'UTC'")
        return pl.DataFrame(pl.from_arrow(connection.sql(_duckdb_sql(plan)).to_arrow_table()))


# -- privstats --------------------------------------------------------------------------------


def privstats_cells(table: _engine.TrueTable, columns: Sequence[str]) -> pl.DataFrame:
    """The true cells of a table that anyone contributes to."""
    assert table.grid is not None
    dims = list(table.grid.dims)
    frame = pl.from_pandas(table.grid.cells[[*dims, *columns]].astype({d: str for d in dims}))
    return frame.filter(pl.col("persons") > 0)


def same(
    ours: pl.DataFrame, hand: pl.DataFrame, dims: Sequence[str], columns: Sequence[str]
) -> str:
    """ "yes", or how many cells differ (missing on one side, or any column off)."""
    joined = ours.join(hand, on=list(dims), how="full", suffix="_hand", coalesce=True)
    bad = pl.lit(False)
    for c in columns:
        a, b = pl.col(c), pl.col(f"{c}_hand")
        close = (a - b).abs() <= 1e-9 * pl.max_horizontal(a.abs(), b.abs(), pl.lit(1.0))
        bad = bad | ~close.fill_null(False)
    differing = joined.filter(bad).height
    return "yes" if differing == 0 else f"{differing} differ"


# -- running ----------------------------------------------------------------------------------


def month(period: str) -> tuple[dt.date, dt.date]:
    first = dt.date.fromisoformat(period + "-01")
    following = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return first, following - dt.timedelta(days=1)


def methods(store: Store, query: Query, plan: Plan) -> dict[str, Callable[[], Any]]:
    polars_backend, duckdb_backend = backends.backend("polars"), backends.backend("duckdb")

    def cold() -> Any:
        _engine._cache.clear()
        return _engine.true_table(query, store, backend=polars_backend)

    return {
        "polars cold": cold,
        "polars warm": lambda: _engine.true_table(query, store, backend=polars_backend),
        "duckdb": lambda: _engine.true_table(query, store, backend=duckdb_backend),
        "hand polars": lambda: hand_polars(plan),
        "hand duckdb": lambda: hand_duckdb(plan),
    }


def plans(store: Store, first: dt.date, last: dt.date) -> list[tuple[Case, Query, Plan]]:
    settings = traffic.Settings.of(load_config())
    window = RuleSet().quantile_window
    out = []
    for case in CASES:
        query = case.query(first, last)
        out.append((case, query, Plan.of(store, query, settings, window)))
    return out


def read_rows(store: Store, first: dt.date, last: dt.date) -> int:
    return sum(int(e["rows"]) for e in store.entries("access", first - PAD, last + PAD))


def time_store(store: Store, first: dt.date, last: dt.date, repeat: int) -> list[dict[str, Any]]:
    cases = plans(store, first, last)
    seconds: dict[str, dict[str, list[float]]] = {
        c.name: {m: [] for m in METHODS} for c, *_ in cases
    }
    agree: dict[str, dict[str, str]] = {}
    for round_ in range(repeat):
        for case, query, plan in cases:
            results = {}
            for name, run in methods(store, query, plan).items():
                started = time.perf_counter()
                results[name] = run()
                seconds[case.name][name].append(time.perf_counter() - started)
            if round_ == 0:
                # A count's table keeps no leading contributions; a quantile has none.
                leaders = query.kind == "magnitude"
                columns = ["value", "persons", *(["top1", "top2"] if leaders else [])]
                ours = privstats_cells(results["polars cold"], columns)
                theirs = privstats_cells(results["duckdb"], columns)
                hands = [results[m].select(*plan.dims, *columns) for m in METHODS[3:]]
                agree[case.name] = {
                    str(i): same(ours, other, plan.dims, columns)
                    for i, other in enumerate([theirs, *hands])
                }
            print(
                f"  {time.strftime('%H:%M:%S')} round {round_ + 1}: {case.name}",
                file=sys.stderr,
                flush=True,
            )
    rows = read_rows(store, first, last)
    return [
        {
            "query": c.name,
            "rows": rows,
            **{m: statistics.median(seconds[c.name][m]) for m in METHODS},
            "same": agree[c.name],
        }
        for c, *_ in cases
    ]


def _peak() -> float:
    """This process's ru_maxrss, in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(method: str, store_path: Path, period: str) -> None:
    """Runs every query once with ``method``; prints the peak RSS before and after, in MiB."""
    before = _peak()
    store = Store(store_path)
    first, last = month(period)
    started = time.perf_counter()
    for _case, query, plan in plans(store, first, last):
        methods(store, query, plan)["polars warm" if method == "polars" else method]()
    seconds = time.perf_counter() - started
    print(json.dumps({"before": before, "peak": _peak(), "seconds": seconds}))


def memory(store_path: Path, period: str) -> dict[str, dict[str, float]]:
    """Each method's peak RSS over the whole query set, in a fresh process.

    Linux carries ru_maxrss over fork and exec: a process started by this one would report
    this one's peak. A shell in between forks the child from its own small image.
    """
    out = {}
    for method in ("polars", "duckdb", "hand polars", "hand duckdb"):
        command = [sys.executable, __file__, "--child", method, "--store", str(store_path)]
        command = ["/bin/sh", "-c", '"$@"; exit $?', "sh", *command, "--period", period]
        done = subprocess.run(command, check=True, capture_output=True, text=True)
        out[method] = json.loads(done.stdout.strip().splitlines()[-1])
    return out


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg()) + f" on {os.cpu_count()} cores"


def report(results: list[dict[str, Any]]) -> None:
    header = f"{'query':<38}{'rows':>12}" + "".join(f"{m:>12}" for m in METHODS)
    print(header + f"{'cold/hand':>10}{'warm/hand':>10}{'duck/hand':>10}  same cells")
    totals = {m: sum(r[m] for r in results) for m in METHODS}
    for r in [*results, {"query": "all queries", "rows": None, **totals, "same": {}}]:
        rows = "" if r["rows"] is None else f"{r['rows']:,}"
        line = f"{r['query']:<38}{rows:>12}" + "".join(f"{r[m]:>12.3f}" for m in METHODS)
        line += f"{r['polars cold'] / r['hand polars']:>10.2f}"
        line += f"{r['polars warm'] / r['hand polars']:>10.2f}"
        line += f"{r['duckdb'] / r['hand duckdb']:>10.2f}"
        print(line + "  " + " / ".join(r["same"].values()))
    print(
        "same cells: duckdb backend / hand polars / hand duckdb against the polars backend"
        " (value, persons; top1, top2 of the requests)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--store", type=Path, action="append", required=True)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--period", default="2026-10")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.store[0], args.period)
        return 0
    first, last = month(args.period)
    print(f"polars {pl.__version__}, duckdb {duckdb.__version__}; seconds, median of {args.repeat}")
    for path in args.store:
        store = Store(path)
        rows = read_rows(store, first, last)
        kept = "kept" if rows <= _engine.CACHED_ROWS else "over CACHED_ROWS: read every time"
        print(f"\n{path}: {rows:,} rows per query (polars backend's row cache: {kept})")
        print(f"load average before: {load()}")
        results = time_store(store, first, last, args.repeat)
        print(f"load average after:  {load()}")
        report(results)
        print(f"\npeak RSS (ru_maxrss) of the whole query set, a fresh process each ({path}):")
        for method, m in memory(path, args.period).items():
            print(
                f"  {method:<12}{m['peak']:>7.0f} MiB  (before the first query "
                f"{m['before']:.0f} MiB; the set in {m['seconds']:.1f} s)"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
