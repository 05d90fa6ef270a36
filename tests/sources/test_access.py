from __future__ import annotations

import gzip
import hashlib
import os
import threading
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from privstats.exceptions import InputError
from privstats.quarantine import Quarantine, Reason
from privstats.sources import access
from privstats.sources.access import BlockReader, Input, expand_inputs, parse_block
from privstats.sources.logformat import resolve_format

GOOD = (
    b'203.0.113.9 - - [01/Oct/2026:12:00:03 +0200] "GET /crm/contacts/42 HTTP/1.1" 200 512 '
    b'"https://www.google.com/search?q=crm" "Mozilla/5.0 (X11; Linux x86_64) Firefox/118.0"'
)


def parse(data: bytes, fmt: str = "combined") -> tuple[pl.DataFrame, Quarantine]:
    quarantine = Quarantine()
    return parse_block(data, 1, resolve_format(fmt), 65536, quarantine), quarantine


def test_the_real_log_parses_completely_with_its_daily_counts(real_log: Path) -> None:
    frame, quarantine = parse(real_log.read_bytes())
    assert quarantine.total == 0
    assert frame.height == 10_000
    per_day = frame.group_by(pl.col("ts").dt.date().cast(pl.String)).len().sort("ts")
    assert dict(per_day.iter_rows()) == {
        "2015-05-17": 1632, "2015-05-18": 2893, "2015-05-19": 2896, "2015-05-20": 2579,
    }  # fmt: skip
    assert frame["client"].n_unique() == 1753


def test_a_good_line_becomes_typed_fields_in_utc() -> None:
    frame, _ = parse(GOOD + b"\n")
    row = frame.row(0, named=True)
    assert row["ts"].isoformat() == "2026-10-01T10:00:03+00:00"
    assert (row["method"], row["target"], row["protocol"]) == (
        "GET",
        "/crm/contacts/42",
        "HTTP/1.1",
    )
    assert (row["status"], row["bytes"], row["line"]) == (200, 512, 1)


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (GOOD.replace(b" 512 ", b" 512 extra "), Reason.FIELD_COUNT),
        (GOOD.replace(b'HTTP/1.1"', b"HTTP/1.1"), Reason.UNTERMINATED_QUOTE),
        (GOOD.replace(b"01/Oct/2026", b"41/Oct/2026"), Reason.BAD_TIMESTAMP),
        (GOOD.replace(b"[01/Oct/2026:12:00:03 +0200]", b"[-]"), Reason.BAD_TIMESTAMP),
        (GOOD.replace(b" 200 ", b" OK "), Reason.BAD_STATUS),
        (GOOD.replace(b" 200 ", b" - "), Reason.BAD_STATUS),
        (GOOD.replace(b" 200 ", b" 999 "), Reason.BAD_STATUS),
        (GOOD.replace(b" 512 ", b" 5x2 "), Reason.BAD_SIZE),
        (GOOD.replace(b"203.0.113.9", b"-"), Reason.MISSING_CLIENT),
        (b"", Reason.EMPTY_LINE),
        (GOOD.replace(b"/crm/contacts/42", b"/" + b"a" * 1_000_000), Reason.LINE_TOO_LONG),
    ],
)
def test_each_kind_of_bad_line_is_counted_with_its_line_number(line: bytes, reason: Reason) -> None:
    frame, quarantine = parse(GOOD + b"\n" + line + b"\n" + GOOD + b"\n")
    assert frame["line"].to_list() == [1, 3]
    assert quarantine.counts == {reason.value: 1}
    assert quarantine.lines == {reason.value: [2]}


def test_a_dash_size_means_zero_bytes_and_crlf_ends_are_fine() -> None:
    frame, quarantine = parse(GOOD.replace(b" 512 ", b" - ") + b"\r\n")
    assert quarantine.total == 0
    assert frame["bytes"].to_list() == [0]
    assert frame["user_agent"].to_list()[0].endswith("Firefox/118.0")


def test_invalid_utf8_and_latin1_agents_are_kept_and_counted() -> None:
    latin1 = GOOD.replace(b"Firefox/118.0", "Żółw/1.0".encode("latin-1", "replace"))
    broken = GOOD.replace(b"Firefox", b"Fire\xff\xfefox")
    frame, quarantine = parse(latin1 + b"\n" + broken + b"\n")
    assert frame.height == 2
    assert quarantine.non_utf8 == 2
    assert quarantine.total == 0


def test_a_block_that_falls_back_to_the_line_path_counts_each_bad_line_once() -> None:
    too_long = GOOD.replace(b"/crm/contacts/42", b"/" + b"a" * 70_000)
    latin1 = GOOD.replace(b"Firefox", b"Fire\xe9fox")
    frame, quarantine = parse(GOOD + b"\n" + too_long + b"\n\n" + latin1 + b"\n")
    assert frame["line"].to_list() == [1, 4]
    assert quarantine.lines == {Reason.LINE_TOO_LONG.value: [2], Reason.EMPTY_LINE.value: [3]}
    assert quarantine.non_utf8 == 1


def test_escaped_quotes_inside_fields_parse_through_the_strict_path() -> None:
    line = GOOD.replace(b"Firefox/118.0", b'Firefox/118.0 \\"quoted\\"')
    frame, quarantine = parse(line + b"\n")
    assert quarantine.total == 0
    assert frame["user_agent"][0].endswith('"quoted"')


def test_a_truncated_last_quote_at_the_end_of_the_line_is_accepted() -> None:
    frame, quarantine = parse(GOOD[:-1] + b"\n")
    assert quarantine.total == 0 and frame.height == 1


@pytest.mark.parametrize(
    ("fmt", "line", "response_us"),
    [
        ("combined_D", GOOD + b" 153000", 153_000),
        ("combined_T", GOOD + b" 2", 2_000_000),
        ("nginx_timed", GOOD + b" 0.153", 153_000),
        ("nginx_timed", GOOD + b" -", None),
    ],
)
def test_response_times_become_microseconds(fmt: str, line: bytes, response_us: int | None) -> None:
    frame, quarantine = parse(line + b"\n", fmt)
    assert quarantine.total == 0
    assert frame["response_us"].to_list() == [response_us]


def test_vhost_and_common_formats() -> None:
    common = GOOD.split(b' "https')[0]
    frame, _ = parse(common + b"\n", "common")
    assert frame["referer"].to_list() == [None]
    frame, _ = parse(b"crm.example.com:443 " + GOOD + b"\n", "vhost_combined")
    assert frame["site"].to_list() == ["crm.example.com"]


def test_json_lines_with_a_bad_line() -> None:
    good = (
        b'{"time_iso8601":"2026-10-01T12:00:03+02:00","remote_addr":"2001:db8::1",'
        b'"remote_user":"-","request":"GET /x?a=1 HTTP/2.0","status":404,"body_bytes_sent":0,'
        b'"http_referer":"-","http_user_agent":"curl/8.0","request_time":0.002,"host":"crm"}'
    )
    frame, quarantine = parse(good + b"\n{not json\n[1,2]\n", "nginx_json")
    assert frame["status"].to_list() == [404]
    assert frame["response_us"].to_list() == [2000]
    assert quarantine.counts == {Reason.BAD_JSON.value: 2}


def test_the_reader_handles_gzip_and_a_missing_final_newline(tmp_path: Path) -> None:
    path = tmp_path / "access.log.2.gz"
    path.write_bytes(gzip.compress(GOOD + b"\n" + GOOD))
    reader = BlockReader(Input(path, str(path)), block_bytes=64)
    blocks = list(reader)
    assert reader.lines_read == 2
    assert b"".join(block for _, block, _ in blocks).count(b"\n") == 2
    assert [first for first, _, _ in blocks] == [1, 2]


def test_a_truncated_gzip_is_a_one_line_error(tmp_path: Path) -> None:
    path = tmp_path / "rotated.gz"
    path.write_bytes(gzip.compress((GOOD + b"\n") * 5000)[:-200])
    with pytest.raises(InputError, match="damaged or truncated gzip") as caught:
        list(BlockReader(Input(path, "rotated.gz")))
    assert "203.0.113.9" not in str(caught.value)


def test_a_nul_byte_quarantines_its_line_only() -> None:
    block = GOOD + b"\n" + GOOD.replace(b"Firefox", b"Fire\x00fox") + b"\n" + GOOD + b"\n"
    quarantine = Quarantine()
    frame = parse_block(block, 1, resolve_format("combined"), 65536, quarantine)
    assert frame["line"].to_list() == [1, 3]
    assert quarantine.counts == {Reason.NUL_BYTE.value: 1}
    assert quarantine.lines == {Reason.NUL_BYTE.value: [2]}


def test_missing_files_and_folders_are_inputs_with_a_problem(tmp_path: Path) -> None:
    (tmp_path / "b.log").write_text("x")
    (tmp_path / "a.log").write_text("x")
    patterns = [tmp_path / "absent.log", tmp_path, tmp_path / "*.gz", tmp_path / "*.log"]
    found = expand_inputs([str(p) for p in patterns])
    assert [(i.path.name, i.problem) for i in found] == [  # type: ignore[union-attr]
        ("absent.log", "no such file"),
        (tmp_path.name, "it is a folder; name the log files in it (globs work)"),
        ("*.gz", "no file matches it"),
        ("a.log", None),
        ("b.log", None),
    ]


def test_an_over_long_line_is_cut_and_read_over_in_bounded_memory(tmp_path: Path) -> None:
    path = tmp_path / "long.log"
    with path.open("wb") as handle:
        handle.write(GOOD + b"\n" + b'1.2.3.4 - - "' + b"a" * (3 << 20) + b"\n" + GOOD + b"\n")
    reader = BlockReader(Input(path, "long.log"), block_bytes=4096, max_line_bytes=1000)
    blocks = [bytes(block) for _, block, _ in reader]
    lines = b"".join(blocks).split(b"\n")[:-1]
    assert [len(line) for line in lines] == [len(GOOD), 1001, len(GOOD)]
    assert max(len(block) for block in blocks) <= 4096 + 1001
    assert reader.content.hexdigest() == hashlib.sha256(path.read_bytes()).hexdigest()
    quarantine = Quarantine()
    frame = parse_block(b"".join(blocks), 1, resolve_format("combined"), 1000, quarantine)
    assert frame["line"].to_list() == [1, 3]
    assert quarantine.counts == {Reason.LINE_TOO_LONG.value: 1}


@pytest.mark.parametrize("ending", [b"", b"\n"])
def test_an_over_long_last_line_is_cut_too(tmp_path: Path, ending: bytes) -> None:
    path = tmp_path / "long.log"
    path.write_bytes(GOOD + b"\n" + b"x" * 50_000 + ending)
    reader = BlockReader(Input(path, "long.log"), block_bytes=1024, max_line_bytes=300)
    data = b"".join(bytes(block) for _, block, _ in reader)
    assert data == GOOD + b"\n" + b"x" * 301 + b"\n"


def test_a_named_pipe_nobody_writes_to_is_given_up_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(access, "PIPE_WAIT_SECONDS", 0.3)
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    with pytest.raises(InputError, match=r"named pipe no process wrote to within 0\.3 s"):
        list(BlockReader(Input(pipe, "pipe")))


def test_a_named_pipe_with_a_writer_is_read(tmp_path: Path) -> None:
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)

    def write() -> None:
        with pipe.open("wb") as handle:
            handle.write(GOOD + b"\n")

    writer = threading.Thread(target=write)
    writer.start()
    reader = BlockReader(Input(pipe, "pipe"))
    assert b"".join(bytes(block) for _, block, _ in reader) == GOOD + b"\n"
    writer.join()


def test_reading_the_first_line_ahead_leaves_every_block_where_it_was(tmp_path: Path) -> None:
    """Vocabulary is learned block by block: where blocks end is part of a store's templates."""
    path = tmp_path / "access.log"
    path.write_bytes((GOOD + b"\n") * 400)
    plain = [bytes(b) for _, b, _ in BlockReader(Input(path, "a"), block_bytes=4096)]
    ahead = BlockReader(Input(path, "a"), block_bytes=4096, continuing=lambda first: (0, 0))
    assert [bytes(b) for _, b, _ in ahead] == plain


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"")), max_size=12),
    st.booleans(),
    st.integers(8, 64),
    st.integers(10, 30),
)
def test_the_reader_hands_out_every_line_cut_to_its_limit_and_hashes_every_byte(
    tmp_path: Path, lines: list[bytes], ended: bool, block: int, longest: int
) -> None:
    data = b"\n".join(lines) + (b"\n" if ended and lines else b"")
    assume(not data.startswith(b"\x1f\x8b"))  # that is a gzip file
    path = tmp_path / "any.log"
    path.write_bytes(data)
    reader = BlockReader(Input(path, "any"), block_bytes=block, max_line_bytes=longest)
    out = b"".join(bytes(b) for _, b, _ in reader).split(b"\n")[:-1]
    expected = data.split(b"\n")
    if data.endswith(b"\n") or not data:
        expected.pop()
    assert len(out) == len(expected)
    for got, line in zip(out, expected, strict=True):
        # Whole, or cut, still too long, to at most a block and the limit.
        assert got == line or (line.startswith(got) and longest < len(got) <= block + longest + 1)
    assert reader.content.hexdigest() == hashlib.sha256(data).hexdigest()
    whole = data[: data.rfind(b"\n") + 1]
    if reader.complete_sha256 is not None:
        assert reader.complete_sha256 == hashlib.sha256(whole).hexdigest()
        assert reader.complete_size == len(whole)
    else:  # only an over-long line left unended has no whole-lines hash
        assert len(data) - len(whole) > longest + 1
    assert reader.tail == (not data.endswith(b"\n") and bool(data))
