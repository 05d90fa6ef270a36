"""Declared schemas of the store's tables.

Nothing identifying has a column here: the visitor is a keyed pseudonym, the client address at
most a coarse network, the URL a path template, the referer a registrable domain, the user agent
a handful of families.
"""

from __future__ import annotations

import enum

import pyarrow as pa

_dict = pa.dictionary(pa.int32(), pa.string())


class Action(enum.StrEnum):
    CREATE = "create"
    VIEW = "view"
    UPDATE = "update"
    DELETE = "delete"
    EXPORT = "export"
    IMPORT = "import"


ACCESS = pa.schema(
    [
        pa.field("ts", pa.timestamp("us", tz="UTC"), nullable=False),
        # Label of the key period the visitor pseudonym belongs to ("2026-10-01", "2026-10",
        # "-"): a person count across periods must not add pseudonyms of different periods.
        pa.field("key_period", _dict, nullable=False),
        pa.field("visitor", pa.int64(), nullable=False),
        pa.field("person", pa.int64()),
        pa.field("site", _dict),
        pa.field("method", _dict),
        pa.field("path", _dict),
        pa.field("protocol", _dict),
        pa.field("status", pa.int16(), nullable=False),
        pa.field("bytes", pa.int64()),
        pa.field("response_us", pa.int64()),
        pa.field("browser", _dict, nullable=False),
        pa.field("browser_major", _dict),
        pa.field("os", _dict, nullable=False),
        pa.field("device", _dict, nullable=False),
        pa.field("is_bot", pa.bool_(), nullable=False),
        pa.field("referer_domain", _dict),
        pa.field("referer_kind", _dict, nullable=False),
        pa.field("network", _dict),
    ],
    metadata={"privstats.table": "access", "privstats.schema_version": "1"},
)

# Shared by the tables that carry an organisation: its opaque key and public attributes.
_ORGANISATION = [
    pa.field("org", pa.int64(), nullable=False),
    pa.field("size_band", _dict),
    pa.field("industry", _dict),
    pa.field("partner", _dict),
]

CRM_ACCOUNTS = pa.schema(
    [
        # The sign-up day (UTC midnight): a second-exact time could single out the account's
        # registration request in the web log. Registrations of a period filter on it.
        pa.field("ts", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("person", pa.int64(), nullable=False),
        *_ORGANISATION,
        pa.field("signup_channel", _dict, nullable=False),
        pa.field("plan", _dict, nullable=False),
        pa.field("country", _dict),
        pa.field("closed", pa.date32()),
    ],
    metadata={"privstats.table": "crm_accounts", "privstats.schema_version": "1"},
)

CRM_ACTIVITY = pa.schema(
    [
        pa.field("ts", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("person", pa.int64(), nullable=False),
        *_ORGANISATION,
        pa.field("module", _dict, nullable=False),
        pa.field("action", _dict, nullable=False),
        pa.field("records_affected", pa.int64(), nullable=False),
        pa.field("source", _dict, nullable=False),
    ],
    metadata={"privstats.table": "crm_activity", "privstats.schema_version": "1"},
)

CRM_CONTACT_FORMS = pa.schema(
    [
        pa.field("ts", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("person", pa.int64(), nullable=False),
        # The access logs' visitor scheme (period key, client address, no user agent here).
        pa.field("key_period", _dict, nullable=False),
        pa.field("visitor", pa.int64()),
        pa.field("topic", _dict, nullable=False),
        pa.field("message_length", _dict, nullable=False),
    ],
    metadata={"privstats.table": "crm_contact_forms", "privstats.schema_version": "1"},
)

CRM_TABLES: dict[str, pa.Schema] = {
    "crm_accounts": CRM_ACCOUNTS,
    "crm_activity": CRM_ACTIVITY,
    "crm_contact_forms": CRM_CONTACT_FORMS,
}

TABLES: dict[str, pa.Schema] = {"access": ACCESS, **CRM_TABLES}

# The columns a person-level threshold counts distinct values of, per table: a key period and
# the pseudonym within it. CRM person pseudonyms never rotate: one period for all time.
PERSON_KEYS: dict[str, tuple[str, ...]] = {
    "access": ("key_period", "visitor"),
    **{table: ("-", "person") for table in CRM_TABLES},
}
