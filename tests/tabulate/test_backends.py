"""Every backend reduces a query's rows to the same lines, so every table is the same table.

The analyst queries below touch every derived dimension, filter, measure and unit the engine
knows, on a week of synthetic traffic and CRM records; ``tests/report/test_backends.py`` holds
the standard reports' tables to the same on the committed sample.
"""

from __future__ import annotations

import secrets
import shutil
from pathlib import Path

import pandas as pd
import polars as pl
import pytest

from privstats.config import EngineConfig
from privstats.demo import demo_config, ingest_generated, ingest_generated_crm
from privstats.exceptions import ConfigError, StoreError
from privstats.key import SecretKey
from privstats.store import Store
from privstats.synth import generate
from privstats.tabulate import _engine
from privstats.tabulate.backends import Backend, backend
from privstats.tabulate.query import Between, Not, Query

LOCAL = "Europe/Warsaw"
QUERIES = {
    "day x hour visitors, margins": Query.build("day", "hour", aggfunc="visitors", margins=True),
    "local weekday x hour requests": Query.build("weekday", "hour", tz=LOCAL, margins=True),
    "week and month": Query.build("week", "month", aggfunc="visitors", tz=LOCAL),
    "calendar subtotals": Query.build(
        "day", aggfunc="visitors", margins=True, hierarchies={"day": "calendar"}
    ),
    "status classes and errors": Query.build("status_class", "error", margins=True),
    "resources": Query.build("resource", aggfunc="visitors", margins=True),
    "channels of people": Query.build(
        "channel", aggfunc="visitors", where={"is_bot": False}, margins=True
    ),
    "entry pages": Query.build("path", aggfunc="visitors", where={"entry": True}, top=10),
    "browser versions": Query.build("browser_version", aggfunc="visitors", margins=True),
    "pages, no assets nor API": Query.build(
        "path", where={"resource": "page", "status": Not(range(400, 600))}
    ),
    "days between two, a text range": Query.build(
        "day", where={"day": Between("2026-10-02", "2026-10-04")}, tz=LOCAL
    ),
    "bytes by device": Query.build("device", values="bytes", aggfunc="sum", margins=True),
    "megabytes by day": Query.build("day", values="megabytes", aggfunc="sum", tz=LOCAL),
    "median response by resource": Query.build(
        "resource", values="response_ms", aggfunc="median", margins=True
    ),
    "p90 response of slow pages": Query.build(
        "path", values="response_ms", aggfunc="p90", where={"response_ms": Between(5, 10_000)}
    ),
    "mean response by browser": Query.build("browser", values="response_ms", aggfunc="mean"),
    "one browser versus the rest": Query.build(
        "browser", "device", aggfunc="visitors", versus={"browser": "Firefox"}
    ),
    "capped requests": Query.build("os", cap=50, margins=True),
    "active persons by module": Query.build(
        "module", table="crm_activity", aggfunc="visitors", margins=True
    ),
    "organisations by industry and size": Query.build(
        "industry", "size_band", table="crm_activity", aggfunc="organisations", margins=True
    ),
    "records per organisation": Query.build(
        "module", table="crm_activity", values="records_affected", aggfunc="mean", per="org"
    ),
    "persons per organisation": Query.build(
        "size_band", table="crm_activity", values="persons", aggfunc="median", per="org"
    ),
    "actions per person": Query.build(
        "action", table="crm_activity", aggfunc="p90", per="person", margins=True
    ),
    "cohorts": Query.build(
        "signup_month", "module", table="crm_activity", aggfunc="visitors", margins=True, tz=LOCAL
    ),
    "retention on accounts": Query.build(
        "month", "active_month", table="crm_accounts", aggfunc="visitors", margins=True, tz=LOCAL
    ),
    "new accounts by channel": Query.build(
        "signup_channel", "plan", table="crm_accounts", aggfunc="visitors", margins=True
    ),
}


@pytest.fixture(scope="module")
def week(tmp_path_factory: pytest.TempPathFactory) -> Store:
    """A week of synthetic traffic and CRM records, ingested with a throw-away key."""
    root = tmp_path_factory.mktemp("week")
    generate(root / "inputs", days=7, visitors=150, seed=22, huge_line=False)
    config = demo_config(root / "store")
    key = SecretKey(secrets.token_bytes(32))
    assert all(r.ok for r in ingest_generated(config, key, root / "inputs"))
    assert ingest_generated_crm(config, key, root / "inputs") is not None
    return Store(config.store_path)


def _lines(store: Store, query: Query, engine: Backend) -> pl.DataFrame:
    lines = _engine.contributions(store, query, engine)
    return lines.sort(lines.columns)


@pytest.mark.parametrize("name", QUERIES)
def test_duckdb_reduces_every_query_as_polars_does(week: Store, name: str) -> None:
    query = QUERIES[name]
    embedded = _lines(week, query, backend("polars"))
    assert embedded.height > 0, "a query that reads nothing proves nothing"
    assert _lines(week, query, backend("duckdb")).equals(embedded)


@pytest.mark.parametrize("name", ["calendar subtotals", "median response by resource",
                                  "organisations by industry and size", "cohorts",
                                  "retention on accounts"])  # fmt: skip
def test_the_tables_of_both_backends_are_identical(week: Store, name: str) -> None:
    query = QUERIES[name]
    tables = [
        _engine.true_table(query, week, backend=backend(b)).grid for b in ("polars", "duckdb")
    ]
    assert tables[0] is not None and tables[1] is not None
    assert len(tables[0].cells) > 1
    pd.testing.assert_frame_equal(tables[0].cells, tables[1].cells, check_exact=True)


def test_duckdb_held_to_a_memory_limit_gives_the_same_lines(week: Store) -> None:
    query = QUERIES["entry pages"]
    limited = backend("duckdb", EngineConfig(duckdb_memory="64MB"))
    assert _lines(week, query, limited).equals(_lines(week, query, backend("polars")))


def test_an_empty_period_reduces_to_no_lines_with_the_engines_columns(week: Store) -> None:
    query = Query.build("day", "hour", start="2030-01-01", end="2030-01-31")
    empty = [_lines(week, query, backend(b)) for b in ("polars", "duckdb")]
    assert empty[0].height == empty[1].height == 0
    assert empty[0].schema == empty[1].schema
    assert _engine.true_table(query, week, backend=backend("duckdb")).grid is None


def test_a_damaged_store_file_is_one_line_from_duckdb_too(tmp_path: Path, week: Store) -> None:
    """DuckDB's own error names the file; the store's says what to run, and nothing else."""
    copy = tmp_path / "store"
    shutil.copytree(week.root, copy)
    store = Store(copy)
    victim = store.files("access")[0]
    victim.write_bytes(b"PAR1 not a parquet file PAR1")
    with pytest.raises(StoreError, match="unreadable; run 'privstats store check'") as caught:
        _engine.contributions(store, QUERIES["resources"], backend("duckdb"))
    assert "\n" not in str(caught.value)


def test_an_unknown_backend_is_a_configuration_error() -> None:
    with pytest.raises(ConfigError, match="unknown backend 'spark2'; backends: polars, duckdb"):
        backend("spark2")
