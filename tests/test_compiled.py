from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numba
import numpy as np
import pytest

from privstats import compiled


def total(values: np.ndarray) -> int:
    out = 0
    for v in values:
        out += v
    return out


def test_kernels_compile_without_a_disk_cache_when_none_can_be_written(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = numba.njit
    asked: list[dict[str, Any]] = []

    def njit(**options: Any) -> Any:
        asked.append(options)
        if options.get("cache"):
            raise RuntimeError("cannot cache function 'total': no locator available")
        return real(**options)

    # Only the module under test sees the stand-in; numba's own uses of njit stay real.
    monkeypatch.setattr(compiled, "numba", SimpleNamespace(njit=njit))
    fast = compiled.kernel(total)
    assert fast(np.arange(5)) == 10
    assert asked == [{"cache": True, "nogil": True}, {"nogil": True}]


def test_warming_up_loads_every_kernel_the_anonymiser_calls() -> None:
    from privstats.anonymise import columns, referers, shapes, visitors, warm_up

    warm_up()
    kernels = [
        shapes.shape_keys_kernel,
        visitors._string_hashes,
        visitors._look_up,
        visitors._settle,
        visitors._rehash,
        referers._host_kernel,
        columns._first_appearance,
    ]
    assert all(k.signatures for k in kernels)
