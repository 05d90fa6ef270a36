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


def test_the_table_is_emptied_once_the_log_has_left_a_day(
    throwaway_key: SecretKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    pseudonyms = VisitorPseudonyms(throwaway_key)
    monday = [("2026-10-05", f"198.51.100.{i}", "UA") for i in range(20)]
    tuesday = [("2026-10-06", f"198.51.100.{i}", "UA") for i in range(20)]
    hashed: list[int] = []
    real = visitors.visitor_pseudonyms

    def counting(key: SecretKey, *triples: list[str]) -> np.ndarray:
        hashed.append(len(triples[1]))
        return real(key, *triples)

    monkeypatch.setattr(visitors, "visitor_pseudonyms", counting)
    pseudonyms(*block(monday))
    pseudonyms(*block(monday[10:] + tuesday[:10]))  # midnight: both days are kept
    pseudonyms(*block(tuesday))  # Monday is left behind: the table starts afresh
    late = pseudonyms(*block(monday[:1]))  # a straggler is hashed again, to the same pseudonym
    assert hashed == [20, 10, 20, 1]
    expected = visitor_pseudonyms(throwaway_key, *map(list, zip(*monday[:1], strict=True)))
    assert late.tolist() == expected.tolist()


def test_the_table_grows_and_keeps_what_it_knew(throwaway_key: SecretKey) -> None:
    pseudonyms = VisitorPseudonyms(throwaway_key)
    rows = [("-", f"10.0.{i // 256}.{i % 256}", "UA" if i % 3 else None) for i in range(40_000)]
    first = pseudonyms(*block(rows[:20_000]))
    both = pseudonyms(*block(rows))  # more rows than the first table has room for
    expected = visitor_pseudonyms(throwaway_key, *map(list, zip(*rows, strict=True)))
    assert both.tolist() == expected.tolist()
    assert first.tolist() == expected[:20_000].tolist()


def test_a_failed_block_leaves_no_half_entered_triples(
    throwaway_key: SecretKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    pseudonyms = VisitorPseudonyms(throwaway_key)
    rows = [("-", "192.0.2.1", "UA"), ("-", "192.0.2.2", "UA")]

    def failing(*args: object) -> np.ndarray:
        raise RuntimeError("interrupted")

    monkeypatch.setattr(visitors, "visitor_pseudonyms", failing)
    with pytest.raises(RuntimeError):
        pseudonyms(*block(rows))
    monkeypatch.undo()
    expected = visitor_pseudonyms(throwaway_key, *map(list, zip(*rows, strict=True)))
    assert pseudonyms(*block(rows)).tolist() == expected.tolist()


def test_null_clients_and_agents_hash_apart_from_any_text(throwaway_key: SecretKey) -> None:
    rows = [("-", None, None), ("-", "None", ""), ("-", "", None), ("-", None, "x")]
    got = VisitorPseudonyms(throwaway_key)(*block(rows))  # type: ignore[arg-type]
    expected = visitor_pseudonyms(throwaway_key, *map(list, zip(*rows, strict=True)))
    assert got.tolist() == expected.tolist()
