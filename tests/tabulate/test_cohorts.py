"""Dimensions read through the person: a CRM person's sign-up month on their activity rows, and
on an account each month its person was active in (cohorts and retention)."""

from __future__ import annotations

import polars as pl
import pytest

from privstats import tabulate
from privstats.store import Store
from privstats.tabulate import _engine
from privstats.tabulate.backends import NONE_CODE, backend
from privstats.tabulate.query import Query
from tests.report.samples import build_sample_store


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    return Store(build_sample_store(tmp_path_factory.mktemp("cohorts") / "store"))


def _month(ts: pl.Expr) -> pl.Expr:
    return ts.dt.convert_time_zone("Europe/Warsaw").dt.strftime("%Y-%m")


def test_activity_rows_carry_their_persons_sign_up_month_at_that_partner(store: Store) -> None:
    query = Query.build(["signup_month"], table="crm_activity", tz="Europe/Warsaw")
    rows = _engine.read_rows(store, query)
    accounts = store.scan("crm_accounts").collect()
    activity = store.scan("crm_activity").collect()
    # The first account at the activity's partner, not at any partner: a partner's cohorts
    # tell nothing of accounts at another.
    months = accounts.group_by("person", "partner").agg(month=_month(pl.col("ts")).min())
    truth = activity.join(months, on=["person", "partner"], how="left", nulls_equal=True)
    assert rows.height == activity.height
    expected = truth["month"].fill_null(NONE_CODE).value_counts().sort("month")
    found = rows["signup_month"].value_counts().sort("signup_month")
    assert found["count"].to_list() == expected["count"].to_list()
    # A protected cohort table counts persons, as every other table does.
    table = tabulate.crosstab("signup_month", table="crm_activity", aggfunc="visitors",
                              margins=True, store=store)  # fmt: skip
    total = table.shown.set_index("signup_month").loc["Total", "value"]
    assert total in (activity["person"].n_unique(), "x")


def test_an_account_stands_once_in_each_month_its_person_was_active(store: Store) -> None:
    query = Query.build(["month", "active_month"], table="crm_accounts", tz="Europe/Warsaw")
    rows = _engine.read_rows(store, query)
    accounts = store.scan("crm_accounts").collect()
    activity = store.scan("crm_activity").collect()
    active = activity.select("person", "partner", month=_month(pl.col("ts"))).unique()
    pairs = accounts.join(active, on=["person", "partner"], how="left", nulls_equal=True)
    assert rows.height == pairs.height >= accounts.height
    never = pairs.filter(pl.col("month").is_null()).height
    assert never > 0, "the sample holds accounts never used"
    assert (rows["active_month"] == NONE_CODE).sum() == never
    # Every cohort's cell counts persons of its sign-ups: never more than the month's sign-ups.
    lines = _engine.contributions(store, query, backend("polars"))
    persons = lines.group_by("month", "active_month").agg(pl.col("_person").n_unique())
    signups = lines.group_by("month").agg(signed=pl.col("_person").n_unique())
    assert persons.join(signups, on="month").filter(pl.col("_person") > pl.col("signed")).is_empty()
