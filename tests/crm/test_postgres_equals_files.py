"""PostgreSQL ingest equals CSV ingest of the same synthetic data, row for row."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from pgserver import load_csv, reader_dsn

from privstats.config import Config, CrmConfig, CrmKind
from privstats.crm import ingest_crm
from privstats.erasure import erase, read_erasure_requests
from privstats.key import SecretKey
from privstats.schema import CRM_TABLES
from privstats.sources.crm_files import CrmFiles, ExportFormat
from privstats.sources.crm_sql import CrmDatabase
from privstats.store import Store
from privstats.synth import generate

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample" / "crm"
TYPES = {
    "org_id": "bigint",
    "account_id": "bigint",
    "created_at": "timestamptz",
    "closed_at": "timestamptz",
    "consent_statistics": "boolean",
    "consent_publication": "boolean",
    "submitted_at": "timestamptz",
    "occurred_at": "timestamptz",
    "records_affected": "integer",
}


def stored(config: Config, table: str) -> pd.DataFrame:
    frame = Store(config.store_path).read(table)
    frame = frame.astype({c: "object" for c in frame.select_dtypes("category").columns})
    return frame.sort_values(list(frame.columns)).reset_index(drop=True)


def assert_same_store(files: Config, database: Config) -> None:
    for table in CRM_TABLES:
        left, right = stored(files, table), stored(database, table)
        assert len(left) > 0, table
        pd.testing.assert_frame_equal(left, right, check_exact=True)


def test_the_synthetic_sample_from_postgresql_equals_its_csv_export(
    tmp_path: Path, config: Config, key: SecretKey, crm_database: str
) -> None:
    # All-text tables hold the sample as exported, malformed records included.
    for kind in CrmKind:
        load_csv(crm_database, kind.value, SAMPLE / f"{kind.value}.csv")
    files = config.with_store(tmp_path / "from_files")
    database = config.with_store(tmp_path / "from_database")
    by_file = ingest_crm(files, key, CrmFiles(SAMPLE, ExportFormat.CSV))
    by_database = ingest_crm(database, key, CrmDatabase(reader_dsn(crm_database)))
    assert_same_store(files, database)
    for kind in CrmKind:
        left, right = by_file.kinds[kind], by_database.kinds[kind]
        assert (left.records, left.rows) == (right.records, right.rows), kind
        assert left.quarantine.counts == right.quarantine.counts, kind
    assert sum(r.quarantine.total for r in by_file.kinds.values()) > 12  # malformed + objecting

    # And an erasure request finds the same rows in both.
    requests = read_erasure_requests(SAMPLE / "erasure_requests.csv")
    one = erase(Store(files.store_path), key, requests)
    other = erase(Store(database.store_path), key, requests)
    assert one.rows_removed == other.rows_removed and one.found == other.found > 0
    assert_same_store(files, database)


def test_a_typed_database_of_a_fresh_world_equals_its_csv_export(
    tmp_path: Path, config: Config, key: SecretKey, crm_database: str
) -> None:
    generate(tmp_path / "world", days=2, visitors=150, seed=11, bad_ratio=0.0, huge_line=False)
    folder = tmp_path / "world" / "crm"
    for kind in CrmKind:
        load_csv(crm_database, f"crm.{kind.value}", folder / f"{kind.value}.csv", TYPES)
    files = config.with_store(tmp_path / "from_files")
    database = config.with_store(tmp_path / "from_database")
    ingest_crm(files, key, CrmFiles(folder, ExportFormat.CSV))
    crm = CrmConfig(tables={k.value: f"crm.{k.value}" for k in CrmKind}, batch_rows=100)
    result = ingest_crm(database, key, CrmDatabase(reader_dsn(crm_database), crm))
    assert all(r.quarantine.total == r.quarantine.counts.get("person objected to statistics", 0)
               for r in result.kinds.values())  # fmt: skip
    assert_same_store(files, database)
