"""The pseudonymised store: Parquet partitions by day, described by one catalog.

``catalog.json`` is the single source of truth: a reader sees exactly the files it lists. A
write stages its files, moves them into place under fresh names, then replaces the catalog in
one atomic rename. A crash at any point leaves the previous catalog, and so the previous store,
intact; files no catalog mentions are swept by the next writer. A lock file keeps two writers
apart. Inputs are known by the SHA-256 of their content, so ingesting a file twice adds nothing.

Nothing identifying is written here: the catalog holds content hashes, counts, line numbers and
dates, never a file's name or content.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shutil
import uuid
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import filelock
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from privstats.exceptions import StoreError
from privstats.schema import TABLES

CATALOG = "catalog.json"
FORMAT_VERSION = 1
_FLUSH_ROWS = 2_000_000


@dataclass
class Catalog:
    """What the store holds: inputs, data files, learned path vocabulary, key fingerprint."""

    inputs: list[dict[str, Any]] = field(default_factory=list)
    files: list[dict[str, Any]] = field(default_factory=list)
    vocabulary: list[str] = field(default_factory=list)
    key_fingerprint: str | None = None
    tombstones: list[int] = field(default_factory=list)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Catalog:
        if data.get("format") != FORMAT_VERSION:
            raise StoreError("the store's catalog has an unknown format version")
        return cls(
            inputs=data.get("inputs", []),
            files=data.get("files", []),
            vocabulary=data.get("vocabulary", []),
            key_fingerprint=data.get("key_fingerprint"),
            tombstones=data.get("tombstones", []),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT_VERSION,
            "key_fingerprint": self.key_fingerprint,
            "inputs": self.inputs,
            "files": self.files,
            "vocabulary": sorted(self.vocabulary),
            "tombstones": sorted(self.tombstones),
        }

    def input_with(self, content: str) -> dict[str, Any] | None:
        return next((entry for entry in self.inputs if entry.get("id") == content), None)


class Store:
    """A store folder. Reading needs no lock; writing goes through ``transaction()``."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    # -- reading ---------------------------------------------------------------------------

    def exists(self) -> bool:
        return (self.root / CATALOG).is_file()

    def catalog(self) -> Catalog:
        path = self.root / CATALOG
        if not path.is_file():
            return Catalog()
        try:
            return Catalog.from_dict(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError) as exc:
            raise StoreError(f"the store's catalog at {path} cannot be read: {exc}") from None

    def files(
        self, table: str, start: dt.date | None = None, end: dt.date | None = None
    ) -> list[Path]:
        """Data files of ``table`` whose day lies in [start, end] (inclusive)."""
        chosen = []
        for entry in self.catalog().files:
            if entry["table"] != table:
                continue
            day = entry.get("day")
            if day and start and dt.date.fromisoformat(day) < start:
                continue
            if day and end and dt.date.fromisoformat(day) > end:
                continue
            chosen.append(self.root / entry["path"])
        return sorted(chosen)

    def scan(
        self, table: str, start: dt.date | None = None, end: dt.date | None = None
    ) -> pl.LazyFrame:
        """A lazy polars frame over ``table`` (empty, with the declared schema, if no data)."""
        schema = _schema(table)
        files = self.files(table, start, end)
        if not files:
            return pl.from_arrow(schema.empty_table()).lazy()  # type: ignore[union-attr]
        return pl.scan_parquet([str(f) for f in files])

    def read(
        self,
        table: str,
        start: dt.date | None = None,
        end: dt.date | None = None,
        columns: list[str] | None = None,
    ) -> pd.DataFrame:
        """``table`` as a pandas DataFrame (categorical columns stay categorical)."""
        files = self.files(table, start, end)
        if not files:
            data = _schema(table).empty_table()
        else:
            data = pa.concat_tables(
                [pq.read_table(f, columns=columns) for f in files], promote_options="permissive"
            )
        if columns:
            data = data.select(columns)
        return data.to_pandas()

    def info(self) -> dict[str, Any]:
        """A summary free of identifiers: inputs, rows per table and day, quarantine totals."""
        catalog = self.catalog()
        rows: dict[str, dict[str, int]] = {}
        for entry in catalog.files:
            per_day = rows.setdefault(entry["table"], {})
            day = entry.get("day") or "-"
            per_day[day] = per_day.get(day, 0) + int(entry["rows"])
        quarantine: dict[str, int] = {}
        for entry in catalog.inputs:
            for reason, n in entry.get("quarantine", {}).get("counts", {}).items():
                quarantine[reason] = quarantine.get(reason, 0) + n
        return {
            "path": str(self.root),
            "inputs": [
                {k: entry.get(k) for k in ("id", "kind", "format", "lines", "rows", "ingested_at")}
                | {"quarantined": sum(entry.get("quarantine", {}).get("counts", {}).values())}
                for entry in catalog.inputs
            ],
            "rows": {table: dict(sorted(days.items())) for table, days in rows.items()},
            "quarantine": quarantine,
            "vocabulary_words": len(catalog.vocabulary),
            "tombstones": len(catalog.tombstones),
        }

    # -- writing ---------------------------------------------------------------------------

    @contextlib.contextmanager
    def locked(self, timeout: float = 0) -> Iterator[None]:
        """Hold the writer's lock; another writer gets a one-line ``StoreError``."""
        self.root.mkdir(parents=True, exist_ok=True)
        lock = filelock.FileLock(str(self.root / ".lock"), timeout=timeout)
        try:
            lock.acquire()
        except filelock.Timeout:
            raise StoreError(
                f"the store at {self.root} is locked by another privstats process"
            ) from None
        try:
            self._sweep()
            yield
        finally:
            lock.release()

    def transaction(self) -> Transaction:
        """A new write; call it while holding ``locked()``."""
        return Transaction(self)

    def commit(
        self,
        *,
        staged: list[dict[str, Any]],
        staging: Path | None,
        add_inputs: Iterable[dict[str, Any]] = (),
        remove_files: Collection[str] = frozenset(),
        vocabulary: Iterable[str] = (),
        tombstones: Iterable[int] = (),
        key_fingerprint: str | None = None,
    ) -> None:
        """Move staged files into place, then publish a new catalog in one atomic rename."""
        catalog = self.catalog()
        if key_fingerprint and catalog.key_fingerprint not in (None, key_fingerprint):
            raise StoreError(
                "this store was built with a different pseudonymisation key; "
                "use that key, or start a new store"
            )
        for entry in staged:
            target = self.root / entry["path"]
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staging / entry["path"], target)  # type: ignore[operator]
        _fsync_dirs({(self.root / e["path"]).parent for e in staged})
        catalog.files = [f for f in catalog.files if f["path"] not in remove_files] + staged
        catalog.inputs = [*catalog.inputs, *add_inputs]
        catalog.vocabulary = sorted(set(catalog.vocabulary) | set(vocabulary))
        catalog.tombstones = sorted(set(catalog.tombstones) | set(tombstones))
        catalog.key_fingerprint = catalog.key_fingerprint or key_fingerprint
        _write_atomically(self.root / CATALOG, json.dumps(catalog.to_dict(), indent=1))
        for path in remove_files:
            (self.root / path).unlink(missing_ok=True)
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)

    def _sweep(self) -> None:
        """Remove what a crashed writer left: staging folders and files no catalog lists."""
        shutil.rmtree(self.root / ".staging", ignore_errors=True)
        for leftover in self.root.glob(CATALOG + ".*.tmp"):
            leftover.unlink(missing_ok=True)
        listed = {entry["path"] for entry in self.catalog().files}
        for table in TABLES:
            folder = self.root / table
            if not folder.is_dir():
                continue
            for path in folder.rglob("*.parquet"):
                if path.relative_to(self.root).as_posix() not in listed:
                    path.unlink(missing_ok=True)


class Transaction:
    """Stages data files for one commit; buffers rows so files get large row groups."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.id = uuid.uuid4().hex[:16]
        self.staging = store.root / ".staging" / self.id
        self.staged: list[dict[str, Any]] = []
        self._buffers: dict[tuple[str, str], list[pa.Table]] = {}
        self._buffered = 0
        self._seq = 0

    def write(self, table: str, data: pa.Table) -> None:
        """Add rows of ``table`` (partitioned by the UTC day of its ``ts`` column)."""
        schema = _schema(table)
        if data.num_rows == 0:
            return
        data = data.cast(schema)
        days = pl.from_arrow(data.select(["ts"]))["ts"].dt.date()  # type: ignore[index]
        frame = pl.DataFrame({"day": days}).with_row_index("i")
        for (day,), part in frame.group_by("day"):
            piece = data.take(pa.array(part["i"].to_numpy()))
            self._buffers.setdefault((table, day.isoformat()), []).append(piece)
            self._buffered += piece.num_rows
        while self._buffered > _FLUSH_ROWS:
            largest = max(self._buffers, key=lambda k: sum(t.num_rows for t in self._buffers[k]))
            self._flush(largest)

    def finish(self) -> list[dict[str, Any]]:
        """Flush every buffer; the staged file entries, ready for ``Store.commit``."""
        for key in list(self._buffers):
            self._flush(key)
        return self.staged

    def rows_by_day(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for entry in self.staged:
            out[entry["day"]] = out.get(entry["day"], 0) + entry["rows"]
        return dict(sorted(out.items()))

    def discard(self) -> None:
        self._buffers.clear()
        shutil.rmtree(self.staging, ignore_errors=True)

    def _flush(self, key: tuple[str, str]) -> None:
        table, day = key
        pieces = self._buffers.pop(key)
        data = pa.concat_tables(pieces)
        self._buffered -= data.num_rows
        self._seq += 1
        relative = f"{table}/day={day}/{self.id}-{self._seq:04d}.parquet"
        target = self.staging / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        data = data.sort_by("ts")
        pq.write_table(data, target, compression="zstd", row_group_size=1 << 20)
        _fsync_file(target)
        self.staged.append({"path": relative, "table": table, "day": day, "rows": data.num_rows})


def _schema(table: str) -> pa.Schema:
    try:
        return TABLES[table]
    except KeyError:
        raise StoreError(f"the store has no table '{table}'") from None


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + f".{uuid.uuid4().hex[:8]}.tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    _fsync_dirs({path.parent})


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dirs(folders: set[Path]) -> None:
    for folder in folders:
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def utc_now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
