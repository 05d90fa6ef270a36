from __future__ import annotations

from datetime import UTC, datetime

from privstats.anonymise.networks import coarse_network
from privstats.anonymise.pseudonyms import (
    period_label,
    person_pseudonyms,
    visitor_pseudonyms,
)
from privstats.config import Rotation
from privstats.key import SecretKey


def test_visitor_pseudonyms_are_stable_within_a_period_and_unlinkable_across(
    throwaway_key: SecretKey,
) -> None:
    ids = visitor_pseudonyms(
        throwaway_key,
        ["2026-10-01", "2026-10-01", "2026-10-02", "2026-10-01"],
        ["203.0.113.9", "203.0.113.9", "203.0.113.9", "203.0.113.9"],
        ["UA", "UA", "UA", "other UA"],
    )
    assert ids[0] == ids[1]
    assert len({int(i) for i in ids}) == 3


def test_pseudonyms_depend_on_the_key(throwaway_key: SecretKey) -> None:
    other = SecretKey(b"\x01" * 32)
    args = (["-"], ["203.0.113.9"], ["UA"])
    assert visitor_pseudonyms(throwaway_key, *args)[0] != visitor_pseudonyms(other, *args)[0]


def test_person_pseudonyms_normalise_the_address(throwaway_key: SecretKey) -> None:
    a, b, c = person_pseudonyms(
        throwaway_key, ["Jan.Kowalski@Example.PL ", "jan.kowalski@example.pl", None]
    )
    assert a == b and c is None


def test_period_labels() -> None:
    ts = datetime(2026, 10, 31, 23, 59, tzinfo=UTC)
    assert period_label(Rotation.DAY, ts) == "2026-10-31"
    assert period_label(Rotation.MONTH, ts) == "2026-10"
    assert period_label(Rotation.NEVER, ts) == "-"


def test_networks_never_keep_the_address() -> None:
    assert coarse_network("203.0.113.216", 16, 32) == "203.0.0.0/16"
    assert coarse_network("2001:db8:aa:bb::1", 16, 32) == "2001:db8::/32"
    assert coarse_network("::ffff:203.0.113.216", 16, 32) == "203.0.0.0/16"
    assert coarse_network("host-203-0-113-216.dsl.example.pl", 16, 32) is None
