"""Dictionary columns built from label ids are those dictionary-encoding the labels gives."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import given, settings
from hypothesis import strategies as st

from privstats.anonymise.columns import dictionary_column, label_ids


def by_texts(labels: list[str | None], codes: np.ndarray, used: np.ndarray) -> pa.Array:
    """The obvious way: each value's label text, unused ones masked, encoded, spread to rows."""
    texts = pa.array(labels, pa.string())
    texts = pc.if_else(pa.array(used), texts, pa.scalar(None, pa.string()))
    encoded = pc.dictionary_encode(texts)
    return pa.DictionaryArray.from_arrays(encoded.indices.take(pa.array(codes)), encoded.dictionary)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.one_of(st.none(), st.sampled_from(["GET", "POST", "/a", "/:id", ""])), min_size=1),
    st.data(),
)
def test_the_column_is_the_one_the_label_texts_give(labels: list[str | None], data) -> None:  # type: ignore[no-untyped-def]
    codes = np.array(
        data.draw(st.lists(st.integers(0, len(labels) - 1), max_size=50)), dtype=np.int32
    )
    used = np.zeros(len(labels), dtype=bool)
    used[codes] = True
    ids, distinct = label_ids(pa.array(labels, pa.string()))
    got = dictionary_column(ids, distinct, codes, used)
    want = by_texts(labels, codes, used)
    assert got.dictionary.to_pylist() == want.dictionary.to_pylist()
    assert got.indices.to_pylist() == want.indices.to_pylist()
    assert got.to_pylist() == [labels[c] for c in codes]
