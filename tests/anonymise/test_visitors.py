from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from privstats.anonymise import visitors
from privstats.anonymise.pseudonyms import visitor_pseudonyms
from privstats.anonymise.visitors import VisitorPseudonyms
from privstats.key import SecretKey
from privstats.sources.parsed import Coded


def coded(texts: list[str | None]) -> Coded:
    return Coded.encode(pa.array(texts, pa.string()))


def block(rows: list[tuple[str, str, str | None]]) -> tuple[Coded, Coded, Coded]:
    periods, clients, agents = zip(*rows, strict=True)
    return coded(list(periods)), coded(list(clients)), coded(list(agents))


def test_each_row_gets_the_pseudonym_of_its_triple_across_blocks_and_cache_resets(
    throwaway_key: SecretKey,
) -> None:
    first = [("2026-10-01", "203.0.113.9", "UA"), ("2026-10-01", "203.0.113.9", None)] * 3
    second = [("2026-10-01", "203.0.113.9", "UA"), ("2026-10-02", "203.0.113.9", "UA")]
    pseudonyms = VisitorPseudonyms(throwaway_key, limit=1)  # forgets after every block
    for rows in (first, second, first):
        expected = visitor_pseudonyms(throwaway_key, *map(list, zip(*rows, strict=True)))
        assert pseudonyms(*block(rows)).tolist() == expected.tolist()
    ids = pseudonyms(*block(second)).tolist()
    assert ids[0] != ids[1]  # another day, another pseudonym


def test_remembered_pseudonyms_are_found_again_not_recomputed(
    throwaway_key: SecretKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    pseudonyms = VisitorPseudonyms(throwaway_key)
    rows = [("-", f"198.51.100.{i}", "UA") for i in range(50)]
    before = pseudonyms(*block(rows))
    calls = []
    real = visitors.visitor_pseudonyms

    def counting(key: SecretKey, *triples: list[str]) -> np.ndarray:
        calls.append(len(triples[1]))
        return real(key, *triples)

    monkeypatch.setattr(visitors, "visitor_pseudonyms", counting)
    after = pseudonyms(*block([*rows[::-1], ("-", "198.51.100.99", "UA")]))
    assert after[:50].tolist() == before[::-1].tolist()
    assert calls == [1]
