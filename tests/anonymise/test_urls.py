from __future__ import annotations

import numpy as np
import polars as pl
import pyarrow as pa
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from privstats.anonymise.shapes import shape_keys
from privstats.anonymise.urls import (
    PathTemplater,
    _read_heads,
    _route_re,
    _route_regex,
    _shape,
    _shape_text,
    path_groups,
    strip_target,
)
from privstats.config import AnonymiseConfig
from privstats.exceptions import ConfigError
from privstats.sources.parsed import REQUEST


def template(paths: list[str], clients: list[str], min_clients: int = 3) -> list[str]:
    templater = PathTemplater(AnonymiseConfig(min_segment_clients=min_clients))
    stripped = pl.select(strip_target(pl.Series(paths)))
    return templater.template(stripped.to_series(), pl.Series(clients)).to_list()


def test_identifiers_are_recognised_by_shape() -> None:
    assert template(
        [
            "/crm/contacts/48213",
            "/api/v1/deals/3f2c0f3e-1111-4222-8333-123456789abc",
            "/reset/7f3a9c1b7f3a9c1b7f3a9c1b",
            "/signup/aZ3kQ9xP2mL7vB4n",
            "/contacts/jan.kowalski%40example.pl/edit",
            "/contacts/ola@example.com",
        ],
        ["a"] * 6,
    ) == [
        "/crm/contacts/:id",
        "/api/v1/deals/:uuid",
        "/reset/:token",
        "/signup/:token",
        "/contacts/:email/edit",
        "/contacts/:email",
    ]


def test_query_strings_fragments_and_hosts_are_dropped() -> None:
    assert template(
        ["/search?q=jan+kowalski&email=x%40y.pl", "http://crm.example.com/login#top"], ["a", "b"]
    ) == ["/search", "/login"]


def test_a_personal_slug_seen_by_one_client_is_generalised() -> None:
    paths = ["/crm/contacts/kowalska/edit", "/contacts/jan-kowalski", "/p/anna-nowak"]
    assert template(paths, ["a", "a", "b"]) == [
        "/crm/contacts/:slug/edit",
        "/contacts/:slug",
        "/:slug/:slug",
    ]


def test_a_public_page_read_by_enough_clients_keeps_its_words() -> None:
    paths = ["/blog/how-we-built-it"] * 3 + ["/blog/secret-draft"]
    assert template(paths, ["a", "b", "c", "c"]) == ["/blog/how-we-built-it"] * 3 + ["/blog/:slug"]


def test_configured_routes_replace_their_segment_whoever_asks() -> None:
    paths = ["/u/jan-kowalski", "/u/jan-kowalski/settings", "/users/anna"]
    assert template(paths, ["a", "b", "c"], min_clients=1) == [
        "/u/:user",
        "/u/:user/settings",
        "/users/:user",
    ]


def test_a_raw_segment_that_looks_like_a_placeholder_is_not_trusted() -> None:
    assert template(["/x/:jan"], ["a"]) == ["/:slug/:slug"]


def test_vocabulary_is_learned_across_batches() -> None:
    templater = PathTemplater(AnonymiseConfig(min_segment_clients=2))
    first = templater.template(pl.Series(["/docs/intro"]), pl.Series(["a"]))
    second = templater.template(pl.Series(["/docs/intro"]), pl.Series(["b"]))
    assert first.to_list() == ["/docs/:slug"]
    assert second.to_list() == ["/docs/intro"]
    assert templater.learned == {"intro"}


def groups(lines: list[str]) -> list[int]:
    found = path_groups(pa.array(lines), np.ones(len(lines), dtype=bool), requests=True)
    return found.group.tolist()


def test_request_lines_differing_only_in_shaped_segments_or_queries_share_a_group() -> None:
    assert groups(
        [
            "GET /crm/contacts/42 HTTP/1.1",
            "GET /crm/contacts/77?tab=notes HTTP/1.1",
            "GET /crm/contacts/3f2c0f3e-1111-4222-8333-123456789abc HTTP/1.1",
            "POST /crm/contacts/42 HTTP/1.1",
            "GET /crm/contacts/42 HTTP/2",
            "GET /crm/contacts/43 HTTP/3",
            "GET /crm/contacts/jan-kowalski HTTP/1.1",
        ]
    ) == [0, 0, 1, 2, 3, 4, 5]


def test_a_group_knows_each_members_method_and_protocol() -> None:
    lines = ["GET/1 /x HTTP/1.1", "GET/2 /x HTTP/1.1", "GET /x/1 HTTP/1.1", "GET /x/2 HTTP/1.0"]
    found = path_groups(pa.array(lines), np.ones(4, dtype=bool), requests=True)
    assert found.method.to_pylist() == ["GET/1", "GET/2", "GET", "GET"]
    assert found.protocol.to_pylist() == ["HTTP/1.1", "HTTP/1.1", "HTTP/1.1", "HTTP/1.0"]
    assert found.group[2] != found.group[3] and found.paths[found.group[2]] == "/x/1"


def test_no_grouping_when_a_text_holds_a_mark_byte() -> None:
    assert groups(["GET /x/\x03 HTTP/1.1", "GET /x/5 HTTP/1.1"]) == [0, 1]


def test_a_record_under_a_private_prefix_stays_a_slug_however_many_open_it() -> None:
    # Ten colleagues open one contact: the name is still the contact's, not public vocabulary.
    paths = ["/crm/contacts/jan-kowalski-42/edit"] * 10 + ["/blog/how-we-built-it"] * 10
    clients = [f"staff-{n}" for n in range(10)] * 2
    assert (
        template(paths, clients)
        == ["/crm/contacts/:slug/edit"] * 10 + ["/blog/how-we-built-it"] * 10
    )


def test_a_word_learned_on_a_public_page_is_kept_under_a_private_prefix() -> None:
    paths = ["/help/import"] * 3 + ["/crm/import"]
    assert template(paths, ["a", "b", "c", "a"]) == ["/help/import"] * 3 + ["/crm/import"]


def test_private_prefixes_are_named_by_their_words() -> None:
    with pytest.raises(ConfigError, match="private_prefixes"):
        PathTemplater(AnonymiseConfig(private_prefixes=("/2024/",)))
    with pytest.raises(ConfigError, match="private_prefixes"):
        AnonymiseConfig(private_prefixes=("crm",))


# Ingest reads new shapes and group heads in Python, a few at a time; the polars expressions
# above (``template``) are the definition. Lines hold no newline, the one character where the
# two engines' ``.`` and ``$`` differ, so none is drawn here.
PIECES = [
    "/", "/", " ", "  ", "?", "#", "@", "%40", "%4", "-", "_", ".", ":", "$", "\\", "a", "F",
    "g", "Z", "0", "7", "x", "é", "\t", "\r", "\x01", "\u2028", "GET", "HTTP/1.1", "http://h",
    "HTTPS://h.example:8080", "3f2c0f3e-1111-4222-8333-123456789abc", "1" * 16, "deadbeef",
    "a1b2c3d4e5f6g7h8", "aZ3kQ9xP2mL7vB4n", "abcdefgh", "x9", "2026",
]  # fmt: skip
pieces = st.lists(st.sampled_from(PIECES), max_size=12).map("".join)


@settings(max_examples=300, deadline=None)
@given(st.lists(pieces, min_size=1, max_size=30))
# Three letter-digit switches and four, either side of a token.
@example(["abcdefgh2026abcdefgh2026", "abcdefgh2026abcdefgh2026a", "x9x9x9x9x9x9x9x9"])
def test_a_segment_is_shaped_in_python_as_polars_shapes_it(segments: list[str]) -> None:
    expected = pl.select(_shape(pl.Series(segments, dtype=pl.String))).to_series().to_list()
    assert [_shape_text(seg) for seg in segments] == expected


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(pieces, st.none()), min_size=1, max_size=30))
def test_heads_are_read_in_python_as_polars_reads_them(texts: list[str | None]) -> None:
    array = pa.array(texts, pa.string())
    keys, _, _ = shape_keys(array, np.arange(len(texts)), requests=True)
    heads = _read_heads(array, keys, requests=True)
    parts = pl.Series(texts, dtype=pl.String).str.extract_groups(REQUEST).struct.unnest()
    assert heads.method.to_pylist() == parts["1"].to_list()
    assert heads.protocol.to_pylist() == parts["3"].to_list()
    assert heads.paths == pl.select(strip_target(parts["2"])).to_series().to_list()
    varied = pl.Series(keys.to_pylist(), dtype=pl.String).str.contains(
        "^[^ ]*[\x01-\x04]|[\x01-\x04][^ ]*$"
    )
    assert heads.varied.tolist() == varied.fill_null(False).to_list()
    targets = _read_heads(array, keys, requests=False)
    assert (
        targets.paths
        == pl.select(strip_target(pl.Series(texts, dtype=pl.String))).to_series().to_list()
    )


@pytest.mark.parametrize(
    "route", ["/u/:user", "/a$1/:x/b\\c", "/t/:id$x/:n\\1", "/$/:a", "/:any", "/a/b/:c"]
)
@settings(max_examples=60, deadline=None)
@given(paths=st.lists(pieces.map(lambda p: "/" + p), min_size=1, max_size=20))
def test_a_route_rewrites_alike_in_python_and_polars(route: str, paths: list[str]) -> None:
    pattern, replacement = _route_regex(route)
    inputs = [*paths, route.replace(":", ""), route + "/more", route.rsplit("/", 1)[0] + "/"]
    expected = pl.Series(inputs, dtype=pl.String).str.replace(pattern, replacement).to_list()
    assert [_route_re(route).apply(path) for path in inputs] == expected


def test_a_word_needs_clients_of_several_networks_not_one_padded_network() -> None:
    templater = PathTemplater(AnonymiseConfig(min_segment_clients=10, min_segment_networks=3))
    padded = [f"198.51.100.{i}" for i in range(12)]  # one /16: a cloud account's addresses
    assert set(templater.template(pl.Series(["/team/jan-kowalski"] * 12), pl.Series(padded))) == {
        "/:slug/:slug"
    }
    spread = [f"{10 + i % 3}.0.0.{i}" for i in range(12)]  # three networks
    assert set(templater.template(pl.Series(["/team/all-hands"] * 12), pl.Series(spread))) == {
        "/team/all-hands"
    }
