from __future__ import annotations

import errno
import gc
import gzip
import logging
import os
import sys
import threading
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from canaries import canary_log_lines, leaks, texts_in

from privstats import ingest
from privstats.anonymise.useragents import AgentWorker
from privstats.config import Config
from privstats.exceptions import StoreError
from privstats.ingest import ingest_access
from privstats.key import SecretKey
from privstats.process import for_ingest
from privstats.store import Store

LINE = (
    '203.0.113.{n} - - [0{d}/Oct/2026:12:00:03 +0200] "GET /crm/contacts/{n} HTTP/1.1" 200 512 '
    '"-" "Mozilla/5.0 (X11; Linux x86_64) Firefox/118.0"'
)


def write_log(path: Path, days: int = 2, per_day: int = 50) -> Path:
    lines = [LINE.format(n=n, d=d) for d in range(1, days + 1) for n in range(per_day)]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_canaries_never_reach_the_store_logs_or_messages(
    tmp_path: Path,
    config: Config,
    key: SecretKey,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    log = tmp_path / "canary.log"
    log.write_text("\n".join(canary_log_lines()) + "\n")
    assert leaks(log.read_text()), "the canaries must be in the input to begin with"
    caplog.set_level(logging.DEBUG)
    [result] = ingest_access(config, key, [str(log)])
    assert result.status == "ingested" and result.rows == 12 and result.quarantine.total == 2
    store_texts = texts_in(config.store_path)
    assert any(".parquet" in name for name in store_texts)
    assert leaks(store_texts) == []
    assert leaks(caplog.text + capsys.readouterr().out + result.summary()) == []
    assert leaks(str(Store(config.store_path).info())) == []


def test_reingesting_the_same_content_adds_nothing(
    tmp_path: Path, config: Config, key: SecretKey
) -> None:
    log = write_log(tmp_path / "access.log")
    [first] = ingest_access(config, key, [str(log)])
    catalog_before = (config.store_path / "catalog.json").read_text()
    # Same content under another name, and compressed as logrotate would: still the same input.
    (tmp_path / "access.log.1.gz").write_bytes(gzip.compress(log.read_bytes()))
    again = ingest_access(config, key, [str(log), str(tmp_path / "access.log.1.gz")])
    assert first.rows == 100
    assert [r.status for r in again] == ["already ingested", "already ingested"]
    assert (config.store_path / "catalog.json").read_text() == catalog_before
    assert len(Store(config.store_path).read("access")) == 100


def test_a_crash_mid_ingest_leaves_the_store_as_it_was(
    tmp_path: Path, config: Config, key: SecretKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    ingest_access(config, key, [str(write_log(tmp_path / "one.log", days=1))])
    second = tmp_path / "two.log"
    second.write_text(LINE.format(n=7, d=3) + "\n" + LINE.format(n=8, d=4) + "\n")
    real_replace = __import__("os").replace
    moves = []

    def crash_after_first_move(src: object, dst: object) -> None:
        moves.append(dst)
        if len(moves) == 2:
            raise KeyboardInterrupt  # the process stops here, as at a power cut
        real_replace(src, dst)

    monkeypatch.setattr("privstats.store.os.replace", crash_after_first_move)
    with pytest.raises(KeyboardInterrupt):
        ingest_access(config, key, [str(second)])
    monkeypatch.undo()

    store = Store(config.store_path)
    assert len(store.read("access")) == 50
    assert len(store.catalog().inputs) == 1
    [result] = ingest_access(config, key, [str(second)])
    assert result.rows == 2
    assert len(store.read("access")) == 52
    assert sorted(p.name for p in config.store_path.rglob("*.parquet")) == sorted(
        Path(f["path"]).name for f in store.catalog().files
    )


def test_a_write_failing_mid_commit_fails_the_input_and_takes_back_what_it_moved(
    tmp_path: Path, config: Config, key: SecretKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    ingest_access(config, key, [str(write_log(tmp_path / "one.log", days=1))])
    listed = sorted(p.name for p in config.store_path.rglob("*.parquet"))
    second = write_log(tmp_path / "two.log", days=3)
    real_replace = os.replace

    def no_space_for_the_catalog(src: Any, dst: Any) -> None:
        if str(dst).endswith("catalog.json"):
            raise OSError(errno.ENOSPC, "No space left on device")
        real_replace(src, dst)

    monkeypatch.setattr("privstats.store.os.replace", no_space_for_the_catalog)
    [failed] = ingest_access(config, key, [str(second)])
    monkeypatch.undo()
    assert failed.status == "failed"
    assert failed.error == (
        f"cannot write to the store at {config.store_path}: No space left on device; nothing "
        "was written (free some space (or raise the quota) and run the command again)"
    )
    # Nothing moved in stays behind, not even for the next writer to sweep.
    assert sorted(p.name for p in config.store_path.rglob("*.parquet")) == listed
    assert not list(config.store_path.glob("catalog.json.*"))
    [result] = ingest_access(config, key, [str(second)])
    assert (result.skipped, result.rows) == (50, 100)  # two.log continues one.log


def test_too_many_bad_lines_fail_the_input_and_write_nothing(
    tmp_path: Path, config: Config, key: SecretKey
) -> None:
    log = tmp_path / "mixed.log"
    log.write_text(LINE.format(n=1, d=1) + "\n" + "garbage\n" * 3)
    [result] = ingest_access(config, key, [str(log)], max_bad_ratio=0.5)
    assert result.status == "failed"
    assert "3 of 4 lines are bad" in (result.error or "")
    assert not Store(config.store_path).catalog().inputs
    assert not list(config.store_path.rglob("*.parquet"))


def test_a_format_that_does_not_match_says_so(
    tmp_path: Path, config: Config, key: SecretKey
) -> None:
    log = write_log(tmp_path / "access.log", days=1, per_day=20)
    [result] = ingest_access(config, key, [str(log)], log_format="nginx_json")
    assert result.error == "0 of 20 lines matched format nginx_json; choose another with --format"


def test_an_empty_file_is_reported_and_adds_nothing(
    tmp_path: Path, config: Config, key: SecretKey
) -> None:
    (tmp_path / "empty.log").write_bytes(b"")
    [result] = ingest_access(config, key, [str(tmp_path / "empty.log")])
    assert result.status == "empty" and result.ok


def test_one_bad_input_does_not_stop_the_others(
    tmp_path: Path, config: Config, key: SecretKey
) -> None:
    broken = tmp_path / "broken.gz"
    broken.write_bytes(gzip.compress(b"x" * 100_000)[:50])
    good = write_log(tmp_path / "good.log", days=1)
    results = ingest_access(config, key, [str(broken), str(good)])
    assert [r.status for r in results] == ["failed", "ingested"]


@pytest.mark.parametrize(
    ("stage", "owner", "method"),
    [
        ("parser", ingest.BlockParser, "parse"),
        ("visitors", ingest.AccessAnonymiser, "visitors_of"),
    ],
)
def test_a_failure_in_a_stage_thread_fails_the_input_and_stops_every_stage(
    tmp_path: Path,
    config: Config,
    key: SecretKey,
    monkeypatch: pytest.MonkeyPatch,
    stage: str,
    owner: type,
    method: str,
) -> None:
    def broken(*_: object) -> None:
        raise StoreError(f"the {stage} stage broke")

    monkeypatch.setattr(owner, method, broken)
    [result] = ingest_access(config, key, [str(write_log(tmp_path / "a.log", days=1))])
    assert (result.status, result.error) == ("failed", f"the {stage} stage broke")
    assert not list(config.store_path.rglob("*.parquet"))
    assert not [t for t in threading.enumerate() if t.name.startswith("privstats-")]


def test_a_stage_that_fails_stops_the_stages_before_it_at_once() -> None:
    def broken(_: int) -> int:
        raise ValueError("the second stage broke")

    first = ingest._ahead(iter(range(100)), lambda n: n, "privstats-first")
    second = ingest._ahead(first, broken, "privstats-second")
    # The exception, kept as a caller keeps it, holds the failed stage's frame: the first
    # stage must be stopped by the second, not by the garbage collector.
    with pytest.raises(ValueError, match="second stage broke") as caught:
        list(second)
    assert caught.value is not None
    assert not [t for t in threading.enumerate() if t.name.startswith("privstats-")]


def test_the_library_leaves_the_process_alone_and_the_commands_settings_are_restored(
    tmp_path: Path, config: Config, key: SecretKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The collector, the switch interval and Arrow's pool are the whole process's: set by the
    command line around an ingest (``for_ingest``), never by the library, and put back after,
    an ingest that breaks included."""
    seen = []

    def warm_up(*_: object) -> None:
        seen.append((gc.isenabled(), sys.getswitchinterval()))
        if len(seen) > 2:
            raise RuntimeError("an ingest that breaks")

    monkeypatch.setattr(ingest, "warm_up", warm_up)
    interval, pool = sys.getswitchinterval(), pa.default_memory_pool().backend_name
    ingest_access(config, key, [str(write_log(tmp_path / "a.log", days=1))])
    assert seen == [(True, interval)]
    with for_ingest():
        ingest_access(config, key, [str(write_log(tmp_path / "b.log", days=2))])
    assert seen[1] == (False, 0.001)
    with pytest.raises(RuntimeError), for_ingest():
        ingest_access(config, key, [str(write_log(tmp_path / "c.log", days=3))], contain=False)
    assert seen[2] == (False, 0.001)
    assert gc.isenabled() and sys.getswitchinterval() == interval
    assert pa.default_memory_pool().backend_name == pool


def test_a_second_writer_is_refused_while_the_first_holds_the_lock(
    tmp_path: Path, config: Config, key: SecretKey
) -> None:
    store = Store(config.store_path)
    with store.locked(), pytest.raises(StoreError, match="locked by another privstats process"):
        ingest_access(config, key, [str(write_log(tmp_path / "a.log"))])


def test_a_store_refuses_a_different_key(
    tmp_path: Path, config: Config, key: SecretKey, throwaway_key: SecretKey
) -> None:
    ingest_access(config, key, [str(write_log(tmp_path / "a.log", days=1))])
    [result] = ingest_access(config, throwaway_key, [str(write_log(tmp_path / "b.log", days=2))])
    assert result.status == "failed" and "different pseudonymisation key" in (result.error or "")


def test_the_real_log_lands_in_the_store_by_day(
    real_log: Path, config: Config, key: SecretKey
) -> None:
    [result] = ingest_access(config, key, [str(real_log)])
    assert result.days == {
        "2015-05-17": 1632, "2015-05-18": 2893, "2015-05-19": 2896, "2015-05-20": 2579,
    }  # fmt: skip
    frame = Store(config.store_path).read("access")
    assert len(frame) == 10_000
    assert frame.groupby("key_period", observed=True)["visitor"].nunique().sum() >= 1753
    assert frame["is_bot"].any() and (frame["referer_kind"] == "external").any()


def test_a_worker_classifies_user_agents_and_its_loss_only_moves_the_work_here(
    tmp_path: Path, config: Config, key: SecretKey, caplog: pytest.LogCaptureFixture
) -> None:
    log = tmp_path / "canary.log"
    log.write_text("\n".join(canary_log_lines()) + "\n")
    ingest_access(config.with_store(tmp_path / "alone"), key, [str(log)])
    with AgentWorker() as agents:
        ingest_access(config.with_store(tmp_path / "helped"), key, [str(log)], agents=agents)
    lost = AgentWorker()
    lost._process.kill()
    caplog.set_level(logging.WARNING)
    [result] = ingest_access(config.with_store(tmp_path / "lost"), key, [str(log)], agents=lost)
    lost.close()
    assert result.status == "ingested"
    assert "user agents are classified in this process" in caplog.text
    assert leaks(caplog.text) == []
    alone = Store(tmp_path / "alone").read("access")
    for other in ("helped", "lost"):
        assert Store(tmp_path / other).read("access").equals(alone)


def test_a_fault_of_privstats_in_one_input_fails_that_input_only(
    tmp_path: Path, config: Config, key: SecretKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = write_log(tmp_path / "one.log", days=1)
    second = tmp_path / "two.log"
    second.write_text(LINE.format(n=7, d=5) + "\n")
    real = ingest.AccessAnonymiser.apply
    calls = []

    def broken_once(self: Any, *args: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise TypeError("a bug that quotes 203.0.113.7")
        return real(self, *args)

    monkeypatch.setattr(ingest.AccessAnonymiser, "apply", broken_once)
    failed, done = ingest_access(config, key, [str(first), str(second)])
    assert failed.internal and failed.error == (
        "internal error (TypeError); nothing was written for it"
    )
    assert done.status == "ingested" and len(Store(config.store_path).read("access")) == 1
    calls.clear()
    with pytest.raises(TypeError):
        ingest_access(config, key, [str(first)], contain=False)
