from __future__ import annotations

import datetime as dt
import tomllib

import polars as pl
import pytest

from privstats.config import CrmConfig, CrmKind
from privstats.exceptions import ConfigError
from privstats.schema import CRM_TABLES
from privstats.sources.crm_records import Tally, Validator, cells_frame
from privstats.sources.crm_schema import message_band, raw_schema, read_columns

UTC = dt.UTC

ORG = {"org_id": "1", "size_band": "1-9", "industry": "retail", "partner": "acme"}
ACCOUNT = {
    "account_id": "7", "email": "a@example.pl", "signup_channel": "email",
    "created_at": "2026-10-01T10:00:00+02:00", "closed_at": None, "org_id": "1",
    "plan": "team", "consent_statistics": "true", "country": "PL",
}  # fmt: skip


def validate(
    kind: CrmKind, rows: list[dict[str, object]], crm: CrmConfig | None = None
) -> tuple[pl.DataFrame, Tally]:
    names = [c.name for c in read_columns(kind)]
    cells = cells_frame(
        kind, list(range(1, len(rows) + 1)), {n: [r.get(n) for r in rows] for n in names}
    )
    tally = Tally(f"{kind.value}.csv", "line")
    return Validator(kind, crm or CrmConfig()).validate(cells, tally), tally


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("2026-10-01T10:00:00+02:00", dt.datetime(2026, 10, 1, 8, tzinfo=UTC)),
        ("2026-10-01 08:00:00+00", dt.datetime(2026, 10, 1, 8, tzinfo=UTC)),  # PostgreSQL text
        ("2026-10-01T08:00:00.250Z", dt.datetime(2026, 10, 1, 8, 0, 0, 250000, tzinfo=UTC)),
        ("2026-10-01T10:00+0200", dt.datetime(2026, 10, 1, 8, tzinfo=UTC)),
        (" 2026-10-01T08:00:00z ", dt.datetime(2026, 10, 1, 8, tzinfo=UTC)),
        ("2026-10-01T10:00:00", dt.datetime(2026, 10, 1, 8, tzinfo=UTC)),  # naive: Warsaw
        ("2026-10-01", dt.datetime(2026, 9, 30, 22, tzinfo=UTC)),  # midnight in Warsaw
        ("2026-03-29T02:30:00", None),  # does not exist in Warsaw (clocks jump forward)
        ("2026-02-30T10:00:00Z", None),
        ("2026-10-01T10:00:00+02:00 and more", None),
        ("31/02/2026 25:61", None),
        ("yesterday", None),
    ],
)
def test_timestamps_in_iso_forms_and_naive_ones_in_the_configured_zone(
    written: str, expected: dt.datetime | None
) -> None:
    crm = CrmConfig(timezone="Europe/Warsaw")
    frame, tally = validate(CrmKind.ACCOUNTS, [ACCOUNT | {"created_at": written}], crm)
    if expected is None:
        assert frame.height == 0
        assert [str(p) for p in tally.problems] == [
            "accounts.csv line 1, column created_at: bad timestamp"
        ]
    else:
        assert frame["created_at"].to_list() == [expected]


@pytest.mark.parametrize(
    ("change", "column", "reason"),
    [
        ({"account_id": "7.0"}, "account_id", "not a whole number of the expected range"),
        ({"account_id": "99999999999999999999"}, "account_id", "not a whole number"),
        ({"account_id": None}, "account_id", "missing value"),
        ({"email": "Zofia Kanarek"}, "email", "not an e-mail address"),
        ({"email": "  "}, "email", "missing value"),
        ({"signup_channel": "myspace"}, "signup_channel", "value outside the allowed list"),
        ({"plan": "platinum"}, "plan", "value outside the allowed list"),
        ({"consent_statistics": "maybe"}, "consent_statistics", "not true or false"),
        ({"consent_statistics": None}, "consent_statistics", "missing value"),
        ({"country": "Poland"}, "country", "value outside the allowed list"),
        ({"closed_at": "soon"}, "closed_at", "bad timestamp"),
    ],
)
def test_each_bad_cell_is_located_by_column_without_its_value(
    change: dict[str, object], column: str, reason: str
) -> None:
    frame, tally = validate(CrmKind.ACCOUNTS, [ACCOUNT, ACCOUNT | {"account_id": "8"} | change])
    assert frame["account_id"].to_list() == [7]
    [problem] = tally.problems
    assert (problem.line, problem.column) == (2, column)
    assert problem.reason.startswith(reason)
    for value in change.values():
        if value and str(value).strip():
            assert str(value) not in str(problem)


def test_a_record_with_several_bad_cells_counts_once_under_its_first() -> None:
    bad = ACCOUNT | {"email": "nobody", "plan": "gold", "created_at": "never"}
    frame, tally = validate(CrmKind.ACCOUNTS, [bad])
    assert frame.height == 0
    assert tally.quarantine.counts == {"not an e-mail address": 1}
    assert [p.column for p in tally.problems] == ["email", "created_at", "plan"]


def test_codes_are_normalised_and_optional_ones_may_be_empty() -> None:
    rows = [
        ACCOUNT | {"signup_channel": " Google ", "plan": "TEAM", "country": "gb"},
        ACCOUNT | {"account_id": "8", "country": "", "consent_statistics": "No"},
    ]
    frame, tally = validate(CrmKind.ACCOUNTS, rows)
    assert tally.quarantine.total == 0
    assert frame.select("signup_channel", "plan", "country", "consent_statistics").rows() == [
        ("google", "team", "GB", True),
        ("email", "team", None, False),
    ]


def test_external_systems_extend_channels_and_activity_sources() -> None:
    crm = CrmConfig(external_systems=("comarch",))
    frame, tally = validate(CrmKind.ACCOUNTS, [ACCOUNT | {"signup_channel": "comarch"}], crm)
    assert frame.height == 1
    activity = {"occurred_at": "2026-10-01T10:00:00Z", "org_id": "1", "account_id": "7",
                "module": "imports", "action": "import", "records_affected": "120"}  # fmt: skip
    frame, tally = validate(
        CrmKind.ACTIVITY,
        [activity | {"source": "import:comarch"}, activity | {"source": "import:hubspot"}],
        crm,
    )
    assert frame["source"].to_list() == ["import:comarch"]
    assert tally.quarantine.counts == {"value outside the allowed list": 1}


def test_negative_counts_are_refused() -> None:
    activity = {"occurred_at": "2026-10-01T10:00:00Z", "org_id": "1", "account_id": "7",
                "module": "deals", "action": "view", "source": "web"}  # fmt: skip
    frame, tally = validate(
        CrmKind.ACTIVITY,
        [activity | {"records_affected": "-3"}, activity | {"records_affected": "+4"}],
    )
    assert frame["records_affected"].to_list() == [4]
    assert tally.problems[0].column == "records_affected"


def test_repeated_ids_keep_the_first_record_across_batches() -> None:
    validator = Validator(CrmKind.ORGANISATIONS, CrmConfig())
    tally = Tally("organisations.csv", "line")
    names = [c.name for c in read_columns(CrmKind.ORGANISATIONS)]

    def batch(first: int, ids: list[str]) -> pl.DataFrame:
        rows = [ORG | {"org_id": i} for i in ids]
        lines = list(range(first, first + len(ids)))
        cells = cells_frame(
            CrmKind.ORGANISATIONS, lines, {n: [r.get(n) for r in rows] for n in names}
        )
        return validator.validate(cells, tally)

    assert batch(1, ["1", "2", "1"])["org_id"].to_list() == [1, 2]
    assert batch(4, ["3", "2"])["org_id"].to_list() == [3]
    assert tally.quarantine.lines == {"repeated record id": [3, 5]}


def test_an_empty_message_and_no_message_are_the_same() -> None:
    form = {"submitted_at": "2026-10-01T10:00:00Z", "email": "a@b.pl", "client_ip": "-",
            "topic": "sales"}  # fmt: skip
    frame, _ = validate(
        CrmKind.CONTACT_FORMS,
        [form | {"message": 0}, form | {"message": None}, form | {"message": 12}],
    )
    assert frame["message_chars"].to_list() == [None, None, 12]
    assert frame["client_ip"].to_list() == [None, None, None]
    assert [message_band(n) for n in (None, 0, 1, 99, 100, 499, 500, 10_000)] == [
        "0", "0", "1-99", "1-99", "100-499", "100-499", "500+", "500+",
    ]  # fmt: skip


def test_raw_frames_keep_no_name_and_store_tables_no_identifier() -> None:
    for kind in CrmKind:
        names = raw_schema(kind).names
        assert not any("name" in n for n in names)
        assert "message" not in names
    stored = {name for schema in CRM_TABLES.values() for name in schema.names}
    assert stored.isdisjoint(
        {"email", "first_name", "last_name", "name", "message", "client_ip", "account_id",
         "org_id", "created_at", "consent_statistics", "consent_publication"}
    )  # fmt: skip
    assert all(schema.field("person").type == "int64" for schema in CRM_TABLES.values())


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"tables": {"deals": "crm.deals"}}, "crm.tables.deals is not a CRM record kind"),
        ({"tables": {"accounts": "crm.accounts; DROP TABLE x"}}, "must be a table name"),
        ({"timezone": "Mars/Olympus"}, "IANA time zone"),
        ({"plans": ()}, "crm.plans must not be empty"),
        ({"modules": ("Contacts Kanarek",)}, "lowercase codes"),
        ({"batch_rows": 10}, "crm.batch_rows"),
    ],
)
def test_crm_config_refuses_bad_settings(settings: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        CrmConfig(**settings)  # type: ignore[arg-type]


def test_table_names_default_to_the_kind() -> None:
    crm = CrmConfig(tables={"accounts": "crm.konta"})
    assert crm.table(CrmKind.ACCOUNTS) == "crm.konta"
    assert crm.table(CrmKind.ACTIVITY) == "activity"


def test_the_crm_section_loads_with_the_configuration_loader() -> None:
    # The lead's loader builds [crm] the way it builds every other section.
    from privstats.config import _build

    text = """
    timezone = "Europe/Warsaw"
    external_systems = ["comarch", "hubspot"]
    batch_rows = 20000
    [tables]
    accounts = "crm.konta"
    """
    crm = _build(CrmConfig, tomllib.loads(text), "crm.")
    assert crm == CrmConfig(
        tables={"accounts": "crm.konta"},
        timezone="Europe/Warsaw",
        external_systems=("comarch", "hubspot"),
        batch_rows=20000,
    )
    with pytest.raises(ConfigError, match=r"unknown setting 'crm\.time_zone'"):
        _build(CrmConfig, {"time_zone": "UTC"}, "crm.")
