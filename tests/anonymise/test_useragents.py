from __future__ import annotations

import pytest

from privstats.anonymise.useragents import Device, classify


@pytest.mark.parametrize(
    ("agent", "browser", "os", "device", "bot"),
    [
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/120.0.6099.109 Safari/537.36",
            "Chrome", "Windows", Device.DESKTOP, False,
        ),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
            "(KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
            "Mobile Safari", "iOS", Device.MOBILE, False,
        ),
        (
            "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
            "Gecko) Version/16.6 Mobile/15E148 Safari/604.1",
            "Mobile Safari", "iOS", Device.TABLET, False,
        ),
        (
            "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
            "Googlebot", "Other", Device.BOT, True,
        ),
        ("Tiny Tiny RSS/20.04 (http://tt-rss.org/)", None, None, Device.BOT, True),
        ("curl/8.4.0", None, None, Device.BOT, True),
        ("-", "Other", "Other", Device.OTHER, False),
    ],
)  # fmt: skip
def test_agents_become_families(
    agent: str, browser: str | None, os: str | None, device: str, bot: bool
) -> None:
    result = classify(agent)
    if browser is not None:
        assert result.browser == browser
    if os is not None:
        assert result.os == os
    assert (result.device, result.is_bot) == (device, bot)


def test_the_major_version_is_a_number_or_nothing() -> None:
    agent = "Mozilla/5.0 (X11; Linux x86_64; rv:118.0) Gecko/20100101 Firefox/118.0"
    assert classify(agent).browser_major == "118"
    assert classify("weird/agent").browser_major is None


@pytest.mark.parametrize(
    "agent",
    ["CURL/8.4.0", "Python-Requests/2.31", "Mozilla/5.0 HeadlessChrome/120.0", "UptimeRobot/2.0"],
)
def test_bot_hints_match_whatever_the_case(agent: str) -> None:
    assert classify(agent).is_bot
    assert classify(agent).device == Device.BOT
