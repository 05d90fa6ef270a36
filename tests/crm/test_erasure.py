"""Erasure: every row of the person goes, the tombstone keeps them out, nothing else moves."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from canaries import EMAILS
from crm_exports import crm_rows, write_exports

from privstats.anonymise import person_pseudonyms
from privstats.config import AnonymiseConfig, Config, LoginPolicy
from privstats.crm import ingest_crm
from privstats.erasure import Footprint, erase, read_erasure_requests
from privstats.exceptions import InputError, StoreError
from privstats.ingest import ingest_access
from privstats.key import SecretKey
from privstats.sources.crm_files import CrmFiles, ExportFormat
from privstats.store import Store

TABLES = ("crm_accounts", "crm_activity", "crm_contact_forms", "access")
SAMPLE_REQUESTS = Path(__file__).resolve().parents[2] / "data" / "sample" / "crm"
UA = "Mozilla/5.0 (X11; Linux x86_64) Firefox/118.0"


@pytest.fixture
def person_config(config: Config) -> Config:
    """Web logins become person pseudonyms, so erasure reaches the web requests too."""
    return dataclasses.replace(config, anonymise=AnonymiseConfig(login=LoginPolicy.PERSON))


def web_log(path: Path, days: tuple[int, ...] = (1, 2)) -> Path:
    lines = [
        f'203.0.113.{n} - {login} [0{d}/Oct/2026:12:00:0{n} +0200] "GET /crm/deals HTTP/1.1" '
        f'200 512 "-" "{UA}"'
        for d in days
        for n, login in enumerate([EMAILS[0], "user4@example.org", "-"])
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def counts(config: Config, person: int | None = None) -> dict[str, int]:
    store = Store(config.store_path)
    out = {}
    for table in TABLES:
        frame = store.read(table)
        out[table] = int((frame["person"] == person).sum()) if person else len(frame)
    return out


def build_store(tmp_path: Path, config: Config, key: SecretKey) -> Path:
    folder = write_exports(tmp_path / "crm")
    ingest_crm(config, key, CrmFiles(folder))
    ingest_access(config, key, [str(web_log(tmp_path / "access.log"))])
    return folder


def test_erasure_removes_the_person_everywhere_and_nothing_else(
    tmp_path: Path, person_config: Config, key: SecretKey
) -> None:
    build_store(tmp_path, person_config, key)
    [zofia] = person_pseudonyms(key, [EMAILS[0]])
    before = counts(person_config)
    theirs = counts(person_config, zofia)
    assert theirs == {"crm_accounts": 1, "crm_activity": 3, "crm_contact_forms": 1, "access": 2}

    result = erase(Store(person_config.store_path), key, ["  Zofia.Kanarek@EXAMPLE.pl "])
    assert (result.requested, result.found) == (1, 1)
    assert result.rows_removed == theirs
    assert counts(person_config, zofia) == dict.fromkeys(TABLES, 0)
    assert counts(person_config) == {t: before[t] - theirs[t] for t in TABLES}
    catalog = json.loads((person_config.store_path / "catalog.json").read_text())
    assert catalog["tombstones"] == [zofia]
    assert result.summary().splitlines()[0] == (
        "erased 1 of 1 requested persons: rows removed 2 from access, 1 from crm_accounts, "
        "3 from crm_activity, 1 from crm_contact_forms; 1 tombstones recorded, later ingests "
        "will drop their rows"
    )


def test_re_ingesting_the_original_exports_does_not_bring_them_back(
    tmp_path: Path, person_config: Config, key: SecretKey
) -> None:
    folder = build_store(tmp_path, person_config, key)
    [zofia] = person_pseudonyms(key, [EMAILS[0]])
    erase(Store(person_config.store_path), key, [EMAILS[0]])
    after_erasure = counts(person_config)
    # The same files: recognised and skipped. The same records in JSON lines and a later web
    # log: read in full, and the person dropped again.
    assert ingest_crm(person_config, key, CrmFiles(folder)).status == "already ingested"
    again = ingest_crm(
        person_config, key, CrmFiles(write_exports(tmp_path / "jsonl", "jsonl"), ExportFormat.JSONL)
    )
    assert again.status == "ingested"
    erased_counts = {
        k.value: r.quarantine.counts.get("person erased", 0) for k, r in again.kinds.items()
    }
    assert erased_counts == {
        "organisations": 0, "accounts": 1, "activity": 3, "contact_forms": 1,
    }  # fmt: skip
    later = web_log(tmp_path / "later.log", days=(3, 4))
    [web] = ingest_access(person_config, key, [str(later)])
    assert web.quarantine.counts == {"person erased": 2}
    assert counts(person_config, zofia) == dict.fromkeys(TABLES, 0)
    # Every other count is as it was after the erasure, and the later log's other lines went in.
    now = counts(person_config)
    assert {t: now[t] for t in TABLES if t != "access"} == {
        t: after_erasure[t] for t in TABLES if t != "access"
    }
    assert now["access"] == after_erasure["access"] + 4


def test_a_person_with_no_rows_yet_is_kept_out_of_later_ingests(
    tmp_path: Path, config: Config, key: SecretKey
) -> None:
    everything = crm_rows()
    rows = {
        "organisations": everything["organisations"],
        "accounts": everything["accounts"][1:],
        "activity": [e for e in everything["activity"] if e["account_id"] != 501],
        "contact_forms": [f for f in everything["contact_forms"] if f["email"] != EMAILS[0]],
    }
    ingest_crm(config, key, CrmFiles(write_exports(tmp_path / "first", rows=rows)))
    result = erase(Store(config.store_path), key, [EMAILS[0]])
    assert (result.requested, result.found, result.rows_removed) == (1, 0, {})
    later = ingest_crm(config, key, CrmFiles(write_exports(tmp_path / "later", rows=everything)))
    [zofia] = person_pseudonyms(key, [EMAILS[0]])
    assert zofia not in set(Store(config.store_path).read("crm_accounts")["person"])
    assert later.kinds["accounts"].quarantine.counts["person erased"] == 1  # type: ignore[index]


def test_a_crash_mid_erasure_leaves_everything_in_place(
    tmp_path: Path, person_config: Config, key: SecretKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_store(tmp_path, person_config, key)
    before = counts(person_config)
    catalog = (person_config.store_path / "catalog.json").read_bytes()
    real_replace = __import__("os").replace
    moves: list[object] = []

    def power_cut(src: object, dst: object) -> None:
        moves.append(dst)
        if len(moves) == 2:
            raise KeyboardInterrupt  # the process stops here, as at a power cut
        real_replace(src, dst)

    monkeypatch.setattr("privstats.store.os.replace", power_cut)
    with pytest.raises(KeyboardInterrupt):
        erase(Store(person_config.store_path), key, [EMAILS[0]])
    monkeypatch.undo()
    assert (person_config.store_path / "catalog.json").read_bytes() == catalog
    assert counts(person_config) == before
    result = erase(Store(person_config.store_path), key, [EMAILS[0]])
    assert sum(result.rows_removed.values()) == 7
    assert counts(person_config) == {t: before[t] - result.rows_removed.get(t, 0) for t in TABLES}


@dataclass(frozen=True)
class Release:
    name: str
    partner: str | None  # None: a report over all partners
    first: str
    last: str
    tables: tuple[str, ...]


@dataclass
class ListLedger:
    """A ledger of releases by partner and period, as the reviewer's gate will keep one."""

    releases: list[Release]
    asked: list[Sequence[Footprint]] = dataclasses.field(default_factory=list)

    def releases_touching(self, footprint: Sequence[Footprint]) -> list[str]:
        self.asked.append(footprint)
        return [
            r.name
            for r in self.releases
            if any(
                f.table in r.tables
                and r.first <= f.day <= r.last
                and (r.partner is None or not f.partners or r.partner in f.partners)
                for f in footprint
            )
        ]


def test_erasure_names_the_released_reports_that_held_the_person(
    tmp_path: Path, person_config: Config, key: SecretKey
) -> None:
    build_store(tmp_path, person_config, key)
    activity = ("crm_activity",)
    ledger = ListLedger(
        [
            Release("acme-2026-10", "acme", "2026-10-01", "2026-10-31", activity),
            Release("nordic-2026-10", "nordic", "2026-10-01", "2026-10-31", activity),
            Release("acme-2026-09", "acme", "2026-09-01", "2026-09-30", activity),
            Release("all-web-2026-10-02", None, "2026-10-02", "2026-10-02", ("access",)),
        ]
    )
    result = erase(Store(person_config.store_path), key, [EMAILS[0]], ledger=ledger)
    assert result.releases == ("acme-2026-10", "all-web-2026-10-02")
    [asked] = ledger.asked
    assert Footprint("crm_activity", "2026-10-01", 2, frozenset({"acme"})) in asked
    assert Footprint("access", "2026-10-02", 1, frozenset()) in asked
    assert result.summary().splitlines()[1] == (
        "released reports that contained their data (re-run them): acme-2026-10, all-web-2026-10-02"
    )
    without = erase(Store(person_config.store_path), key, [EMAILS[1]])
    assert without.releases is None
    assert "no release ledger yet" in without.summary()


def test_erasure_requests_from_a_file(tmp_path: Path) -> None:
    sample = read_erasure_requests(SAMPLE_REQUESTS / "erasure_requests.csv")
    assert len(sample) == 3 and all("@" in e for e in sample)
    assert read_erasure_requests(SAMPLE_REQUESTS / "erasure_requests.jsonl") == sample
    bad = tmp_path / "requests.csv"
    bad.write_text(
        "requested_at,email\n2026-10-01,a@example.pl\n2026-10-02,Zofia Kanarek\n2026-10-03,\n"
    )
    with pytest.raises(InputError) as caught:
        read_erasure_requests(bad)
    assert str(caught.value) == (
        "requests.csv: 2 requests are not e-mail addresses (line 3, 4); nothing was erased"
    )
    (tmp_path / "no_column.csv").write_text("address\na@example.pl\n")
    with pytest.raises(InputError, match="lacks the column email"):
        read_erasure_requests(tmp_path / "no_column.csv")


def test_erasure_refuses_a_wrong_key_a_missing_store_and_non_addresses(
    tmp_path: Path, config: Config, key: SecretKey, throwaway_key: SecretKey
) -> None:
    with pytest.raises(StoreError, match="no store at"):
        erase(Store(config.store_path), key, [EMAILS[0]])
    ingest_crm(config, key, CrmFiles(write_exports(tmp_path / "crm")))
    catalog = (config.store_path / "catalog.json").read_bytes()
    with pytest.raises(StoreError, match="different pseudonymisation key"):
        erase(Store(config.store_path), throwaway_key, [EMAILS[0]])
    with pytest.raises(InputError) as caught:
        erase(Store(config.store_path), key, [EMAILS[0], "Zofia Kanarek"])
    assert "Zofia" not in str(caught.value)
    assert (config.store_path / "catalog.json").read_bytes() == catalog
    assert len(pd.DataFrame(Store(config.store_path).read("crm_accounts"))) == 11


def test_the_browsers_a_person_used_while_logged_in_go_on_those_days_and_stay_gone(
    tmp_path: Path, person_config: Config, key: SecretKey
) -> None:
    def line(day: int, login: str, client: str = "203.0.113.7", minute: int = 0) -> str:
        return (
            f'{client} - {login} [0{day}/Oct/2026:12:{minute:02d}:00 +0000] "GET /blog HTTP/1.1" '
            f'200 512 "-" "{UA}"\n'
        )

    log = tmp_path / "access.log"
    log.write_text(
        line(1, EMAILS[0])  # logged in on the 1st
        + line(1, "-", minute=5)  # the same browser, logged out: linkable to her
        + line(1, "-", client="198.51.100.4")  # someone else
        + line(2, "-", minute=9)  # her browser on the 2nd, never logged in: another pseudonym
    )
    ingest_access(person_config, key, [str(log)])
    result = erase(Store(person_config.store_path), key, [EMAILS[0]])
    assert result.rows_removed == {"access": 2}
    kept = Store(person_config.store_path).read("access")
    assert sorted(kept["ts"].dt.day.tolist()) == [1, 2]
    # A later log of the 1st with her browser logged out: dropped as hers.
    later = tmp_path / "later.log"
    later.write_text(line(1, "-", minute=30) + line(1, "-", client="198.51.100.5", minute=31))
    [again] = ingest_access(person_config, key, [str(later)])
    assert again.quarantine.counts == {"person erased": 1} and again.rows == 1
    catalog = json.loads((person_config.store_path / "catalog.json").read_text())
    assert len(catalog["erased_visitors"]) == 1


def test_the_command_finds_the_ledger_where_the_configuration_puts_it(
    tmp_path: Path,
    key_file: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from privstats.cli import main
    from privstats.gate import ReleaseLedger

    home = tmp_path / "home"
    home.mkdir()
    config = home / "privstats.toml"
    config.write_text('[anonymise]\nlogin = "person"\n[release]\nfolder = "published"\n')
    log = tmp_path / "access.log"
    log.write_text(
        f'203.0.113.7 - {EMAILS[0]} [02/Oct/2026:12:00:00 +0000] "GET /crm HTTP/1.1" 200 512 '
        f'"-" "{UA}"\n'
    )
    assert main(["--config", str(config), "ingest", "access", str(log)]) == 0
    ledger = ReleaseLedger(home / "published")
    october = {"table": "access", "start": "2026-10-01", "end": "2026-10-31"}
    entry = {"release_id": "20261101T000000Z-00000001", "report": "traffic_report",
             "partner": None, "period": "2026-10", "tables": [{"query": october}]}  # fmt: skip
    with ledger.locked():
        ledger.append(entry)
    capsys.readouterr()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # not the folder holding the release area
    assert main(["--config", str(config), "erase", "--email", EMAILS[0]]) == 0
    out = capsys.readouterr().out
    assert "contained their data (re-run them): traffic_report/all/2026-10" in out
