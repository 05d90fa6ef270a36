"""Damage to the store is found before anything builds on it, said in one line, and repaired."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import pytest
from crm_exports import write_exports

from privstats.cli import main
from privstats.config import Config, LoginPolicy
from privstats.crm import ingest_crm
from privstats.erasure import erase
from privstats.exceptions import StoreError
from privstats.ingest import ingest_access
from privstats.integrity import check, repair
from privstats.key import SecretKey
from privstats.sources.crm_files import CrmFiles
from privstats.store import Store

LINE = (
    '203.0.113.{n} - zofia.kanarek@example.pl [0{d}/Oct/2026:12:00:03 +0200] "GET /crm/deals '
    'HTTP/1.1" 200 512 "-" "Mozilla/5.0 (X11; Linux x86_64) Firefox/118.0"\n'
)


def three_days(path: Path) -> Path:
    path.write_text("".join(LINE.format(n=n, d=d) for d in (1, 2, 3) for n in range(30)))
    return path


def file_of(store: Store, day: str) -> Path:
    [entry] = [e for e in store.catalog().files if e["day"] == day]
    return store.root / entry["path"]


def flip_a_byte(path: Path, *, keep_time: bool = False) -> None:
    """Damage that keeps the size, in the first page of data (the footer stays readable);
    ``keep_time``, as bit rot does, and then only hashing the file finds it."""
    before = path.stat()
    data = bytearray(path.read_bytes())
    data[20] ^= 0xFF
    path.write_bytes(bytes(data))
    if keep_time:
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))


def rows(store: Store) -> list[tuple[object, ...]]:
    frame = store.read("access").astype(str)
    return sorted(map(tuple, frame.to_numpy().tolist()))


@pytest.fixture
def config(config: Config) -> Config:
    """Logins become persons, so that an erasure has rows to rewrite."""
    return dataclasses.replace(
        config, anonymise=dataclasses.replace(config.anonymise, login=LoginPolicy.PERSON)
    )


@pytest.fixture
def store(tmp_path: Path, config: Config, key: SecretKey) -> Store:
    ingest_access(config, key, [str(three_days(tmp_path / "access.log"))])
    return Store(config.store_path)


def test_the_quick_check_finds_missing_and_resized_files_the_full_one_changed_bytes(
    store: Store,
) -> None:
    file_of(store, "2026-10-01").unlink()
    file_of(store, "2026-10-02").write_bytes(b"PAR1 not really PAR1")
    flip_a_byte(file_of(store, "2026-10-03"), keep_time=True)
    quick = check(store)
    assert [d.day for d in quick.damage] == ["2026-10-01", "2026-10-02"]
    assert quick.damage[0].problem == "missing"
    assert quick.damage[1].problem.startswith("20 bytes, ")
    full = check(store, full=True)
    assert [(d.day, d.problem.split(" ")[0]) for d in full.damage] == [
        ("2026-10-01", "missing"), ("2026-10-02", "20"), ("2026-10-03", "its"),
    ]  # fmt: skip
    assert full.damage[2].problem == "its content differs from what was written"


def test_every_writer_refuses_a_damaged_store_in_one_line_and_info_says_so(
    tmp_path: Path, store: Store, key_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    catalog = (store.root / "catalog.json").read_bytes()
    file_of(store, "2026-10-02").unlink()
    more = tmp_path / "more.log"
    more.write_text(LINE.format(n=99, d=5))
    at = ["--store", str(store.root)]
    for command in (
        ["ingest", "access", str(more)],
        ["erase", "--email", "zofia.kanarek@example.pl"],
        ["ingest", "crm", "--from", str(write_exports(tmp_path / "crm"))],
    ):
        assert main([*at, *command]) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "internal error" not in err
        assert "is damaged (access/day=2026-10-02/" in err and ": missing)" in err
        assert "run 'privstats store check --repair' first" in err
    assert (store.root / "catalog.json").read_bytes() == catalog
    assert main([*at, "store", "info"]) == 1
    captured = capsys.readouterr()
    assert "table access: 90 rows over 3 days" in captured.out
    assert "1 of 3 files damaged" in captured.err
    assert main([*at, "store", "check"]) == 1
    assert "1 of 3 files damaged" in capsys.readouterr().err


def test_repair_moves_the_damaged_day_aside_and_the_log_brings_it_back(
    tmp_path: Path,
    store: Store,
    config: Config,
    key: SecretKey,
    capsys: pytest.CaptureFixture[str],
) -> None:
    whole = rows(store)
    damaged = file_of(store, "2026-10-02")
    flip_a_byte(damaged, keep_time=True)
    assert check(store).ok, "same size, same time: only reading finds it"
    at = ["--store", str(store.root)]
    assert main([*at, "store", "check"]) == 1
    assert "its content differs from what was written" in capsys.readouterr().err

    assert main([*at, "store", "check", "--repair"]) == 0
    out = capsys.readouterr().out
    assert "moved the days holding 1 damaged file aside" in out
    assert "access: 30 rows of 1 day (2026-10-02)" in out
    aside = next((store.root / "damaged").iterdir())
    assert (aside / damaged.relative_to(store.root)).is_file()
    assert [e["day"] for e in store.catalog().files] == ["2026-10-01", "2026-10-03"]
    assert check(store, full=True).ok

    [again] = ingest_access(config, key, [str(tmp_path / "access.log")])
    assert again.status == "restored" and again.days == {"2026-10-02": 30}
    assert rows(store) == whole
    [once_more] = ingest_access(config, key, [str(tmp_path / "access.log")])
    assert once_more.status == "already ingested" and rows(store) == whole


def test_an_erasure_meeting_a_damaged_file_is_one_line_and_erases_nothing(
    store: Store, key: SecretKey
) -> None:
    catalog = (store.root / "catalog.json").read_bytes()
    flip_a_byte(file_of(store, "2026-10-02"), keep_time=True)  # unseen until it is read
    with pytest.raises(
        StoreError, match=r"damaged or unreadable .*nothing was erased: run 'privstats store"
    ):
        erase(store, key, ["zofia.kanarek@example.pl"])
    assert (store.root / "catalog.json").read_bytes() == catalog


def test_a_crm_snapshot_with_a_day_moved_aside_is_read_again(
    tmp_path: Path, config: Config, key: SecretKey
) -> None:
    folder = write_exports(tmp_path / "crm")
    ingest_crm(config, key, CrmFiles(folder))
    store = Store(config.store_path)
    before = len(store.read("crm_activity"))
    [entry, *_] = [e for e in store.catalog().files if e["table"] == "crm_activity"]
    (store.root / entry["path"]).unlink()
    with store.locked(intact=False):
        done = repair(store)
    assert "ingest the CRM again" in "\n".join(done.lines(store.root))
    assert ingest_crm(config, key, CrmFiles(folder)).status == "ingested"
    assert len(store.read("crm_activity")) == before
    assert ingest_crm(config, key, CrmFiles(folder)).status == "already ingested"


@pytest.mark.parametrize(
    ("catalog", "problem"),
    [
        ("[]", "it is not a JSON object"),
        ('{"format": 1, "files": {}}', "'files' is not a list"),
        ('{"format": 1, "files": [{"table": "access", "rows": 1}]}', "files[0] has no path"),
        (
            '{"format": 1, "files": [{"path": "../../etc/passwd", "table": "access", "rows": 1}]}',
            "files[0] has no path inside the store",
        ),
        ('{"format": 1, "inputs": [{"id": "x", "kind": "access", "quarantine": 3}]}',
         "inputs[0] has no quarantine counts"),
        ('{"format": 1, "tombstones": ["zofia"]}', "tombstones[0] is not a int"),
        ("{not json", "it is not valid JSON"),
    ],
)  # fmt: skip
def test_a_catalog_of_the_wrong_shape_is_one_line_for_every_command(
    tmp_path: Path, key_file: Path, capsys: pytest.CaptureFixture[str], catalog: str, problem: str
) -> None:
    folder = tmp_path / "store"
    folder.mkdir()
    (folder / "catalog.json").write_text(catalog)
    log = three_days(tmp_path / "access.log")
    for command in (
        ["store", "info"],
        ["store", "check"],
        ["ingest", "access", str(log)],
        ["erase", "--email", "zofia.kanarek@example.pl"],
    ):
        assert main(["--store", str(folder), *command]) == 1, command
        err = capsys.readouterr().err
        assert err.count("\n") == 1, err
        assert f"is damaged ({problem}" in err
    assert json.loads(json.dumps(catalog))  # the file was left as it was
    assert (folder / "catalog.json").read_text() == catalog


def test_a_file_changed_in_place_is_noticed_by_the_next_writer(
    tmp_path: Path, store: Store, config: Config, key: SecretKey
) -> None:
    flip_a_byte(file_of(store, "2026-10-02"))  # its size stays, its time moves on
    more = tmp_path / "more.log"
    more.write_text(LINE.format(n=99, d=5))
    with pytest.raises(StoreError, match="its content differs from what was written"):
        ingest_access(config, key, [str(more)])


def test_a_grown_log_read_again_brings_back_the_days_of_what_it_continues_too(
    tmp_path: Path, config: Config, key: SecretKey
) -> None:
    log = tmp_path / "access.log"
    day = {d: "".join(LINE.format(n=n, d=d) for n in range(20)) for d in (1, 2, 3)}
    log.write_text(day[1] + day[2][: len(day[2]) // 2])
    ingest_access(config, key, [str(log)])
    log.write_text(day[1] + day[2] + day[3])
    [grown] = ingest_access(config, key, [str(log)])
    assert grown.skipped == 30
    store = Store(config.store_path)
    whole = rows(store)
    second = [e for e in store.catalog().files if e["day"] == "2026-10-02"]
    assert len(second) == 2, "the day's rows came from both inputs"
    (store.root / second[0]["path"]).unlink()
    with store.locked(intact=False):
        repair(store)
    [again] = ingest_access(config, key, [str(log)])
    assert again.status == "restored" and again.days == {"2026-10-02": 20}
    assert rows(store) == whole
    assert not any(e.get("missing_days", {}).get("access") for e in store.catalog().inputs)
