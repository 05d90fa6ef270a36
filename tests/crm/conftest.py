"""Fixtures of the CRM tests: one PostgreSQL server per session, a fresh database per test.

The server machinery (and the COPY loader) lives in ``tests/pgserver.py``.
"""

from __future__ import annotations

import secrets
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from pgserver import INSTALL_HINT, READER, PostgresServer, Runner, server_binaries, start
from psycopg import sql


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL server on 127.0.0.1 for the whole session, stopped and deleted after it."""
    bin_dir = server_binaries()
    if bin_dir is None:
        pytest.skip(f"PostgreSQL server binaries (initdb, pg_ctl) not found; {INSTALL_HINT}")
    runner = Runner()
    # Not pytest's tmp_path: its folders are private to the test user, the server user must
    # be able to enter this one.
    base = Path(tempfile.mkdtemp(prefix="privstats-pg-"))
    runner.own(base)
    password = secrets.token_urlsafe(18)
    try:
        port = start(bin_dir, runner, base, password)
        server = PostgresServer("127.0.0.1", port, password)
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            conn.execute(
                sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                    sql.Identifier(READER), sql.Literal(password)
                )
            )
        yield server
    finally:
        if (base / "data" / "postmaster.pid").exists():
            runner.run(bin_dir / "pg_ctl", "-D", base / "data", "-m", "immediate", "-w", "stop")
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def crm_database(postgres: PostgresServer) -> Iterator[str]:
    """A fresh, empty database; yields the superuser's DSN for it."""
    name = f"crm_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres.dsn(), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        conn.execute(
            sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(
                sql.Identifier(name), sql.Identifier(READER)
            )
        )
    yield postgres.dsn(name)
    with psycopg.connect(postgres.dsn(), autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
