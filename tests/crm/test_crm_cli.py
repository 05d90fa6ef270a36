"""The command line over a live database: a snapshot in, one clean line out on failure."""

from __future__ import annotations

from pathlib import Path

import pytest
from crm_exports import planted_leaks, write_exports
from pgserver import PostgresServer, load_csv, reader_dsn

from privstats.cli import main
from privstats.sources.crm_schema import CrmKind


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
