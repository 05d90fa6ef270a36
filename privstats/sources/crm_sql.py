"""A live PostgreSQL database as a CRM source, read in bounded memory.

The four record kinds are tables named in ``[crm.tables]`` (default: their own names). Every
table and column is checked before a single record is read, so a missing one fails the ingest
before anything could be half-written. The tables are then read inside one read-only
REPEATABLE READ transaction (one consistent snapshot of the CRM across all four) through
server-side cursors, ``CrmConfig.batch_rows`` records at a time.

Only the columns an ingest needs are asked for; names are never selected and a message is
selected as its length (``char_length``), so free text never leaves the database. Values are
selected as text (timestamps in UTC), so a database with typed columns and one that holds
everything as text go through the same validation as the file exports. Rows are read in a fixed
order (the kind's id or time column), so "row 17" in a problem report is the 17th row of
``SELECT ... ORDER BY`` that column.

Every failure (refused connection, wrong password, missing database, table or column, lost
connection) is a one-line ``SourceError`` written here: the driver's own messages are never
passed on, and the DSN is only ever shown without its password.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator
from typing import Any

import polars as pl
import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from privstats.config import CrmConfig, CrmKind
from privstats.exceptions import SourceError
from privstats.sources.crm_records import CrmSource, RawRecords, Tally, cells_frame
from privstats.sources.crm_records import read_all as _read_all
from privstats.sources.crm_schema import ColumnType, read_columns

# The column whose order numbers the rows of each table.
ORDER_COLUMN: dict[CrmKind, str] = {
    CrmKind.ORGANISATIONS: "org_id",
    CrmKind.ACCOUNTS: "account_id",
    CrmKind.CONTACT_FORMS: "submitted_at",
    CrmKind.ACTIVITY: "occurred_at",
}


def read_crm_database(dsn: str, crm: CrmConfig | None = None) -> dict[CrmKind, RawRecords]:
    """Read and validate the four CRM tables whole: a raw frame and a tally per kind."""
    with CrmDatabase(dsn, crm) as source:
        return _read_all(source)


def describe_dsn(dsn: str) -> str:
    """The DSN as it may be shown: scheme, user, host, port and database, never a password."""
    info = _parse(dsn)
    user = f"{info['user']}@" if info.get("user") else ""
    host = info.get("host") or info.get("hostaddr") or "localhost"
    port = f":{info['port']}" if info.get("port") else ""
    return f"postgresql://{user}{host}{port}/{info.get('dbname') or ''}"


def redact(text: str, dsn: str) -> str:
    """``text`` with the DSN's password (as written and URL-decoded) replaced by ``***``."""
    hidden = {_raw_password(dsn)}
    with contextlib.suppress(psycopg.Error):
        # psycopg types conninfo values as str or int; a password is text.
        hidden.add(str(conninfo_to_dict(dsn).get("password") or ""))
    for secret in sorted((s for s in hidden if s), key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


class CrmDatabase(CrmSource):
    """The CRM's PostgreSQL database; use as a context manager (one connection, one snapshot)."""

    format = "postgresql"
    unit = "row"

    def __init__(self, dsn: str, crm: CrmConfig | None = None) -> None:
        super().__init__(crm or CrmConfig())
        self._dsn = dsn
        self._label = describe_dsn(dsn)  # also checks the DSN's syntax
        self._conn: psycopg.Connection[Any] | None = None
        self._columns: dict[CrmKind, dict[str, str]] = {}

    def __repr__(self) -> str:
        return f"CrmDatabase({self._label!r})"

    def __enter__(self) -> CrmDatabase:
        self.open()
        return self

    @property
    def label(self) -> str:
        return self._label

    def open(self) -> None:
        """Connect, start the read-only snapshot, and check every table and column."""
        if self._conn is not None:
            return
        try:
            conn = psycopg.connect(
                self._dsn,
                connect_timeout=self.crm.connect_timeout,
                application_name="privstats",
            )
        except psycopg.Error as exc:
            raise SourceError(self._connect_failure(exc)) from None
        self._conn = conn
        try:
            conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            conn.read_only = True
            conn.execute("SET TIME ZONE 'UTC'")
            for kind in CrmKind:
                self._columns[kind] = self._check_table(kind)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            # Only read, so nothing is lost when the rollback fails: a server stopped or a
            # connection lost was said already, by the read that met it.
            try:
                with contextlib.suppress(psycopg.Error):
                    conn.rollback()
            finally:
                conn.close()

    def kinds(self) -> frozenset[CrmKind]:
        return frozenset(CrmKind)

    def location(self, kind: CrmKind) -> str:
        return f"table {self.crm.table(kind)}"

    def cells(self, kind: CrmKind, tally: Tally) -> Iterator[pl.DataFrame]:
        self.open()
        assert self._conn is not None
        names = self._columns[kind]
        selected = []
        for column in read_columns(kind):
            name = sql.Identifier(names[column.name])
            if column.type is ColumnType.TEXT:
                selected.append(sql.SQL("char_length({})::bigint").format(name))
            else:
                selected.append(sql.SQL("{}::text").format(name))
        query = sql.SQL("SELECT {} FROM {} ORDER BY {}").format(
            sql.SQL(", ").join(selected),
            self._table(kind),
            sql.Identifier(names[ORDER_COLUMN[kind]]),
        )
        digest = hashlib.sha256()
        row = 0
        batch_rows = self.crm.batch_rows
        try:
            with self._conn.cursor(name=f"privstats_{kind.value}") as cursor:
                cursor.itersize = batch_rows
                cursor.execute(query)
                while rows := cursor.fetchmany(batch_rows):
                    digest.update(repr(rows).encode("utf-8", "surrogatepass"))
                    lines = list(range(row + 1, row + len(rows) + 1))
                    row += len(rows)
                    columns = dict(
                        zip(
                            (c.name for c in read_columns(kind)),
                            (list(values) for values in zip(*rows, strict=True)),
                            strict=True,
                        )
                    )
                    yield cells_frame(kind, lines, columns)
        except psycopg.Error as exc:
            raise SourceError(self._read_failure(kind, exc)) from None
        tally.digest = digest.hexdigest()

    # -- checks and messages ---------------------------------------------------------------

    def _table(self, kind: CrmKind) -> sql.Identifier:
        return sql.Identifier(*self.crm.table(kind).split("."))

    def _check_table(self, kind: CrmKind) -> dict[str, str]:
        """Our column names mapped to the table's (case-insensitively); every one must exist."""
        assert self._conn is not None
        query = sql.SQL("SELECT * FROM {} LIMIT 0").format(self._table(kind))
        try:
            with self._conn.cursor() as cursor:
                cursor.execute(query)
                present = {d.name.lower(): d.name for d in cursor.description or ()}
        except psycopg.Error as exc:
            raise SourceError(self._read_failure(kind, exc)) from None
        missing = [c.name for c in read_columns(kind) if c.name not in present]
        if missing:
            raise SourceError(
                f"the CRM database {self._label} has no column {', '.join(missing)} "
                f"in table {self.crm.table(kind)} (the {kind.value} records)"
            )
        return {c.name: present[c.name] for c in read_columns(kind)}

    def _connect_failure(self, exc: psycopg.Error) -> str:
        # Classified from the driver's text, never quoted: it can carry host names and more.
        text = str(exc).lower()
        where = f"cannot connect to the CRM database {self._label}"
        if "password authentication failed" in text or "no password supplied" in text:
            reason = "password authentication failed"
        elif "connection refused" in text:
            reason = "connection refused (is the server running and listening there?)"
        elif "timeout expired" in text:
            reason = f"no answer within {self.crm.connect_timeout} s"
        elif "does not exist" in text and "database" in text:
            reason = "the database does not exist"
        elif "translate host name" in text or "resolve host" in text:
            reason = "the host name is unknown"
        elif "no pg_hba.conf entry" in text:
            reason = "the server does not accept this client (pg_hba.conf)"
        elif "ssl" in text:
            reason = "the TLS negotiation failed"
        else:
            reason = f"the connection failed ({_state(exc)})"
        return redact(f"{where}: {reason}", self._dsn)

    def _read_failure(self, kind: CrmKind, exc: psycopg.Error) -> str:
        table = self.crm.table(kind)
        where = f"the CRM database {self._label}"
        if isinstance(exc, psycopg.errors.UndefinedTable | psycopg.errors.InvalidSchemaName):
            text = f"{where} has no table {table} (the {kind.value} records; see [crm.tables])"
        elif isinstance(exc, psycopg.errors.UndefinedColumn):
            text = f"{where} lacks a needed column in table {table}"
        elif isinstance(exc, psycopg.errors.InsufficientPrivilege):
            text = f"{where} refuses to let this user read table {table} (permission denied)"
        elif isinstance(exc, psycopg.errors.QueryCanceled):
            text = f"{where} cancelled the reading of table {table} (statement timeout)"
        elif isinstance(exc, psycopg.OperationalError):
            text = f"the connection to {where} was lost while reading table {table}"
        else:
            text = f"{where} failed while reading table {table} ({_state(exc)})"
        return redact(text, self._dsn)


def _state(exc: psycopg.Error) -> str:
    state = getattr(exc, "sqlstate", None)
    return f"SQLSTATE {state}" if state else type(exc).__name__


def _parse(dsn: str) -> dict[str, Any]:
    try:
        return conninfo_to_dict(dsn)
    except psycopg.Error:
        # The driver's message quotes the string, password included.
        raise SourceError(
            "the database address is not a valid PostgreSQL connection string "
            "(expected postgresql://USER@HOST:PORT/DATABASE)"
        ) from None


def _raw_password(dsn: str) -> str:
    """The password as written in a URL DSN (possibly percent-encoded), or ''."""
    if "://" not in dsn:
        return ""
    authority = dsn.split("://", 1)[1].split("/", 1)[0]
    userinfo = authority.rpartition("@")[0]
    return userinfo.partition(":")[2]
