"""Visitor pseudonyms of whole blocks: one HMAC per distinct (period, client, user agent).

A 2-million-line log has a few hundred thousand distinct triples, and a busy visitor's triple
recurs in many blocks. Each triple gets a 128-bit fingerprint, built from two 64-bit hashes of
each of its three texts (seeded from the secret key, so no one can craft two triples that
agree), and the pseudonyms already computed are found by it in an open-addressing table; only
new triples are hashed with the key. The fingerprint only finds a pseudonym computed before:
it never replaces the keyed HMAC, and two triples would have to agree on 128 bits to be
confused (about one chance in 10^26 for a million triples). Hashing the texts, looking every
row up and the HMACs of the new triples run in C (``_kernels``, the HMACs with OpenSSL's
libcrypto), without the GIL, and make no Python object per row or per distinct value. The C
HMACs are ``pseudonyms.visitor_pseudonyms`` bit for bit, which stays the definition (the CRM
and the tests use it). Everything is forgotten past a size limit, so memory stays flat
however long the log.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from privstats.anonymise import _kernels
from privstats.anonymise.pseudonyms import VISITOR
from privstats.anonymise.shapes import arrow_strings, kernel_indices
from privstats.key import SecretKey
from privstats.sources.parsed import Coded

# The table's states (empty, known, new), the hash lanes' multipliers and the hash of a null
# are in ``_kernels.c``.


class VisitorPseudonyms:
    """Pseudonyms per row of a block, remembered across the blocks of one ingest."""

    # A busy day's triples fit (the 20-million-line benchmark log has about 810,000 a day):
    # forgetting them within the day would hash them all again. The table is then 2**21
    # slots, 64 MiB.
    def __init__(self, key: SecretKey, limit: int = 900_000) -> None:
        self.key = key
        self.limit = limit
        secret = key.derive("visitor-cache")
        self._seeds = np.frombuffer(secret[:16], dtype=np.uint64).copy()
        self._periods: set[str] = set()  # the key periods of the triples in the table
        self._reset()

    def _reset(self, capacity: int = 1 << 18) -> None:
        # Open addressing, linear probing: per slot both halves of a fingerprint, pseudonym
        # and state, as four uint64 side by side (``_kernels.c`` says why). The old table goes
        # before the new one is made, so that the two never add up at the peak.
        self._table = _aligned_slots(0)
        self._table = _aligned_slots(capacity)
        self._count = 0
        self._periods = set()

    def __call__(self, period: Coded, client: Coded, agent: Coded) -> np.ndarray:
        periods = _present(period)
        # A log runs in time order: once a block has no row of a period the table holds, that
        # period's triples are not asked for again, and forgetting them keeps the table for
        # the day's visitors (a busy day has hundreds of thousands).
        if self._count > self.limit or not self._periods <= periods:
            self._reset(len(self._table))
        self._periods |= periods
        rows = len(client)
        if 2 * (self._count + rows) > len(self._table):
            self._grow(2 * (self._count + rows))
        strings = [
            arrow_strings(coded.values.cast(pa.string())) for coded in (period, client, agent)
        ]
        hashes = [self._hashes(*texts) for texts in strings]
        values = np.empty(rows, dtype=np.int64)
        fresh_of_row = np.empty(rows, dtype=np.int64)
        fresh_rows = np.empty(rows, dtype=np.int64)
        fresh_slots = np.empty(rows, dtype=np.int64)
        # Each row's pseudonym where its triple is known (0 where new); each row's new triple
        # (-1: known); per new triple, its first row and its slot.
        try:
            count = _kernels.look_up(
                kernel_indices(period.codes),
                kernel_indices(client.codes),
                kernel_indices(agent.codes),
                *hashes,
                self._table,
                values,
                fresh_of_row,
                fresh_rows,
                fresh_slots,
            )
        except BaseException:
            self._reset()  # entries of the rows before the failure would never be settled
            raise
        fresh_rows, fresh_slots = fresh_rows[:count], fresh_slots[:count]
        if count:
            try:
                fresh = self._fresh(fresh_rows, period, client, agent, strings)
                _kernels.settle(
                    values,
                    fresh_of_row,
                    np.ascontiguousarray(fresh, dtype=np.int64),
                    fresh_slots,
                    self._table,
                )
            except BaseException:
                self._reset()  # the new entries would never be settled
                raise
            self._count += len(fresh_rows)
        return values

    def _fresh(
        self,
        rows: np.ndarray,
        period: Coded,
        client: Coded,
        agent: Coded,
        strings: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
    ) -> np.ndarray:
        """The pseudonyms of the triples of ``rows``, as ``visitor_pseudonyms`` has them
        (``strings``: the three columns' values as ``arrow_strings`` gives them)."""
        # A sub-key per period value, in code order (a block has one or two), derived from the
        # label as visitor_pseudonyms derives it; the kernel picks each row's by its code.
        keys = b"".join(self.key.derive(VISITOR, label) for label in period.values.to_pylist())
        out = np.empty(len(rows), dtype=np.int64)
        _kernels.visitor_macs(
            rows,
            kernel_indices(period.codes),
            keys,
            kernel_indices(client.codes),
            *strings[1],
            kernel_indices(agent.codes),
            *strings[2],
            out,
        )
        return out

    def _hashes(self, offsets: np.ndarray, data: np.ndarray, valid: np.ndarray) -> np.ndarray:
        """Two 64-bit hashes of each text (row: text, column: lane), a null unlike any text."""
        hashes = np.empty((len(valid), 2), dtype=np.uint64)
        _kernels.string_hashes(offsets, data, valid, self._seeds, hashes)
        return hashes

    def _grow(self, needed: int) -> None:
        # Past its first size, straight to the size of a full table (a load of a half at the
        # limit): growing by doubling would hold the table twice at its largest.
        capacity = len(self._table)
        while capacity < max(needed, 2 * self.limit):
            capacity *= 2
        old = self._table
        count = self._count
        self._reset(capacity)
        self._count = count
        _kernels.rehash(old, self._table)


def _present(period: Coded) -> set[str]:
    """The key periods some row of the block is in."""
    used = np.bincount(period.codes, minlength=len(period.values)) > 0
    return set(period.values.filter(pa.array(used)).to_pylist())


def _aligned_slots(capacity: int) -> np.ndarray:
    """An empty table of ``capacity`` 32-byte slots, (capacity, 4) uint64, starting on a
    64-byte boundary so that no slot straddles two cache lines."""
    room = np.zeros(4 * capacity + 8, dtype=np.uint64)
    skip = (-room.ctypes.data % 64) // 8
    return room[skip : skip + 4 * capacity].reshape(capacity, 4)
