"""The right to erasure: remove every stored row of a person, and keep them out afterwards.

``erase(store, key, emails)`` turns each address into the person pseudonym every table uses
(the normalised e-mail under the keyed HMAC that never rotates), then, in one store
transaction, rewrites each data file holding one of those persons without their rows and records
the pseudonyms as tombstones in the catalog. Later ingests (CRM and access logs alike) drop rows
of tombstoned persons, so re-sending an old export does not bring them back. The commit is the
store's atomic catalog swap: a crash leaves the store as it was, with or without the erasure,
never half of it. Tombstones hold pseudonyms only, never an address.

Web requests made while logged in (``login = "person"``) carry the person, and also the visitor
pseudonym of the browser they came from: the same browser's requests of the same key period
(a day, by default) without a login are the person's too, linkable to them through it. Those
rows go as well, and their (period, visitor) pairs are tombstoned, so that a later ingest of
that period drops them too.

Which released reports contained the person is a question for the release ledger: erasure
describes where the removed rows lay (table, day, partners: no identifier) as a ``Footprint``,
and asks any ``ReleaseLedger`` given to it which releases covered those places.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from privstats.anonymise import person_pseudonyms
from privstats.exceptions import InputError, StoreError
from privstats.key import SecretKey
from privstats.schema import TABLES
from privstats.sources.crm_records import EMAIL_PATTERN
from privstats.store import Catalog, Store

_EMAIL = re.compile(EMAIL_PATTERN)  # the CRM ingest's own test of an address
_SHOWN_LINES = 5


@dataclass(frozen=True)
class Footprint:
    """Where erased rows lay: a table, a UTC day, and the partners of their organisations."""

    table: str
    day: str
    rows: int
    # Empty when the table has no partner column (web requests belong to no partner).
    partners: frozenset[str] = frozenset()


class ReleaseLedger(Protocol):
    """The release ledger's side of erasure (the reviewer's gate provides it)."""

    def releases_touching(self, footprint: Sequence[Footprint]) -> list[str]:
        """Names of released reports whose data covered any of these tables, days, partners."""
        ...


@dataclass(frozen=True)
class ErasureResult:
    """What an erasure did; safe to print (counts, table names, report names)."""

    requested: int  # distinct persons asked for
    found: int  # of those, persons with at least one stored row
    rows_removed: dict[str, int] = field(default_factory=dict)
    footprint: tuple[Footprint, ...] = ()
    # Released reports to re-run; None when no ledger could be asked.
    releases: tuple[str, ...] | None = None

    def summary(self) -> str:
        removed = ", ".join(f"{n} from {t}" for t, n in sorted(self.rows_removed.items()))
        lines = [
            f"erased {self.found} of {self.requested} requested persons"
            + (f": rows removed {removed}" if removed else ": no stored rows")
            + f"; {self.requested} tombstones recorded, later ingests will drop their rows"
        ]
        if self.releases is None:
            lines.append("released reports: no release ledger yet, none can be named")
        elif self.releases:
            lines.append(
                "released reports that contained their data (re-run them): "
                + ", ".join(self.releases)
            )
        else:
            lines.append("released reports: none contained their data")
        return "\n".join(lines)


def erase(
    store: Store,
    key: SecretKey,
    emails: Iterable[str],
    *,
    ledger: ReleaseLedger | None = None,
    wait: float = 0,
) -> ErasureResult:
    """Erase the persons with these e-mail addresses from ``store``; see the module docstring."""
    addresses = [e.strip() for e in emails]
    wrong = sum(1 for e in addresses if not _EMAIL.match(e))
    if wrong:
        raise InputError(
            f"{wrong} of {len(addresses)} erasure requests are not e-mail addresses; "
            "nothing was erased"
        )
    if not addresses:
        raise InputError("no e-mail address to erase")
    persons = {p for p in person_pseudonyms(key, addresses) if p is not None}
    return erase_persons(
        store, persons, key_fingerprint=key.fingerprint(), ledger=ledger, wait=wait
    )


def erase_persons(
    store: Store,
    persons: set[int],
    *,
    key_fingerprint: str,
    ledger: ReleaseLedger | None = None,
    wait: float = 0,
) -> ErasureResult:
    """Erase persons given by pseudonym (computed with the key of ``key_fingerprint``)."""
    if not store.exists():
        raise StoreError(f"no store at {store.root}; nothing to erase from")
    wanted = pa.array(sorted(persons), pa.int64())
    with store.locked(wait):
        catalog = store.catalog()
        if catalog.key_fingerprint not in (None, key_fingerprint):
            raise StoreError(
                "this store was built with a different pseudonymisation key: "
                "erasure with this key would find no one; use the store's key"
            )
        files = [e for e in catalog.files if "person" in TABLES[e["table"]].names]
        # The browsers the persons used while logged in, per key period: first pass.
        visitors = _visitors_of(store, [e for e in files if e["table"] == "access"], wanted)
        visitors |= {(str(p), int(v)) for p, v in catalog.erased_visitors}
        by_period: dict[str, list[int]] = {}
        for period, visitor in visitors:
            by_period.setdefault(period, []).append(visitor)
        transaction = store.transaction()
        removed: dict[str, int] = {}
        replaced: list[str] = []
        found: set[int] = set()
        footprint: list[Footprint] = []
        try:
            for entry in files:
                table = entry["table"]
                path = store.root / entry["path"]
                by_visitor = table == "access" and bool(visitors)
                keys = _read(store, path, ["person", *(_PAIR if by_visitor else [])])
                hit = pc.fill_null(pc.is_in(keys["person"], value_set=wanted), False)
                found.update(pc.filter(keys["person"], hit).to_pylist())
                if by_visitor:
                    hit = pc.or_(hit, _pairs_in(keys, by_period))
                count = pc.sum(hit).as_py() or 0
                if not count:
                    continue
                data = _read(store, path, written=entry)
                partners: frozenset[str] = frozenset()
                if "partner" in data.column_names:
                    gone = pc.filter(data["partner"], hit).cast(pa.string())
                    partners = frozenset(p for p in gone.to_pylist() if p is not None)
                footprint.append(Footprint(table, entry.get("day") or "-", count, partners))
                transaction.write(table, data.filter(pc.invert(hit)))
                replaced.append(entry["path"])
                removed[table] = removed.get(table, 0) + count
            staged = transaction.finish()

            def tombstone_visitors(new: Catalog) -> None:
                # Pairs as lists, as the catalog's JSON reads back.
                new.erased_visitors = [[p, v] for p, v in sorted(visitors)]

            store.commit(
                staged=staged,
                staging=transaction.staging,
                remove_files=set(replaced),
                tombstones=persons,
                key_fingerprint=key_fingerprint,
                change=tombstone_visitors,
            )
        except BaseException:
            transaction.discard()
            raise
    merged = _merge(footprint)
    releases = None if ledger is None else tuple(ledger.releases_touching(merged))
    return ErasureResult(len(persons), len(found), removed, merged, releases)


def read_erasure_requests(path: Path | str) -> list[str]:
    """The e-mail addresses of a requests file: CSV with an ``email`` column, or JSON lines.

    A request that is not an e-mail address fails the whole file (an erasure is not a thing to
    half-do); the error names its line, never its content.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise InputError(f"cannot read {path.name}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise InputError(f"{path.name} is not UTF-8 text") from None
    found: list[tuple[int, str | None]] = []
    if path.suffix in (".jsonl", ".ndjson"):
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError:
                record = None
            value = record.get("email") if isinstance(record, dict) else None
            found.append((number, value if isinstance(value, str) else None))
    else:
        reader = csv.reader(text.splitlines(keepends=True))
        try:
            header = [h.strip().lower() for h in next(reader)]
        except StopIteration:
            raise InputError(f"{path.name} is empty") from None
        except csv.Error:
            raise InputError(f"{path.name} line 1: the header is not readable as CSV") from None
        if "email" not in header:
            raise InputError(f"{path.name}: the header lacks the column email")
        column = header.index("email")
        while True:
            start = reader.line_num + 1
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error:
                found.append((start, None))
                continue
            if row:
                found.append((start, row[column] if column < len(row) else None))
    bad = [n for n, value in found if value is None or not _EMAIL.match(value.strip())]
    if bad:
        shown = ", ".join(map(str, bad[:_SHOWN_LINES])) + (
            ", ..." if len(bad) > _SHOWN_LINES else ""
        )
        raise InputError(
            f"{path.name}: {len(bad)} requests are not e-mail addresses (line {shown}); "
            "nothing was erased"
        )
    if not found:
        raise InputError(f"{path.name} holds no erasure request")
    return [value.strip() for _, value in found if value is not None]


def _read(
    store: Store,
    path: Path,
    columns: list[str] | None = None,
    written: dict[str, Any] | None = None,
) -> pa.Table:
    """A data file the store lists (checked present and of its size when the lock was taken);
    unreadable, it stops the erasure with a one-line error. A file to be rewritten is checked
    against the SHA-256 it was written with (``written``, its catalog entry) too: damage
    copied into a new file would pass every later check."""
    try:
        if written is None:
            return pq.read_table(path, columns=columns)
        data = path.read_bytes()
        recorded = written.get("sha256")
        if isinstance(recorded, str) and hashlib.sha256(data).hexdigest() != recorded:
            raise OSError("changed since it was written")
        return pq.read_table(pa.BufferReader(data), columns=columns)
    except (OSError, pa.ArrowException):
        raise StoreError(
            f"a data file of the store at {store.root} is damaged or unreadable "
            f"({path.relative_to(store.root)}); nothing was erased: run "
            "'privstats store check --repair', then erase again"
        ) from None


_PAIR = ["key_period", "visitor"]


def _visitors_of(
    store: Store, files: list[dict[str, Any]], persons: pa.Array
) -> set[tuple[str, int]]:
    """The (key period, visitor) pairs of the persons' web requests."""
    pairs: set[tuple[str, int]] = set()
    for entry in files:
        path = store.root / entry["path"]
        hit = pc.fill_null(pc.is_in(_read(store, path, ["person"])["person"], persons), False)
        if pc.any(hit).as_py():
            mine = _read(store, path, _PAIR).filter(hit)
            periods = mine["key_period"].cast(pa.string()).to_pylist()
            pairs.update(zip(periods, mine["visitor"].to_pylist(), strict=True))
    return pairs


def _pairs_in(data: pa.Table, by_period: dict[str, list[int]]) -> pa.Array:
    """Per row of ``data`` (access rows), whether its visitor is one of its key period's in
    ``by_period``: the file's few periods each looked up once, its visitors by a vectorised
    membership test."""
    periods = data["key_period"].cast(pa.string()).combine_chunks()
    visitors = data["visitor"].combine_chunks()
    hit = pa.array(np.zeros(len(data), dtype=bool))
    for period in pc.unique(periods).to_pylist():
        if period in by_period:
            mine = pc.and_(
                pc.equal(periods, period),
                pc.is_in(visitors, pa.array(by_period[period], pa.int64())),
            )
            hit = pc.or_(hit, pc.fill_null(mine, False))
    return hit


def _merge(footprint: list[Footprint]) -> tuple[Footprint, ...]:
    """One footprint per table and day (a day may have been split over several files)."""
    merged: dict[tuple[str, str], Footprint] = {}
    for item in footprint:
        key = (item.table, item.day)
        if key in merged:
            old = merged[key]
            item = Footprint(
                item.table, item.day, old.rows + item.rows, old.partners | item.partners
            )
        merged[key] = item
    return tuple(sorted(merged.values(), key=lambda f: (f.table, f.day)))
