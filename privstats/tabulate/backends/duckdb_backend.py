"""The out-of-core backend: one DuckDB query per table over the store's Parquet files.

DuckDB spills to disk when a period's rows do not fit in memory, so a store larger than memory
still tabulates on one machine. Its SQL (``backends.sql``, in DuckDB's ``DIALECT``) says what
``polars_backend`` says in Polars expressions; ``tests/tabulate/test_backends.py`` holds the two
to identical reductions. Nothing
is loaded from outside: extensions are neither installed nor loaded on demand (ICU, for time
zones, and Parquet are built into DuckDB's wheel), and spilled data goes to the temporary
folder, never beside the caller.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import duckdb
import polars as pl

from privstats.store import Store
from privstats.tabulate.backends import PAD, Reduction, sql

_SETTINGS: dict[str, str | bool | int | float | list[str]] = {
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
}


def _scan(paths: list[Path]) -> str:
    # Store paths are the store's own fresh names (no input text), quoted all the same. The
    # folders' "day=" are the UTC days the files hold, not a column: a local day is derived.
    files = ", ".join("'" + str(f).replace("'", "''") + "'" for f in paths)
    return f"read_parquet([{files}], union_by_name = true, hive_partitioning = false)"


DIALECT = sql.Dialect(
    quote='"',
    marker="$",
    text="VARCHAR",
    local="timezone({tz}, {t})",
    date_format=lambda spec: "strftime({t}, '" + spec + "')",
    week="strftime({t}, '%G-W%V')",
    weekday="CAST(isodow({t}) AS BIGINT)",
    matches="regexp_matches({x}, {pattern})",
    pattern=lambda pattern: pattern,  # RE2 reads these as Rust's regex does
    # Polars' strip_chars: Unicode white space, not only spaces.
    trim=r"regexp_replace({x}, '^[\s\pZ\x{{85}}]+|[\s\pZ\x{{85}}]+$', '', 'g')",
    same="IS NOT DISTINCT FROM",
)


class DuckDBBackend:
    name = "duckdb"

    def __init__(self, memory: str = "") -> None:
        # Checked by EngineConfig: digits and a unit, safe to write into SET.
        self.memory = memory

    def reduce(self, store: Store, reduction: Reduction) -> pl.DataFrame:
        r = reduction
        first, last = r.first and r.first - PAD, r.last and r.last + PAD

        def read(files: list[Path]) -> pl.DataFrame:
            if not files:
                return sql.empty(r)
            sources = {
                source: _scan(listed) if (listed := store.files(source)) else None
                for source in sql.joined_sources(r)
            }
            text, parameters = sql.query(r, DIALECT, _scan(files), sources)
            spill = Path(tempfile.gettempdir()) / "privstats-duckdb"
            with duckdb.connect(config=_SETTINGS) as connection:
                connection.execute("SET TimeZone = 'UTC'")
                connection.execute(f"SET temp_directory = '{spill}'")
                if self.memory:
                    connection.execute(f"SET memory_limit = '{self.memory}'")
                try:
                    result = connection.sql(text, params=parameters).to_arrow_table()
                except duckdb.Error as exc:
                    # A file gone (replaced by a writer meanwhile: the store reads again) or
                    # damaged. A binder or parser error is a fault of the SQL above: raised.
                    unread = (duckdb.IOException, duckdb.InvalidInputException)
                    if type(exc) is duckdb.Error or isinstance(exc, unread):
                        raise OSError("a store file could not be read") from exc
                    raise
            return sql.lines(r, pl.DataFrame(pl.from_arrow(result)))

        return store.snapshot(r.table, first, last, read)
