"""The Spark backend reduces a query to the Polars backend's lines, so every table is the same.

One store of synthetic traffic and CRM exports (three days across Warsaw's autumn clock change
and an ISO week's end, persons linked by login) serves every query, and one local Spark session
the module. Each query is reduced once per backend (``_Once``), and both the reduction and the
true table built from it are compared.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import importlib.util
import secrets
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pytest

from privstats.config import LoginPolicy
from privstats.demo import demo_config, ingest_generated, ingest_generated_crm
from privstats.exceptions import StoreError
from privstats.key import SecretKey
from privstats.protect import Table
from privstats.store import Store
from privstats.synth import generate
from privstats.tabulate import _engine, traffic
from privstats.tabulate.backends import Backend, Reduction
from privstats.tabulate.backends.polars_backend import PolarsBackend
from privstats.tabulate.query import Between, Not, Query

pytestmark = [
    pytest.mark.spark,
    pytest.mark.skipif(shutil.which("java") is None, reason="Spark needs java on PATH"),
    pytest.mark.skipif(
        importlib.util.find_spec("pyspark") is None, reason="pyspark is not installed"
    ),
]

ACTIVITY, FORMS = "crm_activity", "crm_contact_forms"
# One query per thing a backend must get right; every derived dimension appears at least once.
QUERIES = {
    "hour-weekday-warsaw": Query.build(["hour", "weekday"], tz="Europe/Warsaw"),
    "day-calendar-visitors": Query.build(
        "day", aggfunc="visitors", hierarchies={"day": "calendar"}, margins=True,
        tz="Europe/Warsaw",
    ),
    "week-month-period": Query.build(
        ["week", "month"], aggfunc="visitors", start="2026-10-25", end="2026-10-26",
        tz="America/New_York",
    ),
    "resource-channel": Query.build("resource", "channel", margins=True),
    "entry-pages": Query.build(
        "channel", aggfunc="visitors", where={"entry": True, "is_bot": False}
    ),
    "entry-errors-negated": Query.build(
        ["entry", "status_class", "error"],
        where={"hour": Between(8, 20), "status": Not(range(200, 300)), "weekday": Not([6, 7])},
    ),
    "browser-version-bytes": Query.build(
        "browser_version", values="bytes", aggfunc="sum", where={"browser": ["Chrome", "Edge"]}
    ),
    "capped-site-none-negated": Query.build(
        ["device", "site"], cap=20, where={"site": Not("api.example.com")}
    ),
    "channel-versus": Query.build(
        ["channel", "method"], aggfunc="visitors", versus={"channel": "search"},
        where={"resource": "page"},
    ),
    "megabytes-codes": Query.build("megabytes", where={"megabytes": Between(0.0001, 0.05)}),
    "mean-response": Query.build(
        "resource", values="response_ms", aggfunc="mean",
        where={"response_ms": Between(0.5, 800.0)},
    ),
    # One reduction (each unit's distinct values) for both quantiles.
    "median-response": Query.build("day", values="response_ms", aggfunc="median"),
    "p90-response": Query.build("day", values="response_ms", aggfunc="p90"),
    "organisations": Query.build("module", aggfunc="organisations", table=ACTIVITY),
    "per-org-mean": Query.build(
        "size_band", values="records_affected", aggfunc="mean", per="org", table=ACTIVITY
    ),
    "per-org-persons": Query.build(
        "industry", values="persons", aggfunc="median", per="org", table=ACTIVITY
    ),
    "per-person-p90": Query.build(
        "action", values="records_affected", aggfunc="p90", per="person", table=ACTIVITY
    ),
    "signup-cohorts": Query.build(
        "signup_month", "module", aggfunc="visitors", table=ACTIVITY,
        where={"signup_month": Not(["2022-02", "2022-03", "2024-10"])},
    ),
    "signup-partner-versus": Query.build(
        ["signup_month", "partner"], values="records_affected", table=ACTIVITY,
        versus={"partner": "acme"},
    ),
    "forms-signup": Query.build(["topic", "signup_month"], table=FORMS),
    "active-months-warsaw": Query.build(
        ["active_month", "plan"], aggfunc="visitors", table="crm_accounts", tz="Europe/Warsaw"
    ),
}  # fmt: skip


class _Once:
    """A backend that reduces each request once: the contributions and the true table of a
    query read the same reduction, and the time Spark takes goes to more queries instead."""

    def __init__(self, inner: Backend) -> None:
        self.inner, self.name = inner, inner.name
        self.seen: dict[Reduction, pl.DataFrame] = {}

    def reduce(self, store: Store, reduction: Reduction) -> pl.DataFrame:
        if reduction not in self.seen:
            self.seen[reduction] = self.inner.reduce(store, reduction)
        return self.seen[reduction]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    root = tmp_path_factory.mktemp("spark")
    # Warsaw leaves summer time on 2026-10-25; Monday 2026-10-26 starts an ISO week.
    generate(root / "in", days=3, visitors=100, seed=5, start=dt.date(2026, 10, 24))
    config = demo_config(root / "store")
    config = dataclasses.replace(
        config, anonymise=dataclasses.replace(config.anonymise, login=LoginPolicy.PERSON)
    )
    key = SecretKey(secrets.token_bytes(32))
    assert all(result.ok for result in ingest_generated(config, key, root / "in"))
    assert ingest_generated_crm(config, key, root / "in") is not None
    return Store(config.store_path)


@pytest.fixture(scope="module")
def spark() -> Backend:
    from privstats.tabulate.backends.spark_backend import SparkBackend

    return _Once(SparkBackend())


@pytest.fixture(scope="module")
def polars() -> Backend:
    return _Once(PolarsBackend())


def _sorted(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.sort(frame.columns, nulls_last=True)


def _same(spark: pl.DataFrame, polars: pl.DataFrame) -> None:
    assert spark.schema == polars.schema
    assert _sorted(spark).equals(_sorted(polars))


def _same_table(spark: Table | None, polars: Table | None) -> None:
    assert spark is not None and polars is not None
    assert (spark.dims, spark.kind) == (polars.dims, polars.kind)
    assert dict(spark.codes) == dict(polars.codes)
    pd.testing.assert_frame_equal(spark.keys, polars.keys)
    np.testing.assert_array_equal(spark.persons, polars.persons)
    # Floats summed in the engine's (unordered) group-bys: equal up to the order of additions.
    pd.testing.assert_frame_equal(spark.cells, polars.cells, check_exact=False, rtol=1e-12)
    for part in ("total", "ptr", "parts", "exact"):
        np.testing.assert_array_equal(
            getattr(spark.relations, part), getattr(polars.relations, part)
        )


@pytest.mark.parametrize("name", QUERIES)
def test_contributions_and_tables_are_the_polars_backends(
    store: Store, spark: Backend, polars: Backend, name: str
) -> None:
    query = QUERIES[name]
    expected = _engine.contributions(store, query, polars)
    assert expected.height > 0, "a query that selects nothing compares nothing"
    _same(_engine.contributions(store, query, spark), expected)
    ours, theirs = (_engine.true_table(query, store, backend=b) for b in (spark, polars))
    assert ours.cap_binds == theirs.cap_binds
    _same_table(ours.grid, theirs.grid)
    assert (ours.sums is None) == (theirs.sums is None)
    if ours.sums is not None:
        _same_table(ours.sums, theirs.sums)


def test_float_codes_and_versus_on_them_are_polars_texts(
    store: Store, spark: Backend, polars: Backend
) -> None:
    # Java writes 0.000512 as 5.12E-4 and Polars 1001 / 1000 as 1.0010000000000001.
    codes = _engine.contributions(store, Query.build("response_ms"), polars)["response_ms"]
    common = codes.value_counts(sort=True)["response_ms"][0]
    for code in (common, "1.50", "(none)"):
        query = Query.build("response_ms", versus={"response_ms": code})
        _same(*(_engine.contributions(store, query, b) for b in (spark, polars)))


def test_site_domains_and_patterns_with_regex_characters_classify_alike(
    store: Store, spark: Backend, polars: Backend
) -> None:
    settings = traffic.Settings(
        asset_patterns=("/static/css/*", "*.svg", "/a b/*", "/x-y#z&~/*", "/(v1)+[x]{2}?$^|./*"),
        api_patterns=("/:slug/api/*", "*/v2/*"),
        site_domains=("example.com", "t.co"),
    )
    query = Query.build(["resource", "channel", "entry"], aggfunc="visitors")
    asked = dataclasses.replace(_engine.reduction(store, query), traffic=settings)
    _same(spark.reduce(store, asked), polars.reduce(store, asked))


def test_java_reads_the_glob_patterns_as_rust_does(spark: Backend) -> None:
    from pyspark.sql.functions import col

    from privstats.tabulate.backends.spark_backend import java_pattern, session

    patterns = ("/static/*", "*.css", "/a b/*", "/x-y#z&~/*", "/(v1)+[x]{2}?$^|./*", "/€/*",
                "/tab\there/*", "/back\\slash/*", "/graphql")  # fmt: skip
    paths = [
        "/static/a.css", "/static/a\n", "/static/a\r\nb", "/static/\u2028", "/x.css\n",
        "/a b/c", "/x-y#z&~/q", "/(v1)+[x]{2}?$^|./", "/v1x/", "/€/ü", "/tab\there/x",
        "/back\\slash/x", "/graphql", "/graphql\n", "/graphqlx", "", "/static/😀",
    ]  # fmt: skip
    frame = session().createDataFrame([(p,) for p in paths], "path string")
    groups = [patterns[:1], patterns[1:3], patterns[3:6], patterns[6:]]
    globs = [traffic.glob(group) for group in groups]
    rust = [pl.Series(paths).str.contains(pattern).to_list() for pattern in globs]

    def java(translate: bool) -> list[list[bool]]:
        tests = (col("path").rlike(java_pattern(g) if translate else g) for g in globs)
        return [list(column) for column in zip(*frame.select(*tests).collect(), strict=True)]

    assert java(translate=True) == rust
    # Line breaks are where Java's "." and "$" part from Rust's: the translation matters.
    assert java(translate=False) != rust


def test_a_file_gone_under_an_unchanged_catalog_is_said_missing(
    store: Store, tmp_path: Path
) -> None:
    from privstats.tabulate.backends.spark_backend import SparkBackend

    shutil.copytree(store.root, tmp_path / "store")
    copy = Store(tmp_path / "store")
    copy.files("access")[0].unlink()
    with pytest.raises(StoreError, match="missing"):
        SparkBackend().reduce(copy, _engine.reduction(copy, Query.build("hour")))
