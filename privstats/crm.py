"""CRM ingest: validate, anonymise at the door, write one consistent snapshot through the store.

A CRM input (a folder of exports or the live database) is a *snapshot* of the CRM, read whole
and committed whole, in one store transaction:

* organisations and accounts are the CRM's current state: each ingest replaces the stored
  ``crm_accounts`` table entirely (a re-sent export cannot double the accounts); its ``ts`` is
  the sign-up day, ``closed`` the closing day;
* activity and contact forms are events: an ingest replaces the days its input covers and
  leaves the other days alone, so daily incremental exports and full exports both work.

What crosses into the store: the person as a keyed pseudonym of the normalised e-mail address
(the same one a web login or an erasure request maps to), the organisation as a keyed pseudonym
of its id plus its size band, industry and partner, a contact form's client address as a visitor
pseudonym of the access logs' scheme, a message as its length band, the sign-up time as a day.
Names, e-mails, ids and texts do not cross. Persons who objected to statistics
(``consent_statistics`` false on any of their accounts) and persons erased before are left out
and counted; a record whose account or organisation is unknown is quarantined and counted.

An input with too many bad records, an empty account or organisation snapshot, or any failure
writes nothing: the store stays as it was.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa

from privstats.anonymise import person_pseudonyms, visitor_pseudonyms
from privstats.anonymise.pseudonyms import period_format
from privstats.config import Config, CrmConfig, CrmKind, Rotation
from privstats.exceptions import ConfigError, InputError, StoreError, TooManyBadLinesError
from privstats.integrity import MISSING
from privstats.key import SecretKey
from privstats.quarantine import Quarantine, Reason
from privstats.schema import CRM_TABLES
from privstats.sources.crm_files import CrmFiles, ExportFormat
from privstats.sources.crm_records import CrmReason, CrmSource, Problem, Tally
from privstats.sources.crm_schema import MESSAGE_BANDS, STORE_TABLE_OF
from privstats.sources.crm_sql import CrmDatabase
from privstats.store import Store, Transaction, utc_now

log = logging.getLogger(__name__)

ORGANISATION = "organisation"  # the key-derivation purpose of organisation pseudonyms
INPUT_KIND_PREFIX = "crm:"
# Tables a CRM snapshot replaces whole, and tables it replaces day by day.
WHOLE = frozenset({"crm_accounts"})
BY_DAY = frozenset({"crm_activity", "crm_contact_forms"})
NEEDED = (CrmKind.ORGANISATIONS, CrmKind.ACCOUNTS)
# The time column of each event kind: its UTC days are the days a snapshot covers.
EVENT_TIME = {CrmKind.ACTIVITY: "occurred_at", CrmKind.CONTACT_FORMS: "submitted_at"}


@dataclass
class KindResult:
    """What happened to one record kind of the snapshot; safe to print."""

    kind: CrmKind
    location: str
    records: int = 0
    rows: int = 0
    quarantine: Quarantine = field(default_factory=Quarantine)
    problems: list[Problem] = field(default_factory=list)
    days: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        text = f"{self.location}: {self.rows} of {self.records} records kept"
        if self.days:
            text += f" over {len(self.days)} day" + ("" if len(self.days) == 1 else "s")
        if self.quarantine.total:
            text += f"; {self.quarantine.summary()}"
        if self.quarantine.non_utf8:
            text += f"; {self.quarantine.non_utf8} records not valid UTF-8"
        return text


@dataclass
class CrmIngestResult:
    """The outcome of one CRM ingest; no identifier, no value from the input."""

    label: str
    status: str  # ingested | already ingested
    kinds: dict[CrmKind, KindResult] = field(default_factory=dict)
    replaced_days: dict[str, list[str]] = field(default_factory=dict)

    def summary(self) -> str:
        if self.status != "ingested":
            return f"{self.label}: {self.status}, nothing changed"
        lines = [f"{self.label}: CRM snapshot ingested"]
        lines += [f"  {result.summary()}" for result in self.kinds.values()]
        return "\n".join(lines)

    def problems(self) -> list[Problem]:
        return [p for result in self.kinds.values() for p in result.problems]


def open_source(
    *,
    folder: Path | str | None = None,
    dsn: str | None = None,
    fmt: str | None = None,
    crm: CrmConfig | None = None,
) -> CrmSource:
    """The CRM source the command line names: a folder of exports or a database DSN."""
    if (folder is None) == (dsn is None):
        raise ConfigError("name the CRM input: either --from FOLDER or --dsn postgresql://...")
    if dsn is not None:
        if fmt is not None:
            raise ConfigError("--format applies to export folders, not to a database")
        return CrmDatabase(dsn, crm)
    try:
        chosen = ExportFormat(fmt) if fmt is not None else None
    except ValueError:
        raise ConfigError("--format must be csv or jsonl") from None
    # Exactly one of folder and dsn is given (checked above): here it is folder.
    return CrmFiles(Path(folder), chosen, crm)  # type: ignore[arg-type]


def ingest_crm(
    config: Config,
    key: SecretKey,
    source: CrmSource,
    *,
    max_bad_ratio: float | None = None,
    wait: float = 0,
) -> CrmIngestResult:
    """Ingest one CRM snapshot from ``source`` (files or database) into the configured store;
    ``wait``: seconds to wait for another writer's lock."""
    ratio = config.ingest.max_bad_ratio if max_bad_ratio is None else max_bad_ratio
    missing = [k.value for k in NEEDED if k not in source.kinds()]
    if missing:
        raise InputError(
            f"{source.label} has no {' and no '.join(missing)} records: a CRM snapshot needs "
            "organisations and accounts (activity and contact forms are optional)"
        )
    store = Store(config.store_path)
    fingerprint = _settings_fingerprint(source.crm, config.key.rotation)
    with store.locked(wait):
        catalog = store.catalog()
        if catalog.key_fingerprint not in (None, key.fingerprint()):
            raise StoreError(
                "this store was built with a different pseudonymisation key; "
                "use that key, or start a new store"
            )
        with source:
            if _unchanged(catalog.inputs, source, fingerprint, known_only=True):
                return CrmIngestResult(source.label, "already ingested")
            snapshot = _Snapshot(config, key, source, frozenset(catalog.tombstones))
            transaction = store.transaction()
            try:
                snapshot.read_into(transaction, ratio)
                if _unchanged(catalog.inputs, source, fingerprint, digests=snapshot.digests):
                    transaction.discard()
                    return CrmIngestResult(source.label, "already ingested")
                staged = transaction.finish()
                remove = _replaced_files(catalog.files, snapshot.covered_days)
                store.commit(
                    staged=staged,
                    staging=transaction.staging,
                    add_inputs=snapshot.catalog_entries(source, fingerprint, transaction),
                    remove_files=remove,
                    key_fingerprint=key.fingerprint(),
                )
            except BaseException:
                transaction.discard()
                raise
    for result in snapshot.results.values():
        if result.quarantine.total:
            # Debug only: the command line prints the same summary itself.
            log.debug("%s", result.summary())
    return CrmIngestResult(
        source.label,
        "ingested",
        snapshot.results,
        {t: sorted(days) for t, days in snapshot.covered_days.items()},
    )


class _Snapshot:
    """Reads every kind of one source and writes its anonymised rows into a transaction."""

    def __init__(
        self, config: Config, key: SecretKey, source: CrmSource, erased: frozenset[int]
    ) -> None:
        self.anonymiser = CrmAnonymiser(key, config.key.rotation, erased)
        self.source = source
        self.results: dict[CrmKind, KindResult] = {}
        self.digests: dict[CrmKind, str | None] = {}
        self.covered_days: dict[str, set[str]] = {}

    def read_into(self, transaction: Transaction, ratio: float) -> None:
        organisations, tally = self._whole(CrmKind.ORGANISATIONS)
        self._finish(CrmKind.ORGANISATIONS, tally, rows=organisations.height, ratio=ratio)
        self.anonymiser.learn_organisations(organisations)

        accounts, tally = self._whole(CrmKind.ACCOUNTS)
        table = self.anonymiser.accounts(accounts, tally)
        transaction.write("crm_accounts", table)
        self.covered_days["crm_accounts"] = set()
        self._finish(CrmKind.ACCOUNTS, tally, rows=table.num_rows, ratio=ratio)

        for kind, time in EVENT_TIME.items():
            if kind not in self.source.kinds():
                continue
            name = STORE_TABLE_OF[kind]
            records = self.source.records(kind)
            days: set[str] = set()
            per_day: dict[str, int] = {}
            rows = 0
            for batch in records:
                days.update(d.isoformat() for d in batch[time].dt.date().unique().to_list())
                if kind is CrmKind.ACTIVITY:
                    table = self.anonymiser.activity(batch, records.tally)
                else:
                    table = self.anonymiser.contact_forms(batch, records.tally)
                transaction.write(name, table)
                rows += table.num_rows
                for day, n in _rows_by_day(table).items():
                    per_day[day] = per_day.get(day, 0) + n
            self.covered_days[name] = days
            self._finish(kind, records.tally, rows=rows, ratio=ratio, days=per_day)

    def _whole(self, kind: CrmKind) -> tuple[pl.DataFrame, Tally]:
        records = self.source.records(kind)
        frame = records.frame()
        if frame.height == 0:
            raise InputError(
                f"{records.tally.where} has no valid record: refusing to replace the stored "
                f"{kind.value} with an empty snapshot"
            )
        return frame, records.tally

    def _finish(
        self,
        kind: CrmKind,
        tally: Tally,
        *,
        rows: int,
        ratio: float,
        days: dict[str, int] | None = None,
    ) -> None:
        if tally.records and tally.faults / tally.records > ratio:
            raise TooManyBadLinesError(
                f"{tally.where}: {tally.faults} of {tally.records} records are bad, over the "
                f"allowed ratio {ratio:g}; nothing was written ({tally.quarantine.summary()})"
            )
        self.digests[kind] = tally.digest
        self.results[kind] = KindResult(
            kind,
            tally.where,
            tally.records,
            rows,
            tally.quarantine,
            tally.problems,
            dict(sorted((days or {}).items())),
        )

    def catalog_entries(
        self, source: CrmSource, fingerprint: str, transaction: Transaction
    ) -> list[dict[str, Any]]:
        now = utc_now()
        entries = []
        for kind, result in self.results.items():
            entries.append(
                {
                    "id": self.digests[kind],
                    "kind": INPUT_KIND_PREFIX + kind.value,
                    "format": source.format_of(kind),
                    "lines": result.records,
                    "rows": result.rows,
                    "quarantine": result.quarantine.to_dict(),
                    "days": result.days,
                    "settings": fingerprint,
                    "snapshot": transaction.id,
                    "ingested_at": now,
                }
            )
        return entries


class CrmAnonymiser:
    """Turns validated CRM frames into store rows; the only place that sees CRM identifiers."""

    def __init__(self, key: SecretKey, rotation: Rotation, erased: frozenset[int]) -> None:
        self.key = key
        self.rotation = rotation
        self.erased = erased
        self._organisations = pl.DataFrame(
            schema={
                "org_id": pl.Int64,
                "org": pl.Int64,
                "size_band": pl.String,
                "industry": pl.String,
                "partner": pl.String,
            }
        )
        # account id -> person, for the accounts whose rows may be stored.
        self._accounts = pl.DataFrame(schema={"account_id": pl.Int64, "person": pl.Int64})
        self._left_out = pl.DataFrame(schema={"account_id": pl.Int64, "reason": pl.String})
        self._objecting: set[int] = set()

    def learn_organisations(self, frame: pl.DataFrame) -> None:
        self._organisations = frame.select(
            "org_id",
            org=pl.Series(organisation_pseudonyms(self.key, frame["org_id"].to_list())),
            size_band="size_band",
            industry="industry",
            partner="partner",
        )

    def accounts(self, frame: pl.DataFrame, tally: Tally) -> pa.Table:
        frame = frame.with_columns(person=self._persons(frame["email"]))
        objecting = frame.filter(~pl.col("consent_statistics"))["person"]
        self._objecting = set(objecting.to_list())
        frame = frame.with_columns(
            why=pl.when(pl.col("person").is_in(list(self.erased)))
            .then(pl.lit(Reason.ERASED.value))
            .when(pl.col("person").is_in(list(self._objecting)))
            .then(pl.lit(Reason.OBJECTED.value))
        )
        self._left_out = frame.filter(pl.col("why").is_not_null()).select(
            "account_id", reason="why"
        )
        frame = self._leave_out(frame, tally)
        frame = self._with_organisation(frame, tally)
        self._accounts = frame.select("account_id", "person")
        rows = frame.select(
            ts=pl.col("created_at").dt.truncate("1d"),
            person="person",
            org="org",
            size_band="size_band",
            industry="industry",
            partner="partner",
            signup_channel="signup_channel",
            plan="plan",
            country="country",
            closed=pl.col("closed_at").dt.date(),
        )
        return _arrow(rows, "crm_accounts")

    def activity(self, frame: pl.DataFrame, tally: Tally) -> pa.Table:
        frame = frame.join(self._left_out, on="account_id", how="left").rename({"reason": "why"})
        frame = self._leave_out(frame, tally)
        frame = frame.join(self._accounts, on="account_id", how="left", maintain_order="left")
        unknown = frame["person"].is_null()
        if unknown.any():
            lines = frame.filter(unknown)["line"].to_list()
            tally.reject(CrmReason.UNKNOWN_ACCOUNT, lines, "account_id")
            frame = frame.filter(~unknown)
        frame = self._with_organisation(frame, tally)
        rows = frame.select(
            ts="occurred_at",
            person="person",
            org="org",
            size_band="size_band",
            industry="industry",
            partner="partner",
            module="module",
            action="action",
            records_affected="records_affected",
            source="source",
        )
        return _arrow(rows, "crm_activity")

    def contact_forms(self, frame: pl.DataFrame, tally: Tally) -> pa.Table:
        frame = frame.with_columns(person=self._persons(frame["email"]))
        frame = frame.with_columns(
            why=pl.when(pl.col("person").is_in(list(self.erased)))
            .then(pl.lit(Reason.ERASED.value))
            .when(pl.col("person").is_in(list(self._objecting)))
            .then(pl.lit(Reason.OBJECTED.value))
        )
        frame = self._leave_out(frame, tally)
        fmt = period_format(self.rotation)
        periods = pl.col("submitted_at").dt.strftime(fmt) if fmt else pl.lit("-")
        frame = frame.with_columns(key_period=periods)
        frame = frame.with_columns(visitor=self._visitors(frame))
        rows = frame.select(
            ts="submitted_at",
            person="person",
            key_period="key_period",
            visitor="visitor",
            topic="topic",
            message_length=_band(pl.col("message_chars")),
        )
        return _arrow(rows, "crm_contact_forms")

    # -- helpers ---------------------------------------------------------------------------

    def _persons(self, emails: pl.Series) -> pl.Series:
        distinct = emails.unique()
        mapping = pl.DataFrame(
            {"email": distinct, "person": person_pseudonyms(self.key, distinct.to_list())},
            schema={"email": pl.String, "person": pl.Int64},
        )
        joined = emails.to_frame("email").join(
            mapping, on="email", how="left", maintain_order="left"
        )
        return joined["person"]

    def _visitors(self, frame: pl.DataFrame) -> pl.Series:
        pairs = frame.select("key_period", "client_ip").unique().drop_nulls()
        ids = visitor_pseudonyms(
            self.key,
            pairs["key_period"].to_list(),
            pairs["client_ip"].to_list(),
            [None] * pairs.height,
        )
        mapping = pairs.with_columns(visitor=pl.Series(ids, dtype=pl.Int64))
        joined = frame.select("key_period", "client_ip").join(
            mapping, on=["key_period", "client_ip"], how="left", maintain_order="left"
        )
        return joined["visitor"]

    @staticmethod
    def _leave_out(frame: pl.DataFrame, tally: Tally) -> pl.DataFrame:
        """Drop erased and objecting persons' records, counted but not listed as problems."""
        for reason in (Reason.ERASED, Reason.OBJECTED):
            hit = frame.filter(pl.col("why") == reason.value)
            tally.quarantine.add(reason, hit["line"].to_list())
        return frame.filter(pl.col("why").is_null()).drop("why")

    def _with_organisation(self, frame: pl.DataFrame, tally: Tally) -> pl.DataFrame:
        frame = frame.join(self._organisations, on="org_id", how="left", maintain_order="left")
        unknown = frame["org"].is_null()
        if unknown.any():
            lines = frame.filter(unknown)["line"].to_list()
            tally.reject(CrmReason.UNKNOWN_ORGANISATION, lines, "org_id")
            frame = frame.filter(~unknown)
        return frame


def organisation_pseudonyms(key: SecretKey, org_ids: Iterable[int]) -> np.ndarray:
    """One opaque, never-rotating pseudonym per organisation id (HMAC, signed 64 bits)."""
    base = hmac.new(key.derive(ORGANISATION), digestmod=hashlib.sha256)
    out = []
    for org_id in org_ids:
        mac = base.copy()
        mac.update(str(int(org_id)).encode())
        out.append(int.from_bytes(mac.digest()[:8], "big", signed=True))
    return np.array(out, dtype=np.int64)


def _band(length: pl.Expr) -> pl.Expr:
    length = length.fill_null(0)
    expr = pl.lit(MESSAGE_BANDS[0][1])
    for lowest, label in MESSAGE_BANDS[1:]:
        expr = pl.when(length >= lowest).then(pl.lit(label)).otherwise(expr)
    return expr


def _arrow(frame: pl.DataFrame, table: str) -> pa.Table:
    return frame.to_arrow().cast(CRM_TABLES[table])


def _rows_by_day(table: pa.Table) -> dict[str, int]:
    if table.num_rows == 0:
        return {}
    # pyarrow is untyped: polars cannot tell from_arrow's Series overload from its frame one.
    days = pl.from_arrow(table.select(["ts"]))["ts"].dt.date()  # type: ignore[index]
    counts = days.value_counts()
    return {d.isoformat(): int(n) for d, n in counts.iter_rows()}


def _settings_fingerprint(crm: CrmConfig, rotation: Rotation) -> str:
    """Changes when a setting that shapes the stored rows changes (a re-ingest is then due)."""
    text = f"{crm!r}|{rotation.value}|{sorted(CRM_TABLES)}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _unchanged(
    inputs: list[dict[str, Any]],
    source: CrmSource,
    fingerprint: str,
    *,
    known_only: bool = False,
    digests: dict[CrmKind, str | None] | None = None,
) -> bool:
    """Whether every kind of ``source`` is the content last ingested, with the same settings."""
    latest: dict[str, dict[str, Any]] = {}
    for entry in inputs:
        if str(entry.get("kind", "")).startswith(INPUT_KIND_PREFIX):
            latest[entry["kind"]] = entry
    for kind in source.kinds():
        digest = source.content_digest(kind) if known_only else (digests or {}).get(kind)
        previous = latest.get(INPUT_KIND_PREFIX + kind.value)
        if digest is None or previous is None:
            return False
        if previous.get("id") != digest or previous.get("settings") != fingerprint:
            return False
        if previous.get(MISSING):  # days of it were moved aside by a repair: read it again
            return False
    return True


def _replaced_files(files: list[dict[str, Any]], covered: dict[str, set[str]]) -> set[str]:
    """The stored files a snapshot supersedes: whole tables, and the covered days of others."""
    replaced = set()
    for entry in files:
        table = entry["table"]
        whole = table in WHOLE and table in covered
        if whole or (table in BY_DAY and entry.get("day") in covered.get(table, set())):
            replaced.add(entry["path"])
    return replaced
