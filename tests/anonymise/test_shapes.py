"""The compiled shape keys agree with the regex passes that define them, or step aside."""

from __future__ import annotations

import numpy as np
import polars as pl
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from privstats.anonymise.shapes import shape_keys
from privstats.anonymise.urls import _shape_keys, path_groups

# Pieces that make the shape rules and the query cut meet in every order.
PIECES = [
    "/", "/", " ", "  ", "?", "#", "@", "%40", "%4", "-", ".", "a", "F", "g", "0", "7", "x",
    "GET ", " HTTP/1.1", "HTTP/2", "3f2c0f3e-1111-4222-8333-123456789abc",
    "3f2c0f3e111142228333123456789abc", "1" * 31, "1" * 32, "1" * 33, "deadbeef", "a" * 16,
    "jan.kowalski%40example.pl", "ola@example.com", "é", "\t", "\n", "\x01", "\x03",
    "zażółć", "Ł", "ó", "€", "\u201e", "\u00a0", "\u0085", "\u2003", "\u2028", "\u3000", "\x7f",
]  # fmt: skip
texts = st.lists(st.sampled_from(PIECES), max_size=14).map("".join)


def kernel(values: list[str | None], requests: bool) -> tuple[list[str], np.ndarray, bool]:
    keys, vouched, marked = shape_keys(
        pa.array(values, pa.string()), np.arange(len(values)), requests=requests
    )
    return keys.to_pylist(), vouched, marked


def regex(values: list[str], requests: bool) -> list[str]:
    return _shape_keys(pl.Series(values, dtype=pl.String), requests=requests).to_list()


def vouchable(text: str) -> bool:
    """No control character and no white space but the space: letters beyond ASCII are fine."""
    return all(ch >= " " and ch != "\x7f" and (ch == " " or not ch.isspace()) for ch in text)


@settings(max_examples=300, deadline=None)
@given(st.lists(texts, min_size=1, max_size=40), st.booleans())
def test_keys_are_the_regex_keys_for_every_text_vouched_for(
    values: list[str], requests: bool
) -> None:
    keys, vouched, marked = kernel(values, requests)
    expected = regex(values, requests)
    assert vouched.tolist() == [vouchable(v) for v in values]
    assert marked == any(any(m in v for m in "\x01\x02\x03\x04") for v in values)
    for key, want, ok in zip(keys, expected, vouched, strict=True):
        if ok:
            assert key == want


@pytest.mark.parametrize(
    ("text", "requests", "key"),
    [
        # The byte ending a match is taken with it: the next segment cannot match in that pass.
        ("GET /1/2/3 HTTP/1.1", True, "GET /\x03/2/\x03 HTTP/1.1"),
        ("/1/2/3", False, "/\x03/2/\x03"),
        # A request line's last token is the protocol's: never shaped at the end of the line.
        ("GET /a/12", True, "GET /a/12"),
        ("GET /a/12?x=1 HTTP/1.1", True, "GET /a/\x03 HTTP/1.1"),
        ("/a/12?x=1", False, "/a/\x03"),
        # 32 digits are a UUID's, not a number's; 16 hex digits a token.
        ("/" + "1" * 32, False, "/\x02"),
        ("/" + "1" * 33, False, "/\x04"),
        ("/deadbeefdeadbeef/x", False, "/\x04/x"),
        ("/u/ola@example.com/edit", False, "/u/\x01/edit"),
        ("/u/x%40y.pl?a", False, "/u/\x01"),
        # A target with a space: a segment ended by it is not a segment.
        ("/a/12 b", False, "/a/12 b"),
        ("", True, ""),
        ("", False, ""),
    ],
)
def test_known_keys(text: str, requests: bool, key: str) -> None:
    assert regex([text], requests) == [key]
    assert kernel([text], requests)[0] == [key]


def test_texts_it_cannot_vouch_for_are_handed_back() -> None:
    values = ["GET /a\u00a0b/12 HTTP/1.1", "GET /a\t/12 HTTP/1.1", None, "GET /1 HTTP/1.1"]
    keys, vouched, marked = kernel(values, requests=True)
    assert vouched.tolist() == [False, False, False, True]
    assert keys[3] == "GET /\x03 HTTP/1.1"
    assert not marked


def test_polish_paths_are_keyed_by_the_kernel() -> None:
    values = ["GET /blog/zażółć/12?gęś=1 HTTP/1.1", "GET /ścieżka/ó@ą.pl HTTP/1.1"]
    keys, vouched, _ = kernel(values, requests=True)
    assert vouched.tolist() == [True, True]
    assert keys == ["GET /blog/zażółć/\x03 HTTP/1.1", "GET /ścieżka/\x01 HTTP/1.1"]
    assert keys == regex(values, requests=True)


def test_a_mark_anywhere_is_reported_even_in_the_query() -> None:
    assert kernel(["GET /a?b=\x02 HTTP/1.1"], requests=True)[2]
    assert kernel(["/a?b=\x04"], requests=False)[2]
    assert not kernel(["GET /a?b=c HTTP/1.1"], requests=True)[2]


def test_only_the_picked_texts_of_a_sliced_or_large_array_are_keyed() -> None:
    values = ["/x/1", "/y/deadbeefdeadbeef", "/z/\x01", "/w/2?q=1"]
    for array in (pa.array(values).slice(1), pa.array(values, pa.large_string()).slice(1)):
        keys, vouched, marked = shape_keys(array, np.array([0, 2]), requests=False)
        assert keys.to_pylist() == ["/y/\x04", "/w/\x03"]
        assert vouched.tolist() == [True, True]
        assert not marked  # the text with the mark was not picked


def test_the_longest_lines_are_keyed_whole() -> None:
    long = "GET /" + "/".join(["123", "a" * 5000, "ola@example.com"] * 400) + "?q=1 HTTP/1.1"
    assert kernel([long], requests=True)[0] == regex([long], requests=True)


def test_groups_with_texts_the_kernel_hands_back_are_those_of_the_regex_keys() -> None:
    lines = [
        "GET /crm/contacts/1/edit HTTP/1.1",
        "GET /crm/contacts/2/edit HTTP/1.1",
        "GET /crm/zażółć/3 HTTP/1.1",
        "GET /crm/zażółć/4?x=1 HTTP/1.1",
        "GET /crm/zażółć/x HTTP/1.1",
    ]
    groups = path_groups(pa.array(lines), np.ones(len(lines), dtype=bool), requests=True)
    assert groups.group.tolist() == [0, 0, 1, 1, 2]
    assert groups.paths == ["/crm/contacts/1/edit", "/crm/zażółć/3", "/crm/zażółć/x"]
