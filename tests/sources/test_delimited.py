from __future__ import annotations

import pytest

from privstats.sources.delimited import DelimitedPlan, SlotKind, split
from privstats.sources.logformat import resolve_format

GOOD = (
    b'203.0.113.9 - - [01/Oct/2026:12:00:03 +0200] "GET /crm/contacts/42 HTTP/1.1" 200 512 '
    b'"https://www.google.com/search?q=crm" "Mozilla/5.0 (X11; Linux x86_64) Firefox/118.0"'
)
COMBINED = DelimitedPlan.of(resolve_format("combined"))


def test_a_format_becomes_one_slot_per_csv_column() -> None:
    kinds = [slot.kind for slot in COMBINED.slots]  # type: ignore[union-attr]
    assert kinds == [
        SlotKind.PLAIN, SlotKind.PLAIN, SlotKind.PLAIN, SlotKind.TIME_OPEN, SlotKind.TIME_CLOSE,
        SlotKind.QUOTED, SlotKind.PLAIN, SlotKind.PLAIN, SlotKind.QUOTED, SlotKind.QUOTED,
    ]  # fmt: skip
    nginx = DelimitedPlan.of(resolve_format("nginx_combined"))
    assert nginx is not None and nginx.slots[1].literal == "-"
    assert DelimitedPlan.of(resolve_format("nginx_json")) is None


def test_well_written_lines_are_trusted_and_placed_on_their_lines() -> None:
    found = split(GOOD + b"\n" + GOOD + b"\n", COMBINED)  # type: ignore[arg-type]
    assert found is not None
    assert found.trusted.tolist() == [True, True]
    assert found.line.tolist() == [0, 1] and found.lines == 2
    assert found.start.tolist() == [0, len(GOOD) + 1]


@pytest.mark.parametrize(
    "odd",
    [
        GOOD.replace(b'"-"', b"-").replace(b'"https://www.google.com/search?q=crm"', b"-"),
        GOOD.replace(b'"GET /crm/contacts/42 HTTP/1.1"', b'"GET /crm/contacts/42 HTTP/1.1"x'),
        GOOD.replace(b"203.0.113.9", b'"203.0.113.9"'),
    ],
)
def test_a_line_not_written_as_the_format_says_is_doubted_alone(odd: bytes) -> None:
    found = split(GOOD + b"\n" + odd + b"\n" + GOOD + b"\n", COMBINED)  # type: ignore[arg-type]
    assert found is not None
    assert found.trusted.tolist() == [True, False, True]


def test_rejected_and_merged_rows_go_line_by_line_with_their_line_numbers() -> None:
    open_quote = GOOD[: GOOD.index(b"HTTP/1.1")]  # ends inside the quoted request
    data = GOOD + b"\n" + open_quote + b"\n" + GOOD + b"\n" + GOOD + b" extra\n"
    found = split(data, COMBINED)  # type: ignore[arg-type]
    assert found is not None
    assert [line for line, _ in found.others] == [1, 2, 3]
    assert found.others[0][1] == open_quote
    assert found.lines == 4


def test_crlf_lines_are_placed_by_their_newlines() -> None:
    found = split(GOOD + b"\r\n" + GOOD + b"\r\n", COMBINED)  # type: ignore[arg-type]
    assert found is not None and found.trusted.tolist() == [True, True]
    assert found.length.tolist() == [len(GOOD) + 1, len(GOOD) + 1]


def test_a_carriage_return_inside_a_line_sends_the_block_line_by_line() -> None:
    assert split(GOOD + b"\n" + GOOD.replace(b" 512 ", b" 5\r12 ") + b"\n", COMBINED) is None  # type: ignore[arg-type]
