"""The fast ingest equals a slow, obvious one: plain Python, one line at a time.

The reference below reads a log the way the documentation says: split at newlines, decode,
match the format's regex (then the strict one), check and type each field, then anonymise each
row on its own (HMAC, user-agent classification, path template, referer domain). It shares only
the leaf rules with the package (the user-agent parser, the public-suffix lookup, the keyed
HMAC, how a timestamp or a number is read); everything columnar (the compiled tokeniser and
its proofs, codes into distinct values, grouping paths by shape, per-block caches) is absent
from it. Ingest must produce exactly its rows and its quarantine, on synthetic logs with every
kind of bad line, on hand-made edge cases, and on the real log.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import re
import secrets
import unicodedata
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

import polars as pl
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from privstats.anonymise.escapes import normal_path
from privstats.anonymise.networks import coarse_network, learning_network
from privstats.anonymise.pseudonyms import person_pseudonyms, visitor_pseudonyms
from privstats.anonymise.referers import registrable_domain
from privstats.anonymise.useragents import classify
from privstats.config import Config, LoginPolicy, Rotation
from privstats.ingest import ingest_access
from privstats.key import SecretKey
from privstats.quarantine import MAX_LINE_NUMBERS, Reason
from privstats.sources import lines as line_module
from privstats.sources.logformat import Field, LogFormat, resolve_format
from privstats.store import Store
from privstats.synth import generate

REQUEST = re.compile(r"^(\S+) +(\S+)(?: +(\S+))?$")
HOST = re.compile(r"^(?i:https?)://(?:[^@/?#]*@)?([^/:?#\[\]]+)")
UUID = re.compile(
    r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"
)
SWITCH = re.compile(r"[A-Za-z][0-9]|[0-9][A-Za-z]")
MARK = "\x01"
CHECKS = (
    Reason.MISSING_CLIENT,
    Reason.BAD_TIMESTAMP,
    Reason.BAD_STATUS,
    Reason.BAD_SIZE,
    Reason.BAD_RESPONSE_TIME,
)


# -- leaf rules: how one value is read (the package's own definitions, one value at a time) --


@cache
def timestamp(text: str | None, iso: bool) -> int | None:
    pattern = "%Y-%m-%dT%H:%M:%S%z" if iso else "%d/%b/%Y:%H:%M:%S %z"
    value = pl.Series([text], dtype=pl.String).str.strptime(
        pl.Datetime("us", "UTC"), pattern, strict=False
    )[0]
    return None if value is None else int(value.timestamp() * 1_000_000)


@cache
def integer(text: str | None) -> int | None:
    return pl.Series([text], dtype=pl.String).str.to_integer(strict=False)[0]


@cache
def number(text: str | None) -> float | None:
    return pl.Series([text], dtype=pl.String).cast(pl.Float64, strict=False)[0]


def rounded(value: float) -> float:
    return pl.Series([value]).round(0)[0]


# -- the reference: one line at a time -------------------------------------------------------


@dataclasses.dataclass
class Reference:
    rows: list[dict[str, Any]]
    counts: dict[str, int]
    lines: dict[str, list[int]]
    non_utf8: int


def reference_ingest(data: bytes, fmt: LogFormat, config: Config, key: SecretKey) -> Reference:
    bad: dict[str, list[int]] = {}
    non_utf8 = 0
    parsed: list[tuple[int, dict[Field, str | None]]] = []
    raws = data.split(b"\n")
    if data.endswith(b"\n"):
        raws.pop()
    for number_, raw in enumerate(raws, start=1):
        if len(raw) > config.ingest.max_line_bytes:  # quarantined unread
            bad.setdefault(Reason.LINE_TOO_LONG.value, []).append(number_)
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            non_utf8 += 1
            text = raw.decode("utf-8", errors="replace")
        text = text.rstrip("\r")
        if not text:
            bad.setdefault(Reason.EMPTY_LINE.value, []).append(number_)
            continue
        if "\0" in text:
            bad.setdefault(Reason.NUL_BYTE.value, []).append(number_)
            continue
        fields = json_fields(text, fmt) if fmt.is_json else text_fields(text, fmt)
        if isinstance(fields, Reason):
            bad.setdefault(fields.value, []).append(number_)
            continue
        typed = typed_row(fields, fmt)
        if isinstance(typed, Reason):
            bad.setdefault(typed.value, []).append(number_)
            continue
        parsed.append((number_, typed))
    parsed = plausible(parsed, config.ingest.plausible_years, bad)
    rows = anonymised(parsed, config, key)
    counts = {reason: len(found) for reason, found in bad.items()}
    firsts = {reason: sorted(found)[:MAX_LINE_NUMBERS] for reason, found in bad.items()}
    return Reference(rows, counts, firsts, non_utf8)


def text_fields(text: str, fmt: LogFormat) -> dict[Field, str | None] | Reason:
    match = re.match(fmt.fast_pattern, text)
    unescape: Callable[[str | None], str | None] = lambda g: g  # noqa: E731
    if not match:
        match = fmt.strict_pattern.match(text)
        unescape = lambda g: None if g is None else g.replace('\\"', '"').replace("\\\\", "\\")  # noqa: E731
    if not match:
        quotes = text.count('"') - text.count('\\"')
        return Reason.UNTERMINATED_QUOTE if quotes % 2 else Reason.FIELD_COUNT
    fields: dict[Field, str | None] = {}
    for i, name in enumerate(fmt.fields):
        if name is not Field.IGNORED and name not in fields:
            fields[name] = unescape(match.group(i + 1))
    return fields


def json_fields(text: str, fmt: LogFormat) -> dict[Field, str | None] | Reason:
    try:
        obj = json.loads(text)
    except ValueError:
        return Reason.BAD_JSON
    if not isinstance(obj, dict):
        return Reason.BAD_JSON
    fields: dict[Field, str | None] = {}
    for name, field in fmt.json_keys:
        if field is not Field.IGNORED:
            value = obj.get(name)
            fields[field] = (
                None if value is None else value if isinstance(value, str) else json.dumps(value)
            )
    return fields


def plausible(
    parsed: list[tuple[int, dict[str, Any]]], years: float, bad: dict[str, list[int]]
) -> list[tuple[int, dict[str, Any]]]:
    """Lines dated within ``years`` of the input's median time, after 1990, before tomorrow."""
    day = 86_400_000_000
    earliest = int(datetime(1990, 1, 1, tzinfo=UTC).timestamp()) * 1_000_000
    latest = int(datetime.now(UTC).timestamp() * 1_000_000) + day
    possible = sorted(row["ts"] for _, row in parsed if earliest <= row["ts"] <= latest)
    low, high = latest + 1, latest
    if possible:
        middle, span = possible[(len(possible) - 1) // 2], int(years * 365.25 * day)
        low, high = max(earliest, middle - span), min(latest, middle + span)
    kept = []
    for number_, row in parsed:
        if low <= row["ts"] <= high:
            kept.append((number_, row))
        else:
            bad.setdefault(Reason.IMPLAUSIBLE_TIME.value, []).append(number_)
    return kept


def typed_row(fields: dict[Field, str | None], fmt: LogFormat) -> dict[str, Any] | Reason:
    problems: list[Reason] = []
    client = fields.get(Field.CLIENT)
    if client is None or client in ("-", ""):
        problems.append(Reason.MISSING_CLIENT)
    iso = Field.TIME_ISO in fields
    ts = timestamp(fields.get(Field.TIME_ISO if iso else Field.TIME_CLF), iso)
    if ts is None:
        problems.append(Reason.BAD_TIMESTAMP)
    status = integer(fields.get(Field.STATUS))
    if status is None or not 100 <= status <= 599:
        problems.append(Reason.BAD_STATUS)
    size = None
    if fmt.captures(Field.BYTES):
        text = fields.get(Field.BYTES)
        size = 0 if text == "-" else integer(text)
        if size is None or size < 0:
            problems.append(Reason.BAD_SIZE)
    response = None
    for name, scale in (
        (Field.RESPONSE_US, 1),
        (Field.RESPONSE_MS, 1000),
        (Field.RESPONSE_S, 10**6),
    ):
        if not fmt.captures(name):
            continue
        text = fields.get(name)
        if text is None or text in ("-", ""):
            break
        value = number(text)
        micros = rounded(value * scale) if value is not None else None
        if value is None or not (value >= 0 and micros <= 2.0**62):
            problems.append(Reason.BAD_RESPONSE_TIME)
        else:
            response = int(micros)
        break
    if problems:
        return next(reason for reason in CHECKS if reason in problems)
    if fmt.captures(Field.REQUEST):
        request = fields.get(Field.REQUEST)
        match = REQUEST.match(request) if request is not None else None
        method, target, protocol = match.groups() if match else (None, None, None)
    else:
        method, protocol = fields.get(Field.METHOD), fields.get(Field.PROTOCOL)
        target, query = fields.get(Field.TARGET), fields.get(Field.QUERY)
        if target is not None and query not in (None, "", "-"):
            target = f"{target}?{query}"
    login = fields.get(Field.LOGIN)
    return {
        "client": client,
        "ts": ts,
        "status": status,
        "bytes": size,
        "response_us": response,
        "method": method,
        "target": target,
        "protocol": protocol,
        "login": None if login in ("-", "") else login,
        "referer": fields.get(Field.REFERER),
        "user_agent": fields.get(Field.USER_AGENT),
        "site": fields.get(Field.SITE),
    }


def anonymised(
    parsed: list[tuple[int, dict[str, Any]]], config: Config, key: SecretKey
) -> list[dict[str, Any]]:
    settings = config.anonymise
    routes = [route_rule(route) for route in settings.routes]
    segments = [
        shaped_segments(route_path(strip(row["target"]), routes))
        if row["target"] is not None
        else None
        for _, row in parsed
    ]
    # The whole input is one batch: learn its vocabulary first, then template every row.
    # Pages under a private prefix teach nothing.
    words = set(settings.route_words)
    askers: dict[str, set[str]] = {}
    private = tuple(settings.private_prefixes)
    for (_, row), segs in zip(parsed, segments, strict=True):
        if segs is not None and strip(row["target"]).startswith(private):
            continue
        for seg in segs or []:
            if is_candidate(seg) and seg not in words:
                askers.setdefault(seg, set()).add(row["client"])
    words |= {
        seg
        for seg, who in askers.items()
        if len(who) >= settings.min_segment_clients
        and len({learning_network(c) for c in who})
        >= min(settings.min_segment_networks, settings.min_segment_clients)
    }
    period_format = {Rotation.DAY: "%Y-%m-%d", Rotation.MONTH: "%Y-%m"}.get(config.key.rotation)
    out = []
    for (_, row), segs in zip(parsed, segments, strict=True):
        when = datetime.fromtimestamp(row["ts"] / 1_000_000, UTC)
        period = when.strftime(period_format) if period_format else "-"
        agent = classify(row["user_agent"])
        domain, kind = referer_of(row["referer"], frozenset(settings.site_domains))
        person = None
        if settings.login is LoginPolicy.PERSON:
            person = person_pseudonyms(key, [row["login"]])[0]
        out.append(
            {
                "ts": row["ts"],
                "key_period": period,
                "visitor": int(
                    visitor_pseudonyms(key, [period], [row["client"]], [row["user_agent"]])[0]
                ),
                "person": person,
                "site": row["site"],
                "method": row["method"],
                "path": None if segs is None else "/".join(template(s, words) for s in segs),
                "protocol": row["protocol"],
                "status": row["status"],
                "bytes": row["bytes"],
                "response_us": row["response_us"],
                "browser": agent.browser,
                "browser_major": agent.browser_major,
                "os": agent.os,
                "device": agent.device,
                "is_bot": agent.is_bot,
                "referer_domain": domain,
                "referer_kind": kind,
                "network": (
                    coarse_network(row["client"], settings.ipv4_prefix, settings.ipv6_prefix)
                    if settings.network
                    else None
                ),
            }
        )
    return out


def strip(target: str) -> str:
    target = re.sub(r"^[A-Za-z][A-Za-z0-9+.\-]*://[^/]*", "", target, count=1)
    return normal_path(re.sub(r"[?#].*$", "", target, count=1))  # type: ignore[return-value]


def route_rule(route: str) -> tuple[re.Pattern[str], str]:
    parts = route.strip("/").split("/")
    pattern = "^" + "".join("/" + ("[^/]+" if p.startswith(":") else re.escape(p)) for p in parts)
    marked = "".join("/" + (MARK + p[1:] if p.startswith(":") else p) for p in parts)
    return re.compile(pattern + "(?=/|$)"), marked


def route_path(path: str, routes: list[tuple[re.Pattern[str], str]]) -> str:
    for pattern, marked in routes:
        path = pattern.sub(lambda _: marked, path, count=1)  # noqa: B023
    return path


def shaped_segments(path: str) -> list[str]:
    return [shape(seg) for seg in path.split("/")]


def shape(seg: str) -> str:
    if re.search(r"(?i)@|%40", seg):
        return MARK + "email"
    if UUID.fullmatch(seg):
        return MARK + "uuid"
    if re.fullmatch(r"[0-9]+", seg):
        return MARK + "id"
    if re.fullmatch(r"[0-9a-fA-F]{16,}", seg):
        return MARK + "token"
    if re.fullmatch(r"[A-Za-z0-9_\-]{16,}", seg) and len(SWITCH.findall(seg)) >= 4:
        return MARK + "token"
    return seg


def is_candidate(seg: str) -> bool:
    return seg != "" and not seg.startswith(MARK)


def template(seg: str, words: set[str]) -> str:
    if is_candidate(seg) and seg not in words:
        return ":slug"
    return seg.replace(MARK, ":", 1)


def referer_of(referer: str | None, site_domains: frozenset[str]) -> tuple[str | None, str]:
    if referer is None or referer in ("-", ""):
        return None, "none"
    match = HOST.match(referer)
    domain = registrable_domain(match.group(1).lower()) if match else None
    if domain is None:
        return None, "unknown"
    return domain, "internal" if domain in site_domains else "external"


# -- the fast path, read back from the store ---------------------------------------------------


def stored_rows(config: Config) -> list[dict[str, Any]]:
    files = Store(config.store_path).files("access")
    rows = []
    for path in files:
        for row in pq.read_table(path).to_pylist():
            row["ts"] = int(row["ts"].timestamp() * 1_000_000)
            rows.append(row)
    return rows


def ordered(rows: list[dict[str, Any]]) -> list[tuple[str, ...]]:
    return sorted(tuple(repr(row[k]) for k in sorted(row)) for row in rows)


def check_same(
    tmp_path: Path, data: bytes, fmt_name: str, config: Config, key: SecretKey
) -> Reference:
    fmt = resolve_format(fmt_name)
    expected = reference_ingest(data, fmt, config, key)
    log = tmp_path / f"{fmt_name}.log"
    log.write_bytes(data)
    [result] = ingest_access(config, key, [str(log)], log_format=fmt_name, max_bad_ratio=1.0)
    assert result.status == "ingested", result.error
    assert result.quarantine.counts == expected.counts
    assert result.quarantine.lines == expected.lines
    assert result.quarantine.non_utf8 == expected.non_utf8
    assert result.rows == len(expected.rows)
    assert ordered(stored_rows(config)) == ordered(expected.rows)
    return expected


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """A day of synthetic logs in five formats, five per cent of their lines malformed."""
    out = tmp_path_factory.mktemp("synth")
    manifest = generate(out, days=1, visitors=80, seed=5, bad_ratio=0.05, crm=False)
    logs: dict[str, bytes] = {}
    for entry in manifest.access:
        data = (out / entry.path).read_bytes()
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        logs[entry.format] = logs.get(entry.format, b"") + data
    return logs


def edge_lines() -> list[bytes]:
    """combined_D lines that test where the columnar reading and the regex could part."""
    ua = "Mozilla/5.0 (X11; Linux x86_64; rv:118.0) Gecko/20100101 Firefox/118.0"

    def line(
        path: str = "/crm/contacts/42",
        *,
        client: str = "203.0.113.9",
        login: str = "-",
        when: str = "[01/Oct/2026:12:00:03 +0200]",
        method: str = "GET",
        status: str = "200",
        size: str = "512",
        referer: str = '"https://www.google.com/search?q=crm"',
        agent: str = f'"{ua}"',
        response: str = "1234",
        request: str | None = None,
    ) -> bytes:
        request = request if request is not None else f'"{method} {path} HTTP/1.1"'
        text = f"{client} - {login} {when} {request} {status} {size} {referer} {agent} {response}"
        return text.encode("utf-8", "surrogateescape")

    found = [
        line(agent='"Mozilla/5.0 \\"quoted\\" Firefox"'),  # escaped quotes: strict regex
        line(request='"\\x16\\x03\\x01\\x00"', status="400", size="0"),  # TLS probe
        line(request='"GET /a\\\\b HTTP/1.1"'),  # an escaped backslash
        line(client="203.0.113.7\tx"),  # a tab inside an unquoted field
        line(client="203.0.113.7\u00a0x"),  # a no-break space inside an unquoted field
        line(agent='"Mozilla x"y"'),  # a stray quote
        line(referer="-"),  # a quoted field written without quotes
        line(client='"203.0.113.5"'),  # an unquoted field written with quotes
        line(request='"GET /a HTTP/1.1"x'),  # a closing quote with text after it
        line().replace(b" 200 ", b"  200 "),  # two spaces
        line() + b" ",  # a trailing space
        line(when="[01/Oct/2026:12:00:03 +02]00]"),  # a bracket inside the time
        line(when="[[01/Oct/2026:12:00:03 +0200]"),
        line(request='"GET /only-two"'),
        line(request='"GET /a b HTTP/1.1"'),  # four tokens: no method, no path
        line("http://evil.example.com/crm/contacts/55?x=1"),
        line("?x=1"),
        line("/docs/page#section"),
        line("/contacts/jan.kowalski%40example.pl/edit"),
        line("/contacts/ola@example.com"),
        line("/api/v1/deals/3f2c0f3e-1111-4222-8333-123456789abc"),
        line("/api/v1/deals/3f2c0f3e111142228333123456789abc"),
        line("/api/v1/deals/3f2c0f3e1-111-4222-8333-123456789abc"),  # hyphens misplaced
        line("/api/v1/deals/3f2c0f3e--1111-4222-8333-123456789ab"),
        line("/x/12345678901234567890123456789012"),  # 32 digits: a uuid, not an id
        line("/reset/7f3a9c1b7f3a9c1b7f3a9c1b"),
        line("/signup/aZ3kQ9xP2mL7vB4n"),
        line("/signup/aZ3kQ9xP2mL7"),  # too short for a token
        line("/u/jan-kowalski"),
        line("/users/anna/settings"),
        line("/x/:jan"),
        line("//double//slashes/"),
        line("/crm/contacts/42", agent='"Mozilla/5.0 (Windows NT 10.0; fr-FR) Zo\udce9"'),
        line(referer='"https://www.example.com/\udcff\udcfe"'),
        line(size="5\udcff"),  # invalid UTF-8 in a number
        line() + b"\r",  # CRLF
        b"",
        b"\r",
        line("/" + "a" * 3000),  # over the line limit of these tests
        line(when="[41/Oct/2026:12:00:03 +0200]"),
        line(when="[31/Dec/9999:23:59:59 +0000]"),  # implausible: far from the log's days
        line(when="[01/Jan/0001:00:00:00 +0000]"),
        line(when="[31/Dec/1969:23:59:59 +0000]"),
        line(when="[-]"),
        line(status="OK"),
        line(status="-"),
        line(status="999"),
        line(size="5x2"),
        line(size="-5"),
        line(size="-"),
        line(response="abc"),
        line(response="-"),
        line(response="-7"),
        line(response="inf"),
        line(response="nan"),
        line(response="1e3"),
        line(client="-"),
        line(client="host-77.dsl.example.net"),
        line(client="2001:db8:cafe::4242"),
        line(login="zofia.kanarek@example.pl"),
        line(agent='"Evil \x1c agent"'),
        line().replace(b'"GET /crm/contacts/42 HTTP/1.1"', b'"GET /crm/contacts/42 HTTP/1.1'),
        # Request lines that differ only in digits: the grouping by shape must not merge what
        # differs (a protocol or method with digits, a control byte like its marks).
        line(request='"GET /crm/contacts/5 HTTP/2"'),
        line(request='"GET /crm/contacts/6 HTTP/3"'),
        line(request='"GET/1 /x HTTP/1.1"'),
        line(request='"GET/2 /x HTTP/1.1"'),
        line(request='"GET /x/1/2 HTTP/1.1 extra/3 "'),
        line("/x/1/2"),
        line("/x/3/4"),
        line("/x/\x03"),
        line("/x/\x03/7"),
        line("http://12345/a"),
        line("http://67890/a?b=/5/"),
    ]
    # A public page many clients of several networks read keeps its words; a draft one client
    # reads does not, nor a personal page padded by twelve addresses of one network.
    found += [line("/blog/public-post-2026", client=f"{198 - i % 4}.51.100.{i}") for i in range(12)]
    found += [line("/blog/secret-draft", client="198.51.100.200")]
    found += [line("/team/jan-kowalski", client=f"203.0.113.{i}") for i in range(12)]
    return found + polish_lines(line)


def polish_lines(line: Callable[..., bytes]) -> list[bytes]:
    """A Polish site's lines: letters beyond ASCII in paths, referers and agents, written as
    UTF-8, escaped, decomposed, or as Latin-1 and Windows-1250 bytes (invalid UTF-8)."""
    post = "/blog/zażółć-gęślą-jaźń"
    spellings = [post, quote(post), unicodedata.normalize("NFD", post)]
    found = [
        line(
            spellings[i % 3],
            client=f"{198 - i % 3}.51.100.{i}",
            referer=f'"https://gęś.pl/{i}?q=żółw"',
        )
        for i in range(12)
    ]
    found += [
        line("/blog/tajny-wpis-żółwia", client="198.51.100.201"),
        line("/szukaj/kraków?miasto=łódź", referer='"https://xn--g-1ia2r.pl/"'),
        line("/sklep/ćma/42", agent='"Mozilla/5.0 (Linux; pl-PL) Przeglądarka/1.0"'),
        line("/a\u00a0b/7"),  # a no-break space in a path
        line("/caf%E9/menu"),  # an escaped Latin-1 byte
    ]
    for encoding in ("latin-1", "cp1250"):
        found += [
            line("/").replace(b" / ", " /kawiarnia-café-żółw ".encode(encoding, "replace")),
            line(referer='"http://example.pl/' + "szukaj=łódź" + '"').replace(
                "łódź".encode(), "łódź".encode(encoding, "replace")
            ),
            line(agent='"Mozilla/5.0 Zażółć"').replace(
                "Zażółć".encode(), "Zażółć".encode(encoding, "replace")
            ),
        ]
    return found


@pytest.fixture
def small_lines(config: Config) -> Config:
    return dataclasses.replace(
        config, ingest=dataclasses.replace(config.ingest, max_line_bytes=2000)
    )


def variant(config: Config) -> Config:
    """Other choices: monthly keys, logins as persons, networks kept, an own site domain."""
    return dataclasses.replace(
        config,
        key=dataclasses.replace(config.key, rotation=Rotation.MONTH),
        anonymise=dataclasses.replace(
            config.anonymise,
            login=LoginPolicy.PERSON,
            network=True,
            site_domains=("example.com",),
            min_segment_clients=3,
        ),
    )


@pytest.mark.parametrize("fmt", ["combined_D", "combined", "vhost_combined", "nginx_timed"])
def test_synthetic_logs_ingest_exactly_like_the_reference(
    tmp_path: Path,
    synthetic: dict[str, bytes],
    small_lines: Config,
    key: SecretKey,
    fmt: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    slow = count_slow_lines(monkeypatch)
    expected = check_same(tmp_path, synthetic[fmt], fmt, small_lines, key)
    assert sum(expected.counts.values()) > 0 and len(expected.rows) > 50
    # The columnar path did the work: only doubtful lines went one by one.
    assert slow["lines"] <= sum(expected.counts.values()) + expected.non_utf8 + 10


def test_json_lines_ingest_exactly_like_the_reference(
    tmp_path: Path, synthetic: dict[str, bytes], small_lines: Config, key: SecretKey
) -> None:
    check_same(tmp_path, synthetic["nginx_json"], "nginx_json", small_lines, key)


def test_edge_cases_ingest_exactly_like_the_reference(
    tmp_path: Path,
    synthetic: dict[str, bytes],
    small_lines: Config,
    key: SecretKey,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    slow = count_slow_lines(monkeypatch)
    body = synthetic["combined_D"].split(b"\n")
    data = b"\n".join(body[:300] + edge_lines() + body[300:])
    # The shipped rule: a path word is vocabulary once clients of 3 networks read it.
    anonymise = dataclasses.replace(small_lines.anonymise, min_segment_networks=3)
    shipped = dataclasses.replace(small_lines, anonymise=anonymise)
    expected = check_same(tmp_path, data, "combined_D", shipped, key)
    assert slow["lines"] < len(body) // 2  # the block was read column-wise, not line by line
    paths = {row["path"] for row in expected.rows}
    assert {"/blog/public-post-2026", "/blog/:slug", "/u/:user", "/crm/contacts/:id"} <= paths
    assert not any("kowalski" in (path or "") for path in paths)  # padded from one network
    # Polish words many clients read are vocabulary, however each client's browser spelt them.
    assert "/blog/zażółć-gęślą-jaźń" in paths
    assert not any("tajny" in (path or "") or "kraków" in (path or "") for path in paths)
    assert "gęś.pl" in {row["referer_domain"] for row in expected.rows}
    assert expected.non_utf8 >= 6
    assert expected.counts[Reason.IMPLAUSIBLE_TIME.value] == 3


def test_other_choices_ingest_exactly_like_the_reference(
    tmp_path: Path, synthetic: dict[str, bytes], small_lines: Config, key: SecretKey
) -> None:
    data = b"\n".join(edge_lines()) + b"\n" + synthetic["combined_D"]
    expected = check_same(tmp_path, data, "combined_D", variant(small_lines), key)
    assert any(row["person"] is not None for row in expected.rows)
    assert any(row["network"] is not None for row in expected.rows)


def test_a_block_read_line_by_line_gives_the_same_rows(
    tmp_path: Path, synthetic: dict[str, bytes], small_lines: Config, key: SecretKey
) -> None:
    # A carriage return inside a line ends a CSV row: the block is read line by line instead.
    data = b"\n".join(edge_lines()) + b"\n" + synthetic["combined_D"] + b"1.2.3.4 - - \r x\n"
    check_same(tmp_path, data, "combined_D", small_lines, key)


def test_the_real_log_ingests_exactly_like_the_reference(
    tmp_path: Path, real_log: Path, config: Config, key: SecretKey
) -> None:
    expected = check_same(tmp_path, real_log.read_bytes(), "combined", config, key)
    assert len(expected.rows) == 10_000


def count_slow_lines(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    seen = {"lines": 0}
    original = line_module.LineParser.parse

    def counting(self: Any, numbers: Any, raws: Any, quarantine: Any) -> Any:
        seen["lines"] += len(raws)
        return original(self, numbers, raws, quarantine)

    monkeypatch.setattr(line_module.LineParser, "parse", counting)
    return seen


# -- any bytes in any field --------------------------------------------------------------------

GOOD = {
    "client": b"203.0.113.9",
    "login": b"-",
    "time": b"01/Oct/2026:12:00:03 +0200",
    "method": b"GET",
    "path": b"/crm/contacts/42",
    "protocol": b"HTTP/1.1",
    "status": b"200",
    "size": b"512",
    "referer": b"https://www.google.pl/search?q=crm",
    "agent": b"Mozilla/5.0 (X11; Linux x86_64; rv:118.0) Gecko/20100101 Firefox/118.0",
    "response": b"1234",
}
POLISH = ["zażółć", "gęślą", "jaźń", "Łódź", "kraków"]
polish_bytes = st.builds(
    lambda word, how: {
        "utf-8": word.encode(),
        "escaped": quote(word).encode(),
        "nfd": unicodedata.normalize("NFD", word).encode(),
        "latin-1": word.encode("latin-1", "replace"),
        "cp1250": word.encode("cp1250"),
    }[how],
    st.sampled_from(POLISH),
    st.sampled_from(["utf-8", "escaped", "nfd", "latin-1", "cp1250"]),
)


some_bytes = st.binary(max_size=12)


# Times of other years: plausible or not, as the lines around them say.
YEARS = [
    b"31/Dec/9999:23:59:59 +0000", b"01/Jan/0001:00:00:00 +0000", b"31/Dec/1969:23:59:59 +0000",
    b"01/Oct/2024:12:00:00 -0700", b"01/Oct/2030:12:00:00 +0000",
]  # fmt: skip


def field(name: str) -> st.SearchStrategy[bytes]:
    """A good value (so that lines get through), any bytes, or Polish ones, or a mix."""
    good = GOOD[name]
    if name == "time":
        return st.one_of(st.just(good), st.sampled_from(YEARS), some_bytes)
    return st.one_of(
        st.just(good),
        some_bytes,
        polish_bytes,
        st.tuples(polish_bytes, some_bytes).map(lambda p: good + b"/" + p[0] + p[1]),
    )


@st.composite
def any_line(draw: st.DrawFn) -> bytes:
    f = {name: draw(field(name)) for name in GOOD}
    client = draw(st.sampled_from([b"198.51.100.1", b"198.51.100.2", b"198.51.100.3", f["client"]]))
    return b"%s - %s [%s] \"%s %s %s\" %s %s \"%s\" \"%s\" %s" % (
        client, f["login"], f["time"], f["method"], f["path"], f["protocol"], f["status"],
        f["size"], f["referer"], f["agent"], f["response"],
    )  # fmt: skip


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(any_line(), min_size=1, max_size=25))
def test_any_bytes_in_any_field_ingest_exactly_like_the_reference(
    tmp_path: Path, small_lines: Config, key: SecretKey, lines: list[bytes]
) -> None:
    data = b"\n".join(lines) + b"\n"
    config = dataclasses.replace(
        small_lines.with_store(tmp_path / secrets.token_hex(8)),
        anonymise=dataclasses.replace(small_lines.anonymise, min_segment_clients=2),
    )
    fmt = resolve_format("combined_D")
    expected = reference_ingest(data, fmt, config, key)
    log = tmp_path / "any.log"
    log.write_bytes(data)
    [result] = ingest_access(config, key, [str(log)], log_format="combined_D", max_bad_ratio=1.0)
    if 2 * expected.counts.get(Reason.NUL_BYTE.value, 0) > data.count(b"\n"):
        assert result.status == "failed" and "looks binary" in (result.error or "")
        return
    if not expected.rows:
        assert result.status == "failed" and "0 of" in (result.error or "")
        return
    assert result.status == "ingested", result.error
    assert result.quarantine.counts == expected.counts
    assert result.quarantine.lines == expected.lines
    assert result.quarantine.non_utf8 == expected.non_utf8
    assert ordered(stored_rows(config)) == ordered(expected.rows)
