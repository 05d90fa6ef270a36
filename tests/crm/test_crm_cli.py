"""The command line over a live database: a snapshot in, one clean line out on failure."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
import pytest
from crm_exports import crm_rows, planted_leaks, write_exports
from pgserver import PostgresServer, load_csv, private_server, reader_dsn

from privstats.cli import main
from privstats.config import CrmKind
from privstats.sources import crm_sql


def test_ingest_crm_from_a_database_and_a_wrong_password(
    tmp_path: Path,
    key_file: Path,
    postgres: PostgresServer,
    crm_database: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    folder = write_exports(tmp_path / "crm")
    for kind in CrmKind:
        load_csv(crm_database, kind.value, folder / f"{kind.value}.csv")
    store = ["--store", str(tmp_path / "store")]

    assert main([*store, "ingest", "crm", "--dsn", reader_dsn(crm_database)]) == 0
    out, err = capsys.readouterr()
    assert out.startswith(f"postgresql://crm_reader@127.0.0.1:{postgres.port}/")
    assert "table accounts: 11 of 13 records kept" in out
    assert postgres.password not in out + err and planted_leaks(out + err) == []

    wrong = reader_dsn(crm_database, password="Kanarek-wrong-pw")
    assert main([*store, "ingest", "crm", "--dsn", wrong]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1 and err.endswith(": password authentication failed\n")
    assert "Kanarek-wrong-pw" not in err and postgres.password not in err


def test_a_server_stopped_mid_read_is_one_line_and_the_store_stays_as_it_was(
    tmp_path: Path,
    key_file: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    rows = crm_rows()
    # Enough activity for several batches of 100, so that the server stops inside a table.
    rows["activity"] = [
        {**record, "activity_id": 1000 * copy + i}
        for copy in range(4)
        for i, record in enumerate(rows["activity"][:-2])
    ]
    folder = write_exports(tmp_path / "crm", rows=rows)
    config = tmp_path / "privstats.toml"
    config.write_text("[crm]\nbatch_rows = 100\n", encoding="utf-8")
    store = ["--config", str(config), "--store", str(tmp_path / "store")]
    with private_server() as (server, stop):
        dsn = server.dsn()
        database = "crm"
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {database}")
        for kind in CrmKind:
            load_csv(server.dsn(database), kind.value, folder / f"{kind.value}.csv")
        assert main([*store, "ingest", "crm", "--dsn", reader_dsn(server.dsn(database))]) == 0
        before = (tmp_path / "store" / "catalog.json").read_bytes()
        capsys.readouterr()

        batches = {"activity": 0}
        real = crm_sql.cells_frame

        def stop_after_the_first_batch(kind: CrmKind, *args: Any) -> Any:
            if kind is CrmKind.ACTIVITY:
                batches["activity"] += 1
                if batches["activity"] == 1:
                    stop()
            return real(kind, *args)

        monkeypatch.setattr(crm_sql, "cells_frame", stop_after_the_first_batch)
        # A changed export, so that the ingest reads rather than finds it known.
        with psycopg.connect(server.dsn(database), autocommit=True) as conn:
            conn.execute("UPDATE organisations SET name = name || ' sp. z o.o.'")
        code = main([*store, "ingest", "crm", "--dsn", reader_dsn(server.dsn(database))])
    out, err = capsys.readouterr()
    assert code == 1, err
    assert batches["activity"] == 1
    assert err.count("\n") == 1 and "internal error" not in err
    assert "connection to the CRM database" in err and "lost while reading table activity" in err
    assert server.password not in out + err
    assert (tmp_path / "store" / "catalog.json").read_bytes() == before
