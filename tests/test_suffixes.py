from __future__ import annotations

import socket

import pytest

from privstats import suffixes
from privstats.suffixes import split_domain


@pytest.mark.parametrize(
    ("name", "parts"),
    [
        ("a.b.example.co.uk", ("a.b", "example.co.uk", "co.uk")),
        ("example.com", ("", "example.com", "com")),
        ("www.пример.рф", ("www", "пример.рф", "рф")),
        ("www.xn--e1afmkfd.xn--p1ai", ("www", "xn--e1afmkfd.xn--p1ai", "xn--p1ai")),
        # Privately run suffixes are left out: a blog's host counts under its provider.
        ("jan.blogspot.com", ("jan", "blogspot.com", "com")),
        ("co.uk", ("", "", "co.uk")),
        ("intranet.local", ("", "", "")),
        ("localhost", ("", "", "")),
    ],
)
def test_a_host_name_splits_at_its_registrable_domain(
    name: str, parts: tuple[str, str, str]
) -> None:
    assert split_domain(name) == parts


def test_the_suffix_list_is_the_bundled_one_with_no_network(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("the public-suffix list was fetched")

    monkeypatch.setattr(socket, "socket", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    suffixes._suffix_list.cache_clear()
    try:
        assert split_domain("www.google.co.uk") == ("www", "google.co.uk", "co.uk")
    finally:
        suffixes._suffix_list.cache_clear()
