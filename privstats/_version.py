"""The installed distribution's version, read from its metadata when first asked for:
``importlib.metadata`` costs every command 50 ms, and only reports print the version."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("privstats")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0+unknown"
