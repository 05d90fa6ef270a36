"""The data dictionary: the store's tables and their columns, described for an analyst.

``privstats.tables()`` and ``privstats.columns("access")`` answer "what can I ask for?" without
reading the source. Columns that are pseudonyms are listed as such (they count persons, and
cannot be a dimension); the dimensions ``crosstab`` derives (hour, day, ...) are listed with
the table's own. A test keeps every column of ``privstats.schema`` described here.
"""

from __future__ import annotations

import pandas as pd

from privstats.exceptions import DisclosureError
from privstats.schema import PERSON_KEYS, TABLES

__all__ = ["COLUMNS", "DERIVED", "TABLE_DESCRIPTIONS", "columns", "tables"]

TABLE_DESCRIPTIONS = {
    "access": "web-server requests, one row each (access logs)",
    "crm_accounts": "CRM accounts, one row each, dated by sign-up",
    "crm_activity": "CRM activity events (create, view, update, ...) of persons",
    "crm_contact_forms": "contact forms sent, one row each",
}

_ORGANISATION = {
    "org": "the organisation's pseudonym (counted by aggfunc='organisations')",
    "size_band": "the organisation's size band (1-9, 10-49, 50-249, 250+)",
    "industry": "the organisation's industry",
    "partner": "the partner the organisation belongs to",
}
COLUMNS: dict[str, dict[str, str]] = {
    "access": {
        "ts": "time of the request, UTC",
        "key_period": "the key period of the visitor pseudonym (a day, by default)",
        "visitor": "keyed pseudonym of address and user agent, new every key period",
        "person": "the CRM person's pseudonym of a logged-in request (login = 'person')",
        "site": "the virtual host (vhost formats)",
        "method": "HTTP method",
        "path": "path template: numbers, tokens and rare segments replaced (/u/:user)",
        "protocol": "HTTP protocol version",
        "status": "HTTP status code",
        "bytes": "response size in bytes",
        "response_us": "response time in microseconds",
        "browser": "browser family",
        "browser_major": "browser major version",
        "os": "operating system family",
        "device": "desktop, mobile, tablet, bot or other",
        "is_bot": "whether the user agent is a bot's",
        "referer_domain": "registrable domain of the referer",
        "referer_kind": "none, internal, external or unknown",
        "network": "client network (IPv4 /16, IPv6 /32), when enabled",
    },
    "crm_accounts": {
        "ts": "sign-up time, UTC",
        "person": "the account holder's pseudonym",
        **_ORGANISATION,
        "signup_channel": "how the account was opened",
        "plan": "the subscription plan",
        "country": "country code",
        "closed": "the day the account was closed, if it was",
    },
    "crm_activity": {
        "ts": "time of the event, UTC",
        "person": "the acting person's pseudonym",
        **_ORGANISATION,
        "module": "CRM module (contacts, deals, invoices, ...)",
        "action": "what was done (create, view, update, delete, export, import)",
        "records_affected": "records the event touched",
        "source": "web app, API, mobile, or import:<system>",
    },
    "crm_contact_forms": {
        "ts": "time the form was sent, UTC",
        "person": "the sender's pseudonym, when known to the CRM",
        "key_period": "the key period of the visitor pseudonym",
        "visitor": "the sender's visitor pseudonym (as in access logs)",
        "topic": "sales, support, billing, partnership or other",
        "message_length": "length band of the message (never its text)",
    },
}
# Dimensions crosstab derives, and the stored column each needs.
DERIVED = {
    "hour": ("ts", "hour of the day, 0-23, in the query's time zone"),
    "day": ("ts", "the day, YYYY-MM-DD"),
    "week": ("ts", "the ISO week, YYYY-Www"),
    "month": ("ts", "the month, YYYY-MM"),
    "weekday": ("ts", "day of the week, 1 (Monday) to 7"),
    "status_class": ("status", "1xx to 5xx"),
    "error": ("status", "1 for a server error (5xx), else 0"),
    "resource": ("path", "page, asset (a static file) or api, by [report] patterns"),
    "channel": ("referer_kind", "direct, search, social, referral, internal or unknown"),
    "browser_version": ("browser_major", "the browser family and its major version"),
    "response_ms": ("response_us", "the response time in milliseconds (a value)"),
    "megabytes": ("bytes", "the response size in megabytes (a value)"),
    "entry": ("path", "true on the first page view of a visitor's day (an entry page)"),
}
# Dimensions read from another table through the person, and the tables that have them.
# What each joined dimension (``tabulate._engine.JOINED``, which says where it is read from and
# which tables hold it) means.
JOINED = {
    "signup_month": "the month the person signed up (their first account at the row's partner)",
    "active_month": "each month the person was active (CRM activity at the account's partner): "
    "one row per month, none if never; retention by month of sign-up",
}
_PSEUDONYMS = frozenset({"visitor", "person", "org", "key_period"})
_CODES = frozenset({"status"})  # numbers that are codes, not amounts


def tables() -> pd.DataFrame:
    """The store's tables: name, what one row is, and how persons are counted."""
    return pd.DataFrame(
        [
            {
                "table": name,
                "description": TABLE_DESCRIPTIONS[name],
                "persons": PERSON_KEYS[name][-1],
            }
            for name in TABLES
        ]
    ).set_index("table")


def columns(table: str = "access") -> pd.DataFrame:
    """The columns of ``table`` (and the dimensions derived from them): type, whether it can be
    a dimension or a measured value, and a description."""
    if table not in TABLES:
        raise DisclosureError(f"unknown table '{table}'; tables: {', '.join(TABLES)}")
    rows = []
    for field in TABLES[table]:
        kind = (
            "pseudonym"
            if field.name in _PSEUDONYMS
            else "value"
            if str(field.type).startswith("int") and field.name not in _CODES
            else "dimension"
        )
        rows.append(
            {
                "column": field.name,
                "type": str(field.type).split("<")[0],
                "use": "time" if field.name == "ts" else kind,
                "description": COLUMNS[table][field.name],
            }
        )
    stored = set(TABLES[table].names)
    for name, (needs, description) in DERIVED.items():
        if needs in stored:
            use = "value" if name in ("response_ms", "megabytes") else "dimension"
            rows.append({"column": name, "type": "derived", "use": use, "description": description})
    from privstats.tabulate._engine import JOINED as HOLDERS

    for name, description in JOINED.items():
        if table in HOLDERS[name].holders:
            rows.append(
                {"column": name, "type": "joined", "use": "dimension", "description": description}
            )
    return pd.DataFrame(rows).set_index("column")
