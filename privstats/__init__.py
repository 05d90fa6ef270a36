"""privstats: aggregate statistics from web logs and CRM records that identify no one."""

from importlib.metadata import PackageNotFoundError as _PackageNotFoundError
from importlib.metadata import version as _version

from privstats.config import Config, RuleSet, load_config
from privstats.exceptions import PrivstatsError
from privstats.store import Store
from privstats.tabulate import Measure, crosstab, pivot_table

try:
    __version__ = _version("privstats")
except _PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0+unknown"

__all__ = [
    "Config",
    "Measure",
    "PrivstatsError",
    "RuleSet",
    "Store",
    "__version__",
    "crosstab",
    "load_config",
    "pivot_table",
]
