"""privstats: aggregate statistics from web logs and CRM records that identify no one."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from privstats.config import Config, RuleSet, load_config
from privstats.exceptions import PrivstatsError
from privstats.store import Store

try:
    __version__ = version("privstats")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0+unknown"

__all__ = ["Config", "PrivstatsError", "RuleSet", "Store", "__version__", "load_config"]
