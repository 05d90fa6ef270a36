"""Store columns as dictionary arrays, built from integer label ids rather than label texts.

A rule's result per distinct value is often an id into a short table of labels (a template
per path group, a family per user-agent class). The column's dictionary is then found by a
pass in C (``_kernels``) over those ids, and no label text is copied or hashed per value or
per row.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from privstats.anonymise import _kernels
from privstats.anonymise.shapes import kernel_indices


def label_ids(labels: pa.Array) -> tuple[np.ndarray, pa.Array]:
    """Each label's id into the distinct labels (-1 for a null), and those distinct labels."""
    encoded = pc.dictionary_encode(labels)
    ids = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False)
    return np.asarray(ids, dtype=np.int64), encoded.dictionary.cast(pa.string())


def dictionary_column(
    ids: np.ndarray, labels: pa.Array, codes: np.ndarray, used: np.ndarray
) -> pa.DictionaryArray:
    """Rows' labels as a dictionary column: row ``r`` carries ``labels[ids[codes[r]]]``.

    ``ids`` gives each value's label (-1: null), ``labels`` must be distinct, ``used`` tells
    which values rows use. The dictionary holds each label some row carries, in the order of
    the first value carrying it, as ``pc.dictionary_encode`` of the values' labels would.
    """
    # Each row's index into the labels rows carry, numbered as the used values first carry
    # them; and, per index, its label id.
    rows = np.empty(len(codes), dtype=np.int32)
    order = np.empty(len(labels), dtype=np.int64)
    count = _kernels.first_appearance(
        np.ascontiguousarray(ids, dtype=np.int64),
        np.ascontiguousarray(used, dtype=bool),
        kernel_indices(codes),
        rows,
        order,
    )
    order = order[:count]
    nulls = rows < 0
    indices = pa.array(rows, mask=nulls) if nulls.any() else pa.array(rows)
    return pa.DictionaryArray.from_arrays(indices, labels.take(pa.array(order)))
