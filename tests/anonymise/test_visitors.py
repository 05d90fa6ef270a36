from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from privstats.anonymise import AccessAnonymiser, _kernels
from privstats.anonymise.pseudonyms import VISITOR, visitor_pseudonyms
from privstats.anonymise.shapes import arrow_strings
from privstats.anonymise.visitors import VisitorPseudonyms
from privstats.config import Config
from privstats.key import SecretKey
from privstats.sources.access import BlockParser, BlockReader, Input
from privstats.sources.logformat import resolve_format
from privstats.sources.parsed import Coded

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample" / "access" / "www"


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


@pytest.fixture
def hashed(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many triples each block hashes with the key, block by block."""
    calls: list[int] = []
    real = _kernels.visitor_macs

    def counting(rows: np.ndarray, *args: object) -> int:
        calls.append(len(rows))
        return real(rows, *args)

    monkeypatch.setattr(_kernels, "visitor_macs", counting)
    return calls


def test_remembered_pseudonyms_are_found_again_not_recomputed(
    throwaway_key: SecretKey, hashed: list[int]
) -> None:
    pseudonyms = VisitorPseudonyms(throwaway_key)
    rows = [("-", f"198.51.100.{i}", "UA") for i in range(50)]
    before = pseudonyms(*block(rows))
    after = pseudonyms(*block([*rows[::-1], ("-", "198.51.100.99", "UA")]))
    assert after[:50].tolist() == before[::-1].tolist()
    assert hashed == [50, 1]


def test_the_table_is_emptied_once_the_log_has_left_a_day(
    throwaway_key: SecretKey, hashed: list[int]
) -> None:
    pseudonyms = VisitorPseudonyms(throwaway_key)
    monday = [("2026-10-05", f"198.51.100.{i}", "UA") for i in range(20)]
    tuesday = [("2026-10-06", f"198.51.100.{i}", "UA") for i in range(20)]
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

    def failing(*args: object) -> int:
        raise RuntimeError("interrupted")

    monkeypatch.setattr(_kernels, "visitor_macs", failing)
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


# Any text but lone surrogates (which no Arrow string holds), NUL and the texts the kernel
# writes for nulls ("None", "") among them.
TEXTS = st.one_of(
    st.none(),
    st.sampled_from(["None", "", "\x00", "-", "203.0.113.9"]),
    st.text(st.characters(exclude_categories=["Cs"]), max_size=40),
)
PERIODS = st.sampled_from(["2026-10-01", "2026-10-02", "2026-10", "-", "", "None"])


@settings(max_examples=300, deadline=None)
@given(
    st.binary(min_size=16, max_size=64),
    st.lists(st.tuples(PERIODS, TEXTS, TEXTS), min_size=1, max_size=60),
    st.integers(0, 60),
)
def test_the_kernel_gives_the_pseudonyms_of_the_python_definition(
    secret: bytes, rows: list[tuple[str, str | None, str | None]], split: int
) -> None:
    key = SecretKey(secret)
    expected = visitor_pseudonyms(key, *map(list, zip(*rows, strict=True)))
    pseudonyms = VisitorPseudonyms(key)
    # Two blocks: the second finds some triples known and hashes the others.
    got = [pseudonyms(*block(part)) for part in (rows[:split], rows[split:]) if part]
    assert np.concatenate(got).tolist() == expected.tolist()


def test_a_real_block_gets_the_pseudonyms_of_the_python_definition() -> None:
    config = Config()
    key = SecretKey(bytes(range(32)))
    reader = BlockReader(Input(SAMPLE / "access.log.1", "access.log.1"))
    parser = BlockParser(resolve_format("combined", config.ingest.formats), 1 << 16)
    anonymiser = AccessAnonymiser(config, key)
    first = 1
    periods: set[str] = set()
    for _, block_bytes, _ in reader:
        parsed, tally = parser.parse(block_bytes, first)
        first += tally.line_count
        table, _ = anonymiser.apply(parsed)
        labels = table["key_period"].to_pylist()
        periods |= set(labels)
        expected = visitor_pseudonyms(
            key,
            labels,
            parsed.client.materialize().to_pylist(),
            parsed.user_agent.materialize().to_pylist(),
        )
        assert table["visitor"].to_pylist() == expected.tolist()
    assert first > 1000 and len(periods) >= 2  # the sample crosses midnight UTC


def macs_args(
    key: SecretKey, rows: list[tuple[str, str | None, str | None]]
) -> tuple[list[object], np.ndarray]:
    """The arguments of ``visitor_macs`` for every row of ``rows``, and the expected pseudonyms."""
    period, client, agent = block(rows)
    keys = b"".join(key.derive(VISITOR, label) for label in period.values.to_pylist())
    args: list[object] = [np.arange(len(rows), dtype=np.int64), period.codes, keys]
    for coded in (client, agent):
        args += [coded.codes, *arrow_strings(coded.values)]
    args.append(np.empty(len(rows), dtype=np.int64))
    return args, visitor_pseudonyms(key, *map(list, zip(*rows, strict=True)))


ROWS = [("2026-10-01", "203.0.113.9", "UA"), ("2026-10-02", None, None)]


def test_the_kernel_takes_any_subset_of_rows_and_codes_of_either_width(
    throwaway_key: SecretKey,
) -> None:
    args, expected = macs_args(throwaway_key, ROWS * 3)
    args[0] = np.array([5, 0, 2], dtype=np.int32)
    args[1] = np.asarray(args[1], dtype=np.int64)
    args[-1] = out = np.empty(3, dtype=np.int64)
    assert _kernels.visitor_macs(*args) == 3
    assert out.tolist() == expected[[5, 0, 2]].tolist()


def int32(*values: int) -> np.ndarray:
    return np.array(values, dtype=np.int32)


def int64(*values: int) -> np.ndarray:
    return np.array(values, dtype=np.int64)


# (argument, its bad value, what the error says): rows; period codes and keys; client codes,
# offsets, data, validity; agent codes, offsets, data, validity; output.
BAD_ARGUMENTS = [
    (0, int64(0, 2), "out of bounds"),  # a row past the block
    (0, int64(-1, 0), "out of bounds"),
    (1, int32(0, 7), "out of bounds"),  # a period with no key
    (2, bytes(40), "32 bytes each"),
    (2, bytes(32), "out of bounds"),  # one key, two periods
    (3, int32(0, 5), "out of bounds"),
    (7, int32(0, -1), "out of bounds"),
    (3, int32(0), "do not agree"),
    (6, np.ones(5, dtype=bool), "do not agree"),
    (5, int64(0, 0), "1-byte items"),
    (11, np.empty(1, dtype=np.int64), "do not agree"),
    (11, np.empty(2, dtype=np.int32), "8-byte items"),
    (4, int64(5, 3, 3), "out of order"),
    (8, int64(0, 99, 99), "out of bounds"),  # past the data
]


@pytest.mark.parametrize(("argument", "bad", "message"), BAD_ARGUMENTS)
def test_the_kernel_refuses_bad_inputs_without_echoing_them(
    throwaway_key: SecretKey, argument: int, bad: object, message: str
) -> None:
    args, _ = macs_args(throwaway_key, ROWS)
    args[argument] = bad
    with pytest.raises(ValueError, match=message) as raised:
        _kernels.visitor_macs(*args)
    text = str(raised.value)
    assert "\n" not in text and "203.0.113.9" not in text and "UA" not in text


def test_the_output_is_written_only_through_a_writable_buffer(throwaway_key: SecretKey) -> None:
    args, _ = macs_args(throwaway_key, ROWS)
    args[-1] = bytes(16)
    with pytest.raises(TypeError):
        _kernels.visitor_macs(*args)


def test_an_openssl_failure_raises_rather_than_giving_zero_pseudonyms(tmp_path: Path) -> None:
    # OpenSSL configured with nothing but its null provider has no HMAC to give.
    conf = tmp_path / "openssl.cnf"
    conf.write_text(
        "openssl_conf = init\n[init]\nproviders = providers\n"
        "[providers]\nnull = null\n[null]\nactivate = 1\n"
    )
    script = (
        "import numpy as np\n"
        "from privstats.anonymise import _kernels\n"
        "codes, offsets = np.zeros(1, np.int32), np.array([0, 1], np.int64)\n"
        "text, valid = np.frombuffer(b'a', np.uint8), np.ones(1, bool)\n"
        "out = np.zeros(1, np.int64)\n"
        "try:\n"
        "    _kernels.visitor_macs(np.zeros(1, np.int64), codes, bytes(32),\n"
        "                          codes, offsets, text, valid, codes, offsets, text, valid, out)\n"
        "except RuntimeError as error:\n"
        "    print('raised:', error)\n"
        "else:\n"
        "    print('returned:', out)\n"
    )
    env = {**os.environ, "OPENSSL_CONF": str(conf)}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    )
    assert done.stdout.startswith("raised: OpenSSL could not compute an HMAC"), done.stdout
