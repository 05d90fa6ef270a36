"""CRM exports of the simulated service, consistent with its access logs.

Four record kinds, each written as CSV (UTF-8, header) and as JSON lines with the same rows:
organisations, accounts, contact forms and activity events. Accounts are the people who log in
on the web (their e-mail is the ``%u`` of the app's log); contact forms are the posts to
``/contact`` seen in the www log, from the same client address. A few rows are malformed on
purpose and counted in the manifest; each still carries identifying content.
"""

from __future__ import annotations

import csv
import datetime as dt
import enum
import io
import json
import math
import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from privstats.synth import names as nm
from privstats.synth.traffic import Hit, Planted
from privstats.synth.world import (
    EXTERNAL_SYSTEMS,
    WARSAW,
    Account,
    ClientKind,
    Plan,
    VisitorKind,
    World,
    _draw_name,
)


class RecordKind(enum.StrEnum):
    ORGANISATIONS = "organisations"
    ACCOUNTS = "accounts"
    CONTACT_FORMS = "contact_forms"
    ACTIVITY = "activity"
    ERASURE_REQUESTS = "erasure_requests"


class BadRow(enum.StrEnum):
    BAD_TIMESTAMP = "bad_timestamp"
    MISSING_VALUE = "missing_value"
    UNKNOWN_CHANNEL = "unknown_channel"


COLUMNS: dict[RecordKind, tuple[str, ...]] = {
    RecordKind.ORGANISATIONS: ("org_id", "name", "size_band", "industry", "partner"),
    RecordKind.ACCOUNTS: (
        "account_id",
        "first_name",
        "last_name",
        "email",
        "signup_channel",
        "created_at",
        "closed_at",
        "org_id",
        "plan",
        "consent_statistics",
        "consent_publication",
        "country",
    ),
    RecordKind.CONTACT_FORMS: (
        "submitted_at",
        "email",
        "first_name",
        "last_name",
        "client_ip",
        "topic",
        "message",
    ),
    RecordKind.ACTIVITY: (
        "occurred_at",
        "org_id",
        "account_id",
        "module",
        "action",
        "records_affected",
        "source",
    ),
    RecordKind.ERASURE_REQUESTS: ("email", "requested_at"),
}
# Which malformations each kind receives (erasure requests stay clean: they drive a command).
_BAD_KINDS = {
    RecordKind.ORGANISATIONS: (BadRow.MISSING_VALUE,),
    RecordKind.ACCOUNTS: (BadRow.UNKNOWN_CHANNEL, BadRow.BAD_TIMESTAMP, BadRow.MISSING_VALUE),
    RecordKind.CONTACT_FORMS: (BadRow.BAD_TIMESTAMP, BadRow.MISSING_VALUE),
    RecordKind.ACTIVITY: (BadRow.BAD_TIMESTAMP, BadRow.MISSING_VALUE),
}
MODULES = (
    "contacts",
    "companies",
    "deals",
    "tasks",
    "calendar",
    "invoices",
    "campaigns",
    "reports",
    "imports",
)
ACTIONS = ("create", "view", "update", "delete", "export", "import")
TOPICS = ("sales", "support", "billing", "partnership", "other")

_MESSAGES_PL = (
    "Dzień dobry, chciałbym zapytać o cennik dla {n} użytkowników.",
    "Witam, nazywam się {name}. Proszę o kontakt pod numerem {phone}.",
    "Nie mogę zaimportować kontaktów z pliku CSV, pojawia się błąd.\nCo robię źle?",
    "Proszę o fakturę korygującą za wrzesień. Pozdrawiam, {name}",
    "Czy jest możliwa integracja z Subiektem GT? Tel. {phone}",
    'Jesteśmy zainteresowani współpracą partnerską ("reseller"), {n} klientów w regionie.',
)
_MESSAGES_EN = (
    "Hello, could you send me a quote for {n} seats? Thanks, {name}",
    "Please call me back on {phone}, we want to migrate from spreadsheets.",
    "The mobile app logs me out every day; is this a known issue?",
    "We would like to become a partner in the UK. Best, {name}",
)


@dataclass(frozen=True)
class CrmFile:
    """One written CRM export, as ``manifest.json`` lists it."""

    path: str
    kind: str
    format: str  # csv | jsonl
    rows: int  # data rows, malformed included
    malformed: int
    malformed_by_kind: dict[str, int]


@dataclass
class CrmTruth:
    planted: dict[Planted, set[str]] = field(default_factory=lambda: defaultdict(set))
    rows: dict[str, int] = field(default_factory=dict)  # valid rows per kind
    erasure_requests: list[dict[str, Any]] = field(default_factory=list)
    objecting_accounts: list[int] = field(default_factory=list)
    closed_accounts: list[int] = field(default_factory=list)
    malformed_rows: list[dict[str, Any]] = field(default_factory=list)
    contact_forms_from_logs: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "valid_rows": dict(sorted(self.rows.items())),
            "erasure_requests": self.erasure_requests,
            "objecting_accounts": self.objecting_accounts,
            "closed_accounts": self.closed_accounts,
            "malformed_rows": self.malformed_rows,
            "contact_forms_from_logs": self.contact_forms_from_logs,
        }


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(WARSAW).isoformat(timespec="seconds")


def _phone(rng: random.Random, country: str) -> str:
    if country == "PL":
        return (
            f"+48 {rng.choice('5678')}{rng.randrange(10, 100)} {rng.randrange(100, 1000)} "
            f"{rng.randrange(100, 1000)}"
        )
    return f"+44 7700 900{rng.randrange(100, 1000)}"  # Ofcom's drama range: never a real line


def _message(rng: random.Random, name: str, country: str, planted: CrmTruth) -> str:
    template = rng.choice(_MESSAGES_PL if country == "PL" else _MESSAGES_EN)
    phone = _phone(rng, country)
    text = template.format(n=rng.randrange(2, 60), name=name, phone=phone)
    if "{phone}" in template:
        planted.planted[Planted.PHONE].add(phone)
    if "{name}" in template:
        planted.planted[Planted.NAME].add(name)
    planted.planted[Planted.MESSAGE].add(text)
    return text


def _account_row(a: Account) -> dict[str, Any]:
    return {
        "account_id": a.account_id,
        "first_name": a.person.first_name,
        "last_name": a.person.last_name,
        "email": a.email,
        "signup_channel": a.signup_channel,
        "created_at": _iso(a.created_at),
        "closed_at": _iso(a.closed_at) if a.closed_at else None,
        "org_id": a.org_id,
        "plan": a.plan.value,
        "consent_statistics": a.consent_statistics,
        "consent_publication": a.consent_publication,
        "country": a.person.country,
    }


def _activity(world: World, rng: random.Random) -> list[dict[str, Any]]:
    """Activity events of live accounts, through the channels each account really uses."""
    sources: dict[int, list[str]] = defaultdict(lambda: ["web"])
    for v in world.visitors:
        if v.account is None:
            continue
        if v.kind is VisitorKind.MOBILE:
            sources[v.account.account_id].append("mobile")
        elif v.kind is VisitorKind.INTEGRATION:
            sources[v.account.account_id].append("api")
    web_users = {
        v.account.account_id for v in world.visitors if v.kind is VisitorKind.USER and v.account
    }
    rows: list[dict[str, Any]] = []
    for day_index in range(world.days):
        day = world.start + dt.timedelta(days=day_index)
        weekend = day.weekday() >= 5
        for a in world.accounts:
            if a.closed_at is not None:
                continue
            rate = (2.0 if a.account_id in web_users else 0.3) * (0.2 if weekend else 1.0)
            rate *= {Plan.FREE: 0.6, Plan.TEAM: 1.0, Plan.BUSINESS: 1.4, Plan.ENTERPRISE: 2.0}[
                a.plan
            ]
            count = _poisson(rng, rate)
            for _ in range(count):
                at = dt.datetime.combine(
                    day,
                    dt.time(
                        rng.choices(range(24), weights=_HOURS)[0],
                        rng.randrange(60),
                        rng.randrange(60),
                    ),
                    WARSAW,
                )
                module = rng.choices(MODULES, weights=(30, 12, 18, 14, 8, 8, 4, 4, 2))[0]
                if module == "imports":
                    action, source = "import", f"import:{rng.choice(EXTERNAL_SYSTEMS)}"
                    affected = int(rng.lognormvariate(math.log(300), 1.0)) + 1
                else:
                    action = rng.choices(ACTIONS[:5], weights=(20, 50, 22, 5, 3))[0]
                    source = rng.choice(sources[a.account_id])
                    affected = (
                        int(rng.lognormvariate(math.log(150), 1.0)) + 1
                        if action == "export"
                        else 1 + int(rng.random() < 0.1) * rng.randrange(1, 40)
                    )
                rows.append(
                    {
                        "occurred_at": at,
                        "org_id": a.org_id,
                        "account_id": a.account_id,
                        "module": module,
                        "action": action,
                        "records_affected": affected,
                        "source": source,
                    }
                )
    rows.sort(key=lambda r: (r["occurred_at"], r["account_id"]))
    for r in rows:
        r["occurred_at"] = _iso(r["occurred_at"])
    return rows


_HOURS = (0, 0, 0, 0, 0, 1, 3, 10, 25, 32, 33, 30, 24, 29, 30, 27, 21, 12, 7, 5, 4, 3, 2, 1)


def _poisson(rng: random.Random, lam: float) -> int:
    limit, k, p = math.exp(-lam), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def _contact_forms(
    world: World, rng: random.Random, posts: list[Hit], truth: CrmTruth
) -> list[dict[str, Any]]:
    """One submission per contact-form post in the logs, plus a few from account holders."""
    rows = []
    for hit in posts:
        v = world.visitors[hit.visitor]
        assert v.person is not None
        ip = (
            v.client
            if v.client_kind is not ClientKind.HOST
            else (
                f"{rng.choice((83, 89, 31))}.{rng.randrange(256)}.{rng.randrange(256)}."
                f"{rng.randrange(1, 255)}"
            )
        )
        truth.planted[Planted.IP].add(ip)
        rows.append(
            _form(
                rng,
                hit.ts + rng.uniform(0.1, 0.9),
                v.person.email,
                v.person.first_name,
                v.person.last_name,
                v.person.country,
                ip,
                "sales" if rng.random() < 0.7 else "partnership",
                truth,
            )
        )
    truth.contact_forms_from_logs = len(rows)
    first, end = (t.timestamp() for t in world.window_utc())
    users = [v for v in world.visitors if v.kind is VisitorKind.USER and v.account]
    for v in rng.sample(users, k=min(len(users), max(2, len(users) // 15))):
        assert v.person is not None
        ip = v.client if v.client_kind is not ClientKind.HOST else "192.0.2.1"
        truth.planted[Planted.IP].add(ip)
        rows.append(
            _form(
                rng,
                rng.uniform(first, end),
                v.person.email,
                v.person.first_name,
                v.person.last_name,
                v.person.country,
                ip,
                rng.choice(("support", "billing", "other")),
                truth,
            )
        )
    rows.sort(key=lambda r: r["submitted_at"])
    for r in rows:
        r["submitted_at"] = _iso(dt.datetime.fromtimestamp(int(r["submitted_at"]), dt.UTC))
    return rows


def _form(
    rng: random.Random,
    ts: float,
    email: str,
    first: str,
    last: str,
    country: str,
    ip: str,
    topic: str,
    truth: CrmTruth,
) -> dict[str, Any]:
    truth.planted[Planted.EMAIL].add(email)
    truth.planted[Planted.NAME].add(f"{first} {last}")
    return {
        "submitted_at": ts,
        "email": email,
        "first_name": first,
        "last_name": last,
        "client_ip": ip,
        "topic": topic,
        "message": _message(rng, f"{first} {last}", country, truth),
    }


def _malformed(
    kind: RecordKind, bad: BadRow, rng: random.Random, template: dict[str, Any], truth: CrmTruth
) -> dict[str, Any]:
    """A broken copy of a row, made to carry a fresh person's name and e-mail."""
    row = dict(template)
    first, last = _draw_name(rng, "PL")
    email = f"{nm.slugify(first, last).replace('-', '.')}.{rng.randrange(100, 999)}@example.pl"
    if "email" in row:
        row.update(email=email, first_name=first, last_name=last)
        truth.planted[Planted.NAME].add(f"{first} {last}")
    if "account_id" in row and kind is RecordKind.ACCOUNTS:
        row["account_id"] = 900_000 + rng.randrange(99_999)
    time_column = next((c for c in COLUMNS[kind] if c.endswith("_at")), None)
    if bad is BadRow.BAD_TIMESTAMP and time_column:
        row[time_column] = rng.choice(
            ("31/02/2026 25:61", "2026-13-45T10:00:00+02:00", "yesterday")
        )
    elif bad is BadRow.UNKNOWN_CHANNEL:
        row["signup_channel"] = "myspace"
    else:
        required = {
            RecordKind.ORGANISATIONS: "org_id",
            RecordKind.ACCOUNTS: "email",
            RecordKind.CONTACT_FORMS: "email",
            RecordKind.ACTIVITY: "org_id",
        }[kind]
        row[required] = None
    if row.get("email"):
        truth.planted[Planted.EMAIL].add(row["email"])
    return row


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _write_kind(
    out: Path, kind: RecordKind, rows: list[dict[str, Any]], bad: list[BadRow], truth: CrmTruth
) -> list[CrmFile]:
    columns = COLUMNS[kind]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_csv_value(row[c]) for c in columns])
    jsonl = "".join(
        json.dumps({c: row[c] for c in columns}, ensure_ascii=False) + "\n" for row in rows
    )
    folder = out / "crm"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{kind.value}.csv").write_text(buffer.getvalue(), encoding="utf-8")
    (folder / f"{kind.value}.jsonl").write_text(jsonl, encoding="utf-8")
    by_kind = dict(sorted(Counter(b.value for b in bad).items()))
    return [
        CrmFile(
            path=f"crm/{kind.value}.{ext}",
            kind=kind.value,
            format=ext,
            rows=len(rows),
            malformed=len(bad),
            malformed_by_kind=by_kind,
        )
        for ext in ("csv", "jsonl")
    ]


def write_crm(
    out: Path, world: World, rng: random.Random, *, bad_ratio: float, contact_posts: list[Hit]
) -> tuple[list[CrmFile], CrmTruth]:
    """Writes the four CRM exports (and the erasure requests) under ``out/crm/``."""
    truth = CrmTruth()
    orgs = [
        {
            "org_id": o.org_id,
            "name": o.name,
            "size_band": o.size_band,
            "industry": o.industry,
            "partner": o.partner,
        }
        for o in world.organisations
    ]
    accounts = [_account_row(a) for a in world.accounts]
    for a in world.accounts:
        truth.planted[Planted.EMAIL].add(a.email)
        truth.planted[Planted.NAME].add(a.person.full_name)
        if a.erasure_requested:
            truth.erasure_requests.append({"email": a.email, "account_id": a.account_id})
        if not a.consent_statistics:
            truth.objecting_accounts.append(a.account_id)
        if a.closed_at is not None:
            truth.closed_accounts.append(a.account_id)
    tables = {
        RecordKind.ORGANISATIONS: orgs,
        RecordKind.ACCOUNTS: accounts,
        RecordKind.CONTACT_FORMS: _contact_forms(world, rng, contact_posts, truth),
        RecordKind.ACTIVITY: _activity(world, rng),
    }
    files: list[CrmFile] = []
    for kind, rows in tables.items():
        truth.rows[kind.value] = len(rows)
        bad: list[BadRow] = []
        if bad_ratio > 0 and rows:
            n_bad = max(len(_BAD_KINDS[kind]), round(bad_ratio * len(rows)))
            bad = [_BAD_KINDS[kind][i % len(_BAD_KINDS[kind])] for i in range(n_bad)]
            for b in bad:
                at = rng.randrange(len(rows) + 1)
                rows.insert(at, _malformed(kind, b, rng, rows[min(at, len(rows) - 1)], truth))
            positions = [i for i, r in enumerate(rows, start=1) if _is_bad(kind, r)]
            truth.malformed_rows += [{"kind": kind.value, "row": i} for i in positions]
        files += _write_kind(out, kind, rows, bad, truth)
    first = world.window_utc()[0]
    requests = [
        {"email": r["email"], "requested_at": _iso(first + dt.timedelta(hours=9 + i))}
        for i, r in enumerate(truth.erasure_requests)
    ]
    files += _write_kind(out, RecordKind.ERASURE_REQUESTS, requests, [], truth)
    return files, truth


def _is_bad(kind: RecordKind, row: dict[str, Any]) -> bool:
    if kind is RecordKind.ACCOUNTS and row["signup_channel"] == "myspace":
        return True
    required = {
        RecordKind.ORGANISATIONS: "org_id",
        RecordKind.ACCOUNTS: "email",
        RecordKind.CONTACT_FORMS: "email",
        RecordKind.ACTIVITY: "org_id",
    }[kind]
    if row[required] is None:
        return True
    time_column = next((c for c in COLUMNS[kind] if c.endswith("_at")), None)
    if time_column is None:
        return False
    value = row[time_column]
    if not isinstance(value, str) or not value:
        return False
    try:
        dt.datetime.fromisoformat(value)
    except ValueError:
        return True
    return False
