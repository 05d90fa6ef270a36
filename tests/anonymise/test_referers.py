from __future__ import annotations

import polars as pl
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from privstats.anonymise.referers import (
    RefererKind,
    classify_referer_ids,
    classify_referer_values,
    classify_referers,
)


def test_referers_keep_only_the_registrable_domain() -> None:
    domains, kinds = classify_referers(
        pl.Series(
            [
                "https://www.google.co.uk/search?q=jan+kowalski",
                "https://l.facebook.com/l.php?u=https%3A%2F%2Fx&h=AT0",
                "https://app.crm.example.com/crm/contacts/4",
                "http://user:pw@203.0.113.216:8080/x",
                "-",
                None,
                "android-app://com.google.android.gm",
            ]
        ),
        frozenset({"example.com"}),
    )
    assert domains.to_list() == [
        "google.co.uk", "facebook.com", "example.com", None, None, None, None,
    ]  # fmt: skip
    assert kinds.to_list() == [
        RefererKind.EXTERNAL, RefererKind.EXTERNAL, RefererKind.INTERNAL, RefererKind.UNKNOWN,
        RefererKind.NONE, RefererKind.NONE, RefererKind.UNKNOWN,
    ]  # fmt: skip


PIECES = [
    "http", "HTTPS", "hTtP", "s", "://", ":", "/", "?", "#", "@", "[", "]", "-", ".", "user",
    "pw", "www.example.com", "Google.CO.uk", "203.0.113.216", "8080", "x", "é", "\t", "",
    "ſ", "Ę", "gęś.pl", "xn--g-1ia2r.pl", "XN--G-1IA2R.PL", "g%C4%99%C5%9B.pl", "q=zażółć",
]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(st.none(), st.lists(st.sampled_from(PIECES), max_size=8).map("".join)),
        min_size=1,
        max_size=30,
    )
)
def test_ids_name_what_the_regex_classification_gives(referers: list[str | None]) -> None:
    sites = frozenset({"example.com"})
    want_domain, want_kind = classify_referer_values(pl.Series(referers, dtype=pl.String), sites)
    domain, domains, kind, kinds = classify_referer_ids(pa.array(referers, pa.string()), sites)
    names = domains.to_pylist()
    assert [names[d] if d >= 0 else None for d in domain] == want_domain.to_list()
    assert [kinds.to_pylist()[k] for k in kind] == want_kind.to_list()
    assert len(set(names)) == len(names)


def test_hosts_after_a_user_part_or_without_one() -> None:
    referers = ["http://a@b.example.com/x", "http://a@/x", "HTTPS://WWW.Example.COM:8080", "-", ""]
    domain, domains, kind, kinds = classify_referer_ids(
        pa.array(referers), frozenset({"example.com"})
    )
    names = domains.to_pylist()
    assert [names[d] if d >= 0 else None for d in domain] == [
        "example.com", None, "example.com", None, None,
    ]  # fmt: skip
    assert [kinds.to_pylist()[k] for k in kind] == [
        RefererKind.INTERNAL, RefererKind.UNKNOWN, RefererKind.INTERNAL, RefererKind.NONE,
        RefererKind.NONE,
    ]  # fmt: skip


def test_a_polish_domain_is_one_domain_however_it_is_spelt() -> None:
    referers = [
        "https://gęś.pl/o-nas",
        "https://GĘŚ.PL/",
        "https://xn--g-1ia2r.pl/?q=zażółć",
        "https://g%C4%99%C5%9B.pl/",
        "https://www.google.pl/search?q=gęślą+jaźń",
    ]
    domain, domains, kind, _ = classify_referer_ids(pa.array(referers), frozenset())
    names = domains.to_pylist()
    assert [names[d] for d in domain] == ["gęś.pl"] * 4 + ["google.pl"]
    assert kind.tolist() == [3] * 5  # external
