"""``PathTemplater.requests``: per-group results as ids, remembered across blocks."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pyarrow as pa
import pytest

from privstats.anonymise import AccessAnonymiser, urls
from privstats.anonymise.urls import PathTemplater, _Known
from privstats.config import AnonymiseConfig, Config
from privstats.key import SecretKey
from privstats.sources.parsed import Coded

BLOCKS = [
    [
        ("GET /blog/how-we-built-it HTTP/1.1", "a"),
        ("GET /blog/how-we-built-it?x=1 HTTP/1.1", "b"),
        ("POST /item/12/edit HTTP/2", "a"),
        ("GET /blog/secret-draft HTTP/1.1", "c"),
        ("GET /item/13/edit HTTP/1.1", "c"),
    ],
    [
        ("GET /blog/how-we-built-it HTTP/1.1", "c"),
        ("GET /blog/secret-draft HTTP/1.1", "c"),
        ("GET /item/14/edit HTTP/2", "d"),
        ("HEAD /static/app.js HTTP/1.1", "d"),
        ("GET * HTTP/1.1", "d"),
    ],
    [
        ("GET /blog/secret-draft HTTP/1.1", "e"),
        ("GET /blog/secret-draft HTTP/1.1", "a"),
        ("POST /item/99/edit HTTP/2", "b"),
        ("HEAD /static/app.js HTTP/1.1", "a"),
    ],
]


def per_row(templater: PathTemplater, block: list[tuple[str, str]]) -> list[tuple]:
    """Each row's (method, template, protocol) texts, from the per-group ids."""
    lines = Coded.from_texts([line for line, _ in block])
    clients = Coded.from_texts([client for _, client in block])
    found = templater.requests(lines.values, lines.codes, clients, requests=True)

    def text(ids: np.ndarray, labels: pa.Array, g: int) -> str | None:
        return None if ids[g] < 0 else labels[int(ids[g])].as_py()

    groups = found.group[lines.codes]
    return [
        (
            text(found.method, found.tokens, g),
            text(found.template, found.templates, g),
            text(found.protocol, found.tokens, g),
        )
        for g in groups.tolist()
    ]


def test_templates_methods_and_protocols_per_row() -> None:
    templater = PathTemplater(AnonymiseConfig(min_segment_clients=3))
    got = [per_row(templater, block) for block in BLOCKS]
    assert got[0][2] == ("POST", "/:slug/:id/edit", "HTTP/2")
    assert got[0][4] == ("GET", "/:slug/:id/edit", "HTTP/1.1")
    # Three clients asked for these by the second block: from then on they are vocabulary,
    # for the groups remembered from the first block too.
    assert got[1][2] == ("GET", "/item/:id/edit", "HTTP/2")
    assert got[2][2] == ("POST", "/item/:id/edit", "HTTP/2")
    assert got[0][0][1] == "/blog/:slug"
    assert got[1][0][1] == "/blog/how-we-built-it"
    assert got[1][1][1] == "/blog/:slug"
    assert got[2][0][1] == "/blog/secret-draft"
    assert got[2][3] == ("HEAD", "/static/:slug", "HTTP/1.1")


def test_forgetting_shapes_and_heads_changes_no_result(monkeypatch: pytest.MonkeyPatch) -> None:
    remembering = PathTemplater(AnonymiseConfig(min_segment_clients=3))
    want = [per_row(remembering, block) for block in BLOCKS]
    monkeypatch.setattr(urls, "_SKELETONS", 1)
    forgetting = PathTemplater(AnonymiseConfig(min_segment_clients=3))
    assert [per_row(forgetting, block) for block in BLOCKS] == want
    assert forgetting.words == remembering.words


def test_known_texts_are_found_even_when_hashes_collide(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(urls, "_hashes", lambda texts: np.zeros(len(texts), dtype=np.uint64))
    known = _Known()
    texts = pa.array(["a", "b", "c"])
    found, hashes = known.find(texts)
    assert found.tolist() == [-1, -1, -1]
    known.add(texts, hashes, np.array([1, 2]), [np.array([10, 20])] * 3)
    # One hash holds one text: "b" is kept, "c" (the same hash) is not.
    assert len(known) == 1
    found, _ = known.find(pa.array(["c", "b", "a"]))
    assert found.tolist() == [-1, 0, -1]
    assert known.entries[0].array.tolist() == [10]


def test_known_texts_keep_their_entries() -> None:
    known = _Known()
    first = pa.array([f"GET /p/{i} HTTP/1.1" for i in range(50)])
    found, hashes = known.find(first)
    known.add(first, hashes, np.arange(0, 50, 2), [np.arange(0, 50, 2) * 3] * 3)
    second = pa.array([f"GET /p/{i} HTTP/1.1" for i in range(49, -1, -1)])
    found, hashes = known.find(second)
    entries = known.entries[0].array
    kept = {i: 3 * i for i in range(0, 50, 2)}
    assert [int(entries[e]) if e >= 0 else None for e in found] == [
        kept.get(i) for i in range(49, -1, -1)
    ]
    known.add(second, hashes, np.flatnonzero(found < 0), [np.full(25, 7)] * 3)
    found, _ = known.find(first)
    assert (found >= 0).all()
    assert len(known) == 50


def test_members_of_a_varied_group_keep_their_own_methods() -> None:
    # A shaped-looking span in the method: the group's members may differ from its head.
    lines = ["GET/1 /x HTTP/1.1", "GET/2 /x HTTP/1.1", "GET /x/1 HTTP/1.1", "GET /x/2 HTTP/1.0"]
    anonymiser = AccessAnonymiser(Config(), SecretKey(bytes(range(32))))
    parsed = SimpleNamespace(request=Coded.from_texts(lines), client=Coded.from_texts(list("abcd")))
    for _ in range(2):  # the second time, the group heads are remembered
        columns = anonymiser._requests(parsed)  # type: ignore[arg-type]
        assert columns["method"].to_pylist() == ["GET/1", "GET/2", "GET", "GET"]
        assert columns["protocol"].to_pylist() == ["HTTP/1.1", "HTTP/1.1", "HTTP/1.1", "HTTP/1.0"]
        assert columns["path"].to_pylist() == ["/:slug", "/:slug", "/:slug/:id", "/:slug/:id"]


def test_pages_under_a_private_prefix_teach_no_words_across_blocks() -> None:
    templater = PathTemplater(AnonymiseConfig(min_segment_clients=2))
    opened = [("GET /crm/contacts/jan-kowalski-42 HTTP/1.1", c) for c in "abc"]
    public = [("GET /help/import HTTP/1.1", c) for c in "ab"]
    assert {row[1] for row in per_row(templater, opened)} == {"/crm/contacts/:slug"}
    per_row(templater, public)
    later = [("GET /crm/contacts/jan-kowalski-42 HTTP/1.1", "d"), ("GET /crm/import HTTP/1.1", "d")]
    assert [row[1] for row in per_row(templater, later)] == ["/crm/contacts/:slug", "/crm/import"]
    assert templater.learned == {"import"}
