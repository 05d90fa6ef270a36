"""The PostgreSQL source against a real server: same records as the files, one-line errors."""

from __future__ import annotations

import logging
from pathlib import Path

import polars as pl
import psycopg
import pytest
from crm_exports import planted_leaks, write_exports
from pgserver import PostgresServer, load_csv, reader_dsn, refused_dsn

from privstats.config import CrmConfig, CrmKind
from privstats.exceptions import SourceError
from privstats.sources.crm_files import read_crm_exports
from privstats.sources.crm_sql import CrmDatabase, describe_dsn, read_crm_database, redact

# How an operator's database would type the columns (the rest is text).
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


def load_exports(dsn: str, folder: Path, typed: bool, schema: str = "") -> None:
    for kind in CrmKind:
        table = f"{schema}.{kind.value}" if schema else kind.value
        load_csv(dsn, table, folder / f"{kind.value}.csv", TYPES if typed else None)


def drop_malformed(folder: Path) -> Path:
    """The export without the records a typed database could not hold, rewritten in place."""
    bad = {kind: r.tally.quarantine.lines for kind, r in read_crm_exports(folder).items()}
    for kind, lines in bad.items():
        path = folder / f"{kind.value}.csv"
        frame = pl.read_csv(path, infer_schema=False)
        # Records are one physical line each in this export, so line n is record n - 1.
        gone = {n - 2 for ns in lines.values() for n in ns}
        frame.filter(~pl.int_range(pl.len()).is_in(sorted(gone))).write_csv(path)
    return folder


def same_records(left: pl.DataFrame, right: pl.DataFrame) -> bool:
    """Equal as sets of records, whatever their order and line numbers."""
    columns = [c for c in left.columns if c != "line"]
    return left.select(columns).sort(columns).equals(right.select(columns).sort(columns))


def test_a_typed_database_gives_the_records_of_its_csv_export(
    tmp_path: Path, crm_database: str
) -> None:
    folder = drop_malformed(write_exports(tmp_path / "crm"))
    load_exports(crm_database, folder, typed=True)
    from_files = read_crm_exports(folder)
    from_database = read_crm_database(reader_dsn(crm_database))
    for kind in CrmKind:
        assert from_database[kind].tally.quarantine.total == 0
        assert from_database[kind].frame.height == from_files[kind].frame.height > 0
        assert same_records(from_database[kind].frame, from_files[kind].frame), kind


def test_an_all_text_database_quarantines_what_the_files_quarantine(
    tmp_path: Path, crm_database: str
) -> None:
    folder = write_exports(tmp_path / "crm")
    load_exports(crm_database, folder, typed=False, schema="export")
    crm = CrmConfig(tables={k.value: f"export.{k.value}" for k in CrmKind})
    from_files = read_crm_exports(folder)
    from_database = read_crm_database(reader_dsn(crm_database), crm)
    for kind in CrmKind:
        assert same_records(from_database[kind].frame, from_files[kind].frame), kind
        assert (
            from_database[kind].tally.quarantine.counts == from_files[kind].tally.quarantine.counts
        )
    [problem] = from_database[CrmKind.ACCOUNTS].tally.problems
    assert str(problem) == (
        "table export.accounts row 13, column signup_channel: value outside the allowed list"
    )


def test_rows_are_read_in_bounded_batches_through_a_server_side_cursor(
    tmp_path: Path, crm_database: str
) -> None:
    folder = drop_malformed(write_exports(tmp_path / "crm"))
    load_exports(crm_database, folder, typed=True)
    with psycopg.connect(crm_database, autocommit=True) as conn:
        for _ in range(3):
            conn.execute("INSERT INTO activity SELECT * FROM activity")
    with CrmDatabase(reader_dsn(crm_database), CrmConfig(batch_rows=100)) as source:
        records = source.records(CrmKind.ACTIVITY)
        assert [frame.height for frame in records] == [100, 100, 88]
        assert records.tally.records == 288 and records.tally.digest


def test_one_snapshot_is_read_even_while_the_database_changes(
    tmp_path: Path, crm_database: str
) -> None:
    folder = drop_malformed(write_exports(tmp_path / "crm"))
    load_exports(crm_database, folder, typed=True)
    with CrmDatabase(reader_dsn(crm_database)) as source:
        before = source.records(CrmKind.ACCOUNTS).frame().height
        with psycopg.connect(crm_database, autocommit=True) as conn:
            conn.execute("DELETE FROM activity")
        assert before == 12
        assert source.records(CrmKind.ACTIVITY).frame().height == 36


def test_names_are_not_needed_in_the_database(tmp_path: Path, crm_database: str) -> None:
    folder = drop_malformed(write_exports(tmp_path / "crm"))
    load_exports(crm_database, folder, typed=True)
    with psycopg.connect(crm_database, autocommit=True) as conn:
        conn.execute("ALTER TABLE accounts DROP COLUMN first_name, DROP COLUMN last_name")
        conn.execute("ALTER TABLE organisations DROP COLUMN name")
    records = read_crm_database(reader_dsn(crm_database))
    assert records[CrmKind.ACCOUNTS].frame.height == 12


def assert_one_clean_line(message: str, *secrets: str) -> None:
    assert "\n" not in message
    for secret in secrets:
        assert secret not in message
    assert planted_leaks(message) == []


def test_a_refused_connection_is_one_line_without_the_password(
    postgres: PostgresServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    dsn = refused_dsn(postgres)
    with pytest.raises(SourceError) as caught:
        read_crm_database(dsn)
    message = str(caught.value)
    assert message.startswith("cannot connect to the CRM database postgresql://privstats_admin@")
    assert message.endswith("connection refused (is the server running and listening there?)")
    assert_one_clean_line(message + caplog.text, postgres.password)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_a_wrong_password_is_one_line_without_either_password(
    postgres: PostgresServer, crm_database: str
) -> None:
    wrong = "Wr0ng-Kanarek-Passw0rd"
    with pytest.raises(SourceError) as caught:
        read_crm_database(reader_dsn(crm_database, password=wrong))
    message = str(caught.value)
    assert message.endswith(": password authentication failed")
    assert f"postgresql://crm_reader@127.0.0.1:{postgres.port}/" in message
    assert_one_clean_line(message, wrong, postgres.password)


def test_a_missing_database_is_one_line(postgres: PostgresServer) -> None:
    with pytest.raises(SourceError, match=r"the database does not exist$") as caught:
        read_crm_database(postgres.dsn("no_such_crm"))
    assert_one_clean_line(str(caught.value), postgres.password)


def test_a_missing_table_is_named_and_nothing_is_read(
    tmp_path: Path, postgres: PostgresServer, crm_database: str
) -> None:
    folder = drop_malformed(write_exports(tmp_path / "crm"))
    load_exports(crm_database, folder, typed=True)
    crm = CrmConfig(tables={"contact_forms": "www.contact_forms"})
    with pytest.raises(SourceError) as caught:
        CrmDatabase(reader_dsn(crm_database), crm).open()
    message = str(caught.value)
    assert message.endswith(
        "has no table www.contact_forms (the contact_forms records; see [crm.tables])"
    )
    assert_one_clean_line(message, postgres.password)


def test_a_missing_column_is_named(
    tmp_path: Path, postgres: PostgresServer, crm_database: str
) -> None:
    folder = drop_malformed(write_exports(tmp_path / "crm"))
    load_exports(crm_database, folder, typed=True)
    with psycopg.connect(crm_database, autocommit=True) as conn:
        conn.execute("ALTER TABLE activity RENAME COLUMN module TO area")
        conn.execute("ALTER TABLE activity DROP COLUMN source")
    with pytest.raises(SourceError) as caught:
        read_crm_database(reader_dsn(crm_database))
    message = str(caught.value)
    assert message.endswith("has no column module, source in table activity (the activity records)")
    assert_one_clean_line(message, postgres.password)


def test_a_table_the_user_may_not_read_is_one_line(
    tmp_path: Path, postgres: PostgresServer, crm_database: str
) -> None:
    folder = drop_malformed(write_exports(tmp_path / "crm"))
    load_exports(crm_database, folder, typed=True)
    with psycopg.connect(crm_database, autocommit=True) as conn:
        conn.execute("REVOKE SELECT ON accounts FROM crm_reader")
    with pytest.raises(SourceError, match=r"read table accounts \(permission denied\)$") as caught:
        read_crm_database(reader_dsn(crm_database))
    assert_one_clean_line(str(caught.value), postgres.password)


def test_a_malformed_dsn_is_not_echoed() -> None:
    dsn = "host=db.example password=Kanarek-S3cret dbname"
    with pytest.raises(SourceError) as caught:
        CrmDatabase(dsn)
    assert "Kanarek-S3cret" not in str(caught.value)
    assert "not a valid PostgreSQL connection string" in str(caught.value)


def test_dsns_are_shown_without_their_password() -> None:
    url = "postgresql://crm:p%40ss%3Aw0rd@db.internal:6432/crm"
    assert describe_dsn(url) == "postgresql://crm@db.internal:6432/crm"
    assert describe_dsn("host=db user=crm password=s3cret dbname=crm") == (
        "postgresql://crm@db/crm"
    )
    text = "failed for p%40ss%3Aw0rd and p@ss:w0rd"
    assert redact(text, url) == "failed for *** and ***"
    assert "s3cret" not in redact("s3cret!", "host=db password=s3cret")
