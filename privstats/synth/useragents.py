"""User-agent strings as real logs carry them: browsers, apps, crawlers, feed readers, tools.

Browser versions vary down to the build number, so a large world has thousands of distinct
strings; a few browsers carry a unique install token (toolbars and desktop apps do that), which
is an identifier the ingest must not keep.
"""

from __future__ import annotations

import random
import string
from typing import Protocol


class _Taker(Protocol):
    def take(self, candidates: list[str]) -> str: ...


_WINDOWS = ("Windows NT 10.0; Win64; x64", "Windows NT 10.0; WOW64", "Windows NT 6.1; Win64; x64")
_MACS = ("Macintosh; Intel Mac OS X 10_15_7", "Macintosh; Intel Mac OS X 14_6_1")
_LINUX = ("X11; Linux x86_64", "X11; Ubuntu; Linux x86_64")
_ANDROID_DEVICES = (
    "SM-A536B",
    "SM-S918B",
    "Pixel 8",
    "Pixel 7a",
    "M2101K6G",
    "CPH2387",
    "moto g84 5G",
    "2201117TY",
    "SM-G991B",
)


def _chrome(rng: random.Random) -> str:
    major = rng.randrange(118, 131)
    return f"{major}.0.{rng.randrange(5900, 6800)}.{rng.randrange(40, 220)}"


def desktop_browser(rng: random.Random, tokens: _Taker) -> tuple[str, str | None]:
    """A desktop browser string, and its unique token when it carries one (about 1 in 12)."""
    family = rng.choices(("chrome", "firefox", "edge", "safari"), weights=(55, 20, 15, 10))[0]
    if family == "safari":
        agent = (
            f"Mozilla/5.0 ({rng.choice(_MACS)}) AppleWebKit/605.1.15 (KHTML, like Gecko) "
            f"Version/{rng.randrange(15, 18)}.{rng.randrange(0, 7)} Safari/605.1.15"
        )
    elif family == "firefox":
        os_ = rng.choice(_WINDOWS + _LINUX + _MACS)
        v = rng.randrange(115, 132)
        agent = f"Mozilla/5.0 ({os_}; rv:{v}.0) Gecko/20100101 Firefox/{v}.0"
    else:
        os_ = rng.choice(_WINDOWS * 3 + _MACS + _LINUX)
        version = _chrome(rng)
        agent = (
            f"Mozilla/5.0 ({os_}) AppleWebKit/537.36 (KHTML, like Gecko) "
            f"Chrome/{version} Safari/537.36"
        )
        if family == "edge":
            agent += (
                f" Edg/{version.split('.')[0]}.0.{rng.randrange(2000, 2900)}.{rng.randrange(99)}"
            )
    if rng.random() < 1 / 12:
        token = tokens.take(["".join(rng.choices(string.ascii_uppercase + string.digits, k=10))])
        token = f"inst-{token}"
        agent += rng.choice((f" CRMDesktopHelper/3.2 ({token})", f" SmartToolbar/{token}"))
        return agent, token
    return agent, None


def mobile_browser(rng: random.Random) -> str:
    if rng.random() < 0.55:
        device = rng.choice(_ANDROID_DEVICES)
        return (
            f"Mozilla/5.0 (Linux; Android {rng.randrange(11, 15)}; {device}) "
            f"AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{_chrome(rng)} "
            "Mobile Safari/537.36"
        )
    ios = f"{rng.randrange(16, 19)}_{rng.randrange(0, 7)}"
    return (
        f"Mozilla/5.0 (iPhone; CPU iPhone OS {ios} like Mac OS X) AppleWebKit/605.1.15 "
        f"(KHTML, like Gecko) Version/{ios.split('_')[0]}.0 Mobile/15E148 Safari/604.1"
    )


def any_browser(rng: random.Random, tokens: _Taker) -> tuple[str, str | None]:
    if rng.random() < 0.4:
        return mobile_browser(rng), None
    return desktop_browser(rng, tokens)


def mobile_app(rng: random.Random) -> str:
    version = f"5.{rng.randrange(0, 4)}.{rng.randrange(0, 6)}"
    if rng.random() < 0.6:
        device = rng.choice(_ANDROID_DEVICES)
        return f"CRMMobile/{version} (Android {rng.randrange(11, 15)}; {device}) okhttp/4.12.0"
    ios = f"{rng.randrange(16, 19)}.{rng.randrange(0, 6)}"
    return f"CRMMobile/{version} (iPhone; iOS {ios}; Scale/3.00)"


# Crawlers with the network their requests come from (first three octets; None = anywhere).
CRAWLERS: tuple[tuple[str, str | None], ...] = (
    ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "66.249.66"),
    (
        "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like "
        "Gecko) Chrome/129.0.6668.100 Mobile Safari/537.36 (compatible; Googlebot/2.1; "
        "+http://www.google.com/bot.html)",
        "66.249.68",
    ),
    ("Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)", "157.55.39"),
    ("Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)", "5.255.231"),
    ("Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)", "54.36.148"),
    ("Mozilla/5.0 (compatible; SemrushBot/7~bl; +http://www.semrush.com/bot.html)", "185.191.171"),
    ("DuckDuckBot/1.1; (+http://duckduckgo.com/duckduckbot.html)", "20.191.45"),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/17.4 Safari/605.1.15 (Applebot/0.1; +http://www.apple.com/go/applebot)",
        "17.241.75",
    ),
    ("facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)", "69.171.230"),
    (
        "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; "
        "+https://openai.com/gptbot)",
        "20.171.207",
    ),
    ("Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)", None),
    ("Mozilla/5.0 (compatible; PetalBot;+https://webmaster.petalsearch.com/site/petalbot)", None),
)
SCANNERS = (
    "Mozilla/5.0 zgrab/0.x",
    "python-requests/2.31.0",
    "Go-http-client/1.1",
    "-",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/78.0.3904.108 Safari/537.36",
)
_FEEDS = (
    "Feedly/1.0 (+http://www.feedly.com/fetcher.html; {n} subscribers; like FeedFetcher-Google)",
    "Mozilla/5.0 (compatible; inoreader.com; {n} subscribers)",
    "NewsBlur Feed Fetcher - {n} subscribers - https://www.newsblur.com/site/7423/blog",
    "Tiny Tiny RSS/24.09 (https://tt-rss.org/)",
    "FreshRSS/1.24.3 (Linux; https://freshrss.org)",
    "Miniflux/2.2.1; +https://miniflux.app",
)
MONITOR = "Mozilla/5.0+(compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)"


def feed_reader(rng: random.Random, i: int) -> str:
    return _FEEDS[i % len(_FEEDS)].format(n=rng.randrange(1, 40))


def api_client(rng: random.Random) -> str:
    return rng.choice(
        (
            f"python-requests/2.{rng.randrange(25, 33)}.0",
            f"axios/1.{rng.randrange(4, 8)}.{rng.randrange(0, 9)}",
            "Zapier",
            f"PostmanRuntime/7.{rng.randrange(36, 43)}.0",
            f"CRMSync/2.{rng.randrange(0, 6)} (+https://integrations.example.com)",
            f"curl/8.{rng.randrange(1, 11)}.0",
            "Make/production",
        )
    )
