"""Where a query's rows are read and reduced: the one stage of a table that grows with the store.

A backend scans the store's partitions for a period, derives and filters columns, and reduces
the rows to one line per cell, period and unit (``Reduction``). Everything after that (margins,
subtotals, leading contributions, quantile windows, protection, audit, DP noise) runs on that
small table in the engine, the same code whatever the backend. The reduction counts rows and sums
the stored integers, never a float, so that every backend gives identical lines and so identical
tables (``tests/tabulate/test_backends.py`` holds them to it).

Polars (embedded, the default) and DuckDB (out of core, the whole period in one SQL query) are
built; ``[engine] backend`` or ``--engine`` chooses.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from privstats.config import BACKENDS, EngineConfig
from privstats.exceptions import ConfigError
from privstats.tabulate.traffic import Settings

if TYPE_CHECKING:
    import polars as pl

    from privstats.store import Store
    from privstats.tabulate.query import Filter

# The backends built, by the name ``[engine] backend`` gives.
NAMES = BACKENDS
# The store is partitioned by UTC day; a local day may reach into its neighbours: a backend
# reads a day more on either side.
PAD = dt.timedelta(days=1)
# The code of a missing value in a dimension, and of every row ``versus`` does not single out.
NONE_CODE = "(none)"
OTHERS = "others"
# Columns of a reduction besides its dimensions.
PERIOD, PERSON, UNIT, NETWORK = "_period", "_person", "_unit", "_network"
ROWS, SUM, VALUE = "_rows", "_sum", "_value"


@dataclass(frozen=True)
class Reduction:
    """What a backend computes for one query, checked and typed by the engine.

    One line per distinct (``dims``, period, unit[, organisation][, network][, value]) among
    the rows of ``table`` whose local day (in ``tz``) lies in [``first``, ``last``] and that pass
    ``where`` (values already typed). Columns: each dimension as text (a missing value is
    ``NONE_CODE``, and each ``versus`` dimension is its code or ``OTHERS``), ``_period`` (text),
    ``_person`` (the linked unit), ``_unit`` (the organisation, with ``org``), ``_network``
    (with ``network``), ``_rows`` (rows), ``_sum`` (the sum of ``values``, a stored integer
    column, with ``values`` and not ``by_value``) and ``_value`` (each distinct value, with
    ``by_value``: a quantile needs them all). ``require_value`` drops rows without the value.
    """

    table: str
    dims: tuple[str, ...]
    first: dt.date | None
    last: dt.date | None
    tz: str
    where: tuple[Filter, ...] = ()
    versus: tuple[tuple[str, str], ...] = ()
    values: str | None = None
    by_value: bool = False
    require_value: bool = False
    org: bool = False
    network: bool = False
    # What the derived columns resource, channel and entry read (``[report]``, ``[anonymise]``).
    traffic: Settings = field(default_factory=Settings)


class Backend(Protocol):
    """Reads and reduces a query's rows (see ``Reduction``); returns a polars frame."""

    name: str

    def reduce(self, store: Store, reduction: Reduction) -> pl.DataFrame: ...


def backend(name: str, settings: EngineConfig | None = None) -> Backend:
    """The backend called ``name``, with ``[engine]``'s ``settings`` (default: the defaults)."""
    if name == "polars":
        from privstats.tabulate.backends.polars_backend import PolarsBackend

        return PolarsBackend()
    if name == "duckdb":
        from privstats.tabulate.backends.duckdb_backend import DuckDBBackend

        return DuckDBBackend((settings or EngineConfig()).duckdb_memory)
    if name == "spark":
        from privstats.tabulate.backends.spark_backend import SparkBackend

        return SparkBackend()
    raise ConfigError(
        f"engine.backend: unknown backend '{name[:40]}'; backends: {', '.join(NAMES)}"
    )
