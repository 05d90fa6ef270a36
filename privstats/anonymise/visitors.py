"""Visitor pseudonyms of whole blocks: one HMAC per distinct (period, client, user agent).

A 2-million-line log has a few hundred thousand distinct triples, and a busy visitor's triple
recurs in many blocks. Each triple gets a 128-bit fingerprint, built from two 64-bit hashes of
each of its three texts (seeded from the secret key, so no one can craft two triples that
agree), and the pseudonyms already computed are found by it in an open-addressing table; only
new triples are hashed with the key, in Python. The fingerprint only finds a pseudonym
computed before: it never replaces the keyed HMAC, and two triples would have to agree on 128
bits to be confused (about one chance in 10^26 for a million triples). Hashing the texts and
looking every row up run compiled, without the GIL, and make no Python object per row or per
distinct value. Everything is forgotten past a size limit, so memory stays flat however long
the log.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from privstats.anonymise.pseudonyms import visitor_pseudonyms
from privstats.anonymise.shapes import arrow_strings
from privstats.compiled import kernel
from privstats.key import SecretKey
from privstats.sources.parsed import Coded

_EMPTY, _KNOWN, _NEW = 0, 1, 2
# Multipliers of the two hash lanes (odd, with well spread bits).
_LANES = (0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F)
_MISSING = 0x2545F4914F6CDD1D  # what a null hashes to before mixing, unlike any text


class VisitorPseudonyms:
    """Pseudonyms per row of a block, remembered across the blocks of one ingest."""

    def __init__(self, key: SecretKey, limit: int = 400_000) -> None:
        self.key = key
        self.limit = limit
        secret = key.derive("visitor-cache")
        self._seeds = np.frombuffer(secret[:16], dtype=np.uint64).copy()
        self._reset()

    def _reset(self, capacity: int = 1 << 18) -> None:
        # Open addressing, linear probing: both halves of a fingerprint, state and pseudonym.
        self._first = np.zeros(capacity, dtype=np.uint64)
        self._second = np.zeros(capacity, dtype=np.uint64)
        self._state = np.zeros(capacity, dtype=np.uint8)
        self._pseudonyms = np.zeros(capacity, dtype=np.int64)
        self._count = 0

    def __call__(self, period: Coded, client: Coded, agent: Coded) -> np.ndarray:
        if self._count > self.limit:
            self._reset()
        rows = len(client)
        if 2 * (self._count + rows) > len(self._state):
            self._grow(2 * (self._count + rows))
        hashes = [self._hashes(coded.values) for coded in (period, client, agent)]
        values, fresh_of_row, fresh_rows, fresh_slots = _look_up(
            period.codes,
            client.codes,
            agent.codes,
            *hashes,
            self._first,
            self._second,
            self._state,
            self._pseudonyms,
        )
        if len(fresh_rows):

            def texts(coded: Coded) -> list[str | None]:
                return coded.values.take(pa.array(coded.codes[fresh_rows])).to_pylist()

            try:
                fresh = visitor_pseudonyms(self.key, texts(period), texts(client), texts(agent))
            except BaseException:
                self._reset()  # the new entries would never be settled
                raise
            _settle(values, fresh_of_row, fresh, fresh_slots, self._state, self._pseudonyms)
            self._count += len(fresh_rows)
        return values

    def _hashes(self, values: pa.Array) -> np.ndarray:
        offsets, data, valid = arrow_strings(values.cast(pa.string()))
        return _string_hashes(offsets, data, valid, self._seeds)

    def _grow(self, needed: int) -> None:
        capacity = len(self._state)
        while capacity < needed:
            capacity *= 2
        old = (self._first, self._second, self._state, self._pseudonyms)
        count = self._count
        self._reset(capacity)
        self._count = count
        _rehash(*old, self._first, self._second, self._state, self._pseudonyms)


@kernel
def _mix(value: np.uint64) -> np.uint64:
    """SplitMix64's finaliser: every input bit reaches every output bit."""
    value = (value ^ (value >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    value = (value ^ (value >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return value ^ (value >> np.uint64(31))


@kernel
def _string_hashes(
    offsets: np.ndarray, data: np.ndarray, valid: np.ndarray, seeds: np.ndarray
) -> np.ndarray:
    """Two 64-bit hashes of each text (row: text, column: lane), a null unlike any text.

    Each lane runs its own multiplier over the bytes from its own seed and mixes the length
    in at the end, so texts of different lengths or bytes part in both lanes.
    """
    n = len(valid)
    out = np.empty((n, 2), dtype=np.uint64)
    first_lane = np.uint64(_LANES[0])
    second_lane = np.uint64(_LANES[1])
    for i in range(n):
        if not valid[i]:
            out[i, 0] = _mix(seeds[0] ^ np.uint64(_MISSING))
            out[i, 1] = _mix(seeds[1] ^ np.uint64(_MISSING))
            continue
        a = seeds[0]
        b = seeds[1]
        for k in range(offsets[i], offsets[i + 1]):
            byte = np.uint64(data[k])
            a = (a ^ byte) * first_lane
            b = (b ^ byte) * second_lane
        size = np.uint64(offsets[i + 1] - offsets[i])
        out[i, 0] = _mix(a ^ size)
        out[i, 1] = _mix(b + size)
    return out


@kernel
def _rotate(value: np.uint64, bits: int) -> np.uint64:
    return (value << np.uint64(bits)) | (value >> np.uint64(64 - bits))


@kernel
def _look_up(
    period: np.ndarray,
    client: np.ndarray,
    agent: np.ndarray,
    period_hashes: np.ndarray,
    client_hashes: np.ndarray,
    agent_hashes: np.ndarray,
    first: np.ndarray,
    second: np.ndarray,
    state: np.ndarray,
    pseudonyms: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Each row's pseudonym where its triple's fingerprint is in the table; new triples are
    entered (state new), once each however many rows share them.

    Returns the rows' pseudonyms (0 where new), the new triple of each row (-1: known), and
    per new triple its first row and its slot. The table must have a free slot per row.
    """
    rows = len(client)
    mask = np.uint64(len(state) - 1)
    values = np.zeros(rows, dtype=np.int64)
    fresh_of_row = np.full(rows, -1, dtype=np.int64)
    fresh_rows = np.empty(rows, dtype=np.int64)
    fresh_slots = np.empty(rows, dtype=np.int64)
    fresh = 0
    for r in range(rows):
        p, c, a = period[r], client[r], agent[r]
        one = _mix(
            period_hashes[p, 0] ^ _rotate(client_hashes[c, 0], 21) ^ _rotate(agent_hashes[a, 0], 42)
        )
        two = _mix(
            period_hashes[p, 1] ^ _rotate(client_hashes[c, 1], 21) ^ _rotate(agent_hashes[a, 1], 42)
        )
        slot = one & mask
        while True:
            s = int(slot)
            if state[s] == _EMPTY:
                state[s] = _NEW
                first[s] = one
                second[s] = two
                pseudonyms[s] = fresh
                fresh_of_row[r] = fresh
                fresh_rows[fresh] = r
                fresh_slots[fresh] = s
                fresh += 1
                break
            if first[s] == one and second[s] == two:
                if state[s] == _KNOWN:
                    values[r] = pseudonyms[s]
                else:
                    fresh_of_row[r] = pseudonyms[s]
                break
            slot = (slot + np.uint64(1)) & mask
    return values, fresh_of_row, fresh_rows[:fresh], fresh_slots[:fresh]


@kernel
def _settle(
    values: np.ndarray,
    fresh_of_row: np.ndarray,
    fresh: np.ndarray,
    fresh_slots: np.ndarray,
    state: np.ndarray,
    pseudonyms: np.ndarray,
) -> None:
    """Enter the new triples' pseudonyms in the table and in their rows."""
    for j in range(len(fresh)):
        s = fresh_slots[j]
        state[s] = _KNOWN
        pseudonyms[s] = fresh[j]
    for r in range(len(values)):
        if fresh_of_row[r] >= 0:
            values[r] = fresh[fresh_of_row[r]]


@kernel
def _rehash(
    old_first: np.ndarray,
    old_second: np.ndarray,
    old_state: np.ndarray,
    old_pseudonyms: np.ndarray,
    first: np.ndarray,
    second: np.ndarray,
    state: np.ndarray,
    pseudonyms: np.ndarray,
) -> None:
    """Move the known entries into a larger table."""
    mask = np.uint64(len(state) - 1)
    for i in range(len(old_state)):
        if old_state[i] != _KNOWN:
            continue
        slot = old_first[i] & mask
        while state[int(slot)] != _EMPTY:
            slot = (slot + np.uint64(1)) & mask
        s = int(slot)
        state[s] = _KNOWN
        first[s] = old_first[i]
        second[s] = old_second[i]
        pseudonyms[s] = old_pseudonyms[i]
