"""Visitor pseudonyms of whole blocks: one HMAC per distinct (period, client, user agent).

A 2-million-line log has a few hundred thousand distinct triples, and a busy visitor's triple
recurs in many blocks. Clients, agents and periods are interned to small integers once, a
triple packs into one 64-bit integer, and the pseudonyms already computed are looked up by
that integer; only new triples are hashed. Everything is forgotten past a size limit, so memory
stays flat however long the log (a log is in time order: old periods do not come back often).
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
    """Distinct texts as small integers, and back."""

    def __init__(self) -> None:
        self.ids: dict[str | None, int] = {}
        self.texts: list[str | None] = []

    def __len__(self) -> int:
        return len(self.texts)

    def per_value(self, coded: Coded) -> np.ndarray:
        """The id of each value of ``coded`` that some row uses (-1 for the others)."""
        used = np.zeros(len(coded.values), dtype=bool)
        used[coded.codes] = True
        where = np.flatnonzero(used)
        out = np.full(len(coded.values), -1, dtype=np.int64)
        ids, texts = self.ids, self.texts
        found = []
        for text in coded.values.take(pa.array(where)).to_pylist():
            value = ids.get(text)
            if value is None:
                value = ids[text] = len(texts)
                texts.append(text)
            found.append(value)
        out[where] = found
        return out


class VisitorPseudonyms:
    """Pseudonyms per row of a block, remembered across the blocks of one ingest."""

    def __init__(self, key: SecretKey, limit: int = 500_000) -> None:
        self.key = key
        self.limit = limit
        self._reset()

    def _reset(self) -> None:
        self._periods = _Interner()
        self._clients = _Interner()
        self._agents = _Interner()
        self._known: dict[int, int] = {}

    def __call__(self, period: Coded, client: Coded, agent: Coded) -> np.ndarray:
        if (
            len(self._known) > self.limit
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
        distinct = encoded.dictionary.to_numpy().tolist()
        known = self._known
        values = [known.get(k) for k in distinct]
        missing = [i for i, v in enumerate(values) if v is None]
        if missing:
            keys = [distinct[i] for i in missing]
            agent_mask = (1 << _AGENT_BITS) - 1
            client_mask = (1 << _CLIENT_BITS) - 1
            fresh = visitor_pseudonyms(
                self.key,
                [self._periods.texts[k >> (_CLIENT_BITS + _AGENT_BITS)] for k in keys],
                [self._clients.texts[(k >> _AGENT_BITS) & client_mask] for k in keys],
                [self._agents.texts[k & agent_mask] for k in keys],
            ).tolist()
            for i, k, value in zip(missing, keys, fresh, strict=True):
                values[i] = known[k] = value
        return np.array(values, dtype=np.int64)[encoded.indices.to_numpy()]
