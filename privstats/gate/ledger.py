"""The release ledger: ``reports/released/ledger.jsonl``, one JSON line per release, append-only.

Each line records what was released and how to find it again: the report, partner and period,
its parameters and rules, every file with its SHA-256, the reviewer and the time, and for each
table its query (store table, period, filters) and the input catalog ids, so that an erasure
can name the releases that held a person's data (:meth:`ReleaseLedger.releases_touching`, the
``privstats.erasure.ReleaseLedger`` protocol) and the differencing check can find earlier tables
of the same population.

Durability and tampering:

- a line is written whole, with one ``write`` on a file opened for appending, then ``fsync``;
  writers take a lock file (``.ledger.lock``) so lines never interleave;
- a crash mid-write leaves a torn last line (no line feed): readers report it and ignore it, and
  the next append first ends it with a line feed, so that the new entry is never merged into it
  (the torn line then reads as a damaged line, still reported, never removed);
- each entry holds the SHA-256 of the previous valid line (``previous_sha256``): an edited or
  deleted entry breaks the chain, which readers report and :func:`ReleaseLedger.append` refuses
  to extend.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import filelock

from privstats.exceptions import GateError

if TYPE_CHECKING:
    from privstats.erasure import Footprint

LEDGER_FILE = "ledger.jsonl"
LOCK_FILE = ".ledger.lock"
FORMAT = "privstats.release"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class LedgerEntry:
    """One valid line of the ledger."""

    line: int  # 1-based line number in the file
    sha256: str  # of the line's bytes, without its line feed
    data: Mapping[str, Any]

    @property
    def release_id(self) -> str:
        return str(self.data["release_id"])

    @property
    def name(self) -> str:
        """``<report>/<partner>/<period>``, as erasure and the reviewer name a release."""
        partner = self.data.get("partner") or "all"
        return f"{self.data.get('report')}/{partner}/{self.data.get('period')}"

    @property
    def folder(self) -> str:
        return str(self.data.get("folder", ""))

    @property
    def tables(self) -> list[Mapping[str, Any]]:
        tables = self.data.get("tables")
        return [t for t in tables if isinstance(t, Mapping)] if isinstance(tables, list) else []

    def describe(self) -> str:
        return (
            f"{self.name} (release {self.release_id}, {self.data.get('released_at')}, "
            f"reviewer {self.data.get('reviewer')})"
        )


@dataclass(frozen=True)
class LedgerProblem:
    line: int
    kind: str  # "torn", "damaged" or "chain"
    message: str
    file: str = LEDGER_FILE

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.kind} — {self.message}"


@dataclass(frozen=True)
class LedgerState:
    entries: tuple[LedgerEntry, ...]
    problems: tuple[LedgerProblem, ...]
    torn_tail: bool  # the file does not end with a line feed
    lines: int = 0  # lines in the file, a torn last one included

    @property
    def last_sha256(self) -> str | None:
        return self.entries[-1].sha256 if self.entries else None

    @property
    def chain_broken(self) -> bool:
        return any(p.kind == "chain" for p in self.problems)

    def by_content(self, content_sha256: str) -> LedgerEntry | None:
        return next((e for e in self.entries if e.data.get("content_sha256") == content_sha256),
                    None)  # fmt: skip


def content_sha256(files: Mapping[str, str]) -> str:
    """One digest for a set of files (relative name -> SHA-256), whatever their order."""
    text = "".join(f"{name}\0{digest}\n" for name, digest in sorted(files.items()))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _write_all(fd: int, data: bytes) -> None:
    """Write every byte (``os.write`` may write fewer than asked)."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class ReleaseLedger:
    """The ledger of one release area (``root`` is ``reports/released``)."""

    # The file, the entries' format and the ledger's name in messages: the privacy-budget
    # ledger (privstats.dp.budget) is the same kind of file beside this one.
    FILE = LEDGER_FILE
    FORMAT = FORMAT
    NAME = "release ledger"

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self.path = self.root / self.FILE

    def __repr__(self) -> str:
        return f"ReleaseLedger({self.root})"

    # --- reading ----------------------------------------------------------------------------

    def read(self) -> LedgerState:
        """Every valid entry, and every problem found on the way (see the module's notes)."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return LedgerState((), (), False)
        except OSError:
            raise GateError(f"the {self.NAME} {self.path} cannot be read") from None
        lines = data.split(b"\n")
        torn = lines[-1] != b""
        complete, tail = lines[:-1], lines[-1]
        entries: list[LedgerEntry] = []
        problems: list[LedgerProblem] = []
        previous: str | None = None
        for number, raw in enumerate(complete, start=1):
            if not raw.strip():
                continue
            entry = _parse(raw, self.FORMAT)
            if entry is None:
                problems.append(
                    LedgerProblem(
                        number, "damaged", "not a ledger entry (a torn write?); ignored", self.FILE
                    )
                )
                continue
            if entry.get("previous_sha256") != previous:
                problems.append(LedgerProblem(number, "chain",
                                              "does not follow the entry before it: the ledger "
                                              "was edited", self.FILE))  # fmt: skip
            digest = hashlib.sha256(raw).hexdigest()
            entries.append(LedgerEntry(number, digest, entry))
            previous = digest
        if torn:
            problems.append(LedgerProblem(len(complete) + 1, "torn",
                                          f"an unfinished last line ({len(tail)} bytes, a write "
                                          "cut short by a crash); ignored", self.FILE))  # fmt: skip
        return LedgerState(tuple(entries), tuple(problems), torn, len(complete) + torn)

    def entries(self) -> tuple[LedgerEntry, ...]:
        return self.read().entries

    # --- writing ----------------------------------------------------------------------------

    @contextlib.contextmanager
    def locked(self, timeout: float = 10.0) -> Iterator[None]:
        """Hold the ledger's writer lock (another release waits, then gets a ``GateError``)."""
        self.root.mkdir(parents=True, exist_ok=True)
        lock = filelock.FileLock(str(self.root / LOCK_FILE), timeout=timeout)
        try:
            lock.acquire()
        except filelock.Timeout:
            raise GateError("another release is in progress; try again when it is done") from None
        try:
            yield
        finally:
            lock.release()

    def append(self, entry: Mapping[str, Any]) -> LedgerEntry:
        """Append one entry durably; the caller holds :meth:`locked`."""
        state = self.read()
        if state.chain_broken:
            raise GateError(
                f"the {self.NAME} {self.path} was edited (its hash chain is broken); "
                "nothing is appended until it is repaired"
            )
        data = {**entry, "format": self.FORMAT, "version": FORMAT_VERSION,
                "previous_sha256": state.last_sha256}  # fmt: skip
        line = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        raw = line.encode("utf-8")
        if b"\n" in raw:  # json.dumps escapes line feeds; this guards the file format itself
            raise GateError("a ledger entry must fit on one line")
        created = not self.path.exists()
        self.root.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            # End a torn line first, in the same write: the new entry starts a line of its own.
            _write_all(fd, (b"\n" if state.torn_tail else b"") + raw + b"\n")
            os.fsync(fd)
        finally:
            os.close(fd)
        if created:
            _fsync_dir(self.root)
        return LedgerEntry(state.lines + 1, hashlib.sha256(raw).hexdigest(), data)

    # --- erasure ----------------------------------------------------------------------------

    def releases_touching(self, footprint: Sequence[Footprint]) -> list[str]:
        """Names of released reports whose tables covered any of these tables, days, partners.

        A table covers a footprint when it reads the same store table, its period (padded by a
        day each side: tables count local days, the store keeps UTC days) contains the day,
        and its ``where`` on ``partner``, if any, names one of the footprint's partners. A
        footprint without a day ("-": a snapshot table) is covered by any period.
        """
        names: list[str] = []
        for entry in self.entries():
            if any(_covers(table, item) for table in entry.tables for item in footprint):
                label = f"{entry.name} (release {entry.release_id})"
                if label not in names:
                    names.append(label)
        return names


def _parse(raw: bytes, kind: str = FORMAT) -> dict[str, Any] | None:
    try:
        entry = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    if not isinstance(entry, dict) or entry.get("format") != kind:
        return None
    if not isinstance(entry.get("release_id"), str):
        return None
    return entry


def _covers(table: Mapping[str, Any], footprint: Footprint) -> bool:
    query = table.get("query")
    if not isinstance(query, Mapping) or (query.get("table") or "access") != footprint.table:
        return False
    if footprint.day not in ("", "-"):
        try:
            day = dt.date.fromisoformat(footprint.day)
        except ValueError:
            return True  # a day we cannot read: name the release rather than miss it
        pad = dt.timedelta(days=1)
        start, end = query.get("start"), query.get("end")
        if start and day < dt.date.fromisoformat(str(start)) - pad:
            return False
        if end and day > dt.date.fromisoformat(str(end)) + pad:
            return False
    where = query.get("where") or {}
    wanted = where.get("partner") if isinstance(where, Mapping) else None
    if wanted is not None and footprint.partners:
        values = {str(v) for v in wanted} if isinstance(wanted, list) else {str(wanted)}
        return bool(values & set(footprint.partners))
    return True
