"""A path or host has one spelling, whichever escapes or Unicode form it arrived in."""

from __future__ import annotations

import unicodedata
from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from privstats.anonymise.escapes import normal_host, normal_path


@pytest.mark.parametrize(
    ("path", "normal"),
    [
        ("/blog/za%C5%BC%C3%B3%C5%82%C4%87", "/blog/zażółć"),
        ("/blog/za%c5%bc%c3%b3%c5%82%c4%87", "/blog/zażółć"),
        ("/blog/zażółć", "/blog/zażółć"),
        ("/blog/za\u017co\u0301\u0142c\u0301", "/blog/zażółć"),  # decomposed, as macOS sends it
        ("/%7Ejan/%41-b", "/~jan/A-b"),  # unreserved ASCII is decoded
        ("/a%2fb/c%3Fd%23e%20f", "/a%2Fb/c%3Fd%23e%20f"),  # delimiters stay escaped
        ("/kontakt/jan%40example.pl", "/kontakt/jan%40example.pl"),  # an e-mail stays one
        ("/caf%E9", "/caf\ufffd"),  # a Latin-1 byte is no UTF-8
        ("/a%C2%A0b", "/a%C2%A0b"),  # a no-break space is no letter
        ("/100%", "/100%25"),
        ("/%%34%31", "/%2541"),
        ("/plain/ascii", "/plain/ascii"),
    ],
)
def test_paths_are_spelt_one_way(path: str, normal: str) -> None:
    assert normal_path(path) == normal


def test_hosts_are_spelt_one_way() -> None:
    spellings = ["gęś.pl", "GĘŚ.PL", "xn--g-1ia2r.pl", "XN--G-1IA2R.pl", "g%C4%99%C5%9B.pl"]
    assert {normal_host(h) for h in spellings} == {"gęś.pl"}
    assert normal_host("xn--not-punycode-.pl") == "xn--not-punycode-.pl"


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_a_normal_path_is_its_own_normal_form(path: str) -> None:
    once = normal_path(path)
    assert normal_path(once) == once
    assert once is not None and once.count("/") == path.count("/")
    for delimiter in "?# @":
        assert once.count(delimiter) <= path.count(delimiter)


words = st.text(
    st.characters(categories=["Lu", "Ll", "Nd"], include_characters="-._~ąćęłńóśźżĄĆĘŁŃÓŚŹŻ"),
    min_size=1,
)


@settings(max_examples=300, deadline=None)
@given(st.lists(words, min_size=1, max_size=4))
def test_an_escaped_path_reads_as_the_letters_it_escapes(segments: list[str]) -> None:
    path = "/" + "/".join(segments)
    assert normal_path(quote(path, safe="/")) == unicodedata.normalize("NFC", path)
