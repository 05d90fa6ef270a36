"""Fixtures of the CRM tests: one PostgreSQL server per session, a fresh database per test.

The server machinery (and the COPY loader) lives in ``tests/pgserver.py``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
from pgserver import READER, PostgresServer, private_server
from psycopg import sql


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL server on 127.0.0.1 for the whole session, stopped and deleted after it."""
    with private_server() as (server, _stop):
        yield server


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
