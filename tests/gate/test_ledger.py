"""The release ledger: append-only JSON lines, a torn last line detected and never merged, a hash
chain that shows edits, and the erasure protocol."""

from __future__ import annotations

import dataclasses
import errno
import json
import subprocess
import sys
from pathlib import Path

import pytest

from privstats.config import AnonymiseConfig, Config, LoginPolicy
from privstats.erasure import Footprint, erase
from privstats.exceptions import GateError
from privstats.gate import ReleaseLedger
from privstats.gate import ledger as ledger_module
from privstats.gate.ledger import LEDGER_FILE
from privstats.ingest import ingest_access
from privstats.key import SecretKey
from privstats.store import Store

REPO = Path(__file__).resolve().parents[2]


def _entry(number: int, **table: object) -> dict[str, object]:
    query = {"table": "access", "index": ["day"], "start": "2026-10-01", "end": "2026-10-31",
             "where": {}} | table  # fmt: skip
    return {
        "release_id": f"20261101T00000{number}Z-0000000{number}",
        "report": "traffic_report",
        "partner": None,
        "period": "2026-10",
        "reviewer": "anna",
        "tables": [{"name": "days", "query": query}],
    }


def test_entries_are_appended_and_earlier_bytes_never_change(tmp_path: Path) -> None:
    ledger = ReleaseLedger(tmp_path)
    before = b""
    with ledger.locked():
        for number in range(1, 4):
            ledger.append(_entry(number))
            now = ledger.path.read_bytes()
            assert now.startswith(before) and now.endswith(b"\n")
            assert now.count(b"\n") == number
            before = now
    state = ledger.read()
    assert [e.line for e in state.entries] == [1, 2, 3] and state.problems == ()
    assert state.entries[1].data["previous_sha256"] == state.entries[0].sha256
    assert state.entries[0].data["previous_sha256"] is None


def test_a_torn_last_line_is_reported_ignored_and_never_merged(tmp_path: Path) -> None:
    ledger = ReleaseLedger(tmp_path)
    with ledger.locked():
        first = ledger.append(_entry(1))
    line = json.dumps({**_entry(2), "format": "privstats.release"}).encode()
    with ledger.path.open("ab") as stream:
        stream.write(line[: len(line) // 2])  # what a crash mid-write leaves
    state = ledger.read()
    assert [e.release_id for e in state.entries] == [first.release_id]
    assert [(p.line, p.kind) for p in state.problems] == [(2, "torn")]
    with ledger.locked():
        third = ledger.append(_entry(3))
    assert third.line == 3
    lines = ledger.path.read_bytes().split(b"\n")
    assert lines[1] == line[: len(line) // 2] and json.loads(lines[2])["release_id"] == (
        third.release_id
    )
    state = ledger.read()
    assert [e.release_id for e in state.entries] == [first.release_id, third.release_id]
    assert [(p.line, p.kind) for p in state.problems] == [(2, "damaged")]
    assert not state.chain_broken  # the torn write was never an entry of the chain


def test_a_crash_mid_write_leaves_the_ledger_readable_and_unlocked(tmp_path: Path) -> None:
    ledger = ReleaseLedger(tmp_path)
    with ledger.locked():
        ledger.append(_entry(1))
    script = f"""
import os
from privstats.gate import ledger as module

def crash(fd, data):
    os.write(fd, data[: len(data) // 2])
    os._exit(9)  # the process dies: no clean-up, no exception handler runs

module._write_all = crash
book = module.ReleaseLedger({str(tmp_path)!r})
with book.locked():
    book.append({_entry(2)!r})
"""
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True)
    assert done.returncode == 9, done.stderr.decode()
    state = ledger.read()
    assert len(state.entries) == 1 and state.torn_tail
    with ledger.locked(timeout=1):  # the dead writer's lock went with it
        ledger.append(_entry(3))
    assert [e.release_id[-1] for e in ledger.entries()] == ["1", "3"]


def test_an_edited_entry_breaks_the_chain_and_nothing_more_is_appended(tmp_path: Path) -> None:
    ledger = ReleaseLedger(tmp_path)
    with ledger.locked():
        ledger.append(_entry(1))
        ledger.append(_entry(2))
    text = ledger.path.read_text(encoding="utf-8")
    ledger.path.write_text(text.replace('"reviewer":"anna"', '"reviewer":"mallory"', 1),
                           encoding="utf-8")  # fmt: skip
    state = ledger.read()
    assert state.chain_broken and [(p.line, p.kind) for p in state.problems] == [(2, "chain")]
    with ledger.locked(), pytest.raises(GateError, match="hash chain is broken"):
        ledger.append(_entry(3))
    assert ledger.path.read_text(encoding="utf-8").count("\n") == 2


def test_releases_touching_a_footprint_are_named(tmp_path: Path) -> None:
    ledger = ReleaseLedger(tmp_path)
    with ledger.locked():
        ledger.append(_entry(1))
        ledger.append({**_entry(2), "report": "crm_activity_report", "partner": "acme",
                       "tables": [{"name": "events", "query": {
                           "table": "crm_activity", "start": "2026-10-01", "end": "2026-10-31",
                           "where": {"partner": ["acme"]}}}]})  # fmt: skip
    october_web = [Footprint("access", "2026-10-31", 4)]
    assert ledger.releases_touching(october_web) == [
        "traffic_report/all/2026-10 (release 20261101T000001Z-00000001)"
    ]
    # A UTC day next to the period may be a local day inside it.
    assert ledger.releases_touching([Footprint("access", "2026-11-01", 1)]) != []
    assert ledger.releases_touching([Footprint("access", "2026-11-02", 1)]) == []
    acme = Footprint("crm_activity", "2026-10-05", 2, frozenset({"acme"}))
    other = Footprint("crm_activity", "2026-10-05", 2, frozenset({"globex"}))
    assert [n.split(" ")[0] for n in ledger.releases_touching([acme])] == [
        "crm_activity_report/acme/2026-10"
    ]
    assert ledger.releases_touching([other]) == []
    assert ledger.releases_touching([Footprint("crm_accounts", "-", 1)]) == []


def test_erasure_names_the_released_reports_that_held_the_person(
    tmp_path: Path, config: Config, key: SecretKey
) -> None:
    config = dataclasses.replace(config, anonymise=AnonymiseConfig(login=LoginPolicy.PERSON))
    log = tmp_path / "access.log"
    log.write_text(
        '203.0.113.9 - zofia@example.pl [30/Oct/2026:12:00:00 +0000] "GET /crm HTTP/1.1" 200 '
        '512 "-" "Mozilla/5.0 (X11; Linux x86_64) Firefox/118.0"\n',
        encoding="utf-8",
    )
    assert all(r.ok for r in ingest_access(config, key, [str(log)], log_format="combined"))
    ledger = ReleaseLedger(tmp_path / "released")
    with ledger.locked():
        ledger.append(_entry(1))
        ledger.append({**_entry(2), "period": "2026-09",
                       "tables": [{"name": "days", "query": {"table": "access",
                                   "start": "2026-09-01", "end": "2026-09-30"}}]})  # fmt: skip
    result = erase(Store(config.store_path), key, ["zofia@example.pl"], ledger=ledger)
    assert result.found == 1
    assert result.releases == ("traffic_report/all/2026-10 (release 20261101T000001Z-00000001)",)
    assert "zofia" not in result.summary()


def test_the_ledger_file_is_json_lines_with_one_entry_per_line(tmp_path: Path) -> None:
    ledger = ReleaseLedger(tmp_path)
    with ledger.locked():
        ledger.append({**_entry(1), "title": "Ruch w serwisie\nwiersz drugi"})
    lines = (tmp_path / LEDGER_FILE).read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["title"].endswith("wiersz drugi")


def test_a_removed_last_entry_is_noticed_only_through_the_anchored_head(tmp_path: Path) -> None:
    anchored = ReleaseLedger(tmp_path / "released", anchor=tmp_path / "store" / "heads.json")
    (tmp_path / "store").mkdir()
    with anchored.locked():
        anchored.append(_entry(1))
        anchored.append(_entry(2))
    text = anchored.path.read_text(encoding="utf-8")
    anchored.path.write_text(text[: text.index("\n") + 1], encoding="utf-8")
    assert not anchored.read().problems  # the chain alone cannot tell
    with anchored.locked(), pytest.raises(GateError, match="holds 1 entries, but 2 were appended"):
        anchored.append(_entry(3))
    unanchored = ReleaseLedger(tmp_path / "released")
    with unanchored.locked():
        unanchored.append(_entry(3))  # what happened before heads were anchored
    assert [e.release_id[-1] for e in unanchored.entries()] == ["1", "3"]


def test_a_head_that_cannot_be_kept_leaves_the_entry_appended_and_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    def disk_full(path: Path, text: str) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(ledger_module, "replace_atomically", disk_full)
    ledger = ReleaseLedger(tmp_path / "released", anchor=tmp_path / "heads.json")
    with ledger.locked():
        entry = ledger.append(_entry(1))
    assert [e.release_id for e in ledger.entries()] == [entry.release_id]
    assert "head could not be kept" in caplog.text and "No space left" in caplog.text
