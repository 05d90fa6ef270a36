"""Access logs of the simulated service: one log family per virtual host, rotated like in life.

| family  | format         | offset        | files                                        |
|---------|----------------|---------------|----------------------------------------------|
| www     | combined       | Europe/Warsaw | logrotate: access.log, access.log.1, .2.gz    |
| app     | combined_D     | Europe/Warsaw | dated: app.access.log-YYYYMMDD(.gz)           |
| api     | nginx_json     | Europe/Warsaw | dated: api.access.log-YYYYMMDD(.gz)           |
| mobile  | nginx_timed    | Europe/Warsaw | logrotate                                    |
| vhosts  | vhost_combined | Europe/Warsaw | other_vhosts_access.log (help, status)       |
| exports | combined_T     | +0000         | exports_access.log                           |
| legacy  | common         | +0000         | access_log (downloads server)                |

Malformed lines, odd bytes and a CRLF line end are planted per file (see ``malformed``), and
everything needed for ``truth.json`` is counted from exactly what was written.
"""

from __future__ import annotations

import datetime as dt
import enum
import gzip
import ipaddress
import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

from privstats.synth.formats import LogFormatName, encode, render
from privstats.synth.malformed import ORDINARY, MalformedKind, OddKind, malformed_line, odd_agent
from privstats.synth.traffic import Hit, Planted, Site, day_hits
from privstats.synth.world import WARSAW, World

UTC = dt.UTC


class Rotation(enum.Enum):
    LOGROTATE = "logrotate"  # access.log, access.log.1, access.log.2.gz ... (delaycompress)
    DATED = "dated"  # name-YYYYMMDD, older ones gzipped when ``gzip_old``
    SINGLE = "single"  # one file for the whole window


@dataclass(frozen=True)
class LogFamily:
    directory: str
    fmt: LogFormatName
    sites: tuple[Site, ...]
    tz: ZoneInfo | dt.timezone
    rotation: Rotation
    basename: str
    gzip_old: bool = True


FAMILIES = (
    LogFamily("www", LogFormatName.COMBINED, (Site.WWW,), WARSAW, Rotation.LOGROTATE, "access.log"),
    LogFamily(
        "app", LogFormatName.COMBINED_D, (Site.APP,), WARSAW, Rotation.DATED, "app.access.log"
    ),
    LogFamily(
        "api", LogFormatName.NGINX_JSON, (Site.API,), WARSAW, Rotation.DATED, "api.access.log"
    ),
    LogFamily(
        "mobile",
        LogFormatName.NGINX_TIMED,
        (Site.MOBILE,),
        WARSAW,
        Rotation.LOGROTATE,
        "access.log",
    ),
    LogFamily(
        "vhosts",
        LogFormatName.VHOST_COMBINED,
        (Site.HELP, Site.STATUS),
        WARSAW,
        Rotation.SINGLE,
        "other_vhosts_access.log",
    ),
    LogFamily(
        "exports",
        LogFormatName.COMBINED_T,
        (Site.EXPORTS,),
        UTC,
        Rotation.SINGLE,
        "exports_access.log",
    ),
    LogFamily(
        "legacy", LogFormatName.COMMON, (Site.DOWNLOADS,), UTC, Rotation.SINGLE, "access_log"
    ),
)

# Clients that appear only in bad lines, or only in the odd-byte lines: tests look for them.
MALFORMED_NET = ipaddress.ip_network("192.0.2.0/24")
ODD_NET = ipaddress.ip_network("203.0.113.0/24")


@dataclass(frozen=True)
class AccessLogFile:
    """One written access-log file, as ``manifest.json`` lists it."""

    path: str  # relative to the output folder, with forward slashes
    format: str
    lines: int
    valid: int
    malformed: int
    malformed_by_kind: dict[str, int]
    non_utf8: int  # valid lines with invalid UTF-8 or Latin-1 bytes
    non_utf8_by_kind: dict[str, int]
    crlf: int  # valid lines ending in CRLF
    compressed: bool
    first_time: str | None  # UTC, ISO 8601, of the first valid line
    last_time: str | None


@dataclass
class AccessTruth:
    """Ground truth gathered while writing: what a correct ingest must find."""

    daily_hits: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    daily_clients: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    daily_client_agents: dict[str, set[tuple[str, str]]] = field(
        default_factory=lambda: defaultdict(set)
    )
    hits_by_client: Counter[str] = field(default_factory=Counter)
    planted: dict[Planted, set[str]] = field(default_factory=lambda: defaultdict(set))
    malformed_only_clients: set[str] = field(default_factory=set)
    odd_clients: set[str] = field(default_factory=set)
    odd_lines: list[dict[str, object]] = field(default_factory=list)
    crlf_lines: list[dict[str, object]] = field(default_factory=list)
    # Contact-form posts written to the logs: the CRM export holds the same submissions.
    contact_posts: list[Hit] = field(default_factory=list)

    def count(self, path: str, hit: Hit, fmt: LogFormatName, world: World) -> None:
        day = dt.datetime.fromtimestamp(int(hit.ts), UTC).date().isoformat()
        self.daily_hits[path][day] += 1
        self.daily_clients[day].add(hit.client)
        self.daily_client_agents[day].add((hit.client, hit.agent if fmt.has_agent else ""))
        self.hits_by_client[hit.client] += 1
        self.plant(hit, fmt, world)
        if hit.method == "POST" and hit.target == "/contact" and hit.visitor >= 0:
            self.contact_posts.append(hit)

    def plant(self, hit: Hit, fmt: LogFormatName, world: World) -> None:
        self.planted[Planted.HOST if _is_host(hit.client) else Planted.IP].add(hit.client)
        if hit.login != "-":
            self.planted[Planted.EMAIL if "@" in hit.login else Planted.LOGIN].add(hit.login)
        for kind, value in hit.planted:
            self.planted[kind].add(value)
        if fmt.has_agent and 0 <= hit.visitor < len(world.visitors):
            token = world.visitors[hit.visitor].ua_token
            if token:
                self.planted[Planted.AGENT_TOKEN].add(token)


def _is_host(client: str) -> bool:
    try:
        ipaddress.ip_address(client)
    except ValueError:
        return True
    return False


def _file_names(family: LogFamily, days: list[dt.date]) -> list[str]:
    n = len(days)
    if family.rotation is Rotation.LOGROTATE:
        names = []
        for i in range(n):
            age = n - 1 - i
            names.append(
                family.basename
                if age == 0
                else f"{family.basename}.{age}" + (".gz" if age >= 2 and family.gzip_old else "")
            )
        return names
    return [
        f"{family.basename}-{d:%Y%m%d}" + (".gz" if i < n - 1 and family.gzip_old else "")
        for i, d in enumerate(days)
    ]


@dataclass
class _Line:
    ts: float
    text: str
    end: str = "\n"
    hit: Hit | None = None  # None for a malformed line
    malformed: MalformedKind | None = None
    odd: OddKind | None = None


def _plan_file(
    family: LogFamily,
    hits: list[Hit],
    rng: random.Random,
    bad_ratio: float,
    file_index: int,
    huge_line: bool,
    truth: AccessTruth,
) -> list[_Line]:
    """The lines of one file: its hits, plus planted odd, CRLF and malformed lines."""
    lines = [_Line(h.ts, render(family.fmt, h, family.tz), hit=h) for h in hits]
    if not hits or bad_ratio <= 0:
        return lines
    extra: list[_Line] = []
    if family.fmt.has_agent and family.fmt is not LogFormatName.NGINX_JSON:
        for odd in OddKind:
            base = rng.choice(hits)
            client = str(ODD_NET[rng.randrange(1, 255)])
            truth.odd_clients.add(client)
            hit = Hit(
                base.ts,
                base.site,
                -1,
                client,
                base.login,
                base.method,
                base.target,
                base.protocol,
                base.status,
                base.size,
                base.referer,
                odd_agent(odd),
                base.response_us,
                base.planted,
            )
            extra.append(_Line(hit.ts, render(family.fmt, hit, family.tz), hit=hit, odd=odd))
    rng.choice(lines).end = "\r\n"
    # Bad lines copy hits that carry identifiers, under a client seen nowhere else.
    carriers = [h for h in hits if h.planted or h.login != "-"] or hits
    n_bad = max(1, round(bad_ratio * len(hits)))
    kinds: list[MalformedKind] = [ORDINARY[(file_index + k) % len(ORDINARY)] for k in range(n_bad)]
    if huge_line:
        kinds.append(MalformedKind.TOO_LONG)
    for kind in kinds:
        base = rng.choice(carriers)
        client = str(MALFORMED_NET[rng.randrange(1, 255)])
        truth.malformed_only_clients.add(client)
        hit = Hit(
            base.ts,
            base.site,
            -1,
            client,
            base.login,
            base.method,
            base.target,
            base.protocol,
            base.status,
            base.size,
            base.referer,
            base.agent,
            base.response_us,
            base.planted,
        )
        extra.append(
            _Line(hit.ts, malformed_line(kind, family.fmt, hit, family.tz), malformed=kind)
        )
    # Stable merge: a planted line follows the hit it was made from.
    return sorted(lines + extra, key=lambda line: line.ts)


def _write(path: Path, payload: bytes, compressed: bool) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if compressed:
        # mtime=0 and no file name in the header: the same seed gives the same bytes.
        with (
            open(path, "wb") as raw,
            gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=6) as gz,
        ):
            gz.write(payload)
    else:
        path.write_bytes(payload)


def write_access_logs(
    out: Path, world: World, rng: random.Random, *, bad_ratio: float, huge_line: bool
) -> tuple[list[AccessLogFile], AccessTruth]:
    """Writes every family's files under ``out/access/``; returns them and the ground truth."""
    days = [world.start + dt.timedelta(days=i) for i in range(world.days)]
    by_day = [day_hits(world, day, rng) for day in days]
    truth = AccessTruth()
    files: list[AccessLogFile] = []
    file_index = 0
    for family in FAMILIES:
        names = _file_names(family, days)
        chunks = [[h for h in hits if h.site in family.sites] for hits in by_day]
        if family.rotation is Rotation.SINGLE:
            chunks, names = [[h for chunk in chunks for h in chunk]], [family.basename]
        for chunk, name in zip(chunks, names, strict=True):
            relative = f"access/{family.directory}/{name}"
            # The one huge line goes to the newest www file.
            huge = huge_line and family.directory == "www" and name == family.basename
            lines = _plan_file(family, chunk, rng, bad_ratio, file_index, huge, truth)
            file_index += 1
            payload = b"".join(encode(line.text, line.end) for line in lines)
            _write(out / relative, payload, name.endswith(".gz"))
            files.append(_describe(relative, family, lines, truth, world))
    return files, truth


def _describe(
    relative: str, family: LogFamily, lines: list[_Line], truth: AccessTruth, world: World
) -> AccessLogFile:
    malformed = Counter(line.malformed.value for line in lines if line.malformed)
    odd = Counter(line.odd.value for line in lines if line.odd)
    valid_hits = []
    for number, line in enumerate(lines, start=1):
        if line.hit is None:
            continue
        valid_hits.append(line.hit)
        truth.count(relative, line.hit, family.fmt, world)
        if line.odd:
            truth.odd_lines.append({"path": relative, "line": number, "kind": line.odd.value})
        if line.end == "\r\n":
            truth.crlf_lines.append({"path": relative, "line": number})
    stamps = [dt.datetime.fromtimestamp(int(h.ts), UTC).isoformat() for h in valid_hits]
    return AccessLogFile(
        path=relative,
        format=family.fmt.value,
        lines=len(lines),
        valid=len(valid_hits),
        malformed=sum(malformed.values()),
        malformed_by_kind=dict(sorted(malformed.items())),
        non_utf8=sum(odd.values()),
        non_utf8_by_kind=dict(sorted(odd.items())),
        crlf=sum(1 for line in lines if line.end == "\r\n"),
        compressed=relative.endswith(".gz"),
        first_time=stamps[0] if stamps else None,
        last_time=stamps[-1] if stamps else None,
    )
