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
from typing import TYPE_CHECKING

import polars as pl
import pyarrow as pa

from privstats.schema import TABLES
from privstats.store import Store
from privstats.tabulate.backends import PAD, Reduction, sql

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


_FORMATS = {"%Y-%m-%d": "yyyy-MM-dd", "%Y-%m": "yyyy-MM"}

DIALECT = sql.Dialect(
    quote="`",
    marker=":",
    text="STRING",
    local="from_utc_timestamp({t}, {tz})",
    date_format=lambda spec: "date_format({t}, '" + _FORMATS[spec] + "')",
    week=(
        "CAST(extract(YEAROFWEEK FROM {t}) AS STRING) || '-W'"
        " || lpad(CAST(weekofyear({t}) AS STRING), 2, '0')"
    ),
    # weekday() counts from Monday = 0.
    weekday="CAST(weekday({t}) + 1 AS BIGINT)",
    matches="{x} RLIKE {pattern}",
    pattern=java_pattern,
    # Rust's str::trim (Polars' strip_chars): Unicode white space at either end.
    trim=r"regexp_replace({x}, '(?U)^\s+|\s+\z', '')",
    same="<=>",
)


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


class SparkBackend:
    name = "spark"

    def reduce(self, store: Store, reduction: Reduction) -> pl.DataFrame:
        r = reduction
        first, last = r.first and r.first - PAD, r.last and r.last + PAD

        def read(files: list[Path]) -> pl.DataFrame:
            if not files:
                return sql.empty(r)
            from py4j.protocol import Py4JJavaError
            from pyspark.errors import PySparkException

            spark = session()
            try:
                with ExitStack() as views:
                    rows = views.enter_context(_view(spark, r.table, files))
                    sources = {
                        source: views.enter_context(_view(spark, source, listed))
                        for source in sql.joined_sources(r)
                        if (listed := store.files(source))
                    }
                    text, parameters = sql.query(r, DIALECT, rows, sources)
                    result = spark.sql(text, args=parameters).toArrow()
            except (PySparkException, Py4JJavaError) as exc:
                # An executor's error arrives as the driver's Java stack trace, its cause within.
                lines = str(exc).splitlines()
                if missing := [line for line in lines if _MISSING.search(line)]:
                    # A file replaced by a writer meanwhile: the store reads again.
                    raise FileNotFoundError(missing[0].strip()) from exc
                if unreadable := [line for line in lines if _UNREADABLE.search(line)]:
                    raise OSError(unreadable[0].strip()) from exc
                raise
            return sql.lines(r, pl.DataFrame(pl.from_arrow(result)))

        return store.snapshot(r.table, first, last, read)
