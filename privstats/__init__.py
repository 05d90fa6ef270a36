"""privstats: aggregate statistics from web logs and CRM records that identify no one."""

import typing as _typing

from privstats._lazy import attach as _attach
from privstats.exceptions import PrivstatsError

if _typing.TYPE_CHECKING:
    from privstats.config import Config, RuleSet, load_config
    from privstats.dictionary import columns, tables
    from privstats.store import Store
    from privstats.tabulate import Measure, crosstab, pivot_table

    __version__: str

# The analyst API pulls in pandas, SciPy and the protection engine, which ingest never uses;
# the configuration and the store pull in numpy and pyarrow, which the command line imports
# only once it knows what to run (an ingest starts its user-agent worker first).
__getattr__, __dir__ = _attach(
    __name__,
    dict.fromkeys(("Measure", "crosstab", "pivot_table"), "privstats.tabulate")
    | dict.fromkeys(("Config", "RuleSet", "load_config"), "privstats.config")
    | dict.fromkeys(("columns", "tables"), "privstats.dictionary")
    | {"Store": "privstats.store", "__version__": "privstats._version"},
)

__all__ = [
    "Config",
    "Measure",
    "PrivstatsError",
    "RuleSet",
    "Store",
    "__version__",
    "columns",
    "crosstab",
    "load_config",
    "pivot_table",
    "tables",
]
