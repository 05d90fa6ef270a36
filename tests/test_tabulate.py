"""The analyst API over a real store, built by ingesting hand-made logs."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

import pytest

from privstats import tabulate
from privstats.config import Config
from privstats.exceptions import DisclosureError, NoDataError
from privstats.ingest import ingest_access
from privstats.key import SecretKey
from privstats.protect import Status
from privstats.store import Store
from privstats.tabulate import Query, _engine

AGENT = "Mozilla/5.0 (X11; Linux x86_64; rv:118.0) Gecko/20100101 Firefox/118.0"
PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) Mobile/15E148 Safari/604.1"


def line(client: str, day: int, path: str = "/", agent: str = AGENT, size: int = 100) -> str:
    return (
        f'{client} - - [{day:02d}/Oct/2026:12:00:00 +0000] "GET {path} HTTP/1.1" 200 {size} '
        f'"-" "{agent}"'
    )


def store_with(tmp_path: Path, config: Config, key: SecretKey, lines: list[str]) -> Store:
    log = tmp_path / "access.log"
    log.write_text("\n".join(lines) + "\n")
    [result] = ingest_access(config, key, [str(log)])
    assert result.status == "ingested", result.error
    return Store(config.store_path)


def test_thresholds_count_visitors_not_requests(
    tmp_path: Path, config: Config, key: SecretKey
) -> None:
    desktops = [line(f"198.51.100.{i}", 1) for i in range(12)]
    busy_phone = [line("203.0.113.5", 1, agent=PHONE)] * 5000
    store = store_with(tmp_path, config, key, desktops + busy_phone)
    table = tabulate.crosstab("device", store=store)
    shown = table.to_frame().set_index("device")["value"]
    assert shown["mobile"] == "x", "5,000 requests of one visitor are one contributor"
    # The total is public (it would give the mobile cell back): no pattern protects the one
    # visitor's 5,000 requests, so nothing is shown.
    assert shown["desktop"] == "x"
    assert table.status is Status.FAIL


def test_a_busy_visitor_dominating_a_magnitude_cell_is_caught(
    tmp_path: Path, config: Config, key: SecretKey
) -> None:
    quiet = [line(f"198.51.100.{i}", 1, path="/pricing", size=1_000) for i in range(20)]
    heavy = [line("203.0.113.9", 1, path="/pricing", size=10_000_000)]
    others = [line(f"192.0.2.{i}", 1, path="/", size=1_000) for i in range(20)]
    store = store_with(tmp_path, config, key, quiet + heavy + others)
    table = tabulate.crosstab("path", values="bytes", aggfunc="sum", store=store)
    notes = {note.key["path"]: note.reasons for note in table.record.cells}
    assert "nk" in notes["/pricing"] or "p_percent" in notes["/pricing"]
    assert "/" not in notes


def test_monthly_cells_with_a_daily_key_do_not_over_count_persons(
    tmp_path: Path, config: Config, key: SecretKey
) -> None:
    # Five people visit every day of October: 150 daily pseudonyms, still five people.
    regulars = [
        line(f"198.51.100.{i}", day, path="/help") for i in range(5) for day in range(1, 31)
    ]
    crowd = [line(f"192.0.2.{i}", 3, path="/pricing") for i in range(15)]
    readers = [line(f"192.0.2.{100 + i}", 4, path="/blog") for i in range(400)]
    store = store_with(tmp_path, config, key, regulars + crowd + readers)
    table = tabulate.crosstab("month", "path", aggfunc="visitors", store=store)
    shown = table.to_frame().set_index("path")["value"]
    assert shown["/help"] == "x"
    # The month's total is public: one more cell is hidden so that it does not give /help back.
    assert shown["/pricing"] == "x"
    assert shown["/blog"] == 400


def test_margins_get_secondary_suppression_and_the_audit_passes(
    tmp_path: Path, config: Config, key: SecretKey
) -> None:
    lines = [line(f"198.51.100.{i}", 1, path="/a") for i in range(30)]
    lines += [line(f"192.0.2.{i}", 1, path="/b", agent=PHONE) for i in range(25)]
    lines += [line(f"203.0.113.{i}", 1, path="/a", agent=PHONE) for i in range(3)]
    lines += [line(f"203.0.113.{i + 50}", 1, path="/b") for i in range(20)]
    store = store_with(tmp_path, config, key, lines)
    table = tabulate.crosstab("path", "device", aggfunc="visitors", margins=True, store=store)
    wide = table.pivot()
    assert math.isnan(wide.loc["/a", "mobile"])
    hidden = sum(math.isnan(v) for v in wide.to_numpy().ravel())
    assert hidden >= 4, "one hidden cell in a table with margins needs at least three more"
    assert table.record.audit["passed"] is True
    assert {n.reasons for n in table.record.cells} == {("threshold",), ("secondary",)}


def test_the_record_names_the_query_and_never_the_hidden_value(
    tmp_path: Path, config: Config, key: SecretKey
) -> None:
    lines = [line(f"198.51.100.{i}", 1) for i in range(12)] + [
        line("203.0.113.1", 1, agent=PHONE)
    ] * 7
    store = store_with(tmp_path, config, key, lines)
    table = tabulate.crosstab("device", store=store, start="2026-10-01", end="2026-10-31")
    record = table.record.review_dict()
    assert record["query"]["index"] == ["device"]
    assert record["query"]["start"] == "2026-10-01"
    assert record["rules"]["threshold"] == 10
    assert "7" not in str([n for n in record["cells"]])
    assert 7 not in table.shown["value"].tolist()
    # What the analyst's record says does not tell a small cell from one hidden to protect it.
    public = table.record.to_dict()
    assert "cells" not in public and "search" not in public and public["cells_protected"] == 2


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"index": "visitor"}, "is a pseudonym"),
        ({"index": "referer"}, "has no column 'referer'"),
        ({"index": "device", "aggfunc": "p90"}, "needs values="),
        ({"index": "device", "aggfunc": "median_ish", "values": "bytes"}, "unknown aggfunc"),
        ({"index": ["device", "device"]}, "only once"),
    ],
)
def test_bad_requests_are_one_line_errors(
    tmp_path: Path, config: Config, key: SecretKey, kwargs: dict, message: str
) -> None:
    store = store_with(tmp_path, config, key, [line("198.51.100.1", 1)])
    with pytest.raises(DisclosureError, match=message):
        tabulate.crosstab(store=store, **kwargs)


# -- CRM tables: one partner against the rest, organisations, measures per unit ---------------

SAMPLE_CRM = Path(__file__).resolve().parents[1] / "data" / "sample" / "crm"
CRM_PERIOD = {"start": "2026-10-01", "end": "2026-10-31"}


@pytest.fixture(scope="module")
def crm_store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    """The committed sample's CRM exports, ingested with a throw-away key."""
    import secrets

    from privstats.crm import ingest_crm, open_source

    config = Config().with_store(tmp_path_factory.mktemp("crm") / "store")
    source = open_source(folder=SAMPLE_CRM, fmt="csv", crm=config.crm)
    result = ingest_crm(config, SecretKey(secrets.token_bytes(32)), source)
    assert result.status == "ingested"
    return Store(config.store_path)


def _activity(store: Store):
    import polars as pl

    return store.scan("crm_activity").collect().with_columns(pl.col("partner").cast(pl.String))


def _shown(table) -> dict[tuple[str, ...], float]:
    """Shown cells by their key (hidden ones left out)."""
    frame = table.shown[table.shown["marker"] == ""]
    keys = zip(*(frame[d].astype(str) for d in table.dims), strict=True)
    return dict(zip(keys, frame["value"], strict=True))


def test_versus_shows_one_partner_the_others_and_the_whole_service(crm_store: Store) -> None:
    import polars as pl

    table = tabulate.crosstab(
        "module", "partner", aggfunc="visitors", margins=True, table="crm_activity",
        versus={"partner": "acme"}, store=crm_store, **CRM_PERIOD,
    )  # fmt: skip
    rows = _activity(crm_store)
    groups = {
        "acme": rows.filter(pl.col("partner") == "acme"),
        tabulate.OTHERS: rows.filter(pl.col("partner") != "acme"),
        "Total": rows,
    }
    shown = _shown(table)
    assert {partner for _, partner in shown} == set(groups)
    for (module, partner), value in shown.items():
        group = groups[partner]
        if module != "Total":
            group = group.filter(pl.col("module") == module)
        assert value == group["person"].n_unique(), (module, partner)
    assert table.record.query["versus"] == {"partner": "acme"}
    assert table.record.audit["passed"] is True


def test_organisations_are_counted_distinct_and_protected_by_persons(crm_store: Store) -> None:
    import polars as pl

    table = tabulate.crosstab(
        "module", aggfunc="organisations", margins=True, table="crm_activity",
        store=crm_store, **CRM_PERIOD,
    )  # fmt: skip
    rows = _activity(crm_store)
    shown = _shown(table)
    assert shown[("Total",)] == rows["org"].n_unique()
    for (module,), value in shown.items():
        if module != "Total":
            cell = rows.filter(pl.col("module") == module)
            assert value == cell["org"].n_unique()
            assert cell["person"].n_unique() >= 10, "a cell of fewer persons is hidden"
    hidden = set(table.shown["module"][table.shown["marker"] != ""])
    small = {
        module
        for module, persons in rows.group_by("module").agg(pl.col("person").n_unique()).iter_rows()
        if persons < 10
    }
    assert small <= hidden


def test_medians_per_organisation_and_per_person(crm_store: Store) -> None:
    import polars as pl

    options = {"table": "crm_activity", "versus": {"partner": "acme"}, "margins": True,
               "store": crm_store, **CRM_PERIOD}  # fmt: skip
    per_org = tabulate.crosstab(
        "partner", values=tabulate.PERSONS, per="org", aggfunc="median", **options
    )
    per_person = tabulate.crosstab("partner", per="person", aggfunc="median", **options)
    rows = _activity(crm_store)
    acme = rows.filter(pl.col("partner") == "acme")
    persons_per_org = acme.group_by("org").agg(n=pl.col("person").n_unique())["n"]
    events_per_person = acme.group_by("person").agg(n=pl.len())["n"]
    # A median is the average of the five units nearest the middle, never one unit's value.
    assert _shown(per_org)[("acme",)] == pytest.approx(_window_median(persons_per_org))
    assert _shown(per_person)[("acme",)] == pytest.approx(_window_median(events_per_person))
    everyone = rows.group_by("org").agg(n=pl.col("person").n_unique())["n"]
    assert _shown(per_org)[("Total",)] == pytest.approx(_window_median(everyone))
    assert per_org.record.query["per"] == "org"


def _window_median(values: Any, window: int = 5) -> float:
    ordered = sorted(values.to_list())
    centre = round(0.5 * (len(ordered) - 1))
    first = max(0, min(centre - window // 2, len(ordered) - window))
    return sum(ordered[first : first + window]) / window


def test_a_period_the_store_holds_nothing_of_is_an_error_naming_what_it_holds(
    crm_store: Store,
) -> None:
    with pytest.raises(NoDataError, match="no CRM records from 2031-01-01 to 2031-01-31") as e:
        tabulate.crosstab(
            "week", "signup_channel", aggfunc="visitors", margins=True, table="crm_accounts",
            store=crm_store, start="2031-01-01", end="2031-01-31",
        )  # fmt: skip
    assert "it holds 20" in str(e.value) and e.value.exit_code == 2


def test_filters_matching_nothing_in_a_period_with_data_are_an_answer(crm_store: Store) -> None:
    from privstats.report.notebook import has_cells

    table = tabulate.crosstab(
        "module", aggfunc="visitors", table="crm_activity", store=crm_store,
        where={"records_affected": tabulate.Between(10**9, 10**10)},
    )  # fmt: skip
    assert not has_cells(table)


def test_a_code_the_store_never_held_is_an_error_listing_the_valid_ones(crm_store: Store) -> None:
    with pytest.raises(DisclosureError, match=r"1 of the 2 value.*no code of 'partner'.*acme"):
        tabulate.crosstab(
            "module", aggfunc="visitors", table="crm_activity", store=crm_store,
            where={"partner": ["acme", "a-partner-without-records"]},
        )  # fmt: skip


def test_a_configured_code_without_records_is_an_empty_answer(crm_store: Store) -> None:
    """The CRM report asks for every configured import system; one without records yet (as
    here an industry) is nothing to count, not a misspelling."""
    from privstats.report.notebook import has_cells

    held = set(crm_store.read("crm_activity", columns=["industry"])["industry"].astype(str))
    absent = sorted(set(Config().crm.industries) - held)
    assert held and absent, "the sample holds some of the configured industries, not all"
    table = tabulate.crosstab(
        "industry", aggfunc="visitors", table="crm_activity", store=crm_store,
        where={"industry": absent},
    )  # fmt: skip
    assert not has_cells(table)


def test_no_store_is_an_error_not_an_empty_table(tmp_path: Path) -> None:
    with pytest.raises(NoDataError, match=f"no store at {tmp_path / 'nonexistent'}"):
        tabulate.crosstab("device", store=tmp_path / "nonexistent")


def test_partners_are_the_partner_keys_of_the_accounts(crm_store: Store) -> None:
    stored = crm_store.scan("crm_accounts").collect()["partner"].cast(str).unique().to_list()
    assert tabulate.partners(crm_store) == sorted(stored)
    assert tabulate.partners(crm_store)  # the sample has partners to list


def test_time_dimensions_work_on_crm_tables(crm_store: Store) -> None:
    table = tabulate.crosstab(
        "week", aggfunc="visitors", table="crm_activity", store=crm_store, **CRM_PERIOD
    )
    assert set(table.shown["week"]) == {"2026-W40"}  # 1-3 October 2026


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"index": "status_class"}, "has no column 'status_class'"),
        ({"index": "module", "versus": {"partner": "acme"}}, "not a dimension"),
        ({"index": "partner", "versus": {"partner": "others"}}, "cannot single out"),
        ({"index": "module", "per": "org", "aggfunc": "sum", "values": "records_affected"},
         "per= goes with a mean or a quantile"),
        ({"index": "module", "per": "team", "aggfunc": "median"}, "per= is one of"),
        ({"index": "module", "values": "persons", "aggfunc": "median"}, "needs per='org'"),
        ({"index": "module", "values": "persons", "per": "person", "aggfunc": "median"},
         "counts persons per organisation"),
    ],
)  # fmt: skip
def test_bad_crm_requests_are_one_line_errors(crm_store: Store, kwargs: dict, message: str) -> None:
    with pytest.raises(DisclosureError, match=message):
        tabulate.crosstab(table="crm_activity", store=crm_store, **kwargs)


def test_organisations_need_a_table_with_organisations(
    tmp_path: Path, config: Config, key: SecretKey
) -> None:
    store = store_with(tmp_path, config, key, [line("198.51.100.1", 1)])
    with pytest.raises(DisclosureError, match="has no 'org'"):
        tabulate.crosstab("device", aggfunc="organisations", store=store)


def test_true_table_is_what_crosstab_protects(
    tmp_path: Path, config: Config, key: SecretKey
) -> None:
    desktops = [line(f"198.51.100.{i}", 1) for i in range(12)]
    phone = [line("203.0.113.5", 1, agent=PHONE)] * 3
    store = store_with(tmp_path, config, key, desktops + phone)
    query = Query.build("device", margins=True)
    truth = _engine.true_table(query, store)
    cells = truth.grid.cells.set_index("device")
    assert query.to_dict() == tabulate.crosstab("device", margins=True, store=store).record.query
    assert cells.loc["mobile", "value"] == 3, "the unprotected cell the table hides"
    assert cells.loc["desktop", "value"] == 12
    later = Query.build("device", start="2026-11-01")
    assert _engine.true_table(later, store).grid is None


def test_rows_are_the_pseudonymous_rows_a_table_reads(
    tmp_path: Path, config: Config, key: SecretKey
) -> None:
    store = store_with(tmp_path, config, key, [line(f"198.51.100.{i}", 1) for i in range(3)])
    query = Query.build(["device", "day"], start="2026-10-01", end="2026-10-01")
    frame = _engine.read_rows(store, query)
    assert frame.height == 3
    assert {"device", "day", "_period", "_person"} <= set(frame.columns)
    assert frame["_person"].n_unique() == 3


def test_nothing_true_is_public() -> None:
    for name in ("true_table", "rows", "read_rows", "TrueTable"):
        assert not hasattr(tabulate, name), name
    assert not set(tabulate.__all__) & {"true_table", "rows"}


def test_visitors_padded_from_one_network_do_not_pass_the_threshold(
    tmp_path: Path, config: Config, key: SecretKey
) -> None:
    keeping = dataclasses.replace(
        config, anonymise=dataclasses.replace(config.anonymise, network=True)
    )
    # Twelve "visitors" of one cloud network, against twelve from four networks.
    padded = [line(f"198.51.100.{i}", 1, path="/pricing") for i in range(12)]
    spread = [line(f"{10 + i % 4}.0.0.{i}", 1, path="/blog") for i in range(12)]
    store = store_with(tmp_path, keeping, key, padded + spread)
    table = tabulate.crosstab("path", aggfunc="visitors", margins=True, store=store)
    notes = {note.key["path"]: note.reasons for note in table.record.cells}
    assert "networks" in notes["/pricing"]
    shown = table.to_frame().set_index("path")["value"]
    assert shown["/pricing"] == "x"
