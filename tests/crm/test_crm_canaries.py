"""Planted names, e-mails, message texts and IPs of the CRM inputs never get past the door."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from canaries import EMAILS, texts_in
from crm_exports import OBJECTOR, PLANTED, crm_rows, planted_leaks, write_exports
from pgserver import load_csv, reader_dsn

from privstats.config import Config, CrmKind
from privstats.crm import ingest_crm
from privstats.erasure import erase
from privstats.exceptions import PrivstatsError
from privstats.key import SecretKey
from privstats.sources.crm_files import CrmFiles, ExportFormat
from privstats.sources.crm_sql import CrmDatabase
from privstats.store import Store


def test_crm_canaries_never_reach_store_logs_messages_or_tombstones(
    tmp_path: Path,
    config: Config,
    key: SecretKey,
    crm_database: str,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    csv_folder = write_exports(tmp_path / "csv", "csv")
    jsonl_folder = write_exports(tmp_path / "jsonl", "jsonl")
    for kind in CrmKind:
        load_csv(crm_database, kind.value, csv_folder / f"{kind.value}.csv")
    inputs = " ".join(p.read_text() for p in [*csv_folder.iterdir(), *jsonl_folder.iterdir()])
    found = {hit.split(" as ")[0] for hit in planted_leaks(inputs)}
    assert found == {repr(v) for v in PLANTED}, "every canary must be in the inputs to begin with"

    said: list[str] = []
    results = [
        ingest_crm(config, key, CrmFiles(csv_folder)),
        ingest_crm(config, key, CrmFiles(jsonl_folder, ExportFormat.JSONL)),
        ingest_crm(config, key, CrmDatabase(reader_dsn(crm_database))),
    ]
    for result in results:
        assert result.status == "ingested"
        said.append(result.summary())
        said += [str(p) for p in result.problems()]
    before_erasure = texts_in(config.store_path)
    erased = erase(Store(config.store_path), key, [EMAILS[0], OBJECTOR, EMAILS[1]])
    assert erased.found == 2  # the objector was never stored
    said.append(erased.summary())

    # Failures carry no planted value either: a bad ratio, an unreadable record, a bad request.
    rows = crm_rows()
    for event in rows["activity"]:
        event["module"] = "Zofia Kanarek " + EMAILS[0]
    for failing in (
        lambda: ingest_crm(config, key, CrmFiles(write_exports(tmp_path / "bad", rows=rows))),
        lambda: erase(Store(config.store_path), key, ["Zofia Kanarek <" + EMAILS[0]]),
    ):
        with pytest.raises(PrivstatsError) as caught:
            failing()
        said.append(str(caught.value))

    store_texts = texts_in(config.store_path)
    for texts in (before_erasure, store_texts):
        assert any(name.endswith(".parquet") for name in texts)
        assert any(name.endswith("catalog.json") for name in texts)
        assert planted_leaks(texts) == []
    assert planted_leaks(caplog.text) == []
    assert planted_leaks(capsys.readouterr().out) == []
    assert planted_leaks("\n".join(said)) == []
    assert planted_leaks(str(Store(config.store_path).info())) == []
