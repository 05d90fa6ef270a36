"""Page views, channels and entry pages: derived from stored columns at query time."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import polars as pl

from privstats import tabulate
from privstats.config import Config, ReportConfig
from privstats.key import SecretKey
from privstats.tabulate import _engine
from privstats.tabulate.query import Query
from tests.test_tabulate import AGENT, store_with


def visit(client: str, path: str, minute: int, referer: str = "-", day: int = 1) -> str:
    return (
        f'{client} - - [{day:02d}/Oct/2026:12:{minute:02d}:00 +0000] "GET {path} HTTP/1.1" 200 '
        f'500 "{referer}" "{AGENT}"'
    )


def rows(store, dims: list[str], **where) -> dict[tuple[str, ...], int]:
    query = Query.build(dims, table="access", where=where or None)
    frame = _engine.read_rows(store, query, dims=dims)
    counts = frame.group_by(dims).len()
    return {tuple(str(r[d]) for d in dims): r["len"] for r in counts.iter_rows(named=True)}


def test_requests_are_page_views_static_files_or_api_calls(
    tmp_path: Path, config: Config, key: SecretKey, monkeypatch
) -> None:
    lines = [
        visit("198.51.100.1", "/pricing", 0),
        visit("198.51.100.1", "/static/site.css", 1),
        visit("198.51.100.1", "/img/logo.png", 2),  # stored as /img/:slug
        visit("198.51.100.1", "/api/v1/contacts", 3),
    ]
    store = store_with(tmp_path, config, key, lines)
    monkeypatch.chdir(tmp_path)  # the configuration's [report] patterns: the defaults
    assert rows(store, ["resource"]) == {("page",): 1, ("asset",): 2, ("api",): 1}


def test_asset_patterns_are_a_setting(config: Config) -> None:
    own = dataclasses.replace(config, report=ReportConfig(asset_patterns=("/pricing",)))
    kinds = _engine.derived_columns("UTC", own)["resource"]
    frame = pl.DataFrame({"path": ["/pricing", "/static/site.css"]}).with_columns(kind=kinds)
    assert frame["kind"].to_list() == ["asset", "page"]


def test_channels_come_from_the_referring_domain(
    tmp_path: Path, config: Config, key: SecretKey, monkeypatch
) -> None:
    lines = [
        visit("198.51.100.1", "/", 0),
        visit("198.51.100.2", "/", 0, "https://www.google.pl/search?q=jan+kowalski"),
        visit("198.51.100.3", "/", 0, "https://t.co/abc"),
        visit("198.51.100.4", "/", 0, "https://blog.example.org/post"),
        visit("198.51.100.5", "/", 0, "android-app://com.slack"),
    ]
    store = store_with(tmp_path, config, key, lines)
    monkeypatch.chdir(tmp_path)
    assert rows(store, ["channel"]) == {
        ("direct",): 1, ("search",): 1, ("social",): 1, ("referral",): 1, ("unknown",): 1,
    }  # fmt: skip


def test_an_entry_page_is_the_first_page_view_of_a_visitors_day(
    tmp_path: Path, config: Config, key: SecretKey, monkeypatch
) -> None:
    lines = [
        visit("198.51.100.1", "/static/app.js", 0),  # a file first: not a page
        visit("198.51.100.1", "/blog", 1),
        visit("198.51.100.1", "/pricing", 2),
        visit("198.51.100.1", "/pricing", 3, day=2),  # the next day opens with /pricing
    ]
    store = store_with(tmp_path, config, key, lines)
    monkeypatch.chdir(tmp_path)
    assert rows(store, ["day", "path"], entry=True) == {
        ("2026-10-01", "/blog"): 1, ("2026-10-02", "/pricing"): 1,
    }  # fmt: skip


def test_a_protected_table_of_page_views_in_milliseconds(
    tmp_path: Path, config: Config, key: SecretKey, monkeypatch
) -> None:
    lines = [visit(f"198.51.100.{i}", "/pricing", i % 50) for i in range(30)]
    store = store_with(tmp_path, config, key, lines)
    monkeypatch.chdir(tmp_path)
    table = tabulate.crosstab("resource", aggfunc="visitors", margins=True, store=store)
    shown = table.shown.set_index("resource")["value"]
    assert shown["page"] == 30 and shown["Total"] == 30


def test_every_derived_and_joined_dimension_is_in_the_data_dictionary() -> None:
    from privstats import dictionary

    assert set(dictionary.DERIVED) == set(_engine.DERIVED)
    assert set(dictionary.JOINED) == set(_engine.JOINED)
    assert "resource" in dictionary.columns("access").index
    assert "signup_month" in dictionary.columns("crm_activity").index


def test_a_quantile_of_a_value_no_row_has_is_an_empty_table(
    tmp_path: Path, config: Config, key: SecretKey
) -> None:
    # The combined log format has no response time: nothing to take the median of.
    store = store_with(tmp_path, config, key, [visit(f"198.51.100.{i}", "/", i) for i in range(30)])
    table = tabulate.pivot_table(values="response_ms", index="resource", aggfunc="median",
                                 margins=True, store=store)  # fmt: skip
    assert len(table.shown) == 0
