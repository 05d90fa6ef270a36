"""Damage to the store: found before anyone builds on it, and moved aside when asked.

Every data file the catalog lists carries its row count, size and SHA-256, recorded when it was
written. ``check(store, full=False)`` (run by every writer when it takes the lock, and by
``privstats store info``) asks the file system only: each file is there, a file, and of its
size, and one written to after the catalog that lists it (its time is later) is read whole
(``privstats store info`` reads each file's footer too: it opens as Parquet and holds its
rows). ``check(store, full=True)`` (``privstats store check``) reads every file: it opens as
Parquet, holds its rows, and hashes to what was written.

``repair`` moves every partition (a table's day) that holds a damaged file aside, whole, into
``damaged/<time>/`` in the store, takes its files out of the catalog, and marks the inputs that
had rows on those days: ingesting such an access log again adds the rows of those days only
(``Restoration``), and the next CRM ingest replaces its snapshot even if the export did not
change. Nothing is
deleted; the folder moved aside may be inspected, then removed by hand.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from privstats.exceptions import StoreError
from privstats.sources.parsed import ParsedBlock
from privstats.store import CATALOG, Catalog, Store, writing

DAMAGED = "damaged"
# An input's days whose rows a repair moved aside, per table: ingesting the input again adds
# those days' rows only.
MISSING = "missing_days"
_US_PER_DAY = 86_400_000_000
_EPOCH = dt.date(1970, 1, 1)


@dataclass(frozen=True)
class Damage:
    """One listed file that is not as it was written."""

    path: str  # relative to the store
    table: str
    day: str | None
    problem: str

    def __str__(self) -> str:
        return f"{self.path}: {self.problem}"


@dataclass(frozen=True)
class Health:
    """What a check found: the files it looked at, their bytes, and the damage."""

    files: int
    bytes: int
    damage: tuple[Damage, ...]
    full: bool

    @property
    def ok(self) -> bool:
        return not self.damage

    def lines(self, root: Path) -> list[str]:
        how = "read and hashed" if self.full else "looked up"
        if self.ok:
            return [f"store {root}: {self.files} files {how} ({_size(self.bytes)}), no damage"]
        return [
            f"store {root}: {len(self.damage)} of {self.files} files damaged",
            *(f"  {d}" for d in self.damage),
            "run 'privstats store check --repair' to move the damaged days aside",
        ]


@dataclass
class Repair:
    """What ``repair`` moved aside, and which days of which tables need their inputs again."""

    health: Health
    folder: Path | None = None
    days: dict[str, dict[str, int]] = field(default_factory=dict)  # table -> day -> rows lost
    inputs: dict[str, list[str]] = field(default_factory=dict)  # table -> input ids marked

    def lines(self, root: Path) -> list[str]:
        if self.folder is None:
            return self.health.lines(root)
        damaged = _counted(len(self.health.damage), "damaged file")
        lines = [f"moved the days holding {damaged} aside, to {self.folder}"]
        for table, days in sorted(self.days.items()):
            listed = ", ".join(sorted(days))
            lost = f"{_counted(sum(days.values()), 'row')} of {_counted(len(days), 'day')}"
            lines.append(f"  {table}: {lost} ({listed})")
            marked = self.inputs.get(table, [])
            if table.startswith("crm_"):
                lines.append("    ingest the CRM again: the next ingest replaces its snapshot")
            elif marked:
                ids = ", ".join(i[:12] for i in marked)
                lines.append(
                    f"    ingest again the logs of those days ({ids}): only their rows are added"
                )
            else:
                lines.append("    no input of the catalog had rows on those days")
        lines.append(f"inspect {self.folder}, then remove it: the store no longer needs it")
        return lines


def check(
    store: Store, catalog: Catalog | None = None, *, full: bool = False, footers: bool = False
) -> Health:
    """The store's files against the catalog (``footers``: each file's row count read from its
    footer too, a tenth of a millisecond a file; ``full``: read and hashed too)."""
    catalog = store.catalog() if catalog is None else catalog
    try:
        published = (store.root / CATALOG).stat().st_mtime_ns
    except OSError:
        published = None
    damage = []
    total = 0
    for entry in catalog.files:
        problem = _problem(store.root / entry["path"], entry, full, footers, published)
        total += int(entry.get("bytes") or 0)
        if problem:
            damage.append(Damage(entry["path"], entry["table"], entry.get("day"), problem))
    return Health(len(catalog.files), total, tuple(damage), full)


def refuse_damage(store: Store, catalog: Catalog) -> None:
    """A writer's first step: a one-line ``StoreError`` if a listed file is missing or changed."""
    health = check(store, catalog)
    if not health.ok:
        first = health.damage[0]
        more = f" and {len(health.damage) - 1} more" if len(health.damage) > 1 else ""
        raise StoreError(
            f"the store at {store.root} is damaged ({first}{more}); nothing was written: "
            "run 'privstats store check --repair' first"
        )


def repair(store: Store, *, now: dt.datetime | None = None) -> Repair:
    """Move the damaged partitions aside and mark their inputs (see the module docstring).

    The caller holds the store's lock.
    """
    catalog = store.catalog()
    health = check(store, catalog, full=True)
    if health.ok:
        return Repair(health)
    moment = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    folder = store.root / DAMAGED / f"{moment:%Y%m%dT%H%M%SZ}"
    hit = {(d.table, d.day) for d in health.damage}
    moving = [e for e in catalog.files if (e["table"], e.get("day")) in hit]
    result = Repair(health, folder)
    for entry in moving:
        day = entry.get("day") or "-"
        lost = result.days.setdefault(entry["table"], {})
        lost[day] = lost.get(day, 0) + int(entry["rows"])
    with writing(store.root):
        for entry in moving:
            source = store.root / entry["path"]
            if source.exists() or source.is_symlink():
                target = folder / entry["path"]
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(source, target)

    def change(new: Catalog) -> None:
        for input_entry in new.inputs:
            for table, days in result.days.items():
                if _had_rows(input_entry, table, days):
                    missing = input_entry.setdefault(MISSING, {})
                    missing[table] = sorted(set(missing.get(table, [])) | set(days))
                    result.inputs.setdefault(table, []).append(str(input_entry.get("id")))

    store.commit(staged=[], staging=None, remove_files={e["path"] for e in moving}, change=change)
    return result


class Restoration:
    """What an access input read again after a repair puts back: each line's row when its day
    was moved aside from the input the line was first ingested as (this input, or one it
    continues: a grown log holds the content it continues, so it restores that one's days
    too)."""

    def __init__(self, entry: dict[str, Any], inputs: Sequence[dict[str, Any]]) -> None:
        by_id = {e.get("id"): e for e in inputs if e.get("kind") == "access"}
        self.chain: list[dict[str, Any]] = []
        seen: set[str | None] = set()
        member: dict[str, Any] | None = entry
        while member is not None and member.get("id") not in seen:
            self.chain.append(member)
            seen.add(member.get("id"))
            member = by_id.get(member.get("continues"))
        # Per member, from the oldest: the last line it covers and its days moved aside.
        self._spans = [
            (int(m.get("lines") or 0), {_epoch_day(d) for d in missing_days(m, "access")})
            for m in reversed(self.chain)
        ]

    @property
    def days(self) -> set[str]:
        return {d for m in self.chain for d in missing_days(m, "access")}

    def keep(self, parsed: ParsedBlock) -> ParsedBlock:
        """The rows of the days moved aside from the input each line belongs to."""
        if not len(parsed):
            return parsed
        days = parsed.ts // _US_PER_DAY
        wanted = np.zeros(len(parsed), dtype=bool)
        first = 0
        for last, lost in self._spans:
            mine = (parsed.line > first) & (parsed.line <= last)
            if lost:
                wanted |= mine & np.isin(days, list(lost))
            first = last
        return parsed.filter(wanted)

    def done(self, catalog: Catalog) -> None:
        """The members' days are back: the marks go (for ``Store.commit``'s ``change``)."""
        ids = {m.get("id") for m in self.chain}
        for entry in catalog.inputs:
            if entry.get("id") in ids and isinstance(entry.get(MISSING), dict):
                entry[MISSING].pop("access", None)


def missing_days(entry: dict[str, Any], table: str) -> set[str]:
    """The days of ``table`` a repair took from this input (empty: none)."""
    missing = entry.get(MISSING)
    return set(missing.get(table, [])) if isinstance(missing, dict) else set()


def _epoch_day(day: str) -> int:
    return (dt.date.fromisoformat(day) - _EPOCH).days


def _had_rows(entry: dict[str, Any], table: str, days: Iterable[str]) -> bool:
    kind = str(entry.get("kind", ""))
    if table.startswith("crm_"):
        return kind.startswith("crm:")
    if kind != table:
        return False
    recorded = entry.get("days")
    had = recorded if isinstance(recorded, dict) else {}
    return any(day in had for day in days)


def _problem(
    path: Path, entry: dict[str, Any], full: bool, footers: bool, published: int | None
) -> str | None:
    try:
        stat = path.stat()
    except FileNotFoundError:
        return "missing"
    except OSError as exc:
        return f"cannot be looked up ({exc.strerror})"
    if not path.is_file():
        return "not a file"
    size = entry.get("bytes")
    if isinstance(size, int) and stat.st_size != size:
        return f"{stat.st_size} bytes, {size} were written"
    # A file is written before the catalog that lists it: one changed since is read whole.
    full = full or (published is not None and stat.st_mtime_ns > published)
    if not full and not footers:
        # A file listed before sizes were recorded: its end is Parquet's, at least.
        return None if isinstance(size, int) or _ends_as_parquet(path) else "not Parquet"
    try:
        rows = pq.ParquetFile(path).metadata.num_rows
    except (OSError, pa.ArrowException):
        return "unreadable as Parquet"
    if rows != entry["rows"]:
        return f"{rows} rows, {entry['rows']} were written"
    if not full:
        return None
    try:
        digest = _sha256(path)
    except OSError:
        return "unreadable"
    recorded = entry.get("sha256")
    if isinstance(recorded, str) and digest != recorded:
        return "its content differs from what was written"
    return None


def _ends_as_parquet(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            handle.seek(-4, os.SEEK_END)
            return handle.read(4) == b"PAR1"
    except OSError:
        return False


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 22):
            digest.update(chunk)
    return digest.hexdigest()


def _counted(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _size(n: int) -> str:
    size: float = n
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size} bytes"  # pragma: no cover
