"""Names of a package imported from their submodules on first use (PEP 562).

The command line imports the package on every run: an ingest must not pay for pandas, SciPy,
papermill or the gate's solvers that only reports and audits use.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from importlib import import_module
from typing import Any


def attach(
    package: str, names: dict[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``: ``name`` is imported from
    ``names[name]`` on first use, and listed before it."""

    def __getattr__(name: str) -> Any:
        if name not in names:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module = import_module(names[name])
        # Every name of that submodule is bound at once: importing a submodule binds it on the
        # package under its own name, which may also be one of its names (gate.release).
        for other, home in names.items():
            if home == names[name]:
                setattr(sys.modules[package], other, getattr(module, other))
        return getattr(module, name)

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(names))

    return __getattr__, __dir__


class LazyModule:
    """A module imported on its first attribute read.

    polars takes a quarter of a second to import, which an access-log ingest (its hot path is
    Arrow, numpy and C) would pay before its first block; only the slower paths use polars:
    formats the tokeniser does not read, texts its kernels do not vouch for, the reference
    implementations the tests compare with.
    """

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        return getattr(import_module(self._name), attr)
