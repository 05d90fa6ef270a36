"""Settings of the whole process that make an ingest fast and its memory flat.

They change state every thread of the process shares (the garbage collector, the interpreter's
switch interval, Arrow's memory pool, glibc's allocator), so the library never sets them: the
command line does, around the commands that ingest (``privstats ingest``, ``privstats demo``),
and a program calling ``privstats.ingest`` may do the same with :func:`for_ingest`.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import gc
import sys
from collections.abc import Iterator

import pyarrow as pa


@contextlib.contextmanager
def for_ingest() -> Iterator[None]:
    """The settings below for the time of an ingest, restored after."""
    with _memory_returned(), _collector_paused(), _switching_often():
        yield


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """No cyclic garbage collection while ingesting. The ingest makes next to no reference
    cycles (about 400 objects, collected at the end of a log of 2 or of 20 million lines),
    while the collector's passes over each block's young objects cost 0.13 s of the GIL in
    2 million lines (188 collections)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@contextlib.contextmanager
def _switching_often() -> Iterator[None]:
    """The GIL handed between threads every millisecond, not every five, while ingesting.

    The parser and writer threads spend most of a block in C without the GIL and need it back
    for short stretches of Python between their calls; each time, they wait for the
    anonymising thread to give it up, up to the interval. At 1 ms, a 2-million-line ingest
    took 0.15 s less (standard error 0.05 s, 16 alternating pairs).
    """
    previous = sys.getswitchinterval()
    sys.setswitchinterval(0.001)
    try:
        yield
    finally:
        sys.setswitchinterval(previous)


@contextlib.contextmanager
def _memory_returned() -> Iterator[None]:
    """While ingesting, give freed memory back to the system soon, so the peak stays flat.

    Every allocator keeps the most memory it ever held, and ingest goes through three (Arrow's,
    polars', glibc's): Arrow allocates from jemalloc with a one-second decay instead of
    mimalloc, and glibc serves blocks of 1 MiB or more from their own mappings.
    """
    previous = pa.default_memory_pool()
    try:
        pool = pa.jemalloc_memory_pool()
        pa.jemalloc_set_decay_ms(1000)
    except NotImplementedError:  # a pyarrow built without jemalloc
        pool = previous
    pa.set_memory_pool(pool)
    _mallopt(_M_MMAP_THRESHOLD, 1 << 20)
    try:
        yield
    finally:
        pa.set_memory_pool(previous)


_M_MMAP_THRESHOLD = -3


def _mallopt(option: int, value: int) -> None:
    """Tune glibc's malloc, where there is one (elsewhere this does nothing)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallopt(option, value)
