"""HiGHS without its banner.

HiGHS prints a banner on the process's standard output (file descriptor 1, past Python's
``sys.stdout``) when its first model is made: into a notebook's cell (ipykernel forwards the
descriptor), into ``privstats audit --json``. :func:`quiet_highs` makes that first model once,
with descriptor 1 pointed at the null device; every later model is made with ``output_flag``
off.
"""

from __future__ import annotations

import functools
import os
import sys


@functools.cache
def quiet_highs() -> None:
    """Make HiGHS's first model of this process where its banner goes nowhere."""
    import highspy

    sys.stdout.flush()
    saved = os.dup(1)
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 1)
        highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(null)
