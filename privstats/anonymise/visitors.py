"""Visitor pseudonyms of whole blocks: one HMAC per distinct (period, client, user agent).

A 2-million-line log has a few hundred thousand distinct triples, and a busy visitor's triple
recurs in many blocks. Clients, agents and periods are interned to small integers (in Arrow,
a hash lookup per distinct value), a triple packs into one 64-bit integer, and pseudonyms
already computed are found by that integer; only new triples are hashed, in Python. Everything
is forgotten past a size limit, so memory stays flat however long the log (logs are in time
order: a period seldom comes back once the next has begun).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from privstats.anonymise.pseudonyms import visitor_pseudonyms
from privstats.key import SecretKey
from privstats.sources.parsed import Coded

_AGENT_BITS = 24
_CLIENT_BITS = 27
_PERIOD_BITS = 12


class _Interner:
    """Distinct texts as small integers (0 stands for a missing text), and back."""

    def __init__(self) -> None:
        self.texts = pa.array([None], pa.string())

    def __len__(self) -> int:
        return len(self.texts)

    def per_value(self, coded: Coded) -> np.ndarray:
        """The id of each value of ``coded`` (values no row uses get an id all the same)."""
        values = coded.values.cast(pa.string())
        found = pc.index_in(values, value_set=self.texts.slice(1))
        ids = np.asarray(found.fill_null(-1).to_numpy(zero_copy_only=False), dtype=np.int64) + 1
        missing = values.is_null().to_numpy(zero_copy_only=False)
        ids[missing] = 0
        new = (ids == 0) & ~missing
        if new.any():
            fresh = pc.unique(values.filter(pa.array(new)))
            where = pc.index_in(values.filter(pa.array(new)), value_set=fresh).to_numpy()
            ids[new] = len(self.texts) + where
            self.texts = pa.concat_arrays([self.texts, fresh])
        return ids


class VisitorPseudonyms:
    """Pseudonyms per row of a block, remembered across the blocks of one ingest."""

    def __init__(self, key: SecretKey, limit: int = 400_000) -> None:
        self.key = key
        self.limit = limit
        self._reset()

    def _reset(self) -> None:
        self._periods = _Interner()
        self._clients = _Interner()
        self._agents = _Interner()
        self._keys = pa.array([], pa.int64())
        self._pseudonyms = np.zeros(0, dtype=np.int64)

    def __call__(self, period: Coded, client: Coded, agent: Coded) -> np.ndarray:
        if (
            len(self._keys) > self.limit
            or len(self._clients) + len(client.values) >= min(self.limit, 1 << _CLIENT_BITS)
            or len(self._agents) + len(agent.values) >= 1 << _AGENT_BITS
            or len(self._periods) + len(period.values) >= 1 << _PERIOD_BITS
        ):
            self._reset()
        periods = self._periods.per_value(period)[period.codes]
        clients = self._clients.per_value(client)[client.codes]
        agents = self._agents.per_value(agent)[agent.codes]
        packed = (periods << (_CLIENT_BITS + _AGENT_BITS)) | (clients << _AGENT_BITS) | agents
        encoded = pc.dictionary_encode(pa.array(packed))
        distinct = encoded.dictionary
        where = pc.index_in(distinct, value_set=self._keys)
        position = np.asarray(where.fill_null(-1).to_numpy(zero_copy_only=False), np.int64)
        values = np.zeros(len(distinct), dtype=np.int64)
        known = position >= 0
        values[known] = self._pseudonyms[position[known]]
        if not known.all():
            keys = distinct.filter(pa.array(~known))
            values[~known] = self._hash(keys.to_numpy())
            self._keys = pa.concat_arrays([self._keys, keys])
            self._pseudonyms = np.concatenate([self._pseudonyms, values[~known]])
        return values[encoded.indices.to_numpy()]

    def _hash(self, keys: np.ndarray) -> np.ndarray:
        period = keys >> (_CLIENT_BITS + _AGENT_BITS)
        client = (keys >> _AGENT_BITS) & ((1 << _CLIENT_BITS) - 1)
        agent = keys & ((1 << _AGENT_BITS) - 1)
        return visitor_pseudonyms(
            self.key,
            self._periods.texts.take(pa.array(period)).to_pylist(),
            self._clients.texts.take(pa.array(client)).to_pylist(),
            self._agents.texts.take(pa.array(agent)).to_pylist(),
        )
