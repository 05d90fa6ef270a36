from __future__ import annotations

import datetime as dt
import errno
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from privstats import store as store_module
from privstats.exceptions import StoreError
from privstats.schema import ACCESS
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
