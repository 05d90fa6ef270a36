from __future__ import annotations

import datetime as dt
import errno
import json
import os
import resource
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import polars
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from crm_exports import crm_rows, write_exports
from faults import fill, read_only, small_disk

from privstats import store as store_module
from privstats.config import Config
from privstats.crm import ingest_crm
from privstats.exceptions import StoreError
from privstats.ingest import ingest_access
from privstats.key import SecretKey
from privstats.schema import ACCESS
from privstats.sources.crm_files import CrmFiles
from privstats.store import Store


def rows(*stamps: str) -> pa.Table:
    """Access rows at the given UTC times (other columns: anything of the declared type)."""
    table = ACCESS.empty_table().to_pydict()
    for i, stamp in enumerate(stamps):
        values = {
            "ts": dt.datetime.fromisoformat(stamp).replace(tzinfo=dt.UTC),
            "key_period": stamp[:10], "visitor": i, "status": 200, "browser": "Firefox",
            "os": "Linux", "device": "desktop", "is_bot": False, "referer_kind": "none",
        }  # fmt: skip
        for name in table:
            table[name].append(values.get(name))
    return pa.Table.from_pydict(table, schema=ACCESS)


def test_rows_land_in_one_file_per_day_in_sorted_row_groups(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "_ROW_GROUP_ROWS", 2)
    store = Store(tmp_path / "store")
    with store.locked():
        transaction = store.transaction()
        transaction.write("access", rows("2026-10-01T10:00:05", "2026-10-02T00:00:01"))
        transaction.write("access", rows("2026-10-01T10:00:01", "2026-10-01T23:59:59"))
        transaction.write("access", rows("2026-10-01T09:00:00"))
        staged = transaction.finish()
        store.commit(staged=staged, staging=transaction.staging)
    assert transaction.rows_by_day() == {"2026-10-01": 4, "2026-10-02": 1}
    [first_day] = store.files("access", end=dt.date(2026, 10, 1))
    parquet = pq.ParquetFile(first_day)
    assert parquet.metadata.num_row_groups == 2
    groups = [parquet.read_row_group(i)["ts"].to_pylist() for i in range(2)]
    assert all(group == sorted(group) for group in groups)
    assert len(store.read("access")) == 5


def test_a_failure_while_writing_is_raised_and_discarding_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "_ROW_GROUP_ROWS", 1)

    def broken(self: object, data: pa.Table) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(store_module._PartitionFile, "write", broken)
    store = Store(tmp_path / "store")
    with store.locked():
        transaction = store.transaction()
        with pytest.raises(StoreError, match="No space left on device; nothing was written"):
            for _ in range(3):
                transaction.write("access", rows("2026-10-01T10:00:05"))
            transaction.finish()
        transaction.discard()
    assert not list((tmp_path / "store").rglob("*.parquet"))


# -- faults of the disk, injected for real -------------------------------------------------


def shell(
    *args: str, store: Path, key_file: Path, **limits: int
) -> subprocess.CompletedProcess[str]:
    """``privstats --store STORE ARGS`` in a process of its own (``file_size``: its largest
    file, in bytes, as a full disk would allow)."""

    def limited() -> None:
        if "file_size" in limits:
            resource.setrlimit(resource.RLIMIT_FSIZE, (limits["file_size"],) * 2)

    return subprocess.run(
        [sys.executable, "-m", "privstats.cli", "--store", str(store), *args],
        env={**os.environ, "PRIVSTATS_KEY_FILE": str(key_file)},
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=limited,
        check=False,
    )


def log_of(path: Path, lines: int, day: int = 1) -> Path:
    path.write_text(
        "".join(
            f"198.51.{n % 250}.{n % 199} - - [0{day}/Oct/2026:{n % 24:02d}:00:03 +0200] "
            f'"GET /blog/post-{n} HTTP/1.1" 200 {n} "-" "Mozilla/5.0 Firefox/{n % 90}.0"\n'
            for n in range(lines)
        )
    )
    return path


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, result.stderr
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr
    return result.stderr


def test_a_read_only_store_is_one_line_for_every_writer(tmp_path: Path, key_file: Path) -> None:
    store = tmp_path / "store"
    assert shell("ingest", "access", str(log_of(tmp_path / "a.log", 50)), store=store,
                 key_file=key_file).returncode == 0  # fmt: skip
    catalog = (store / "catalog.json").read_bytes()
    with read_only(store):
        ingested = shell("ingest", "access", str(log_of(tmp_path / "b.log", 50, day=2)),
                         store=store, key_file=key_file)  # fmt: skip
        erased = shell("erase", "--email", "zofia@example.pl", store=store, key_file=key_file)
        info = shell("store", "info", store=store, key_file=key_file)
    for result in (ingested, erased):
        assert one_line(result).count("\n") == 1
        assert f"cannot write to the store at {store}:" in result.stderr
        assert "must be writable by whoever runs privstats" in result.stderr
    assert info.returncode == 0 and "table access: 50 rows" in info.stdout
    assert (store / "catalog.json").read_bytes() == catalog


def test_a_store_path_naming_a_file_is_one_line(tmp_path: Path, key_file: Path) -> None:
    store = tmp_path / "store.txt"
    store.write_text("not a store")
    for command in (
        ["ingest", "access", str(log_of(tmp_path / "a.log", 5))],
        ["erase", "--email", "zofia@example.pl"],
        ["store", "info"],
        ["store", "check"],
    ):
        result = shell(*command, store=store, key_file=key_file)
        assert result.returncode in (1, 2), result.stderr
        assert result.stderr.count("\n") == 1 and "internal error" not in result.stderr
        assert "is a file, not a folder" in result.stderr or "no store at" in result.stderr
    assert store.read_text() == "not a store"


def test_a_write_cut_short_in_a_big_ingest_is_one_line_and_writes_nothing(
    tmp_path: Path, key_file: Path
) -> None:
    store = tmp_path / "store"
    shell("ingest", "access", str(log_of(tmp_path / "a.log", 50)), store=store, key_file=key_file)
    catalog = (store / "catalog.json").read_bytes()
    big = log_of(tmp_path / "big.log", 60_000, day=2)
    result = shell("ingest", "access", str(big), store=store, key_file=key_file,
                   file_size=256 << 10)  # fmt: skip
    assert "big.log: failed: cannot write to the store at" in one_line(result)
    assert "File too large; nothing was written" in result.stderr
    assert (store / "catalog.json").read_bytes() == catalog
    assert sorted(p.name for p in store.rglob("*.parquet")) == sorted(
        Path(e["path"]).name for e in json.loads(catalog)["files"]
    )
    assert shell("store", "check", store=store, key_file=key_file).returncode == 0


@pytest.mark.parametrize(("left_kib", "lines"), [(8, 3000), (96, 40_000)])
def test_a_full_disk_is_one_line_and_the_store_stays_as_it_was(
    tmp_path: Path, key_file: Path, left_kib: int, lines: int
) -> None:
    with small_disk(tmp_path / "disk", 2048) as disk:
        store = disk / "store"
        first = shell("ingest", "access", str(log_of(tmp_path / "a.log", 200)), store=store,
                      key_file=key_file)  # fmt: skip
        assert first.returncode == 0, first.stderr
        catalog = (store / "catalog.json").read_bytes()
        fill(disk, left_kib)
        result = shell("ingest", "access", str(log_of(tmp_path / "b.log", lines, day=2)),
                       store=store, key_file=key_file)  # fmt: skip
        assert "No space left on device; nothing was written" in one_line(result)
        assert (store / "catalog.json").read_bytes() == catalog
        (disk / "ballast").unlink()
        assert shell("store", "check", store=store, key_file=key_file).returncode == 0
        again = shell("ingest", "access", str(tmp_path / "b.log"), store=store, key_file=key_file)
        assert again.returncode == 0 and f"{lines} of {lines} lines ingested" in again.stdout


def test_a_writer_waits_for_the_lock_when_asked_to(tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    holding = threading.Event()
    release = threading.Event()

    def hold() -> None:
        with store.locked():
            holding.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    holding.wait(10)
    with (
        pytest.raises(StoreError, match="locked by another privstats process; try again later"),
        store.locked(),
    ):
        pass
    threading.Timer(0.3, release.set).start()
    with store.locked(timeout=10):
        pass
    holder.join()


# -- readers and writers at once ------------------------------------------------------------


def replace_day(store: Store, stamps: tuple[str, ...]) -> None:
    """What a CRM snapshot or an erasure does: a day's file replaced by another."""
    with store.locked():
        old = {e["path"] for e in store.catalog().files}
        transaction = store.transaction()
        transaction.write("access", rows(*stamps))
        store.commit(staged=transaction.finish(), staging=transaction.staging, remove_files=old)


def test_a_reader_whose_file_a_writer_replaced_reads_again_from_the_new_catalog(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store(tmp_path / "store")
    replace_day(store, ("2026-10-01T10:00:00",))
    real_scan, real_read = polars.scan_parquet, store_module.pq.read_table
    replaced = []

    def meanwhile(real: Any) -> Any:
        def read(*args: Any, **kwargs: Any) -> Any:
            if not replaced:  # between the listing and the reading, a writer replaces the file
                replaced.append(True)
                replace_day(store, ("2026-10-01T11:00:00", "2026-10-01T12:00:00"))
            return real(*args, **kwargs)

        return read

    monkeypatch.setattr(polars, "scan_parquet", meanwhile(real_scan))
    assert store.scan("access").select(polars.len()).collect().item() == 2
    replaced.clear()
    monkeypatch.setattr(store_module.pq, "read_table", meanwhile(real_read))
    replace_day(store, ("2026-10-01T10:00:00",))
    assert len(store.read("access")) == 2


def test_a_file_gone_under_an_unchanged_catalog_is_damage_said_in_one_line(
    tmp_path: Path,
) -> None:
    store = Store(tmp_path / "store")
    replace_day(store, ("2026-10-01T10:00:00",))
    [path] = store.files("access")
    path.unlink()
    for read in (lambda: store.read("access"), lambda: store.scan("access").collect()):
        with pytest.raises(StoreError, match="access is missing; run 'privstats store check'"):
            read()


STRESS_READER = """
import sys, time, traceback
import privstats
from privstats.store import Store
store, seconds = Store(sys.argv[1]), float(sys.argv[2])
ok = failed = 0
end = time.monotonic() + seconds
while time.monotonic() < end:
    try:
        privstats.crosstab("module", table="crm_activity", store=store)
        store.scan("access").select("visitor").collect()
        store.read("crm_accounts")
        ok += 1
    except Exception as exc:
        failed += 1
        print(type(exc).__name__, str(exc)[:200], file=sys.stderr)
print(ok, failed)
"""

STRESS_WRITER = """
import sys, time
from pathlib import Path
from privstats.config import load_config
from privstats.crm import ingest_crm
from privstats.erasure import erase
from privstats.ingest import ingest_access
from privstats.key import load_key
from privstats.sources.crm_files import CrmFiles
from privstats.store import Store
store, work, seconds = Path(sys.argv[1]), Path(sys.argv[2]), float(sys.argv[3])
config = load_config(None).with_store(store)
key = load_key(config.key_path)
emails = [line.split(",")[0] for line in sys.argv[4:]]
done = 0
end = time.monotonic() + seconds
while time.monotonic() < end:
    ingest_crm(config, key, CrmFiles(work / ("crm-a" if done % 2 else "crm-b")), wait=60)
    erase(Store(store), key, [emails[done % len(emails)]], wait=60)
    log = work / f"day-{done}.log"
    log.write_text(
        f'203.0.113.{done % 250} - - [{1 + done % 28:02d}/Oct/2026:12:00:{done % 60:02d} +0000] '
        f'"GET /blog HTTP/1.1" 200 512 "-" "Mozilla/5.0 Firefox/118.0"\\n'
    )
    ingest_access(config, key, [str(log)], wait=60)
    done += 1
print(done)
"""


@pytest.mark.slow
def test_readers_in_a_loop_while_writers_ingest_replace_and_erase_never_fail(
    tmp_path: Path, key_file: Path, config: Config, key: SecretKey
) -> None:
    rows_ = crm_rows()
    write_exports(tmp_path / "crm-a", rows=rows_)
    rows_["activity"] = rows_["activity"][: len(rows_["activity"]) // 2]
    write_exports(tmp_path / "crm-b", rows=rows_)
    store = config.store_path
    ingest_crm(config, key, CrmFiles(tmp_path / "crm-a"))
    log_of(tmp_path / "first.log", 500)
    ingest_access(config, key, [str(tmp_path / "first.log")])
    env = {**os.environ, "PRIVSTATS_KEY_FILE": str(key_file)}
    seconds = "12"
    emails = [f"user{i}@example.org" for i in range(3, 10)]
    writer = subprocess.Popen(
        [sys.executable, "-c", STRESS_WRITER, str(store), str(tmp_path), seconds, *emails],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    reader = [sys.executable, "-c", STRESS_READER, str(store), seconds]
    readers = [
        subprocess.Popen(reader, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    wrote, writer_err = writer.communicate(timeout=300)
    assert writer.returncode == 0, writer_err
    assert int(wrote) >= 3, "the writer must have replaced files several times"
    for reader in readers:
        out, err = reader.communicate(timeout=300)
        assert reader.returncode == 0, err
        ok, failed = map(int, out.split())
        assert (failed, err) == (0, "") and ok >= 10
