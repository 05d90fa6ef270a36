from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from privstats.anonymise.access import _distinct_days


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(-(10**6), 10**6), max_size=200), st.integers(0, 30_000))
def test_days_are_numbered_as_sorting_numbers_them(offsets: list[int], base: int) -> None:
    days = np.array(offsets, dtype=np.int64) // 997 + base  # mostly a few days, some far
    distinct, codes = _distinct_days(days)
    want_distinct, want_codes = np.unique(days, return_inverse=True)
    assert distinct.tolist() == want_distinct.tolist()
    assert codes.ravel().tolist() == want_codes.ravel().tolist()
