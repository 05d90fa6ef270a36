"""User agent -> browser family, major version, OS family, device class, bot flag.

The raw string never leaves this module. Classification uses ua-parser with its bundled
uap-core rules (no download), and runs once per distinct string: a log of millions of lines
has a few thousand distinct agents.

Building ua-parser's matcher takes a quarter of a second and 40 MB, and it and every match
hold the GIL. So ``privstats ingest access`` classifies in a worker process
(``lookups.LookupWorker``), which answers with this ``classify`` over a pipe.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

# Automated clients uap-core does not mark as spiders: feed readers, libraries, monitors.
# Matched against the case-folded agent: an IGNORECASE search of these alternatives is about
# fifteen times slower, and would be half the cost of classifying an agent.
_BOT_HINTS = re.compile(
    r"bot\b|bot/|crawl|spider|slurp|feed|rss|curl/|wget/|python-requests|python-urllib|"
    r"go-http-client|java/|okhttp|libwww|httpclient|scrapy|headless|monitor|uptime|"
    r"pingdom|preview|facebookexternalhit|archiver"
)
_DESKTOP_OS = {
    "Windows", "Mac OS X", "macOS", "Linux", "Ubuntu", "Fedora", "Debian", "Chrome OS",
    "FreeBSD", "OpenBSD", "NetBSD", "Solaris", "SUSE", "Red Hat", "Mint", "Arch Linux",
}  # fmt: skip
_MOBILE_OS = {"iOS", "Android", "Windows Phone", "BlackBerry OS", "KaiOS", "Tizen", "HarmonyOS"}


class Device:
    DESKTOP = "desktop"
    MOBILE = "mobile"
    TABLET = "tablet"
    BOT = "bot"
    OTHER = "other"


@dataclass(frozen=True)
class AgentClass:
    browser: str
    browser_major: str | None
    os: str
    device: str
    is_bot: bool


UNKNOWN = AgentClass("Other", None, "Other", Device.OTHER, False)


@lru_cache(maxsize=200_000)
def classify(agent: str | None) -> AgentClass:
    """Classify one user-agent string (cached: call it freely)."""
    if not agent or agent == "-":
        return UNKNOWN
    import ua_parser  # here: a process that has a worker classify never loads it

    result = ua_parser.parse(agent)
    browser = result.user_agent.family if result.user_agent else "Other"
    major = result.user_agent.major if result.user_agent else None
    os_family = result.os.family if result.os else "Other"
    device_family = result.device.family if result.device else "Other"
    folded = agent.casefold()
    is_bot = device_family == "Spider" or bool(_BOT_HINTS.search(folded))
    return AgentClass(
        browser=browser,
        browser_major=major if major and major.isdigit() and len(major) <= 5 else None,
        os=os_family,
        device=_device(folded, os_family, device_family, is_bot),
        is_bot=is_bot,
    )


def _device(folded: str, os_family: str, device_family: str, is_bot: bool) -> str:
    if is_bot:
        return Device.BOT
    if "ipad" in folded or "tablet" in folded or device_family in {"iPad", "Kindle"}:
        return Device.TABLET
    if os_family == "Android" and "mobile" not in folded:
        return Device.TABLET
    if os_family in _MOBILE_OS or "mobile" in folded:
        return Device.MOBILE
    if os_family in _DESKTOP_OS:
        return Device.DESKTOP
    return Device.OTHER
