"""A real PostgreSQL server for the tests: loopback only, throw-away data, password auth.

One server per test session (initdb and start take about two seconds); every test that needs
a database gets a fresh one (``crm_database``), dropped afterwards. Authentication is
SCRAM-SHA-256 on TCP and on no socket at all, so a wrong password really is refused.

PostgreSQL refuses to run as root: as root the server runs as the ``postgres`` system user
(the Debian package creates it), in a temporary folder that user owns. Without the server
binaries the tests that need it are skipped, with the line that installs them.
"""

from __future__ import annotations

import contextlib
import csv
import glob
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

INSTALL_HINT = "apt-get update && apt-get install -y postgresql"
SUPERUSER = "privstats_admin"
READER = "crm_reader"


@dataclass(frozen=True)
class PostgresServer:
    """A running test server; ``dsn()`` builds connection strings for it."""

    host: str
    port: int
    password: str  # the superuser's and the reader role's (one random secret per session)

    def dsn(
        self, dbname: str = "postgres", user: str = SUPERUSER, password: str | None = None
    ) -> str:
        secret = self.password if password is None else password
        return f"postgresql://{user}:{secret}@{self.host}:{self.port}/{dbname}"


def server_binaries() -> Path | None:
    """The newest installed server's bin folder (Debian keeps them off PATH)."""
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    if candidates:
        return Path(candidates[-1]).parent
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).resolve().parent
    return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Runner:
    """Runs the server's programs as an unprivileged user when the tests run as root."""

    def __init__(self) -> None:
        self.account: pwd.struct_passwd | None = None
        if os.geteuid() == 0:
            try:
                self.account = pwd.getpwnam("postgres")
            except KeyError:
                pytest.skip(
                    "tests run as root and there is no 'postgres' user to run PostgreSQL as "
                    f"(the Debian package creates it: {INSTALL_HINT})"
                )

    def own(self, path: Path) -> None:
        if self.account is not None:
            os.chown(path, self.account.pw_uid, self.account.pw_gid)

    def run(self, *command: str | Path) -> subprocess.CompletedProcess[str]:
        argv = [str(c) for c in command]
        if self.account is not None:
            argv = ["runuser", "-u", self.account.pw_name, "--", *argv]
        return subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)


def start(bin_dir: Path, runner: Runner, base: Path, password: str) -> int:
    data = base / "data"
    pwfile = base / "pwfile"
    pwfile.write_text(password + "\n")
    runner.own(pwfile)
    done = runner.run(
        bin_dir / "initdb",
        "-D", data,
        "-U", SUPERUSER,
        "--pwfile", pwfile,
        "--auth", "scram-sha-256",
        "--encoding", "UTF8",
        "--locale", "C",
        "--no-sync",
    )  # fmt: skip
    pwfile.unlink()
    if done.returncode != 0:
        pytest.fail(f"initdb failed: {done.stderr.strip()[-500:]}")
    last_error = ""
    for _attempt in range(3):  # another process may take the free port before the server does
        port = free_port()
        options = (
            f"-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories='' "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        started = runner.run(
            bin_dir / "pg_ctl", "-D", data, "-l", base / "server.log", "-o", options,
            "-w", "-t", "60", "start",
        )  # fmt: skip
        if started.returncode == 0:
            return port
        last_error = (base / "server.log").read_text(errors="replace")[-500:]
    pytest.fail(f"PostgreSQL did not start: {last_error}")


@contextlib.contextmanager
def private_server() -> Iterator[tuple[PostgresServer, Callable[[], None]]]:
    """A server of its own (a test may stop it), and the function that stops it at once."""
    bin_dir = server_binaries()
    if bin_dir is None:
        pytest.skip(f"PostgreSQL server binaries (initdb, pg_ctl) not found; {INSTALL_HINT}")
    runner = Runner()
    # Not pytest's tmp_path: its folders are private to the test user, the server user must
    # be able to enter this one.
    base = Path(tempfile.mkdtemp(prefix="privstats-pg-"))
    runner.own(base)
    password = secrets.token_urlsafe(18)

    def stop() -> None:
        if (base / "data" / "postmaster.pid").exists():
            runner.run(bin_dir / "pg_ctl", "-D", base / "data", "-m", "immediate", "-w", "stop")

    try:
        port = start(bin_dir, runner, base, password)
        server = PostgresServer("127.0.0.1", port, password)
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            conn.execute(
                sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                    sql.Identifier(READER), sql.Literal(password)
                )
            )
        yield server, stop
    finally:
        stop()
        shutil.rmtree(base, ignore_errors=True)


def load_csv(
    dsn: str,
    table: str,
    path: Path,
    types: Mapping[str, str] | None = None,
) -> int:
    """Create ``table`` with the CSV header's columns and COPY the file in; returns rows loaded.

    ``types`` gives SQL types by column (default ``text``): typed columns are how an operator's
    database would hold the data, all-text columns keep malformed values for the quarantine.
    An empty unquoted CSV field becomes NULL, as the file readers treat it.
    """
    with path.open(encoding="utf-8", newline="") as handle:
        header = next(csv.reader(handle))
    types = types or {}
    columns = sql.SQL(", ").join(
        sql.SQL("{} {}").format(sql.Identifier(c), sql.SQL(types.get(c, "text"))) for c in header
    )
    name = sql.Identifier(*table.split("."))
    with psycopg.connect(dsn, autocommit=True) as conn:
        if "." in table:
            schema = sql.Identifier(table.split(".")[0])
            conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(schema))
        conn.execute(sql.SQL("CREATE TABLE {} ({})").format(name, columns))
        copy = sql.SQL("COPY {} ({}) FROM STDIN WITH (FORMAT csv, HEADER true)").format(
            name, sql.SQL(", ").join(map(sql.Identifier, header))
        )
        with conn.cursor() as cur:
            with cur.copy(copy) as copier, path.open("rb") as data:
                while chunk := data.read(1 << 16):
                    copier.write(chunk)
            loaded = cur.rowcount
        conn.execute(sql.SQL("GRANT SELECT ON {} TO {}").format(name, sql.Identifier(READER)))
        if "." in table:
            conn.execute(
                sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(
                    sql.Identifier(table.split(".")[0]), sql.Identifier(READER)
                )
            )
    return loaded


def reader_dsn(dsn: str, password: str | None = None) -> str:
    """The same database as ``dsn`` but as the read-only role (optionally another password)."""
    info = psycopg.conninfo.conninfo_to_dict(dsn)
    info["user"] = READER
    if password is not None:
        info["password"] = password
    return psycopg.conninfo.make_conninfo(**info)


def refused_dsn(postgres: PostgresServer) -> str:
    """A DSN with the real password whose loopback port nobody listens on."""
    port = free_port()
    while port == postgres.port:
        port = free_port()
    return f"postgresql://{SUPERUSER}:{postgres.password}@127.0.0.1:{port}/postgres"
