"""CRM ingest into the store: what crosses, snapshots, objection, bad input, atomicity."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from canaries import EMAILS, IPS
from crm_exports import OBJECTOR, crm_rows, write_exports

from privstats.anonymise import person_pseudonyms, visitor_pseudonyms
from privstats.config import AnonymiseConfig, Config, LoginPolicy
from privstats.crm import ingest_crm, open_source, organisation_pseudonyms
from privstats.exceptions import ConfigError, InputError, StoreError, TooManyBadLinesError
from privstats.ingest import ingest_access
from privstats.key import SecretKey
from privstats.sources.crm_files import CrmFiles
from privstats.sources.crm_sql import CrmDatabase
from privstats.store import Store


def ingest(config: Config, key: SecretKey, folder: Path, **kwargs: object) -> object:
    return ingest_crm(config, key, CrmFiles(folder), **kwargs)  # type: ignore[arg-type]


def read(config: Config, table: str) -> pd.DataFrame:
    return Store(config.store_path).read(table)


def test_what_crosses_into_the_store(tmp_path: Path, config: Config, key: SecretKey) -> None:
    result = ingest(config, key, write_exports(tmp_path / "crm"))
    assert result.status == "ingested"
    accounts = read(config, "crm_accounts")
    zofia, objector, jan = person_pseudonyms(key, [EMAILS[0], OBJECTOR, EMAILS[1]])
    # Twelve valid accounts, less the one that objects to statistics.
    assert len(accounts) == 11 and objector not in set(accounts["person"])
    first = accounts.set_index("person").loc[zofia]
    assert first["ts"] == pd.Timestamp("2026-09-10", tz="UTC")  # 08:15 in Warsaw: the day
    assert (first["signup_channel"], first["plan"], first["country"]) == ("email", "free", "GB")
    assert (first["size_band"], first["industry"], first["partner"]) == ("1-9", "retail", "acme")
    assert first["org"] == organisation_pseudonyms(key, [1])[0]
    closed = accounts.dropna(subset=["closed"])
    assert list(closed["closed"]) == [dt.date(2026, 10, 2)] and len(closed) == 1

    activity = read(config, "crm_activity")
    assert len(activity) == 36 - 3  # the objector's three events are left out
    assert set(activity["person"]) <= set(accounts["person"])
    assert set(activity["org"]) == set(organisation_pseudonyms(key, [1, 2, 3]))
    assert activity["ts"].min() == pd.Timestamp("2026-10-01T07:00:00", tz="UTC")

    forms = read(config, "crm_contact_forms").sort_values("ts")
    assert len(forms) == 4
    # The same person wrote " Jan.Kowalski.Canary@Example.Com " in a form: one pseudonym.
    assert jan in set(forms["person"]) and jan in set(accounts["person"])
    assert list(forms["message_length"]) == ["1-99", "100-499", "500+", "1-99"]
    assert list(forms["topic"]) == ["sales", "support", "other", "sales"]
    # The client address becomes a visitor pseudonym of the access logs' scheme.
    [expected] = visitor_pseudonyms(key, ["2026-10-01"], [IPS[0]], [None])
    assert forms.iloc[0]["visitor"] == expected and forms.iloc[0]["key_period"] == "2026-10-01"
    assert pd.isna(forms.iloc[2]["visitor"])  # no address given


def test_the_result_counts_every_record_by_fate(
    tmp_path: Path, config: Config, key: SecretKey
) -> None:
    result = ingest(config, key, write_exports(tmp_path / "crm"))
    kinds = {k.value: r for k, r in result.kinds.items()}  # type: ignore[attr-defined]
    assert {k: (r.records, r.rows) for k, r in kinds.items()} == {
        "organisations": (4, 3),
        "accounts": (13, 11),
        "activity": (37, 33),
        "contact_forms": (6, 4),
    }
    assert kinds["activity"].quarantine.counts == {
        "bad timestamp": 1,
        "person objected to statistics": 3,
    }
    assert kinds["activity"].days == {"2026-10-01": 17, "2026-10-02": 16}
    assert result.replaced_days == {  # type: ignore[attr-defined]
        "crm_accounts": [],
        "crm_activity": ["2026-10-01", "2026-10-02"],
        "crm_contact_forms": ["2026-10-01", "2026-10-02"],
    }
    info = Store(config.store_path).info()
    assert {e["id"][:8] for e in info["inputs"]} and len(info["inputs"]) == 4
    assert info["quarantine"]["person objected to statistics"] == 1 + 3 + 1


def test_a_web_login_and_the_crm_account_are_one_person(
    tmp_path: Path, config: Config, key: SecretKey
) -> None:
    config = dataclasses.replace(config, anonymise=AnonymiseConfig(login=LoginPolicy.PERSON))
    ingest(config, key, write_exports(tmp_path / "crm"))
    log = tmp_path / "access.log"
    log.write_text(
        f'203.0.113.9 - {EMAILS[0].upper()} [01/Oct/2026:12:00:03 +0200] "GET /crm/deals HTTP/1.1"'
        ' 200 512 "-" "Mozilla/5.0 (X11; Linux x86_64) Firefox/118.0"\n'
    )
    ingest_access(config, key, [str(log)])
    web = read(config, "access")
    assert web["person"].iloc[0] in set(read(config, "crm_accounts")["person"])


def test_the_same_snapshot_twice_changes_nothing(
    tmp_path: Path, config: Config, key: SecretKey
) -> None:
    folder = write_exports(tmp_path / "crm")
    ingest(config, key, folder)
    catalog = (config.store_path / "catalog.json").read_bytes()
    again = ingest(config, key, folder)
    assert again.status == "already ingested"  # type: ignore[attr-defined]
    assert (config.store_path / "catalog.json").read_bytes() == catalog


def test_a_new_snapshot_replaces_accounts_whole_and_events_by_day(
    tmp_path: Path, config: Config, key: SecretKey
) -> None:
    ingest(config, key, write_exports(tmp_path / "first"))
    before = read(config, "crm_activity")
    rows = crm_rows()
    rows["accounts"] = [a for a in rows["accounts"] if a["account_id"] != 512]
    # The next export covers 2 and 3 October only; account 512's events are gone with it.
    rows["activity"] = [
        e | {"occurred_at": e["occurred_at"].replace("-10-01T", "-10-03T")}
        for e in rows["activity"]
        if e["account_id"] != 512
    ]
    result = ingest(config, key, write_exports(tmp_path / "second", rows=rows))
    assert result.replaced_days["crm_activity"] == ["2026-10-02", "2026-10-03"]  # type: ignore[attr-defined]
    accounts = read(config, "crm_accounts")
    assert len(accounts) == 10  # replaced, not added to
    after = read(config, "crm_activity")
    day = after["ts"].dt.strftime("%Y-%m-%d")
    old_day = before["ts"].dt.strftime("%Y-%m-%d")
    # 1 October was not in the second export: kept as it was.
    assert len(after[day == "2026-10-01"]) == len(before[old_day == "2026-10-01"]) == 17
    # Less account 512 and the objector: 18 - 2 - 2 on the 2nd, 18 - 1 - 1 on the 3rd.
    assert (len(after[day == "2026-10-02"]), len(after[day == "2026-10-03"])) == (14, 16)
    assert len(Store(config.store_path).files("crm_activity")) == 3
    # Accounts are partitioned by sign-up day; the old snapshot's files are all gone.
    assert len(Store(config.store_path).files("crm_accounts")) == 10


def test_too_many_bad_records_write_nothing(tmp_path: Path, config: Config, key: SecretKey) -> None:
    ingest(config, key, write_exports(tmp_path / "first"))
    catalog = (config.store_path / "catalog.json").read_bytes()
    rows = crm_rows()
    for event in rows["activity"][:20]:
        event["module"] = "Kanarek module"
    with pytest.raises(TooManyBadLinesError) as caught:
        ingest(config, key, write_exports(tmp_path / "second", rows=rows), max_bad_ratio=0.5)
    assert str(caught.value) == (
        "activity.csv: 21 of 37 records are bad, over the allowed ratio 0.5; nothing was written "
        "(quarantined: 20 value outside the allowed list, 1 bad timestamp, "
        "1 person objected to statistics)"
    )
    assert (config.store_path / "catalog.json").read_bytes() == catalog
    assert not any((config.store_path / ".staging").glob("*/*"))


def test_an_empty_accounts_snapshot_is_refused(
    tmp_path: Path, config: Config, key: SecretKey
) -> None:
    ingest(config, key, write_exports(tmp_path / "first"))
    rows = crm_rows()
    rows["accounts"] = []
    rows["activity"] = []
    with pytest.raises(InputError, match=r"^accounts\.csv has no valid record: refusing"):
        ingest(config, key, write_exports(tmp_path / "second", rows=rows))
    assert len(read(config, "crm_accounts")) == 11


def test_organisations_and_accounts_are_required(
    tmp_path: Path, config: Config, key: SecretKey
) -> None:
    folder = write_exports(tmp_path / "crm")
    (folder / "organisations.csv").unlink()
    with pytest.raises(InputError, match="has no organisations records: a CRM snapshot needs"):
        ingest(config, key, folder)
    assert not Store(config.store_path).exists()


def test_unknown_accounts_and_organisations_are_quarantined(
    tmp_path: Path, config: Config, key: SecretKey
) -> None:
    rows = crm_rows()
    rows["activity"][0]["account_id"] = 777
    rows["activity"][1]["org_id"] = 9
    rows["accounts"][5]["org_id"] = 9
    result = ingest(config, key, write_exports(tmp_path / "crm", rows=rows))
    kinds = {k.value: r for k, r in result.kinds.items()}  # type: ignore[attr-defined]
    assert kinds["accounts"].quarantine.counts["unknown organisation"] == 1
    problems = [str(p) for p in kinds["activity"].problems]
    assert "activity.csv line 38, column occurred_at: bad timestamp" in problems
    assert "activity.csv line 2, column account_id: unknown or quarantined account" in problems
    assert "activity.csv line 3, column org_id: unknown organisation" in problems
    # Account 506 belongs to an unknown organisation: its events have no account to go to.
    assert kinds["activity"].quarantine.counts["unknown or quarantined account"] == 1 + 3


def test_a_crash_mid_commit_leaves_the_store_as_it_was(
    tmp_path: Path, config: Config, key: SecretKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    ingest(config, key, write_exports(tmp_path / "first"))
    catalog = (config.store_path / "catalog.json").read_bytes()
    rows = crm_rows()
    rows["accounts"] = rows["accounts"][:6]
    rows["activity"] = [e for e in rows["activity"] if e["account_id"] <= 506]
    second = write_exports(tmp_path / "second", rows=rows)
    real_replace = __import__("os").replace
    moves: list[object] = []

    def power_cut_after_some_moves(src: object, dst: object) -> None:
        moves.append(dst)
        if len(moves) == 3:
            raise KeyboardInterrupt  # the process stops here, as at a power cut
        real_replace(src, dst)

    monkeypatch.setattr("privstats.store.os.replace", power_cut_after_some_moves)
    with pytest.raises(KeyboardInterrupt):
        ingest(config, key, second)
    monkeypatch.undo()
    assert (config.store_path / "catalog.json").read_bytes() == catalog
    assert len(read(config, "crm_accounts")) == 11
    ingest(config, key, second)
    assert len(read(config, "crm_accounts")) == 5  # six accounts, less the objector
    listed = {e["path"] for e in Store(config.store_path).catalog().files}
    on_disk = {
        p.relative_to(config.store_path).as_posix() for p in config.store_path.rglob("*.parquet")
    }
    assert on_disk == listed


def test_a_store_of_another_key_is_refused(
    tmp_path: Path, config: Config, key: SecretKey, throwaway_key: SecretKey
) -> None:
    ingest(config, key, write_exports(tmp_path / "crm"))
    rows = crm_rows()
    rows["accounts"] = rows["accounts"][:5]
    with pytest.raises(StoreError, match="different pseudonymisation key"):
        ingest(config, throwaway_key, write_exports(tmp_path / "other", rows=rows))


def test_open_source_takes_a_folder_or_a_dsn(tmp_path: Path) -> None:
    folder = write_exports(tmp_path / "crm")
    assert isinstance(open_source(folder=folder), CrmFiles)
    assert open_source(folder=folder, fmt="csv").format == "csv"
    # A database source connects only when used.
    assert isinstance(open_source(dsn="postgresql://crm@db.internal/crm"), CrmDatabase)
    with pytest.raises(ConfigError, match="either --from FOLDER or --dsn"):
        open_source()
    with pytest.raises(ConfigError, match="either --from FOLDER or --dsn"):
        open_source(folder=folder, dsn="postgresql://crm@db.internal/crm")
    with pytest.raises(ConfigError, match="csv or jsonl"):
        open_source(folder=folder, fmt="xml")
