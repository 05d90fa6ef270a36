"""Every word of a report exists in Polish and English, with the same placeholders."""

from __future__ import annotations

import datetime as dt

import pytest

from privstats.exceptions import ParameterError
from privstats.report.i18n import (
    MESSAGES,
    Language,
    format_number,
    format_period,
    format_timestamp,
    message,
    placeholders,
    report_title,
)

NBSP = "\u00a0"


@pytest.mark.parametrize("key", sorted(MESSAGES))
def test_every_message_exists_in_both_languages_with_the_same_placeholders(key: str) -> None:
    texts = MESSAGES[key]
    assert set(texts) == set(Language)
    assert all(text.strip() for text in texts.values())
    assert placeholders(texts[Language.PL]) == placeholders(texts[Language.EN])


def test_every_report_notebook_has_a_title() -> None:
    for report in ("traffic_report", "crm_activity_report", "partner_summary", "explore", "review"):
        assert report_title(report, "pl") != report_title("unknown", "pl")
    assert report_title("unknown", "en") == "Statistical report"


def test_placeholders_are_filled() -> None:
    assert message("table.hidden_cells", "en", count=3) == "Hidden cells: 3."
    assert message("table.hidden_cells", Language.PL, count=3) == "Ukryte komórki: 3."


@pytest.mark.parametrize(
    ("value", "decimals", "pl", "en"),
    [
        (1234567, 0, f"1{NBSP}234{NBSP}567", "1,234,567"),
        (-12345.5, 1, f"-12{NBSP}345,5", "-12,345.5"),
        (0.25, 2, "0,25", "0.25"),
        (7, 0, "7", "7"),
    ],
)
def test_numbers_follow_the_language(value, decimals, pl, en) -> None:
    assert format_number(value, "pl", decimals) == pl
    assert format_number(value, "en", decimals) == en


def test_periods_and_times_follow_the_language() -> None:
    assert format_period("2026-10", "pl") == "październik 2026"
    assert format_period("2026-10", "en") == "October 2026"
    assert format_period("2026-10-01_2026-10-15", "en") == "2026-10-01 – 2026-10-15"
    moment = dt.datetime(2026, 11, 3, 13, 5, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    assert format_timestamp(moment, "pl") == "3 listopada 2026, 12:05 UTC"
    assert format_timestamp(moment, "en") == "3 November 2026, 12:05 UTC"


def test_an_unknown_language_is_a_parameter_error() -> None:
    with pytest.raises(ParameterError, match="one of pl, en"):
        Language.parse("de")
