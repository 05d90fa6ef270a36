"""Canaries: known identifying values, found in any form, and kept only as keyed digests."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest
from canaries import ALL as SPINE_CANARIES
from canaries import forms
from leaks.planted import CANARIES, EMAIL, IP, NAME

from privstats.exceptions import ConfigError, InputError
from privstats.key import SecretKey
from privstats.leaks import CanarySet, Kind, LeakScanner


def spans(canaries: CanarySet, text: str) -> list[str]:
    """The canaries found, each once, without the ones inside a longer one."""
    found = {(start, end) for start, end in canaries.find(text)}
    outer = [
        (s, e) for s, e in found if not any(o != (s, e) and o[0] <= s and e <= o[1] for o in found)
    ]
    return sorted(text[start:end] for start, end in outer)


def test_a_name_is_found_across_case_markup_and_line_breaks(canaries: CanarySet) -> None:
    assert spans(canaries, "Report for ZOFIA\n   KANAREK, done") == ["ZOFIA\n   KANAREK"]
    assert spans(canaries, "Kanarek, Zofia") == ["Kanarek, Zofia"]  # surname first
    assert spans(canaries, "Zofia Kanarkowa") == []  # another person
    assert spans(canaries, "Zofia") == []  # half a name is not the name


def test_a_name_without_its_diacritics_is_found(canary_key: bytes) -> None:
    canaries = CanarySet.build(["Łukasz Żółć"], canary_key)
    assert spans(canaries, "by Lukasz Zolc") == ["Lukasz Zolc"]
    assert spans(canaries, "by łukasz żółć") == ["łukasz żółć"]


def test_addresses_are_found_as_tokens_and_inside_host_names(canaries: CanarySet) -> None:
    assert spans(canaries, f"from {IP}:443 today") == [IP]
    assert spans(canaries, "host-203-0-113-216.dsl.example.pl") == ["203-0-113-216"]
    assert spans(canaries, "216.113.0.203.in-addr.arpa") == ["216.113.0.203"]
    assert spans(canaries, "2001:0db8:cafe:0000:0000:0000:0000:4242") != []


def test_encoded_and_hashed_forms_are_found(canaries: CanarySet) -> None:
    encoded = [
        quote(EMAIL, safe=""), quote_plus(NAME), EMAIL.encode().hex(),
        base64.b64encode(EMAIL.encode()).decode(), hashlib.md5(EMAIL.encode()).hexdigest(),
        hashlib.sha256(IP.encode()).hexdigest(),
    ]  # fmt: skip
    for form in encoded:
        assert spans(canaries, f"x {form} y") == [form], form


def test_a_query_value_is_found_percent_decoded(canaries: CanarySet) -> None:
    url = "https://www.google.com/search?q=" + quote(EMAIL, safe="") + "&hl=pl"
    assert spans(canaries, url) == [quote(EMAIL, safe="")]
    assert spans(canaries, "mailto:" + EMAIL) == [EMAIL]


def test_short_values_are_skipped_not_matched_everywhere(canary_key: bytes) -> None:
    canaries = CanarySet.build(["Jan", " ", "Anna Nowak"], canary_key)
    assert (len(canaries), canaries.skipped) == (1, 2)
    assert spans(canaries, "Jan 2026, styczeń") == []


def test_membership_normalises_the_value(canaries: CanarySet) -> None:
    assert "  zofia   KANAREK " in canaries
    assert "Zofia Kanarkowa" not in canaries


def test_the_file_holds_digests_only(tmp_path: Path, canaries: CanarySet) -> None:
    path = canaries.save(tmp_path / "canaries.json")
    raw = path.read_text(encoding="ascii")
    document = json.loads(raw)
    assert set(document) == {
        "format", "version", "mac", "key_check", "count", "max_words", "digests", "heads",
    }  # fmt: skip
    # (forms of six characters or more: a shorter string turns up in random base64 by chance)
    for value in CANARIES:
        for form in forms(value) | {value.lower().replace(" ", ""), value.split()[0].lower()}:
            assert len(form) < 6 or form not in raw, form
    # nor any unkeyed hash of them, which could be looked up
    for value in CANARIES:
        for digest in (hashlib.sha256, hashlib.md5, hashlib.sha1):
            assert digest(value.lower().encode()).hexdigest()[:12] not in raw


def test_a_saved_set_finds_what_the_built_one_finds(
    tmp_path: Path, canaries: CanarySet, canary_key: bytes
) -> None:
    loaded = CanarySet.load(canaries.save(tmp_path / "c.json"), canary_key)
    text = f"{NAME} wrote from {IP} as {quote(EMAIL, safe='')}"
    assert loaded.find(text) == canaries.find(text) != []
    assert len(loaded) == len(canaries)


def test_a_file_built_with_another_key_is_refused(tmp_path: Path, canaries: CanarySet) -> None:
    path = canaries.save(tmp_path / "c.json")
    other = SecretKey(b"\x01" * 32).derive("canary")
    with pytest.raises(ConfigError, match="another key"):
        CanarySet.load(path, other)


def test_a_damaged_or_missing_file_is_a_one_line_error(tmp_path: Path, canary_key: bytes) -> None:
    with pytest.raises(InputError, match="no canary file"):
        CanarySet.load(tmp_path / "absent.json", canary_key)
    (tmp_path / "bad.json").write_text('{"format": "privstats.canaries", "version": 1}')
    with pytest.raises(InputError, match="damaged"):
        CanarySet.load(tmp_path / "bad.json", canary_key)


def test_digests_are_standard_hmac_sha256(canary_key: bytes) -> None:
    """The precomputed-pad HMAC is RFC 2104's, byte for byte (keys short and long)."""
    for key in (canary_key, b"x" * 100):
        canaries = CanarySet.build([], key)
        for text in ("zofia kanarek", "łódź", ""):
            expected = hmac.digest(key, text.encode(), "sha256")[:8]
            assert canaries._digest(text) == int.from_bytes(expected, "big")


def test_a_short_key_is_refused() -> None:
    with pytest.raises(ConfigError, match="too short"):
        CanarySet.build(["Zofia Kanarek"], b"short")


def test_union_joins_sets_of_one_key_only(canaries: CanarySet, canary_key: bytes) -> None:
    more = CanarySet.build(["Anna Nowak"], canary_key)
    joined = canaries.union(more)
    assert "Anna Nowak" in joined and NAME in joined and len(joined) == len(canaries) + 1
    with pytest.raises(ConfigError):
        joined.union(CanarySet.build(["x y z w"], b"\x02" * 32))


def test_the_spine_canaries_are_all_found_where_they_would_leak(canary_key: bytes) -> None:
    """The values the ingest tests plant in logs, in every form those tests look for."""
    canaries = CanarySet.build(SPINE_CANARIES, canary_key)
    scanner = LeakScanner(canaries)
    for value in SPINE_CANARIES:
        for form in forms(value):
            html = f"<table><tr><td>{form}</td><td title='{form}'>x</td></tr></table>"
            findings = scanner.scan_text(html, "report.html")
            assert [f.kind for f in findings] == [Kind.CANARY, Kind.CANARY], (value, form)
            assert all(value not in str(f) for f in findings)
            csv = f"name,count\n{form},12\n"
            assert Kind.CANARY in {f.kind for f in scanner.scan_text(csv, "t.csv")}, form
