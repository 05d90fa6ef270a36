"""A small, consistent CRM export with planted identifying values, written as CSV or JSON lines.

Three organisations of two partners, twelve accounts (one objects to statistics, one is
closed), their activity over two days, contact forms from known and unknown persons, and one
malformed record per kind that still carries a planted name or e-mail.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from canaries import EMAILS, IPS, NAMES, forms

from privstats.synth.crm import COLUMNS, RecordKind

MESSAGES = [
    "Prosze o kontakt, Zofia Kanarek, tel. +48 601 202 303",
    "KanarekSecretMessage about our invoices",
]
PHONES = ["+48 601 202 303"]
ORG_NAMES = ["Kanarek Sp. z o.o."]
# The objecting account's e-mail: present in the input, never in the store.
OBJECTOR = "objecting.kanarek@example.org"
# A contact form's sender with no account: stays in the store as a pseudonym.
STRANGER = "obcy.kanarek@example.net"
PLANTED = [*EMAILS, *NAMES, *IPS, *MESSAGES, *PHONES, *ORG_NAMES, OBJECTOR, STRANGER]

KINDS = ("organisations", "accounts", "contact_forms", "activity")


def crm_rows() -> dict[str, list[dict[str, Any]]]:
    """The records of every kind, the malformed ones included (see ``MALFORMED``)."""
    organisations = [
        {"org_id": 1, "name": ORG_NAMES[0], "size_band": "1-9", "industry": "retail",
         "partner": "acme"},
        {"org_id": 2, "name": "Nordic Widgets AB", "size_band": "10-49",
         "industry": "it_services", "partner": "nordic"},
        {"org_id": 3, "name": "Wisła Finanse S.A.", "size_band": "50-249", "industry": "finance",
         "partner": "acme"},
        {"org_id": None, "name": "Bez Numeru Kanarek", "size_band": "1-9", "industry": "retail",
         "partner": "acme"},
    ]  # fmt: skip
    first = ["Zofia", "Jan", "Anna", "Piotr", "Maria", "Tomasz", "Ewa", "Adam", "Olga", "Karol",
             "Iga", "Leon"]  # fmt: skip
    accounts = []
    for i, name in enumerate(first):
        accounts.append(
            {
                "account_id": 501 + i,
                "first_name": name,
                "last_name": "Kanarek" if i == 0 else f"Nowak{i}",
                "email": [EMAILS[0], OBJECTOR][i] if i < 2 else f"user{i}@example.org",
                "signup_channel": ("email", "google", "facebook", "hubspot")[i % 4],
                "created_at": f"2026-09-{10 + i:02d}T{8 + i:02d}:15:00+02:00",
                "closed_at": "2026-10-02T12:00:00+02:00" if i == 11 else None,
                "org_id": 1 + i % 3,
                "plan": ("free", "team", "business")[i % 3],
                "consent_statistics": i != 1,
                "consent_publication": i % 2 == 0,
                "country": "PL" if i % 4 else "gb",
            }
        )
    accounts[2]["email"] = EMAILS[1]
    accounts.append(
        {**accounts[3], "account_id": 599, "email": "Kanarek.Broken@example.pl",
         "first_name": "Broken", "last_name": "Kanarek", "signup_channel": "myspace"}
    )  # fmt: skip
    activity = []
    for day in (1, 2):
        for i in range(len(first)):
            for n, module in enumerate(("contacts", "deals")[: 1 + (i + day) % 2]):
                activity.append(
                    {
                        "occurred_at": f"2026-10-0{day}T{9 + n:02d}:{i:02d}:00+02:00",
                        "org_id": 1 + i % 3,
                        "account_id": 501 + i,
                        "module": module,
                        "action": ("view", "create", "update", "export")[(i + n) % 4],
                        "records_affected": 1 + i * n,
                        "source": ("web", "api", "mobile", "import:hubspot")[i % 4],
                    }
                )
    activity.append({**activity[0], "occurred_at": "yesterday at noon", "account_id": 503})
    contact_forms = [
        {"submitted_at": "2026-10-01T10:00:00+02:00", "email": EMAILS[0], "first_name": "Zofia",
         "last_name": "Kanarek", "client_ip": IPS[0], "topic": "sales", "message": MESSAGES[0]},
        {"submitted_at": "2026-10-01T11:30:00+02:00", "email": STRANGER,
         "first_name": "Obcy", "last_name": "Kanarek", "client_ip": IPS[1], "topic": "support",
         "message": MESSAGES[1] + " " + "x" * 120},
        {"submitted_at": "2026-10-02T09:00:00+02:00", "email": OBJECTOR, "first_name": "Jan",
         "last_name": "Nowak1", "client_ip": "203.0.113.5", "topic": "billing", "message": ""},
        # Account 503's person, the address written in capitals: the same person pseudonym.
        {"submitted_at": "2026-10-02T09:10:00Z", "email": " " + EMAILS[1].title() + " ",
         "first_name": "Jan", "last_name": "Kowalski", "client_ip": IPS[1], "topic": "sales",
         "message": MESSAGES[1]},
        {"submitted_at": "2026-10-02T09:30:00+02:00", "email": "user4@example.org",
         "first_name": "Maria", "last_name": "Nowak4", "client_ip": None, "topic": "other",
         "message": "ok " * 200},
        {"submitted_at": "2026-10-02T10:00:00+02:00", "email": "no address " + NAMES[0],
         "first_name": "Zofia", "last_name": "Kanarek", "client_ip": IPS[0], "topic": "sales",
         "message": MESSAGES[0]},
    ]  # fmt: skip
    return {
        "organisations": organisations,
        "accounts": accounts,
        "contact_forms": contact_forms,
        "activity": activity,
    }


# What the reader must find wrong, per kind: (line in the CSV file, column, reason).
MALFORMED = {
    "organisations": [(5, "org_id", "missing value")],
    "accounts": [(14, "signup_channel", "value outside the allowed list")],
    "contact_forms": [(7, "email", "not an e-mail address")],
    "activity": [(38, "occurred_at", "bad timestamp")],
}


def write_exports(
    folder: Path, fmt: str = "csv", rows: dict[str, list[dict[str, Any]]] | None = None
) -> Path:
    """Write every kind to ``folder`` as ``<kind>.csv`` or ``<kind>.jsonl``; returns ``folder``."""
    rows = crm_rows() if rows is None else rows
    folder.mkdir(parents=True, exist_ok=True)
    for kind, records in rows.items():
        columns = COLUMNS[RecordKind(kind)]
        if fmt == "csv":
            with (folder / f"{kind}.csv").open("w", encoding="utf-8", newline="") as handle:
                writer = csv.writer(handle, lineterminator="\n")
                writer.writerow(columns)
                for record in records:
                    writer.writerow([_csv(record.get(c)) for c in columns])
        else:
            with (folder / f"{kind}.jsonl").open("w", encoding="utf-8") as handle:
                for record in records:
                    handle.write(json.dumps({c: record.get(c) for c in columns}) + "\n")
    return folder


def _csv(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def planted_leaks(texts: dict[str, str] | str) -> list[str]:
    """Which planted values (as is, lowercase, URL-encoded or hex) appear in ``texts``."""
    if isinstance(texts, str):
        texts = {"text": texts}
    return [
        f"{value!r} as {form!r} in {name}"
        for value in PLANTED
        for form in forms(value)
        for name, text in texts.items()
        if form in text
    ]
