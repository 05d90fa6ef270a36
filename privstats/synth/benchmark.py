"""Big access logs, fast: millions of realistic lines for the ingest-speed benchmark.

The line-by-line world of ``generate`` writes about 20,000 lines a second; a benchmark needs
millions. Here every field is drawn for a whole block at once with numpy from pools of
realistic values (clients, user agents, referers, person slugs, UUIDs) and assembled with
polars string expressions, then written in blocks. What matters for the ingest is kept
realistic: about 120,000 distinct clients per 2 million lines with a heavy-tailed activity,
each client mostly on its own user agent, a few thousand distinct user agents, numeric ids and
UUIDs in paths, identifiers in query strings, timestamps in order across a Warsaw DST-aware day.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from privstats.exceptions import ConfigError
from privstats.synth import names as nm
from privstats.synth import useragents as ua
from privstats.synth.formats import LogFormatName
from privstats.synth.world import WARSAW

BLOCK = 500_000
LINES_PER_DAY = 2_000_000
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_SUPPORTED = (
    LogFormatName.COMMON,
    LogFormatName.COMBINED,
    LogFormatName.COMBINED_D,
    LogFormatName.COMBINED_T,
    LogFormatName.NGINX_TIMED,
)

# Path templates: (prefix, variable part, suffix, method, share). The variable part is
# "id" (a number), "uuid", "slug" (a person's), "post" (a blog post), "query" (identifying
# query string), "token" (40 hex), "asset" or "" (none).
_TEMPLATES = (
    ("/static/js/app.3f2a9c1b.js", "", "", "GET", 9.0),
    ("/static/css/app.5b7c1e0a.css", "", "", "GET", 7.0),
    ("/static/", "asset", "", "GET", 12.0),
    ("/crm/contacts/", "id", "", "GET", 10.0),
    ("/crm/contacts/", "id", "/edit", "GET", 3.0),
    ("/crm/companies/", "id", "", "GET", 4.0),
    ("/crm/deals/", "uuid", "", "GET", 6.0),
    ("/api/v1/contacts/", "id", "", "GET", 8.0),
    ("/api/v1/deals/", "uuid", "", "PATCH", 4.0),
    ("/api/v1/contacts?page=", "id", "&per_page=100", "GET", 4.0),
    ("/m/api/v2/sync?since=2026-10-01T06:00:00Z", "", "", "GET", 3.0),
    ("/", "", "", "GET", 4.0),
    ("/pricing", "", "", "GET", 2.0),
    ("/blog/", "post", "", "GET", 5.0),
    ("/blog/feed.xml", "", "", "GET", 2.0),
    ("/u/", "slug", "", "GET", 2.0),
    ("/crm/contacts/", "slug", "/edit", "GET", 1.0),
    ("/register?", "query", "", "GET", 1.0),
    ("/reset/", "token", "", "GET", 0.5),
    ("/login", "", "", "POST", 2.0),
    ("/robots.txt", "", "", "GET", 1.0),
    ("/wp-login.php", "", "", "GET", 0.3),
)
_LOGGED_IN = ("/crm/", "/api/", "/m/api/", "/u/")


def write_benchmark_log(path: Path, lines: int, seed: int = 0, fmt: str = "combined_D") -> None:
    """Writes ``lines`` access-log lines in ``fmt`` to ``path``, deterministically per seed."""
    try:
        log_format = LogFormatName(fmt)
    except ValueError:
        raise ConfigError(f"benchmark logs support the formats {_names()}") from None
    if log_format not in _SUPPORTED:
        raise ConfigError(f"benchmark logs support the formats {_names()}")
    if lines < 1:
        raise ConfigError("a benchmark log needs at least one line")
    pools = _Pools.build(lines, seed)
    days = max(1, -(-lines // LINES_PER_DAY))
    clock = _Clock(dt.date(2026, 10, 1), days)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as out:
        for index, first in enumerate(range(0, lines, BLOCK)):
            count = min(BLOCK, lines - first)
            rng = np.random.default_rng([seed, index])
            # Each block covers its share of the window, so the whole file is in time order.
            span = clock.seconds / lines
            start, end = first * span, (first + count) * span
            seconds = np.sort(rng.uniform(start, end, count)).astype(np.int64)
            frame = _block(rng, pools, clock, seconds, log_format)
            frame.write_csv(out, include_header=False, quote_style="never")


def _names() -> str:
    return ", ".join(f.value for f in _SUPPORTED)


class _Clock:
    """Time strings for every second of the window, assembled from per-hour pieces."""

    def __init__(self, start: dt.date, days: int) -> None:
        first = dt.datetime.combine(start, dt.time(), WARSAW).astimezone(dt.UTC)
        end = dt.datetime.combine(start + dt.timedelta(days=days), dt.time(), WARSAW)
        self.seconds = int((end.astimezone(dt.UTC) - first).total_seconds())
        heads, tails = [], []
        for hour in range(-(-self.seconds // 3600)):
            local = (first + dt.timedelta(hours=hour)).astimezone(WARSAW)
            heads.append(
                f"{local.day:02d}/{_MONTHS[local.month - 1]}/{local.year}:{local.hour:02d}:"
            )
            tails.append(f" {local:%z}")
        self.heads = pl.Series(heads)
        self.tails = pl.Series(tails)
        self.minute_seconds = pl.Series([f"{m:02d}:{s:02d}" for m in range(60) for s in range(60)])


@dataclass(frozen=True)
class _Pools:
    """Realistic values drawn once; lines index into them."""

    clients: pl.Series
    n_clients: int
    agents: pl.Series
    client_agent: np.ndarray
    emails: pl.Series
    variables: pl.Series
    variable_offset: np.ndarray
    variable_size: np.ndarray
    referers: pl.Series
    referer_p: np.ndarray
    template_p: np.ndarray
    prefixes: pl.Series
    suffixes: pl.Series
    methods: pl.Series
    logged_in: np.ndarray
    static: np.ndarray

    @classmethod
    def build(cls, lines: int, seed: int) -> _Pools:
        # Pools shrink with small logs, so that tests stay fast; from 2 million lines on they
        # are full size.
        rng = random.Random(f"privstats-benchmark-{seed}")
        nprng = np.random.default_rng([seed, 2**31])
        # 6 % of lines' worth of clients; the heavy-tailed draw leaves about 120,000 of them
        # seen in 2 million lines.
        n_clients = max(50, int(lines * 0.06))
        clients = _clients(nprng, rng, n_clients)
        tokens = _Taker()
        agents = [ua.desktop_browser(rng, tokens)[0] for _ in range(2_400)]
        agents += [ua.mobile_browser(rng) for _ in range(900)]
        agents += [ua.mobile_app(rng) for _ in range(150)] + [ua.api_client(rng) for _ in range(60)]
        agents += [c for c, _ in ua.CRAWLERS] + list(ua.SCANNERS)
        n_agents = len(agents)
        # Each client keeps one user agent (Zipf over agents: a few browsers are everywhere).
        client_agent = np.minimum(nprng.zipf(1.3, n_clients) - 1, n_agents - 1)
        people = []
        for _ in range(5_000):
            first = rng.choice(nm.POLISH_MALE + nm.POLISH_FEMALE + nm.ENGLISH_MALE)
            last = rng.choice(nm.POLISH_SURNAMES + nm.ENGLISH_SURNAMES)
            people.append((first, last))
        slugs = [f"{nm.slugify(f, la)}-{i}" for i, (f, la) in enumerate(people)]
        emails = [f"{s.replace('-', '.')}@example.pl" for s in slugs]
        queries = [
            f"email={e.replace('@', '%40')}&name={nm.ascii_fold(f)}+{nm.ascii_fold(la)}&plan=team"
            for e, (f, la) in zip(emails, people, strict=True)
        ]
        uuids = [
            f"{rng.getrandbits(32):08x}-{rng.getrandbits(16):04x}-4{rng.getrandbits(12):03x}-"
            f"{8 + rng.getrandbits(2):x}{rng.getrandbits(12):03x}-{rng.getrandbits(48):012x}"
            for _ in range(min(200_000, max(1_000, lines // 10)))
        ]
        tokens40 = [
            f"{rng.getrandbits(160):040x}" for _ in range(min(20_000, max(100, lines // 100)))
        ]
        assets = [f"img/{kind}-{i}.webp" for kind in ("hero", "avatar", "logo") for i in range(300)]
        searches = ["crm+dla+ma%C5%82ej+firmy", "darmowy+crm", "crm+opinie", "best+crm+2026"]
        referers = ["-"] * 4 + [
            "https://app.example.com/crm/contacts",
            "https://app.example.com/crm/deals",
            "https://www.example.com/",
            "https://www.example.com/pricing",
        ]
        referers += [
            f"https://www.google.com/search?q={rng.choice(searches)}&sca_esv={rng.getrandbits(64):016x}"
            f"&ei={rng.getrandbits(88):022x}&ved=0ahUKEwi{rng.getrandbits(96):024x}&uact=5"
            for _ in range(3_000)
        ]
        referers += [
            f"https://l.facebook.com/l.php?u=https%3A%2F%2Fwww.example.com%2Fblog%2F"
            f"&h=AT{rng.getrandbits(120):030x}"
            for _ in range(500)
        ]
        numbers = pl.Series(np.arange(1_000, 1_000 + min(999_000, max(10_000, lines // 2))))
        ids: list[str] = numbers.cast(pl.Utf8).to_list()
        # One pool for every variable path part; a template kind owns a slice of it.
        variable_pools: dict[str, list[str]] = {
            "": [""], "id": ids, "uuid": uuids, "slug": slugs, "query": queries,
            "token": tokens40, "asset": assets, "post": list(_posts()),
        }  # fmt: skip
        offsets: dict[str, int] = {}
        sizes: dict[str, int] = {}
        combined: list[str] = []
        for kind, values in variable_pools.items():
            offsets[kind], sizes[kind] = len(combined), len(values)
            combined += values
        kinds = [t[1] for t in _TEMPLATES]
        weights = np.array([t[4] for t in _TEMPLATES])
        referer_p = np.array(
            [0.4 / 4] * 4 + [0.35 / 4] * 4 + [0.2 / 3_000] * 3_000 + [0.05 / 500] * 500
        )
        return cls(
            clients=pl.Series(clients),
            n_clients=n_clients,
            agents=pl.Series(agents),
            client_agent=client_agent,
            emails=pl.Series(emails),
            variables=pl.Series(combined),
            variable_offset=np.array([offsets[k] for k in kinds]),
            variable_size=np.array([sizes[k] for k in kinds]),
            referers=pl.Series(referers),
            referer_p=referer_p / referer_p.sum(),
            template_p=weights / weights.sum(),
            prefixes=pl.Series([t[0] for t in _TEMPLATES]),
            suffixes=pl.Series([t[2] for t in _TEMPLATES]),
            methods=pl.Series([t[3] for t in _TEMPLATES]),
            logged_in=np.array([t[0].startswith(_LOGGED_IN) for t in _TEMPLATES]),
            static=np.array([t[0].startswith("/static/") for t in _TEMPLATES]),
        )


class _Taker:
    def __init__(self) -> None:
        self.seen: set[str] = set()

    def take(self, candidates: list[str]) -> str:
        value = candidates[0]
        while value in self.seen:
            value += "X"
        self.seen.add(value)
        return value


def _posts() -> tuple[str, ...]:
    from privstats.synth.world import BLOG_POSTS

    return BLOG_POSTS


def _clients(nprng: np.random.Generator, rng: random.Random, n: int) -> list[str]:
    """Mostly IPv4, some IPv6, a few host names; all distinct."""
    n6, nh = n // 10, n // 25
    n4 = n - n6 - nh
    # Distinct IPv4 addresses: a random sample of the 32-bit space, without the special nets.
    values = np.unique(nprng.integers(0x0B000000, 0xDF000000, int(n4 * 1.05), dtype=np.int64))
    values = nprng.permutation(values)[:n4]
    octets = [(values >> shift) & 0xFF for shift in (24, 16, 8, 0)]
    frame = pl.DataFrame({f"o{i}": o for i, o in enumerate(octets)})
    v4 = frame.select(
        pl.concat_str([pl.col(f"o{i}").cast(pl.Utf8) for i in range(4)], separator=".")
    ).to_series()
    v6 = [
        f"2001:db8:{rng.getrandbits(16):x}:{rng.getrandbits(16):x}::{rng.getrandbits(16):x}:{i:x}"
        for i in range(n6)
    ]
    hosts = [f"host-{i}-{rng.getrandbits(16)}.dsl.example.net" for i in range(nh)]
    result = v4.to_list() + v6 + hosts
    rng.shuffle(result)
    return result


def _block(
    rng: np.random.Generator,
    pools: _Pools,
    clock: _Clock,
    seconds: np.ndarray,
    fmt: LogFormatName,
) -> pl.DataFrame:
    p = pools
    n = len(seconds)
    # Heavy tail: client index ~ n_clients * u**3 puts most hits on the low indices.
    client = np.minimum((p.n_clients * rng.random(n) ** 3.2).astype(np.int64), p.n_clients - 1)
    client = (client * 2_654_435_761) % p.n_clients  # spread busy clients over the pool
    agent = p.client_agent[client]
    other = rng.random(n) < 0.04
    agent[other] = rng.integers(0, len(p.agents), int(other.sum()))
    template = rng.choice(len(p.template_p), size=n, p=p.template_p)
    status = np.full(n, 200, dtype=np.int64)
    r = rng.random(n)
    static = p.static[template]
    status[static & (r < 0.35)] = 304
    status[(~static) & (r < 0.02)] = 404
    status[(~static) & (r >= 0.02) & (r < 0.024)] = 500
    status[(~static) & (r >= 0.024) & (r < 0.03)] = 302
    size = np.where(status == 304, 0, rng.lognormal(9.6, 1.1, n).astype(np.int64))
    response = rng.lognormal(10.6, 1.0, n).astype(np.int64) + 150
    variable = p.variable_offset[template] + rng.integers(0, 2**62, n) % p.variable_size[template]
    frame = pl.DataFrame(
        {
            "client": p.clients.gather(client),
            "agent": p.agents.gather(agent),
            "prefix": p.prefixes.gather(template),
            "variable": p.variables.gather(variable),
            "suffix": p.suffixes.gather(template),
            "method": p.methods.gather(template),
            "login": p.emails.gather(client % len(p.emails)),
            "logged": p.logged_in[template],
            "referer": p.referers.gather(rng.choice(len(p.referers), size=n, p=p.referer_p)),
            "proto": np.where(rng.random(n) < 0.6, "HTTP/2.0", "HTTP/1.1"),
            "status": status,
            "size": size,
            "response": response,
            "head": clock.heads.gather(seconds // 3600),
            "ms": clock.minute_seconds.gather(seconds % 3600),
            "tail": clock.tails.gather(seconds // 3600),
        }
    )
    login = pl.when(pl.col("logged"))
    size_text = pl.col("size").cast(pl.Utf8)
    if fmt is not LogFormatName.NGINX_TIMED:
        size_text = pl.when(pl.col("size") == 0).then(pl.lit("-")).otherwise(size_text)
    parts: list[pl.Expr] = [
        pl.col("client"),
        pl.lit(" - "),
        login.then(pl.col("login")).otherwise(pl.lit("-")),
        pl.lit(" ["),
        pl.col("head"),
        pl.col("ms"),
        pl.col("tail"),
        pl.lit('] "'),
        pl.col("method"),
        pl.lit(" "),
        pl.col("prefix"),
        pl.col("variable"),
        pl.col("suffix"),
        pl.lit(" "),
        pl.col("proto"),
        pl.lit('" '),
        pl.col("status").cast(pl.Utf8),
        pl.lit(" "),
        size_text,
    ]
    if fmt is not LogFormatName.COMMON:
        parts += [pl.lit(' "'), pl.col("referer"), pl.lit('" "'), pl.col("agent"), pl.lit('"')]
    if fmt is LogFormatName.COMBINED_D:
        parts += [pl.lit(" "), pl.col("response").cast(pl.Utf8)]
    elif fmt is LogFormatName.COMBINED_T:
        parts += [pl.lit(" "), (pl.col("response") // 1_000_000).cast(pl.Utf8)]
    elif fmt is LogFormatName.NGINX_TIMED:
        seconds_text = (pl.col("response") // 1_000).cast(pl.Utf8).str.zfill(4)
        parts += [
            pl.lit(" "),
            seconds_text.str.slice(0, seconds_text.str.len_bytes() - 3),
            pl.lit("."),
            seconds_text.str.slice(-3),
        ]
    return frame.select(pl.concat_str(parts).alias("line"))
