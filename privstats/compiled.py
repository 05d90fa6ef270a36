"""Compiled kernels: numba without the GIL, cached on disk where a cache can be written.

numba keeps compiled machine code next to the source (``__pycache__``) or, when the package
folder is read-only, in the user's cache folder (``NUMBA_CACHE_DIR`` moves it). Where neither
can be written, numba refuses to define a cached function at all; the kernels are then
compiled in memory each run (seconds at the first call) rather than failing the import.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import numba

F = TypeVar("F", bound=Callable[..., Any])


def kernel(function: F | None = None, *, inline: bool = False) -> Any:
    """``numba.njit(cache=True, nogil=True)``, without the disk cache when none is writable.

    ``@kernel`` or ``@kernel(inline=True)``: an inlined helper is compiled into its callers
    (numba's ``inline="always"``), for the small ones a hot loop calls per byte.
    """
    if function is None:
        return lambda f: kernel(f, inline=inline)
    options: dict[str, Any] = {"nogil": True}
    if inline:
        options["inline"] = "always"
    try:
        return numba.njit(cache=True, **options)(function)
    except RuntimeError:  # "cannot cache function ...: no locator available"
        return numba.njit(**options)(function)
