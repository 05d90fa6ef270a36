"""A CRM person's sign-up month on their activity rows: cohorts read through the person."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from privstats import tabulate
from privstats.store import Store
from privstats.tabulate import _engine
from privstats.tabulate.query import Query
from tests.report.samples import build_sample_store


def test_activity_rows_carry_their_persons_sign_up_month(tmp_path: Path) -> None:
    store = Store(build_sample_store(tmp_path / "store"))
    query = Query.build(["signup_month"], table="crm_activity", aggfunc="visitors")
    rows = _engine.read_rows(store, query)
    accounts = store.scan("crm_accounts").collect()
    activity = store.scan("crm_activity").collect()
    months = accounts.group_by("person").agg(month=pl.col("ts").min().dt.strftime("%Y-%m"))
    truth = activity.join(months, on="person", how="left")
    assert rows.height == activity.height
    expected = truth["month"].fill_null(_engine.NONE_CODE).value_counts().sort("month")
    found = rows["signup_month"].value_counts().sort("signup_month")
    assert found["count"].to_list() == expected["count"].to_list()
    # A protected cohort table counts persons, as every other table does.
    table = tabulate.crosstab("signup_month", table="crm_activity", aggfunc="visitors",
                              margins=True, store=store)  # fmt: skip
    total = table.shown.set_index("signup_month").loc["Total", "value"]
    assert total in (activity["person"].n_unique(), "x")
