"""The CRM's four record kinds: their declared raw columns, their vocabularies, their store tables.

A CRM input is read against ``RAW_COLUMNS``. Only the columns an ingest needs are read at all:
names (of people and of organisations) are never read, a free-text message is reduced to its
length where it is read (the database source asks the server for the length, so the text never
leaves the database). Every kept categorical value must come from a closed vocabulary or a
strict pattern, because a free-form "industry" or "plan" cell is a place where someone's name
can hide.

``STORE_TABLES`` declares the pseudonymised tables the CRM ingest writes: persons and
organisations appear only as keyed pseudonyms, times of sign-up as days, messages as a length
band. The lead's ``privstats.schema.TABLES`` is meant to include them.
"""

from __future__ import annotations

import enum
import re
import zoneinfo
from dataclasses import dataclass, field

import pyarrow as pa

from privstats.exceptions import ConfigError


class CrmKind(enum.StrEnum):
    """The four CRM inputs, named as their export files and default database tables are."""

    ORGANISATIONS = "organisations"
    ACCOUNTS = "accounts"
    CONTACT_FORMS = "contact_forms"
    ACTIVITY = "activity"


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


class Action(enum.StrEnum):
    CREATE = "create"
    VIEW = "view"
    UPDATE = "update"
    DELETE = "delete"
    EXPORT = "export"
    IMPORT = "import"


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


# -- vocabularies -------------------------------------------------------------------------

_SLUG = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
_TABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]{0,62}(\.[A-Za-z_][A-Za-z0-9_$]{0,62})?$")

DEFAULT_EXTERNAL_SYSTEMS = ("salesforce", "hubspot", "pipedrive", "subiekt")
BUILT_IN_CHANNELS = ("email", "google", "facebook")
BUILT_IN_SOURCES = ("web", "api", "mobile")
IMPORT_PREFIX = "import:"


@dataclass(frozen=True)
class CrmConfig:
    """The ``[crm]`` section: database table names, time zone, vocabularies of kept values."""

    # Database table per record kind (``schema.table`` allowed); kinds left out keep their name.
    tables: dict[str, str] = field(default_factory=dict)
    # Time zone of timestamps written without an offset.
    timezone: str = "UTC"
    # External systems accounts sign up through and activity is imported from.
    external_systems: tuple[str, ...] = DEFAULT_EXTERNAL_SYSTEMS
    plans: tuple[str, ...] = ("free", "team", "business", "enterprise")
    size_bands: tuple[str, ...] = ("1-9", "10-49", "50-249", "250+")
    industries: tuple[str, ...] = (
        "agriculture", "construction", "education", "finance", "healthcare", "hospitality",
        "it_services", "logistics", "manufacturing", "marketing", "real_estate", "retail",
        "other",
    )  # fmt: skip
    modules: tuple[str, ...] = (
        "contacts", "companies", "deals", "tasks", "calendar", "invoices", "campaigns",
        "reports", "imports",
    )  # fmt: skip
    topics: tuple[str, ...] = ("sales", "support", "billing", "partnership", "other")
    # Records read and validated at a time: memory stays bounded by this, whatever the size.
    batch_rows: int = 50_000
    # Seconds to wait for the database server to answer a connection.
    connect_timeout: int = 10

    def __post_init__(self) -> None:
        kinds = {k.value for k in CrmKind}
        for kind, table in self.tables.items():
            if kind not in kinds:
                raise ConfigError(
                    f"crm.tables.{kind} is not a CRM record kind (one of {', '.join(kinds)})"
                )
            if not _TABLE_NAME.match(table):
                raise ConfigError(f"crm.tables.{kind} must be a table name like 'crm.accounts'")
        try:
            zoneinfo.ZoneInfo(self.timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ConfigError(
                "crm.timezone must be an IANA time zone such as 'Europe/Warsaw'"
            ) from None
        for name in ("external_systems", "plans", "size_bands", "industries", "modules", "topics"):
            values = getattr(self, name)
            if not values:
                raise ConfigError(f"crm.{name} must not be empty")
            if name != "size_bands" and not all(_SLUG.match(v) for v in values):
                raise ConfigError(
                    f"crm.{name} entries are lowercase codes (letters, digits, '_', '-', '.')"
                )
        if not 100 <= self.batch_rows <= 10_000_000:
            raise ConfigError("crm.batch_rows must lie between 100 and 10000000")
        if not 1 <= self.connect_timeout <= 600:
            raise ConfigError("crm.connect_timeout must lie between 1 and 600 seconds")

    def table(self, kind: CrmKind) -> str:
        return self.tables.get(kind.value, kind.value)

    def vocabularies(self) -> Vocabularies:
        return Vocabularies(
            closed={
                "signup_channel": frozenset((*BUILT_IN_CHANNELS, *self.external_systems)),
                "plan": frozenset(self.plans),
                "size_band": frozenset(self.size_bands),
                "industry": frozenset(self.industries),
                "module": frozenset(self.modules),
                "action": frozenset(a.value for a in Action),
                "topic": frozenset(self.topics),
                "source": frozenset(
                    (*BUILT_IN_SOURCES, *(IMPORT_PREFIX + s for s in self.external_systems))
                ),
            },
            patterns={
                # Partners are businesses known by short keys; partner reports are addressed
                # to them, so any well-formed key is accepted.
                "partner": _SLUG.pattern,
                "country": r"^[A-Z]{2}$",
            },
        )


@dataclass(frozen=True)
class Vocabularies:
    """Closed value sets and strict patterns for the CODE columns."""

    closed: dict[str, frozenset[str]]
    patterns: dict[str, str]

    def uppercase(self, vocabulary: str) -> bool:
        return vocabulary == "country"


# -- store tables -------------------------------------------------------------------------

_dict = pa.dictionary(pa.int32(), pa.string())

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

STORE_TABLES: dict[str, pa.Schema] = {
    "crm_accounts": CRM_ACCOUNTS,
    "crm_activity": CRM_ACTIVITY,
    "crm_contact_forms": CRM_CONTACT_FORMS,
}

# The columns a person-level threshold counts distinct values of, per table.
PERSON_KEYS: dict[str, tuple[str, ...]] = {table: ("person",) for table in STORE_TABLES}

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
