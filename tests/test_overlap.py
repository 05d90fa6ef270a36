"""A log that grew, or a copy of one, is never counted twice: what is new goes in, or nothing."""

from __future__ import annotations

import gzip
import hashlib
import io
import sys
from pathlib import Path

import pytest

from privstats.config import Config
from privstats.ingest import ingest_access
from privstats.key import SecretKey
from privstats.store import Store

LINE = (
    '203.0.113.{n} - - [0{d}/Oct/2026:12:{m:02d}:03 +0200] "GET /blog/post-{n} HTTP/1.1" 200 512 '
    '"-" "Mozilla/5.0 (X11; Linux x86_64) Firefox/118.0"\n'
)


def lines(day: int, count: int = 40) -> str:
    return "".join(LINE.format(n=n, d=day, m=n) for n in range(count))


def stored(config: Config) -> int:
    return len(Store(config.store_path).read("access"))


def test_a_growing_log_is_ingested_as_a_tailing_reader_would(
    tmp_path: Path, config: Config, key: SecretKey
) -> None:
    live = tmp_path / "access.log"
    live.write_text(lines(1))
    [first] = ingest_access(config, key, [str(live)])
    with live.open("a") as handle:
        handle.write(lines(2))
    [second] = ingest_access(config, key, [str(live)])
    assert (second.status, second.skipped, second.lines, second.rows) == ("ingested", 40, 40, 40)
    assert "the first 40 lines were ingested before" in second.summary()
    assert list(second.days) == ["2026-10-02"]
    with live.open("a") as handle:
        handle.write(lines(3))
    [third] = ingest_access(config, key, [str(live)])
    assert (third.skipped, third.rows) == (80, 40)
    assert stored(config) == first.rows + second.rows + third.rows == 120
    # Rotated and compressed at last: the same content, nothing added.
    rotated = tmp_path / "access.log.1.gz"
    rotated.write_bytes(gzip.compress(live.read_bytes()))
    assert [r.status for r in ingest_access(config, key, [str(rotated)])] == ["already ingested"]
    assert stored(config) == 120


def test_a_log_grown_by_a_blank_line_adds_nothing(
    tmp_path: Path, config: Config, key: SecretKey
) -> None:
    log = tmp_path / "access.log"
    log.write_text(lines(1))
    ingest_access(config, key, [str(log)])
    log.write_text(lines(1) + "\n")
    [again] = ingest_access(config, key, [str(log)])
    assert again.status == "nothing new" and stored(config) == 40


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (lambda text: text.replace("\n", "\r\n"), "bytes are not that input's"),
        (lambda text: text[: len(text) // 2], "neither is that input nor continues it"),
        (lambda text: text.replace("post-7 ", "post-8 ") + lines(2), "bytes are not that input's"),
    ],
    ids=["converted to CRLF", "cut short", "edited and grown"],
)
def test_a_copy_that_repeats_lines_in_other_bytes_is_refused(
    tmp_path: Path, config: Config, key: SecretKey, change: object, why: str
) -> None:
    original = tmp_path / "access.log"
    original.write_text(lines(1))
    ingest_access(config, key, [str(original)])
    catalog = (config.store_path / "catalog.json").read_bytes()
    copy = tmp_path / "copy.log"
    copy.write_bytes(change(lines(1)).encode())  # type: ignore[operator]
    [refused] = ingest_access(config, key, [str(copy)])
    assert refused.status == "failed"
    assert why in (refused.error or "")
    assert "nothing was written for it, so that no line is counted twice" in (refused.error or "")
    assert (config.store_path / "catalog.json").read_bytes() == catalog


def test_standard_input_may_continue_a_log_too(
    tmp_path: Path, config: Config, key: SecretKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "access.log"
    log.write_text(lines(1))
    ingest_access(config, key, [str(log)])
    stdin = io.TextIOWrapper(io.BytesIO((lines(1) + lines(2)).encode()))
    monkeypatch.setattr(sys, "stdin", stdin)
    [piped] = ingest_access(config, key, ["-"])
    assert (piped.skipped, piped.rows) == (40, 40)


def test_the_first_line_is_remembered_only_under_the_key(
    tmp_path: Path, config: Config, key: SecretKey
) -> None:
    log = tmp_path / "access.log"
    log.write_text(lines(1))
    ingest_access(config, key, [str(log)])
    first = lines(1).splitlines()[0].encode()
    text = (config.store_path / "catalog.json").read_text()
    for digest in (hashlib.sha256(first), hashlib.sha256(first + b"\n"), hashlib.md5(first)):
        assert digest.hexdigest()[:32] not in text


@pytest.mark.parametrize(
    ("cut", "rows_before"),
    [(-100, 40), (-1, 41)],
    ids=["inside the line: quarantined, then read whole", "before its line feed: a row, once"],
)
def test_a_log_read_while_a_line_was_written_is_continued_without_a_line_twice(
    tmp_path: Path, config: Config, key: SecretKey, cut: int, rows_before: int
) -> None:
    whole = lines(1, 41) + lines(2)
    live = tmp_path / "access.log"
    live.write_text(lines(1, 41)[:cut])  # the writer was in the middle of the 41st line
    [first] = ingest_access(config, key, [str(live)], max_bad_ratio=1.0)
    assert first.rows == rows_before
    live.write_text(whole)
    [second] = ingest_access(config, key, [str(live)])
    assert second.status == "ingested" and second.skipped == 40
    assert stored(config) == 81  # every line once
