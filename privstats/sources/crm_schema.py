"""The CRM's four record kinds: their declared raw columns, their vocabularies, their store tables.

A CRM input is read against ``RAW_COLUMNS``. Only the columns an ingest needs are read at all:
names (of people and of organisations) are never read, a free-text message is reduced to its
length where it is read (the database source asks the server for the length, so the text never
leaves the database). Every kept categorical value must come from a closed vocabulary or a
strict pattern, because a free-form "industry" or "plan" cell is a place where someone's name
can hide.

The store tables the CRM ingest writes are declared in ``privstats.schema`` with the access
table, and the ``[crm]`` settings and vocabularies in ``privstats.config``: both know nothing of
the sources, which build on them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import pyarrow as pa

from privstats.config import CrmKind


class ColumnType(enum.StrEnum):
    """What a raw column holds, which decides how it is validated and what survives of it."""

    ID = "id"  # a whole number naming a CRM record: used for joins, never stored
    COUNT = "count"  # a non-negative whole number: stored
    TIMESTAMP = "timestamp"  # ISO 8601; without an offset, in CrmConfig.timezone
    FLAG = "flag"  # true/false: decides, never stored
    CODE = "code"  # a value of a closed vocabulary or strict pattern: stored
    EMAIL = "email"  # becomes the person pseudonym
    ADDRESS = "address"  # a client IP address: becomes a visitor pseudonym
    TEXT = "text"  # free text: only its length in characters is read
    NAME = "name"  # a person's or an organisation's name: never read
    UNUSED = "unused"  # not needed for any statistic: never read


@dataclass(frozen=True)
class Column:
    name: str
    type: ColumnType
    required: bool = False
    # For CODE columns: the vocabulary (see ``Vocabularies``) its values must come from.
    vocabulary: str | None = None

    @property
    def read(self) -> bool:
        return self.type not in (ColumnType.NAME, ColumnType.UNUSED)


def _c(
    name: str, kind: ColumnType, required: bool = False, vocabulary: str | None = None
) -> Column:
    return Column(name, kind, required, vocabulary)


ID, COUNT, TS, FLAG, CODE = (ColumnType.ID, ColumnType.COUNT, ColumnType.TIMESTAMP,
                             ColumnType.FLAG, ColumnType.CODE)  # fmt: skip

RAW_COLUMNS: dict[CrmKind, tuple[Column, ...]] = {
    CrmKind.ORGANISATIONS: (
        _c("org_id", ID, required=True),
        _c("name", ColumnType.NAME),
        _c("size_band", CODE, vocabulary="size_band"),
        _c("industry", CODE, vocabulary="industry"),
        _c("partner", CODE, vocabulary="partner"),
    ),
    CrmKind.ACCOUNTS: (
        _c("account_id", ID, required=True),
        _c("first_name", ColumnType.NAME),
        _c("last_name", ColumnType.NAME),
        _c("email", ColumnType.EMAIL, required=True),
        _c("signup_channel", CODE, required=True, vocabulary="signup_channel"),
        _c("created_at", TS, required=True),
        _c("closed_at", TS),
        _c("org_id", ID, required=True),
        _c("plan", CODE, required=True, vocabulary="plan"),
        # Required: an account without a recorded answer is not assumed to agree.
        _c("consent_statistics", FLAG, required=True),
        _c("consent_publication", ColumnType.UNUSED),
        _c("country", CODE, vocabulary="country"),
    ),
    CrmKind.CONTACT_FORMS: (
        _c("submitted_at", TS, required=True),
        _c("email", ColumnType.EMAIL, required=True),
        _c("first_name", ColumnType.NAME),
        _c("last_name", ColumnType.NAME),
        _c("client_ip", ColumnType.ADDRESS),
        _c("topic", CODE, required=True, vocabulary="topic"),
        _c("message", ColumnType.TEXT),
    ),
    CrmKind.ACTIVITY: (
        _c("occurred_at", TS, required=True),
        _c("org_id", ID, required=True),
        _c("account_id", ID, required=True),
        _c("module", CODE, required=True, vocabulary="module"),
        _c("action", CODE, required=True, vocabulary="action"),
        _c("records_affected", COUNT, required=True),
        _c("source", CODE, required=True, vocabulary="source"),
    ),
}

# The column each kind's rows are keyed by, when it has one (duplicates are quarantined).
KEY_COLUMN: dict[CrmKind, str] = {
    CrmKind.ORGANISATIONS: "org_id",
    CrmKind.ACCOUNTS: "account_id",
}


def read_columns(kind: CrmKind) -> tuple[Column, ...]:
    """The columns an ingest reads of ``kind`` (names are never read)."""
    return tuple(c for c in RAW_COLUMNS[kind] if c.read)


def length_column(name: str) -> str:
    """The raw-frame column holding the character count of free-text column ``name``."""
    return f"{name}_chars"


_RAW_TYPES = {
    ColumnType.ID: pa.int64(),
    ColumnType.COUNT: pa.int64(),
    ColumnType.TIMESTAMP: pa.timestamp("us", tz="UTC"),
    ColumnType.FLAG: pa.bool_(),
    ColumnType.CODE: pa.string(),
    ColumnType.EMAIL: pa.string(),
    ColumnType.ADDRESS: pa.string(),
    ColumnType.TEXT: pa.int64(),
}


def raw_schema(kind: CrmKind) -> pa.Schema:
    """The validated raw frame of ``kind``, as every CRM source returns it.

    E-mails and addresses are still here (the anonymiser needs them); names are not, free text
    is a length. ``line`` is the input line (files) or row number (database) of each record.
    """
    fields = [pa.field("line", pa.int64(), nullable=False)]
    for column in read_columns(kind):
        name = length_column(column.name) if column.type is ColumnType.TEXT else column.name
        fields.append(pa.field(name, _RAW_TYPES[column.type], nullable=not column.required))
    return pa.schema(fields)


# Which raw kind fills which store table (organisations are folded into the other two).
STORE_TABLE_OF: dict[CrmKind, str] = {
    CrmKind.ACCOUNTS: "crm_accounts",
    CrmKind.ACTIVITY: "crm_activity",
    CrmKind.CONTACT_FORMS: "crm_contact_forms",
}

# Message lengths in characters: (lowest length, band label), ascending.
MESSAGE_BANDS: tuple[tuple[int, str], ...] = (
    (0, "0"),
    (1, "1-99"),
    (100, "100-499"),
    (500, "500+"),
)


def message_band(length: int | None) -> str:
    """The band label of a message length (no message counts as length 0)."""
    label = MESSAGE_BANDS[0][1]
    for lowest, name in MESSAGE_BANDS:
        if (length or 0) >= lowest:
            label = name
    return label
