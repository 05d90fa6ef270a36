"""Visitor pseudonyms of whole blocks: one HMAC per distinct (period, client, user agent).

A 2-million-line log has a few hundred thousand distinct triples, and a busy visitor's triple
recurs in many blocks. Each distinct triple of a block gets a 128-bit fingerprint, built from
fast unkeyed hashes of its three texts, and the pseudonyms already computed are found by it;
only new triples are hashed with the key, in Python. The fingerprint only finds a pseudonym
computed before: it never replaces the keyed HMAC, and two triples would have to agree on 128
bits to be confused (about one chance in 10^26 for a million triples). Everything is forgotten
past a size limit, so memory stays flat however long the log.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from privstats.anonymise.pseudonyms import visitor_pseudonyms
from privstats.key import SecretKey
from privstats.sources.parsed import Coded

_SEEDS = ((0x5EED_0001, 0x5EED_0002, 0x5EED_0003), (0x5EED_0011, 0x5EED_0012, 0x5EED_0013))


class VisitorPseudonyms:
    """Pseudonyms per row of a block, remembered across the blocks of one ingest."""

    def __init__(self, key: SecretKey, limit: int = 400_000) -> None:
        self.key = key
        self.limit = limit
        self._reset()

    def _reset(self) -> None:
        # Pseudonyms computed so far, sorted by the first half of their triple's fingerprint.
        self._first = np.zeros(0, dtype=np.uint64)
        self._second = np.zeros(0, dtype=np.uint64)
        self._pseudonyms = np.zeros(0, dtype=np.int64)

    def __call__(self, period: Coded, client: Coded, agent: Coded) -> np.ndarray:
        if len(self._pseudonyms) > self.limit:
            self._reset()
        n_clients, n_agents = len(client.values), len(agent.values)
        packed = (period.codes.astype(np.int64) * n_clients + client.codes) * n_agents + agent.codes
        encoded = pc.dictionary_encode(pa.array(packed))
        triples = encoded.dictionary.to_numpy()
        a = triples % n_agents
        c = (triples // n_agents) % n_clients
        p = triples // (n_agents * n_clients)
        first, second = (_fingerprint(period, client, agent, p, c, a, seeds) for seeds in _SEEDS)
        position = np.minimum(np.searchsorted(self._first, first), len(self._first) - 1)
        known = np.zeros(len(triples), dtype=bool)
        if len(self._first):
            known = (self._first[position] == first) & (self._second[position] == second)
        values = np.empty(len(triples), dtype=np.int64)
        values[known] = self._pseudonyms[position[known]]
        fresh = np.flatnonzero(~known)
        if len(fresh):
            values[fresh] = visitor_pseudonyms(
                self.key,
                period.values.take(pa.array(p[fresh])).to_pylist(),
                client.values.take(pa.array(c[fresh])).to_pylist(),
                agent.values.take(pa.array(a[fresh])).to_pylist(),
            )
            fresh = fresh[np.argsort(first[fresh], kind="stable")]
            at = np.searchsorted(self._first, first[fresh])
            self._first = np.insert(self._first, at, first[fresh])
            self._second = np.insert(self._second, at, second[fresh])
            self._pseudonyms = np.insert(self._pseudonyms, at, values[fresh])
        return values[encoded.indices.to_numpy()]


def _fingerprint(
    period: Coded,
    client: Coded,
    agent: Coded,
    p: np.ndarray,
    c: np.ndarray,
    a: np.ndarray,
    seeds: tuple[int, int, int],
) -> np.ndarray:
    """64 bits of a triple's fingerprint: the three texts' hashes, rotated apart and mixed."""
    parts = [
        _hashes(coded.values, seed)[index]
        for coded, index, seed in (
            (period, p, seeds[0]),
            (client, c, seeds[1]),
            (agent, a, seeds[2]),
        )
    ]
    mixed = parts[0] ^ _rotate(parts[1], 21) ^ _rotate(parts[2], 42)
    return _finalise(mixed)


def _hashes(values: pa.Array, seed: int) -> np.ndarray:
    """A 64-bit hash of each value (a missing value hashes like no other)."""
    series = pl.from_arrow(values.cast(pa.string()))
    hashed = series.hash(seed=seed).to_numpy()  # type: ignore[union-attr]
    missing = series.is_null().to_numpy()  # type: ignore[union-attr]
    return np.where(missing, np.uint64(0x9E3779B97F4A7C15), hashed).astype(np.uint64)


def _rotate(values: np.ndarray, bits: int) -> np.ndarray:
    return (values << np.uint64(bits)) | (values >> np.uint64(64 - bits))


def _finalise(values: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser: every input bit reaches every output bit."""
    with np.errstate(over="ignore"):
        values = (values ^ (values >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        values = (values ^ (values >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return values ^ (values >> np.uint64(31))
