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
  to extend, naming the line;
- the last entry has no successor to vouch for it, so its number and SHA-256 (the ledger's
  head) are also kept outside the file, in an anchor file beside the store
  (``ledger-heads.json``): before every append the whole chain is verified and the anchored
  entry must still be there, unchanged. An edited or removed last entry is refused like a broken
  chain. The head is written after the entry: a crash between the two leaves an anchor one
  entry behind, which still vouches for the entries up to it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import logging
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import filelock

from privstats.exceptions import GateError
from privstats.store import fsync_path, replace_atomically

if TYPE_CHECKING:
    from privstats.erasure import Footprint

LEDGER_FILE = "ledger.jsonl"
LOCK_FILE = ".ledger.lock"
FORMAT = "privstats.release"
FORMAT_VERSION = 1
HEADS_FILE = "ledger-heads.json"  # the anchors of ledgers' heads, in the store's folder
HEADS_FORMAT = "privstats.ledger-heads"

log = logging.getLogger(__name__)


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

    @property
    def first_break(self) -> LedgerProblem | None:
        return next((p for p in self.problems if p.kind == "chain"), None)

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


class ReleaseLedger:
    """The ledger of one release area (``root`` is ``reports/released``). ``anchor``: the file
    its head is kept in too (``HEADS_FILE`` in the store's folder); without one, a removed last
    entry goes unnoticed."""

    # The file, the entries' format and the ledger's name in messages: the privacy-budget
    # ledger (privstats.dp.budget) is the same kind of file beside this one.
    FILE = LEDGER_FILE
    FORMAT = FORMAT
    NAME = "release ledger"

    def __init__(self, root: Path | str, anchor: Path | str | None = None) -> None:
        self.root = Path(root)
        self.path = self.root / self.FILE
        self.anchor = Path(anchor) if anchor is not None else None

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

    def verify(self, state: LedgerState) -> None:
        """A one-line ``GateError`` naming the line where the ledger stops being what was
        appended: a broken chain, or an anchored head that is gone or changed."""
        broken = state.first_break
        if broken is not None:
            raise GateError(
                f"the {self.NAME} {self.path} was edited at line {broken.line} (its hash "
                "chain is broken there); nothing is appended until it is repaired"
            )
        head = self._head()
        if head is None:
            return
        count, digest = head
        if len(state.entries) < count:
            raise GateError(
                f"the {self.NAME} {self.path} holds {len(state.entries)} entries, but "
                f"{count} were appended to it: its last entries were removed; nothing is "
                "appended until it is restored"
            )
        anchored = state.entries[count - 1]
        if anchored.sha256 != digest:
            raise GateError(
                f"the {self.NAME} {self.path} was edited at line {anchored.line} (the "
                f"entry appended as number {count} is not what was appended); nothing is "
                "appended until it is restored"
            )

    def append(self, entry: Mapping[str, Any]) -> LedgerEntry:
        """Append one entry durably, once the whole ledger is verified; the caller holds
        :meth:`locked`."""
        state = self.read()
        self.verify(state)
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
            fsync_path(self.root)
        appended = LedgerEntry(state.lines + 1, hashlib.sha256(raw).hexdigest(), data)
        self._anchor(len(state.entries) + 1, appended.sha256)
        return appended

    # --- the head, outside the file ---------------------------------------------------------

    def _key(self) -> str:
        return str(self.path.resolve())

    def _heads(self) -> dict[str, Any]:
        assert self.anchor is not None
        try:
            heads = json.loads(self.anchor.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {"format": HEADS_FORMAT, "ledgers": {}}
        except (OSError, ValueError):
            heads = None
        if not isinstance(heads, dict) or not isinstance(heads.get("ledgers"), dict):
            raise GateError(
                f"the anchor of the release ledgers' heads {self.anchor} is unreadable; "
                "restore it from a backup"
            )
        return heads

    def _head(self) -> tuple[int, str] | None:
        if self.anchor is None:
            return None
        head = self._heads()["ledgers"].get(self._key())
        if not isinstance(head, dict):
            return None
        count, digest = head.get("entries"), head.get("sha256")
        if not isinstance(count, int) or count < 1 or not isinstance(digest, str):
            raise GateError(f"the anchor {self.anchor} holds no head for {self.path}")
        return count, digest

    def _anchor(self, count: int, digest: str) -> None:
        """Keep the new head outside the file. The entry is appended already, so a failure
        here only warns: the anchor stays behind, and still vouches for the entries up to
        its own."""
        if self.anchor is None:
            return
        try:
            with filelock.FileLock(str(self.anchor) + ".lock", timeout=30):
                heads = self._heads()
                heads["ledgers"][self._key()] = {"entries": count, "sha256": digest}
                replace_atomically(self.anchor, json.dumps(heads, indent=1, sort_keys=True))
                fsync_path(self.anchor.parent)
        except (OSError, filelock.Timeout, GateError) as exc:
            reason = (
                exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
            )
            log.warning(
                "the release ledger's head could not be kept in %s (%s); the ledger itself "
                "holds the release",
                self.anchor,
                reason,
            )

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
