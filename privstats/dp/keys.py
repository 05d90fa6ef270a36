"""Which keys a DP table may publish: a public key space, or keys selected with DP.

A key that exists only because one person's rows carry it (a path with their name in it, a
referring domain of their own blog, a rare browser build) tells that person was there, noise or
not. So in DP mode the keys of a table come from one of two places:

* a **public key space**, known before looking at the data: the days and hours of the period,
  weekdays, device classes, status classes, referer kinds, the CRM's closed vocabularies
  (modules, actions, sources, plans, size bands, industries, topics, sign-up channels), the
  routes declared in ``[dp] paths`` and, with ``versus``, the partner and "others". Every key
  of the space is published with noise, the empty ones included: an empty cell looks like any
  other small one;
* otherwise (paths, referring domains, browsers, operating systems, networks) **DP partition
  selection**: only keys whose noisy count passes a threshold set for δ are published
  (``privstats.dp.mechanisms.select_and_noise``). Vocabulary the store learned from the data
  (path segments kept after enough clients asked) never makes a key public here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from privstats.anonymise.referers import RefererKind
from privstats.anonymise.useragents import Device
from privstats.config import Config
from privstats.tabulate.backends import OTHERS
from privstats.tabulate.query import Query

_DEVICES = (Device.DESKTOP, Device.MOBILE, Device.TABLET, Device.BOT, Device.OTHER)
_REFERER_KINDS = (RefererKind.NONE, RefererKind.INTERNAL, RefererKind.EXTERNAL, RefererKind.UNKNOWN)
# Codes as the engine reads them: every dimension as text (booleans as polars writes them).
_FIXED: dict[str, tuple[str, ...]] = {
    "hour": tuple(str(h) for h in range(24)),
    "weekday": tuple(str(d) for d in range(1, 8)),
    "status_class": ("1xx", "2xx", "3xx", "4xx", "5xx"),
    "error": ("0", "1"),
    "device": _DEVICES,
    "is_bot": ("false", "true"),
    "referer_kind": _REFERER_KINDS,
}

# Dimensions a unit holds one value of in honest data, per table (``bounding`` enforces it).
# A visitor pseudonym is made of the address and the user agent, so what the agent tells is one
# per visitor; the key period of a visitor-day is one UTC day. A CRM person has one account,
# organisation and partner.
_ONE_PER_UNIT_ACCESS = ("device", "browser", "browser_major", "os", "is_bot")
_ONE_PER_DAY = ("day", "week", "month", "weekday")
_ONE_PER_PERSON = (
    "partner",
    "size_band",
    "industry",
    "signup_channel",
    "plan",
    "country",
    "signup_month",
)


def days(start: dt.date, end: dt.date) -> list[str]:
    return [(start + dt.timedelta(days=i)).isoformat() for i in range((end - start).days + 1)]


def public_codes(query: Query, dim: str, config: Config) -> tuple[str, ...] | None:
    """Every code of ``dim`` a DP table of ``query`` publishes, or None when the codes can only
    come from the data (then partition selection decides)."""
    versus = dict(query.versus)
    if dim in versus:
        return (versus[dim], OTHERS)
    if dim in _FIXED:
        return _FIXED[dim]
    assert query.start is not None and query.end is not None
    if dim == "day":
        return tuple(days(query.start, query.end))
    if dim == "month":
        return tuple(sorted({d[:7] for d in days(query.start, query.end)}))
    if dim == "week":
        weeks = {dt.date.fromisoformat(d).isocalendar()[:2] for d in days(query.start, query.end)}
        return tuple(f"{y:04d}-W{w:02d}" for y, w in sorted(weeks))
    if dim == "path" and config.dp.paths:
        return tuple(config.dp.paths)
    closed = config.crm.vocabularies().closed
    if query.table != "access" and dim in closed:
        return tuple(sorted(closed[dim]))
    if dim == "partner" and config.dp.public_partners:
        return tuple(sorted(config.dp.public_partners))
    return None


def one_per_unit(query: Query) -> tuple[str, ...]:
    """Dimensions of ``query`` each unit is held to one value of (see ``bounding``)."""
    if query.table == "access":
        time = _ONE_PER_DAY if query.tz == "UTC" else ()
        return (*_ONE_PER_UNIT_ACCESS, *time)
    return _ONE_PER_PERSON


def key_space(query: Query, config: Config) -> list[tuple[str, ...]] | None:
    """Every leaf key of the table (the product of its dimensions' public codes), or None when
    a dimension has no public code list."""
    spaces: list[Sequence[str]] = []
    for dim in query.dims:
        codes = public_codes(query, dim, config)
        if codes is None:
            return None
        spaces.append(codes)
    keys: list[tuple[str, ...]] = [()]
    for space in spaces:
        keys = [(*k, c) for k in keys for c in space]
    return keys
