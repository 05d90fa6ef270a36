"""Hits rendered byte-exactly in the access-log formats the ingest knows by name.

Lines are built as ``str`` and encoded with ``surrogateescape``: a user agent that must come out
as invalid UTF-8 or Latin-1 bytes is carried as lone surrogates until the final encode.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
from zoneinfo import ZoneInfo

from privstats.synth.traffic import Hit

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class LogFormatName(enum.StrEnum):
    """The format names of ``privstats.sources.logformat.NAMED`` this generator writes."""

    COMMON = "common"
    COMBINED = "combined"
    VHOST_COMBINED = "vhost_combined"
    COMBINED_D = "combined_D"
    COMBINED_T = "combined_T"
    NGINX_TIMED = "nginx_timed"
    NGINX_JSON = "nginx_json"

    @property
    def has_agent(self) -> bool:
        return self is not LogFormatName.COMMON


def local_time(ts: float, tz: ZoneInfo | dt.timezone) -> dt.datetime:
    return dt.datetime.fromtimestamp(int(ts), tz)


def clf_time(moment: dt.datetime) -> str:
    """``01/Oct/2026:12:00:03 +0200`` (English month names whatever the locale)."""
    return (
        f"{moment.day:02d}/{_MONTHS[moment.month - 1]}/{moment.year}:"
        f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d} {moment:%z}"
    )


def _clf_size(size: int) -> str:
    return str(size) if size else "-"  # Apache %b writes "-" for an empty body


def header_bytes(hit: Hit) -> int:
    """Response header size for ``%O`` (bytes sent including headers): fixed per hit."""
    return 210 + (len(hit.target) * 7 + hit.status) % 140


def render(fmt: LogFormatName, hit: Hit, tz: ZoneInfo | dt.timezone) -> str:
    """One log line without its line end."""
    moment = local_time(hit.ts, tz)
    request = f"{hit.method} {hit.target} {hit.protocol}"
    head = f'{hit.client} - {hit.login} [{clf_time(moment)}] "{request}" {hit.status}'
    tail = f'"{hit.referer}" "{hit.agent}"'
    if fmt is LogFormatName.COMMON:
        return f"{head} {_clf_size(hit.size)}"
    if fmt is LogFormatName.COMBINED:
        return f"{head} {_clf_size(hit.size)} {tail}"
    if fmt is LogFormatName.COMBINED_D:
        return f"{head} {_clf_size(hit.size)} {tail} {hit.response_us}"
    if fmt is LogFormatName.COMBINED_T:
        return f"{head} {_clf_size(hit.size)} {tail} {hit.response_us // 1_000_000}"
    if fmt is LogFormatName.VHOST_COMBINED:
        return f"{hit.site.value}:443 {head} {hit.size + header_bytes(hit)} {tail}"
    if fmt is LogFormatName.NGINX_TIMED:
        return f"{head} {hit.size} {tail} {hit.response_us / 1e6:.3f}"
    # nginx log_format with escape=json writes an empty variable as "", not "-".
    record = {
        "time_iso8601": moment.isoformat(),
        "remote_addr": hit.client,
        "remote_user": "" if hit.login == "-" else hit.login,
        "request": request,
        "status": hit.status,
        "body_bytes_sent": hit.size,
        "http_referer": "" if hit.referer == "-" else hit.referer,
        "http_user_agent": hit.agent,
        "request_time": round(hit.response_us / 1e6, 3),
        "host": hit.site.value,
    }
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))


def encode(line: str, end: str = "\n") -> bytes:
    return (line + end).encode("utf-8", errors="surrogateescape")
