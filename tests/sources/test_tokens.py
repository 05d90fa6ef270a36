"""The compiled tokeniser reads every line it keeps exactly as the line-by-line parser does.

Each test parses the same block twice: with ``BlockParser`` (the tokeniser, then the line
parser for the lines it hands over) and with the line parser alone, which is the definition;
rows, typed values and the quarantine must be equal. The C module's word-at-a-time scans and
comparison are also tested against byte loops through its private entry points.
"""

from __future__ import annotations

import ctypes
import mmap
import sys
from concurrent.futures import ThreadPoolExecutor
from unittest import mock

import numpy as np
import polars as pl
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from privstats.quarantine import Quarantine, Reason
from privstats.sources import _scan, parsed
from privstats.sources._scan import _hash, _plain, _quoted, _same
from privstats.sources.access import BlockParser
from privstats.sources.lines import LineParser
from privstats.sources.logformat import Field, resolve_format
from privstats.sources.parsed import BlockTally, ParsedBlock, RawFields, typed
from privstats.sources.tokens import Kind, TokenPlan, read_typed, scan

GOOD = (
    b'203.0.113.9 - - [01/Oct/2026:12:00:03 +0200] "GET /crm/contacts/42 HTTP/1.1" 200 512 '
    b'"https://www.google.com/search?q=crm" "Mozilla/5.0 (X11; Linux x86_64) Firefox/118.0"'
)
MAX_LINE = 400


def both(data: bytes, fmt: str = "combined") -> tuple[pl.DataFrame, Quarantine]:
    """Parse ``data`` the fast way and the slow way; assert they agree; the fast result."""
    log_format = resolve_format(fmt)
    parsed, tally = BlockParser(log_format, MAX_LINE).parse(data, 1)
    fast_quarantine = Quarantine()
    tally.into(fast_quarantine)

    raws = data.split(b"\n")[:-1]
    slow_tally = BlockTally()
    rows = LineParser(log_format, MAX_LINE).parse(range(1, len(raws) + 1), raws, slow_tally)  # type: ignore[arg-type]
    slow = typed(RawFields.from_columns(rows.numbers, rows.fields), log_format, slow_tally)
    slow_quarantine = Quarantine()
    slow_tally.into(slow_quarantine)

    fast_frame = parsed.to_frame().sort("line")
    assert fast_frame.equals(slow.to_frame().sort("line"))
    assert fast_quarantine.to_dict() == slow_quarantine.to_dict()
    assert tally.line_count == len(raws)
    return fast_frame, fast_quarantine


def at_page_end(data: bytes) -> memoryview:
    """``data`` as the last bytes of a page followed by one that cannot be read: a read one
    byte past its end crashes the test (Linux; elsewhere, ``data`` in a plain buffer)."""
    if not sys.platform.startswith("linux"):
        return memoryview(bytearray(data))
    page = mmap.PAGESIZE
    size = max(-(-len(data) // page), 1) * page
    memory = mmap.mmap(-1, size + page)
    start = ctypes.addressof(ctypes.c_char.from_buffer(memory))
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    assert libc.mprotect(start + size, page, 0) == 0  # PROT_NONE
    view = memoryview(memory)[size - len(data) : size]
    view[:] = data
    return view


def kept(data: bytes, fmt: str = "combined") -> int:
    """How many lines of ``data`` the tokeniser keeps (does not hand to the line parser)."""
    plan = TokenPlan.of(resolve_format(fmt))
    assert plan is not None
    return len(scan(data, plan, MAX_LINE).row_line)


def test_a_format_becomes_tokens() -> None:
    plan = TokenPlan.of(resolve_format("combined_D"))
    assert plan is not None
    assert [t.kind for t in plan.tokens] == [
        Kind.PLAIN, Kind.PLAIN, Kind.PLAIN, Kind.TIME, Kind.QUOTED, Kind.PLAIN, Kind.PLAIN,
        Kind.QUOTED, Kind.QUOTED, Kind.PLAIN,
    ]  # fmt: skip
    nginx = TokenPlan.of(resolve_format("nginx_combined"))
    assert nginx is not None and nginx.tokens[1].literal == b"-"
    assert TokenPlan.of(resolve_format("nginx_json")) is None


def test_well_written_lines_are_kept_with_their_typed_values() -> None:
    data = GOOD + b"\n" + GOOD.replace(b" 512 ", b" - ") + b"\r\n"
    frame, quarantine = both(data)
    assert kept(data) == 2 and quarantine.total == 0
    assert frame["bytes"].to_list() == [512, 0]
    assert frame["ts"][0].isoformat() == "2026-10-01T10:00:03+00:00"


@pytest.mark.parametrize(
    "odd",
    [
        GOOD.replace(b'"https://www.google.com/search?q=crm"', b"-"),  # quoted field unquoted
        GOOD.replace(b'HTTP/1.1"', b'HTTP/1.1"x'),  # text after a closing quote
        GOOD.replace(b"203.0.113.9", b'"203.0.113.9"'),  # a quote in a plain token
        GOOD.replace(b"203.0.113.9", b"203.0.113.9\tx"),  # a tab in a plain token
        GOOD.replace(b"203.0.113.9", "203.0.113.9\u00a0x".encode()),  # a no-break space
        GOOD.replace(b" 200 ", b"  200 "),  # two spaces
        GOOD + b" ",  # a trailing space
        GOOD.replace(b"Firefox/118.0", b'Firefox \\"quoted\\"'),  # escaped quotes
        GOOD.replace(b"Firefox", b"Fire\xff\xfefox"),  # invalid UTF-8
        GOOD.replace(b"Firefox", b"Fire\xed\xa0\x80fox"),  # an encoded surrogate
        GOOD.replace(b"Firefox", b"Fire\xc0\xafox"),  # an overlong encoding
        GOOD.replace(b"+0200]", b"+02]00]"),  # a bracket inside the time
        GOOD.replace(b"01/Oct", b"31/Feb"),  # no such day
        GOOD.replace(b"Oct", b"oct"),  # a month polars reads, not canonical
        GOOD.replace(b"12:00:03", b"23:59:60"),  # a leap second
        GOOD.replace(b" 200 ", b" 0200 "),
        GOOD.replace(b" 512 ", b" +512 "),
        GOOD.replace(b" 512 ", b" 5x2 "),
        GOOD[:-1],  # the last quote cut off
        GOOD.replace(b" - - ", b" - - - "),
        b"\r",
        b"",
    ],
)
def test_a_line_not_written_as_the_format_says_goes_line_by_line(odd: bytes) -> None:
    data = GOOD + b"\n" + odd + b"\n" + GOOD + b"\n"
    both(data)
    assert kept(data) == 2


def test_a_kept_line_without_a_client_is_quarantined_as_the_line_parser_does() -> None:
    data = GOOD.replace(b"203.0.113.9", b"-") + b"\n"
    _, quarantine = both(data)
    assert kept(data) == 1 and quarantine.counts == {Reason.MISSING_CLIENT.value: 1}


def test_valid_utf8_in_a_quoted_field_is_kept() -> None:
    line = GOOD.replace(b"Firefox", "Żółw 😀 ".encode())
    frame, quarantine = both(line + b"\n")
    assert kept(line + b"\n") == 1 and quarantine.non_utf8 == 0
    assert "Żółw 😀" in frame["user_agent"][0]


def test_the_longest_lines() -> None:
    pad = MAX_LINE - len(GOOD)
    longest = GOOD.replace(b"/crm/", b"/crm/" + b"a" * pad)  # exactly MAX_LINE bytes
    data = longest + b"\n" + longest + b"a\n" + longest + b"\r\n"
    _, quarantine = both(data)
    assert kept(data) == 1
    assert quarantine.counts == {Reason.LINE_TOO_LONG.value: 2}


def test_values_repeat_under_one_code_and_differ_under_two() -> None:
    lines = [GOOD, GOOD.replace(b"9 -", b"8 -"), GOOD, GOOD.replace(b"Firefox", b"Firefoy")]
    data = b"\n".join(lines) + b"\n"
    plan = TokenPlan.of(resolve_format("combined"))
    assert plan is not None
    found = scan(data, plan, MAX_LINE)
    client, agent = plan.coded.index(0), plan.coded.index(8)
    assert found.codes[client].tolist() == [0, 1, 0, 0]
    assert found.values[client].to_pylist() == ["203.0.113.9", "203.0.113.8"]
    assert found.codes[agent].tolist() == [0, 0, 0, 1]
    both(data)


def test_many_distinct_values_grow_the_tables() -> None:
    lines = [
        GOOD.replace(b"203.0.113.9", f"10.0.{i // 256}.{i % 256}".encode()) for i in range(5000)
    ]
    data = b"\n".join(lines) + b"\n"
    frame, _ = both(data)
    assert frame["client"].n_unique() == 5000


def test_a_block_of_empty_lines_and_a_missing_final_newline() -> None:
    _, quarantine = both(b"\n" * 10_000)
    assert quarantine.counts == {Reason.EMPTY_LINE.value: 10_000}
    frame, _ = both(GOOD + b"\n" + GOOD)  # the unfinished last line is not a line yet
    assert frame.height == 1


@pytest.mark.parametrize(
    ("fmt", "tail"),
    [
        ("combined_D", b" 153000"),
        ("combined_D", b" -"),
        ("combined_D", b" 1.5"),
        ("combined_T", b" 2"),
        ("combined_T", b" 2.5"),
        ("nginx_timed", b" 0.153"),
        ("nginx_timed", b" 0.1234567"),
        ("nginx_timed", b" 12345678901.5"),
        ("nginx_timed", b" -"),
        ("nginx_timed", b" 1e3"),
        ("nginx_timed", b" -1"),
        ("nginx_timed", b" 9999999999999"),  # 10**19 microseconds: past 64 bits
        ("nginx_timed", b" 999999999999999.5"),
        ("nginx_timed", b" 1125899906.842624"),  # 2**50 microseconds
        ("nginx_timed", b" 1125899906.842623"),
    ],
)
def test_response_times_match_the_line_parser(fmt: str, tail: bytes) -> None:
    both(GOOD + tail + b"\n", fmt)


def test_vhost_tokens_of_two_fields_split_once_per_value() -> None:
    data = b"crm.example.com:443 " + GOOD + b"\n" + b"no-port " + GOOD + b"\n"
    frame, quarantine = both(data, "vhost_combined")
    assert frame["site"].to_list() == ["crm.example.com"]
    assert quarantine.total == 1


def test_a_read_only_buffer_and_a_memoryview_read_alike() -> None:
    plan = TokenPlan.of(resolve_format("combined"))
    assert plan is not None
    data = (GOOD + b"\n") * 3
    one = scan(data, plan, MAX_LINE)
    two = scan(memoryview(bytearray(data)), plan, MAX_LINE)
    assert one.codes.tolist() == two.codes.tolist() and one.ts.tolist() == two.ts.tolist()


_PIECES = [
    b"a", b"Z", b"0", b"7", b" ", b"  ", b'"', b"\\", b'\\"', b"[", b"]", b"-", b"\t", b"\r",
    b"/", b":", b"+", b".", b"\xc3\xa9", b"\xff", b"\xe2\x80\xaf", b"\x00", b"\x1c", b"\x7f",
]  # fmt: skip


@st.composite
def mutated_lines(draw: st.DrawFn) -> bytes:
    """A good combined_D line with a few of its bytes replaced by awkward ones."""
    line = bytearray(GOOD + b" 1234")
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(line)))
        cut = draw(st.integers(0, 3))
        line[at : at + cut] = draw(st.sampled_from(_PIECES))
    return bytes(line)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(mutated_lines(), min_size=1, max_size=6))
def test_mutated_lines_read_as_the_line_parser_reads_them(lines: list[bytes]) -> None:
    both(b"\n".join(lines) + b"\n", "combined_D")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(mutated_lines(), min_size=1, max_size=4), st.integers(0, 40))
def test_a_block_is_never_read_past_its_end(lines: list[bytes], cut: int) -> None:
    data = b"\n".join(lines) + b"\n"
    plan = TokenPlan.of(resolve_format("combined_D"))
    assert plan is not None
    for block in (data, data[: len(data) - cut]):  # the last line unfinished, or not
        found = scan(at_page_end(block), plan, MAX_LINE)
        assert found.lines == block.count(b"\n")


@settings(max_examples=300, deadline=None)
@given(
    day=st.integers(0, 32),
    month=st.sampled_from(["Jan", "Feb", "Mar", "Dec", "feb", "Foo"]),
    year=st.integers(0, 9999),
    hour=st.integers(0, 25),
    minute=st.integers(0, 61),
    second=st.integers(0, 61),
    sign=st.sampled_from("+-"),
    zone=st.integers(0, 2500),
)
def test_times_read_as_polars_reads_them(
    day: int, month: str, year: int, hour: int, minute: int, second: int, sign: str, zone: int
) -> None:
    when = f"[{day:02}/{month}/{year:04}:{hour:02}:{minute:02}:{second:02} {sign}{zone:04}]"
    both(GOOD.replace(b"[01/Oct/2026:12:00:03 +0200]", when.encode()) + b"\n")


@settings(max_examples=300, deadline=None)
@given(data=st.binary(min_size=1, max_size=40), start=st.integers(0, 40))
def test_word_scans_stop_where_a_byte_loop_stops(data: bytes, start: int) -> None:
    buf = at_page_end(data)  # a word read past the end would crash
    start = min(start, len(data))
    plain = start
    while plain < len(data) and 33 <= data[plain] <= 126 and data[plain] != 34:
        plain += 1
    assert _plain(buf, start) == plain
    stop = start
    while stop < len(data) and data[stop] not in (34, 10):
        stop += 1
    end, high, digest = _quoted(buf, start)
    assert (end, high) == (stop, any(b >= 128 or b == 0 for b in data[start:stop]))
    assert digest == _hash(buf, start, stop)


@settings(max_examples=300, deadline=None)
@given(
    left=st.binary(min_size=0, max_size=40),
    right=st.binary(min_size=0, max_size=40),
    length=st.integers(0, 40),
    at=st.integers(0, 40),
    by=st.integers(0, 40),
)
def test_values_compare_as_their_bytes(
    left: bytes, right: bytes, length: int, at: int, by: int
) -> None:
    length = min(length, len(left), len(right))
    at, by = min(at, len(left) - length), min(by, len(right) - length)  # up to the very end
    a, b = at_page_end(left), at_page_end(right)
    assert _same(a, at, b, by, length) == (left[at : at + length] == right[by : by + length])
    assert _same(a, at, a, at, length)


def test_positions_outside_the_buffer_are_refused() -> None:
    with pytest.raises(ValueError):
        _plain(b"abc", 4)
    with pytest.raises(ValueError):
        _quoted(b"abc", -1)
    with pytest.raises(ValueError):
        _hash(b"abc", 2, 4)
    with pytest.raises(ValueError):
        _same(b"abc", 1, b"abc", 0, 3)


def test_a_program_the_pass_cannot_follow_is_refused() -> None:
    plan = TokenPlan.of(resolve_format("nginx_combined"))
    assert plan is not None
    args = (plan.program, plan.literal_spans, plan.literals, len(plan.coded), MAX_LINE)
    assert _scan.scan(GOOD + b"\n", *args)[0] == 1
    wrong_code = plan.program.copy()
    wrong_code[wrong_code[:, 1] == 1, 2] += 1  # a code past the coded tokens
    outside = plan.literal_spans.copy()
    outside[1] = (0, 99)  # the literal '-' read past the literals
    for bad in [
        (wrong_code, *args[1:]),
        (plan.program, outside, *args[2:]),
        (plan.program[:, :2].copy(), *args[1:]),  # not (tokens, 3)
        (plan.program, plan.literal_spans.astype(np.int32), *args[2:]),
        (*args[:3], len(plan.coded) + 1, MAX_LINE),
    ]:
        with pytest.raises(ValueError):
            _scan.scan(GOOD + b"\n", *bad)


def test_threads_scanning_at_once_read_alike() -> None:
    plan = TokenPlan.of(resolve_format("combined"))
    assert plan is not None
    blocks = [
        b"".join(GOOD.replace(b"/42", f"/{i}/{k}".encode()) + b"\n" for k in range(3000))
        for i in range(8)
    ]
    alone = [scan(block, plan, MAX_LINE) for block in blocks]
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(lambda block: scan(block, plan, MAX_LINE), blocks * 4))
    for i, found in enumerate(together):
        expected = alone[i % len(blocks)]
        assert found.codes.tolist() == expected.codes.tolist()
        assert [v.to_pylist() for v in found.values] == [v.to_pylist() for v in expected.values]


# Lines handed to the line parser are typed by the compiled pass too, field by field, where it
# vouches for the text (``tokens.read_typed``); ``parsed`` (polars) stays the definition.
TIMES = st.builds(
    "{}/{}/{}:{}:{}:{} {}".format,
    st.sampled_from(["01", "1", "29", "30", "31", "32", "00", " 1", "\u0661\u0662"]),
    st.sampled_from(["Oct", "oct", "OCT", "Feb", "Foo"]),
    st.sampled_from(["2026", "2024", "2100", "2000", "1969", "0999", "99999"]),
    st.sampled_from(["00", "23", "24", "7"]),
    st.sampled_from(["00", "59", "60"]),
    st.sampled_from(["00", "59", "60", "61"]),
    st.sampled_from(["+0200", "-0000", "+2359", "+2400", "+0060", "-1230", "+02:00", "Z"]),
)
NUMBERS = st.text("0123456789-+ .xe\u0663", max_size=21)
TYPED_FIELDS = {
    Field.TIME_CLF: st.one_of(TIMES, st.text(max_size=8)),
    Field.STATUS: st.one_of(st.integers(0, 1000).map(str), NUMBERS),
    Field.BYTES: st.one_of(st.integers(0, 10**19).map(str), NUMBERS),
    Field.RESPONSE_US: st.one_of(st.integers(0, 2**51).map(str), NUMBERS),
    Field.RESPONSE_MS: st.one_of(st.decimals(0, 10**12, places=3).map(str), NUMBERS),
    Field.RESPONSE_S: st.one_of(st.floats(0, 1e9).map(str), NUMBERS),
}


def raw_fields(name: Field, values: list[str | None]) -> RawFields:
    """Rows of ``values`` for ``name``, the other fields a row needs fine."""
    fine = {Field.CLIENT: "203.0.113.9", Field.TIME_CLF: "01/Oct/2026:12:00:03 +0200"}
    columns = {
        field: [text] * len(values) for field, text in (fine | {Field.STATUS: "200"}).items()
    }
    return RawFields.from_columns(range(len(values)), columns | {name: values})


def typed_by_definition(raw: RawFields) -> tuple[ParsedBlock, BlockTally]:
    tally = BlockTally()
    with mock.patch.object(parsed, "_read_typed", lambda values, name: None):
        return typed(raw, resolve_format("combined"), tally), tally


def typed_column(block: ParsedBlock, name: Field) -> list[object]:
    column = {
        Field.TIME_CLF: block.ts,
        Field.STATUS: block.status,
        Field.BYTES: block.bytes,
    }.get(name, block.response_us)
    return column.tolist() if isinstance(column, np.ndarray) else column.to_pylist()


@pytest.mark.parametrize("name", list(TYPED_FIELDS))
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_a_field_the_compiled_pass_vouches_for_is_typed_as_the_definition_types_it(
    name: Field, data: st.DataObject
) -> None:
    values = data.draw(st.lists(TYPED_FIELDS[name], min_size=1, max_size=20))
    raw = raw_fields(name, values)
    read = read_typed(pa.array(values, pa.string()), name)
    block, _ = typed_by_definition(raw)
    kept = dict(zip(block.line.tolist(), typed_column(block, name), strict=True))
    for line in np.flatnonzero(read.vouched).tolist():
        assert line in kept, values[line]  # the definition keeps the line too
        if name in (Field.RESPONSE_US, Field.RESPONSE_MS, Field.RESPONSE_S):
            assert kept[line] == (read.values[line] if read.known[line] else None)
        else:
            assert kept[line] == read.values[line]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        (Field.TIME_CLF, "01/Oct/2026:12:00:03 +0200"),
        (Field.STATUS, "404"),
        (Field.BYTES, "-"),
        (Field.RESPONSE_MS, "1.5"),
        (Field.RESPONSE_S, "-"),
    ],
)
def test_fields_typed_by_the_compiled_pass_keep_the_definitions_nulls(
    name: Field, value: str
) -> None:
    raw = raw_fields(name, [value, None, value])
    tally = BlockTally()
    block = typed(raw, resolve_format("combined"), tally)
    expected, expected_tally = typed_by_definition(raw)
    assert block.line.tolist() == expected.line.tolist()
    assert typed_column(block, name) == typed_column(expected, name)
    assert tally.lines.keys() == expected_tally.lines.keys()
    assert [np.concatenate(v).tolist() for v in tally.lines.values()] == [
        np.concatenate(v).tolist() for v in expected_tally.lines.values()
    ]
