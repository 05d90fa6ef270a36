"""Names of a package imported from their submodules on first use (PEP 562).

The command line imports the package on every run: an ingest must not pay for pandas, SciPy,
papermill or the gate's solvers that only reports and audits use.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from importlib import import_module
from typing import Any


def attach(package: str, names: dict[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package`` that imports ``name`` from ``names[name]``."""

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

    return __getattr__
