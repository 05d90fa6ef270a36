"""Bad lines as real logs have them, each made from a real hit so it still carries identifiers.

A malformed line is counted by kind in the manifest; the ingest must quarantine it by reason
without echoing what is in it. Lines with odd bytes (invalid UTF-8, a Latin-1 user agent) and
CRLF line ends are valid lines: the ingest should keep them, so they are counted apart.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import json
import re
from urllib.parse import quote
from zoneinfo import ZoneInfo

from privstats.synth.formats import LogFormatName, render
from privstats.synth.traffic import Hit


class MalformedKind(enum.StrEnum):
    WRONG_FIELD_COUNT = "wrong_field_count"
    UNTERMINATED_QUOTE = "unterminated_quote"
    BAD_TIMESTAMP = "bad_timestamp"
    NON_NUMERIC_STATUS = "non_numeric_status"
    NON_NUMERIC_SIZE = "non_numeric_size"
    DASH_STATUS = "dash_status"
    TOO_LONG = "too_long"


class OddKind(enum.StrEnum):
    """Valid lines with unusual bytes."""

    INVALID_UTF8 = "invalid_utf8"
    LATIN1_USER_AGENT = "latin1_user_agent"


# Kinds drawn for the ordinary bad-line budget; TOO_LONG is planted once, on request.
ORDINARY = tuple(k for k in MalformedKind if k is not MalformedKind.TOO_LONG)
HUGE_LINE_BYTES = 1_050_000

_CLF_TIME = re.compile(r"\[[^\]]+\]")


def _latin1(text: str) -> str:
    """Text whose encoding with surrogateescape gives its Latin-1 bytes."""
    return text.encode("latin-1").decode("utf-8", errors="surrogateescape")


def odd_agent(kind: OddKind) -> str:
    if kind is OddKind.INVALID_UTF8:
        # A truncated multi-byte sequence and stray continuation bytes, as broken clients send.
        return "Mozilla/5.0 (compatible; Przegl" + "\udcc4" + "darka/2.0; \udcff\udcfe\udc80)"
    return _latin1("Mozilla/5.0 (Windows NT 10.0; fr-FR) Navigateur/2.1 (Français; Zoé)")


def malformed_line(
    kind: MalformedKind, fmt: LogFormatName, hit: Hit, tz: ZoneInfo | dt.timezone
) -> str:
    """The line ``hit`` would give in ``fmt``, broken in the way ``kind`` names."""
    if kind is MalformedKind.TOO_LONG:
        filler = quote(f"{hit.target} ") * (HUGE_LINE_BYTES // max(1, len(quote(hit.target))))
        hit = dataclasses.replace(hit, target=f"/crm/search?q={filler[:HUGE_LINE_BYTES]}")
        return render(fmt, hit, tz)
    if fmt is LogFormatName.NGINX_JSON:
        return _malformed_json(kind, fmt, hit, tz)
    line = render(fmt, hit, tz)
    status = f'" {hit.status} '
    if kind is MalformedKind.WRONG_FIELD_COUNT:
        if fmt.has_agent:  # the user-agent field is missing
            return line.replace(f' "{hit.agent}"', "", 1)
        return line.rsplit(" ", 1)[0]
    if kind is MalformedKind.UNTERMINATED_QUOTE:
        # A write cut short inside the request field. (Cut inside the last field, the user
        # agent, a lenient parser may still accept the line, so the count would be ambiguous.)
        return line[: line.index('"') + 1 + len(f"{hit.method} {hit.target}") // 2 + 1]
    if kind is MalformedKind.BAD_TIMESTAMP:
        return _CLF_TIME.sub("[2026-10-01 25:61:00]", line, count=1)
    if kind is MalformedKind.NON_NUMERIC_STATUS:
        return line.replace(status, '" OK ', 1)
    if kind is MalformedKind.DASH_STATUS:
        return line.replace(status, '" - ', 1)
    # NON_NUMERIC_SIZE: the field after the status
    head, rest = line.split(status, 1)
    return f"{head}{status}12kB {rest.split(' ', 1)[1]}" if " " in rest else f"{head}{status}12kB"


def _malformed_json(
    kind: MalformedKind, fmt: LogFormatName, hit: Hit, tz: ZoneInfo | dt.timezone
) -> str:
    record = json.loads(render(fmt, hit, tz))
    if kind is MalformedKind.WRONG_FIELD_COUNT:
        del record["status"], record["request"]
    elif kind is MalformedKind.UNTERMINATED_QUOTE:
        text = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
        return text[: text.index('"http_user_agent":"') + 25]
    elif kind is MalformedKind.BAD_TIMESTAMP:
        record["time_iso8601"] = "01/10/2026 25:61"
    elif kind is MalformedKind.NON_NUMERIC_STATUS:
        record["status"] = "OK"
    elif kind is MalformedKind.DASH_STATUS:
        record["status"] = "-"
    else:
        record["body_bytes_sent"] = "12kB"
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))
