"""The cluster backend: one Spark SQL query per table over the store's Parquet files.

The SQL says what ``polars_backend`` says in Polars expressions, as ``duckdb_backend`` does in
DuckDB's dialect, and gives the same reduction line for line; ``tests/tabulate/test_spark.py``
holds it to Polars' lines and tables. Spark pays a JVM's start (seconds) and a job's scheduling
on every query, so it is the backend for a store too large for one machine, not for a laptop.

One ``SparkSession`` serves the whole process, started on the first query. Its master is
``PRIVSTATS_SPARK_MASTER`` (default ``local[2]``: two threads in this process, with no UI, no
progress bars, and nothing listening beyond the loopback interface). A cluster operator points
it at a cluster by setting that variable to the master URL (``spark://host:7077``, ``yarn``,
``k8s://https://host:443``). Every executor must then read the store at the same path as the
driver: a shared file system mounted at the store's path, because the catalog names files by
their local paths. Everything else (memory, executors, shuffle partitions, the UI) comes from
``$SPARK_CONF_DIR/spark-defaults.conf``, as for any Spark application. Only the session's time
zone is fixed here (UTC), because the derived columns rely on it. No package is fetched: the
store is read by Spark's built-in Parquet reader, and no Python code runs on the executors.
"""

from __future__ import annotations

import os
import re
import sys
import threading
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl
import pyarrow as pa

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
from privstats.tabulate.backends.duckdb_backend import _PAD, _empty
from privstats.tabulate.query import Filter

if TYPE_CHECKING:
    from pyspark.sql import SparkSession
    from pyspark.sql.types import DataType, StructType

# Where the session runs (a master URL), and where it runs when nobody says.
MASTER_VARIABLE = "PRIVSTATS_SPARK_MASTER"
DEFAULT_MASTER = "local[2]"
# A local session: no UI, no progress bars or notices on the terminal, nothing bound beyond the
# loopback interface.
_LOCAL = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.log.level": "ERROR",
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
}
# Shuffle partitions of a local session unless spark-defaults.conf says: a reduction is small,
# and Spark's 200 would cost more scheduling than reading.
_LOCAL_PARTITIONS = "4"
# Spark errors that mean a listed file was gone or unreadable when read: a writer replaced it
# meanwhile, so the store lists its files again (``Store.snapshot``).
_MISSING = re.compile(r"PATH_NOT_FOUND|FILE_NOT_EXIST|FileNotFoundException")
_UNREADABLE = re.compile(
    r"FAILED_READ_FILE|CANNOT_READ_FILE_FOOTER|not a Parquet file|ParquetDecodingException"
)

_lock = threading.Lock()
_session: SparkSession | None = None


def session() -> SparkSession:
    """The process's session, started on first use (see the module's notes)."""
    global _session
    with _lock:
        if _session is None:
            _session = _start()
        return _session


def _start() -> SparkSession:
    master = os.environ.get(MASTER_VARIABLE) or DEFAULT_MASTER
    # Executors of a local master are this process's threads; Python workers, were any ever
    # needed, should be this interpreter, not whichever python is first on PATH.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    local = master.startswith("local")
    if local:
        # Spark otherwise picks the machine's outward address for its driver's ports.
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from pyspark import SparkConf
    from pyspark.sql import SparkSession

    # What is set here overrides spark-defaults.conf, read when the context starts.
    conf = SparkConf().setMaster(master).setAppName("privstats")
    for name, value in (_LOCAL if local else {}).items():
        conf.set(name, value)
    shared = SparkSession.builder.config(conf=conf).getOrCreate()
    # Our own SQL settings and temporary views, whatever else uses the process's context (a
    # notebook's own session keeps its time zone).
    spark = shared.newSession()
    spark.conf.set("spark.sql.session.timeZone", "UTC")
    if local and not shared.sparkContext.getConf().contains("spark.sql.shuffle.partitions"):
        spark.conf.set("spark.sql.shuffle.partitions", _LOCAL_PARTITIONS)
    return spark


def _name(column: str) -> str:
    return "`" + column.replace("`", "``") + "`"


class _Parameters:
    """Values bound to the query (``:p0``, ``:p1``, ...): no value is ever spliced into SQL."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def __call__(self, value: Any) -> str:
        name = f"p{len(self.values)}"
        self.values[name] = value
        return f":{name}"


def java_pattern(pattern: str) -> str:
    """``pattern`` (a ``traffic.glob``: ``re.escape``d literals, ``.*``, anchored by ``^...$``)
    matching under Java's regex (``rlike``) exactly what it matches under Polars' (Rust's).

    The escapes ``re.escape`` writes (a backslash before punctuation, a space or a control
    character, never before a letter or digit) are literals in Java too. Two things differ:
    Java's ``.`` stops at ``\\r``, ``\\u0085``, ``\\u2028`` and ``\\u2029`` as well as ``\\n``
    (``(?d)`` leaves only ``\\n``, as in Rust) and its ``$`` also matches before a final line
    break (``\\z`` is the end of the text only, as Rust's ``$``).
    """
    body = pattern.removesuffix("$")
    # An even run of backslashes before the last "$" escapes none of it: it is the anchor.
    if body != pattern and (len(body) - len(body.rstrip("\\"))) % 2 == 0:
        pattern = body + r"\z"
    return "(?d)" + pattern


# Rust's ``str::trim`` (Polars' ``strip_chars``): Unicode white space at either end.
_TRIM = r"(?U)^\s+|\s+\z"


def _derived(r: Reduction, p: _Parameters) -> dict[str, str]:
    """SQL of every derived column (``_engine.derived_columns``), over ``_local``, the time
    stamp as the wall clock of ``r.tz`` (a UTC timestamp that reads as local time)."""
    resource = "CASE WHEN path IS NULL THEN 'page'"
    for pattern, kind in r.traffic.resource_rules():
        resource += f" WHEN path RLIKE {p(java_pattern(pattern))} THEN '{kind}'"
    resource += " ELSE 'page' END"
    sites = r.traffic.site_domains
    own = f"referer_domain IN ({', '.join(p(s) for s in sites)})" if sites else "FALSE"
    label = "split_part(referer_domain, '.', 1)"
    search = ", ".join(p(s) for s in traffic.SEARCH_LABELS)
    social = ", ".join(p(s) for s in traffic.SOCIAL_LABELS)
    channel = (
        f"CASE WHEN referer_kind = 'none' THEN '{traffic.DIRECT}'"
        f" WHEN referer_kind = 'internal' OR {own} THEN '{traffic.INTERNAL}'"
        f" WHEN referer_domain IS NULL THEN '{traffic.UNKNOWN}'"
        f" WHEN {label} IN ({search}) THEN '{traffic.SEARCH}'"
        f" WHEN {label} IN ({social}) THEN '{traffic.SOCIAL}'"
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
    week = "lpad(CAST(weekofyear(_local) AS STRING), 2, '0')"
    return {
        "hour": "CAST(hour(_local) AS BIGINT)",
        "day": "date_format(_local, 'yyyy-MM-dd')",
        "week": f"CAST(extract(YEAROFWEEK FROM _local) AS STRING) || '-W' || {week}",
        "month": "date_format(_local, 'yyyy-MM')",
        # weekday() counts from Monday = 0.
        "weekday": "CAST(weekday(_local) + 1 AS BIGINT)",
        # Floor division, as Polars' // (DIV truncates).
        "status_class": "CAST(floor(status / 100) AS STRING) || 'xx'",
        "error": "CAST(status >= 500 AS BIGINT)",
        "resource": resource,
        "channel": channel,
        "entry": f"{page} AND ts = {first_page}",
        "browser_version": (
            "regexp_replace(browser || ' ' || coalesce(CAST(browser_major AS STRING), ''),"
            f" {p(_TRIM)}, '')"
        ),
        **values,
    }


def _condition(f: Filter, p: _Parameters) -> str:
    column = _name(f.column)
    if f.between is not None:
        condition = f"{column} BETWEEN {p(f.between[0])} AND {p(f.between[1])}"
    else:
        condition = f"{column} IN ({', '.join(p(v) for v in f.values)})"
    return f"(NOT ({condition}) OR {column} IS NULL)" if f.negate else condition


def _floats(r: Reduction) -> list[str]:
    """The dimensions holding floats (derived values) that Spark leaves as numbers: Java writes
    a double unlike Polars (``5.12E-4``, not ``0.000512``), so Polars writes them after (one
    double, one text: grouping by either is the same)."""
    versus = dict(r.versus)
    return [d for d in r.dims if d not in versus and _engine.column_type(r.table, d).is_float()]


def _float_versus(column: str, code: str, r: Reduction, p: _Parameters) -> str:
    """SQL of ``versus`` on a float dimension, without writing its doubles: the code is the
    text of one double, or of none (a code Polars would not write, like ``1.50``)."""
    matches = [f"{column} IS NULL"] if code == r.none else []
    try:
        number: float | None = float(code)
    except ValueError:
        number = None
    if number is not None and pl.Series([number]).cast(pl.String)[0] == code:
        matches.append(f"{column} = {p(number)}")
    single = " OR ".join(matches) or "FALSE"
    return f"CASE WHEN {single} THEN {p(code)} ELSE {p(r.others)} END"


def _sql(r: Reduction, rows: str, sources: dict[str, str]) -> tuple[str, dict[str, Any]]:
    """The query over the temporary views ``rows`` (the table's files) and ``sources`` (by
    table, the files of each table a joined dimension reads, where it has any)."""
    p = _Parameters()
    stored = set(TABLES[r.table].names)
    period, _ = PERSON_KEYS[r.table]
    used = {*r.dims, *(f.column for f in r.where), *([r.values] if r.values else [])}
    stored_value = _engine.VALUES[r.values][0] if r.values in _engine.VALUES else r.values
    value = _name(stored_value) if stored_value else None
    if r.table == "access":
        person = "coalesce(min(person) OVER (PARTITION BY key_period, visitor), visitor)"
    else:
        person = _name(PERSON_KEYS[r.table][-1])
    steps = [f"src AS (SELECT *, {person} AS {PERSON}, from_utc_timestamp(ts, {p(r.tz)}) AS _local"
             f" FROM {rows})"]  # fmt: skip
    source = "src"
    for name, joined in _engine.JOINED.items():
        if name not in used or r.table not in joined.holders:
            continue
        keys = joined.keys(r.table)
        month = f"date_format(from_utc_timestamp(ts, {p(r.tz)}), 'yyyy-MM')"
        view = sources.get(joined.source)
        if view is None:
            # No file of the source table: no row to join, as Polars' empty scan.
            schema = TABLES[joined.source]
            typed = [
                f"CAST(NULL AS {_spark_type(schema.field(k).type).simpleString()})" for k in keys
            ]
            nulls = ", ".join(f"{t} AS {_name(k)}" for t, k in zip(typed, keys, strict=True))
            months = f"SELECT {nulls}, CAST(NULL AS STRING) AS {_name(name)} WHERE FALSE"
        elif joined.first:
            months = f"SELECT {', '.join(keys)}, min({month}) AS {_name(name)} FROM {view}"
            months += " GROUP BY ALL"
        else:
            months = f"SELECT DISTINCT {', '.join(keys)}, {month} AS {_name(name)} FROM {view}"
        # Null keys meet, as in Polars' join (nulls_equal).
        on = " AND ".join(f"{source}.{_name(k)} <=> m.{_name(k)}" for k in keys)
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
    where += [f"{value} IS NOT NULL"] if value and r.require_value else []
    versus = dict(r.versus)
    floats = _floats(r)
    dims = []
    for d in r.dims:
        code = f"coalesce(CAST({_name(d)} AS STRING), {p(r.none)})"
        if d in floats:
            code = _name(d)
        elif d in versus and _engine.column_type(r.table, d).is_float():
            code = _float_versus(_name(d), versus[d], r, p)
        elif d in versus:
            code = f"CASE WHEN {code} = {p(versus[d])} THEN {p(versus[d])} ELSE {p(r.others)} END"
        dims.append(f"{code} AS {_name(d)}")
    keys = [
        *dims,
        f"{p('-')} AS {PERIOD}" if period == "-" else f"CAST({period} AS STRING) AS {PERIOD}",
        PERSON,
        *([f"org AS {UNIT}"] if r.org else []),
        *([f"CAST(network AS STRING) AS {NETWORK}"] if r.network else []),
        *([f"CAST({value} AS BIGINT) AS {VALUE}"] if value and r.by_value else []),
    ]  # fmt: skip
    aggregates = [f"count(*) AS {ROWS}"]
    if value and not r.by_value:
        aggregates.append(f"CAST(coalesce(sum({value}), 0) AS BIGINT) AS {SUM}")
    sql = (
        f"WITH {', '.join(steps)} SELECT {', '.join([*keys, *aggregates])} FROM derived"
        + (f" WHERE {' AND '.join(where)}" if where else "")
        + " GROUP BY ALL"
    )
    # Only the derived columns the query uses are in the SQL: bind only the values it names.
    named = set(re.findall(r":(p\d+)\b", sql))
    return sql, {k: v for k, v in p.values.items() if k in named}


def _spark_type(kind: pa.DataType) -> DataType:
    from pyspark.sql import types

    if pa.types.is_dictionary(kind):
        return _spark_type(kind.value_type)
    if pa.types.is_timestamp(kind):
        # Every stored time stamp is an instant (tz="UTC"): Spark's TIMESTAMP (local time zone).
        return types.TimestampType()
    simple = {
        pa.bool_(): types.BooleanType(), pa.int16(): types.ShortType(),
        pa.int32(): types.IntegerType(), pa.int64(): types.LongType(),
        pa.float64(): types.DoubleType(), pa.string(): types.StringType(),
        pa.large_string(): types.StringType(), pa.date32(): types.DateType(),
    }  # fmt: skip
    if kind not in simple:
        raise TypeError(f"no Spark type for the stored type {kind}")
    return simple[kind]


def _schema(table: str) -> StructType:
    """The declared schema, as Spark reads it: a file without a column (written before the
    column existed) reads it as null, and no file's footer is read to infer it."""
    from pyspark.sql.types import StructField, StructType

    return StructType(
        [StructField(f.name, _spark_type(f.type), nullable=True) for f in TABLES[table]]
    )


@contextmanager
def _view(spark: SparkSession, table: str, files: list[Path]) -> Iterator[str]:
    """A temporary view over ``files``, under a name no concurrent query uses."""
    name = f"privstats_{table}_{uuid.uuid4().hex}"
    frame = spark.read.schema(_schema(table)).parquet(*(str(f) for f in files))
    frame.createOrReplaceTempView(name)
    try:
        yield name
    finally:
        spark.catalog.dropTempView(name)


def _joined_sources(r: Reduction) -> list[str]:
    """The tables the reduction's joined dimensions read."""
    used = {*r.dims, *(f.column for f in r.where), *([r.values] if r.values else [])}
    return sorted(
        {j.source for name, j in _engine.JOINED.items() if name in used and r.table in j.holders}
    )


class SparkBackend:
    name = "spark"

    def reduce(self, store: Store, reduction: Reduction) -> pl.DataFrame:
        r = reduction
        first, last = r.first and r.first - _PAD, r.last and r.last + _PAD

        def read(files: list[Path]) -> pl.DataFrame:
            if not files:
                return _empty(r)
            from py4j.protocol import Py4JJavaError
            from pyspark.errors import PySparkException

            spark = session()
            try:
                with ExitStack() as views:
                    rows = views.enter_context(_view(spark, r.table, files))
                    sources = {
                        source: views.enter_context(_view(spark, source, listed))
                        for source in _joined_sources(r)
                        if (listed := store.files(source))
                    }
                    sql, parameters = _sql(r, rows, sources)
                    result = spark.sql(sql, args=parameters).toArrow()
            except (PySparkException, Py4JJavaError) as exc:
                # An executor's error arrives as the driver's Java stack trace, its cause within.
                lines = str(exc).splitlines()
                if missing := [line for line in lines if _MISSING.search(line)]:
                    # A file replaced by a writer meanwhile: the store reads again.
                    raise FileNotFoundError(missing[0].strip()) from exc
                if unreadable := [line for line in lines if _UNREADABLE.search(line)]:
                    raise OSError(unreadable[0].strip()) from exc
                raise
            frame = pl.DataFrame(pl.from_arrow(result)).with_columns(
                pl.col(d).cast(pl.String).fill_null(r.none) for d in _floats(r)
            )
            # Columns in the order and types the engine expects, whatever Spark chose.
            return frame.select(pl.col(name).cast(kind) for name, kind in _empty(r).schema.items())

        return store.snapshot(r.table, first, last, read)
