"""The test server itself: password auth is real, COPY loads CSV exports as they are."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from pgserver import PostgresServer, load_csv, reader_dsn


def test_the_server_takes_the_right_password_and_refuses_a_wrong_one(
    postgres: PostgresServer, crm_database: str
) -> None:
    with psycopg.connect(crm_database) as conn:
        assert conn.execute("SELECT current_setting('listen_addresses')").fetchone() == (
            "127.0.0.1",
        )
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(reader_dsn(crm_database, password="not-the-password")).close()


def test_load_csv_copies_typed_and_text_columns_with_empty_fields_as_null(
    tmp_path: Path, crm_database: str
) -> None:
    export = tmp_path / "accounts.csv"
    export.write_text(
        "account_id,email,created_at,closed_at,note\n"
        '1,a@example.pl,2026-10-01T10:00:00+02:00,,"two\nlines"\n'
        "2,b@example.pl,2026-10-02T10:00:00+02:00,2026-10-03T00:00:00Z,\n",
        encoding="utf-8",
    )
    types = {"account_id": "bigint", "created_at": "timestamptz", "closed_at": "timestamptz"}
    assert load_csv(crm_database, "crm.accounts", export, types) == 2
    with psycopg.connect(reader_dsn(crm_database)) as conn:
        conn.execute("SET TIME ZONE 'UTC'")
        rows = conn.execute(
            "SELECT account_id, created_at::text, closed_at, note FROM crm.accounts ORDER BY 1"
        ).fetchall()
    assert rows[0] == (1, "2026-10-01 08:00:00+00", None, "two\nlines")
    assert rows[1][2] is not None and rows[1][3] is None
