from __future__ import annotations

import polars as pl

from privstats.anonymise.urls import PathTemplater, strip_target
from privstats.config import AnonymiseConfig


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
