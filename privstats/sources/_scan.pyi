# The C scanner (_scan.c): mypy reads no extension module, only this.
from typing import TypeAlias

import numpy as np
from typing_extensions import Buffer

# Any object with the buffer protocol; numpy's stubs give ndarray that protocol from 3.12 on.
_Bytes: TypeAlias = Buffer | np.ndarray

def scan(
    block: _Bytes,
    program: _Bytes,
    literal_spans: _Bytes,
    literals: _Bytes,
    n_coded: int,
    max_line: int,
    /,
) -> tuple[
    int,
    int,
    int,
    bytearray,
    bytearray,
    bytearray,
    bytearray,
    bytearray,
    bytearray,
    bytearray,
    bytearray,
    bytearray,
    list[tuple[int, bytearray, bytearray]],
]: ...
def _plain(b: _Bytes, p: int, /) -> int: ...
def _quoted(b: _Bytes, p: int, /) -> tuple[int, bool, int]: ...
def _hash(b: _Bytes, start: int, end: int, /) -> int: ...
def _same(a: _Bytes, ia: int, b: _Bytes, ib: int, length: int, /) -> bool: ...
