"""The simulated world behind the synthetic inputs: partners, organisations, people, visitors.

One seeded ``random.Random`` builds everything, so the same seed gives the same world. The
access logs and the CRM exports are both drawn from this one world, which is what makes them
consistent: an account that logs in on the web carries the e-mail the CRM export holds.
"""

from __future__ import annotations

import datetime as dt
import enum
import random
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from privstats.exceptions import ConfigError
from privstats.synth import names as nm
from privstats.synth import useragents as ua

WARSAW = ZoneInfo("Europe/Warsaw")


class VisitorKind(enum.StrEnum):
    USER = "user"  # an account holder in a desktop browser, logged in to the app
    MOBILE = "mobile"  # an account holder in the mobile app
    PROSPECT = "prospect"  # browses the public site, registers or writes to sales
    READER = "reader"  # reads the blog, arrives from search or social media
    BOT = "bot"  # search-engine crawler
    SCANNER = "scanner"  # probes for vulnerable software
    FEED = "feed"  # feed reader polling the blog feed
    INTEGRATION = "integration"  # an API client of a customer
    MONITOR = "monitor"  # uptime monitor polling the status page
    DOWNLOADER = "downloader"  # fetches installers and templates from the legacy server


class ClientKind(enum.StrEnum):
    IPV4 = "ipv4"
    IPV6 = "ipv6"
    HOST = "host"  # logged by host name (HostnameLookups On)


class Plan(enum.StrEnum):
    FREE = "free"
    TEAM = "team"
    BUSINESS = "business"
    ENTERPRISE = "enterprise"


PARTNERS = (
    ("acme", "Acme Resellers Sp. z o.o."),
    ("nordic", "Nordic CRM Partners AB"),
    ("baltic", "Baltic Business Solutions UAB"),
    ("vistula", "Vistula IT Consulting S.A."),
)
SIZE_BANDS = ("1-9", "10-49", "50-249", "250+")
INDUSTRIES = (
    "retail",
    "manufacturing",
    "construction",
    "logistics",
    "healthcare",
    "education",
    "it_services",
    "finance",
    "real_estate",
    "hospitality",
    "agriculture",
    "marketing",
)
EXTERNAL_SYSTEMS = ("salesforce", "hubspot", "pipedrive", "subiekt")
SIGNUP_CHANNELS = ("email", "google", "facebook", *EXTERNAL_SYSTEMS)
COUNTRIES = ("PL", "DE", "GB", "UA", "CZ")
FREE_MAIL = ("example.pl", "poczta.example.pl", "example.com", "mail.example.org", "example.net")

BLOG_POSTS = (
    "jak-wybrac-crm-dla-malej-firmy",
    "5-sposobow-na-lepszy-lejek-sprzedazy",
    "rodo-w-crm-praktyczny-przewodnik",
    "integracja-z-subiektem-krok-po-kroku",
    "how-to-migrate-from-spreadsheets",
    "email-campaigns-that-convert",
    "nowosci-pazdziernik-2026",
    "automatyzacja-faktur",
    "crm-for-nonprofits",
    "pipeline-reviews-weekly-ritual",
    "import-kontaktow-z-csv",
    "mobile-app-5-3-release-notes",
)
HELP_ARTICLES = (
    "getting-started",
    "import-contacts",
    "invite-your-team",
    "two-factor-authentication",
    "api-tokens",
    "billing-and-invoices",
    "export-data",
    "delete-account",
    "custom-fields",
    "calendar-sync",
    "mobile-app",
    "gdpr-requests",
)

_ORG_STEMS = (
    "Tech",
    "Bud",
    "Agro",
    "Eko",
    "Med",
    "Trans",
    "Inter",
    "Net",
    "Data",
    "Soft",
    "Prim",
    "Vis",
    "Mar",
    "Kor",
    "Nord",
    "Balt",
    "Silesia",
    "Mazovia",
    "Pomorze",
    "Warta",
    "Odra",
    "Sudety",
    "Karpaty",
    "Wawel",
    "Bryza",
    "Orzeł",
    "Żuraw",
    "Łoś",
)
_ORG_TAILS = ("mar", "pol", "ex", "tech", "soft", "med", "trans", "net", "bud", "lab", "serwis")
_LEGAL = {
    "PL": ("Sp. z o.o.", "S.A.", "sp.j.", "Sp. k."),
    "DE": ("GmbH",),
    "GB": ("Ltd",),
    "UA": ("TOV",),
    "CZ": ("s.r.o.",),
}


@dataclass(frozen=True)
class Person:
    first_name: str
    last_name: str
    email: str
    country: str

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


@dataclass(frozen=True)
class Organisation:
    org_id: int
    name: str
    size_band: str
    industry: str
    partner: str
    country: str
    domain: str  # e-mail domain of its staff
    office_ip: str  # staff behind the office NAT share it


@dataclass(frozen=True)
class Account:
    account_id: int
    person: Person
    login: str  # login name, used by the mobile API instead of the e-mail
    slug: str  # profile URL segment, /u/<slug>
    org_id: int
    signup_channel: str
    created_at: dt.datetime
    closed_at: dt.datetime | None
    plan: Plan
    consent_statistics: bool
    consent_publication: bool
    erasure_requested: bool

    @property
    def email(self) -> str:
        return self.person.email


@dataclass(frozen=True)
class Visitor:
    """One client as a log sees it: an address and a user agent (and maybe a person)."""

    visitor_id: int
    kind: VisitorKind
    client: str
    client_kind: ClientKind
    user_agent: str
    ua_token: str | None  # a unique token inside the user agent, if any
    weight: float  # activity level: heavy-tailed across visitors
    account: Account | None = None
    person: Person | None = None  # prospects leave their name and e-mail in forms
    contact_slugs: tuple[str, ...] = ()  # CRM contacts this user edits by name in the URL
    contact_names: tuple[str, ...] = ()  # names this user searches for


@dataclass(frozen=True)
class World:
    start: dt.date
    days: int
    partners: tuple[tuple[str, str], ...]
    organisations: tuple[Organisation, ...]
    accounts: tuple[Account, ...]
    visitors: tuple[Visitor, ...]
    blog_posts: tuple[str, ...] = BLOG_POSTS
    help_articles: tuple[str, ...] = HELP_ARTICLES

    def window_utc(self) -> tuple[dt.datetime, dt.datetime]:
        """Local (Warsaw) midnight of the first day to local midnight after the last day."""
        first = dt.datetime.combine(self.start, dt.time(), WARSAW)
        end = dt.datetime.combine(self.start + dt.timedelta(days=self.days), dt.time(), WARSAW)
        return first.astimezone(dt.UTC), end.astimezone(dt.UTC)


class _Unique:
    """Draws values until one is new: e-mails, logins, slugs and addresses must not collide."""

    def __init__(self, reserved: set[str] | None = None) -> None:
        self.seen: set[str] = set(reserved or ())

    def take(self, candidates: list[str]) -> str:
        for candidate in candidates:
            if candidate not in self.seen:
                self.seen.add(candidate)
                return candidate
        base = candidates[0]
        n = 2
        while f"{base}{n}" in self.seen:
            n += 1
        self.seen.add(f"{base}{n}")
        return f"{base}{n}"


def _draw_name(rng: random.Random, country: str) -> tuple[str, str]:
    female = rng.random() < 0.5
    if country == "PL":
        first = rng.choice(nm.POLISH_FEMALE if female else nm.POLISH_MALE)
        last = rng.choice(nm.POLISH_SURNAMES)
        return first, nm.polish_feminine(last) if female else last
    if country == "GB":
        first = rng.choice(nm.ENGLISH_FEMALE if female else nm.ENGLISH_MALE)
        return first, rng.choice(nm.ENGLISH_SURNAMES)
    if country == "DE":
        first = rng.choice(nm.GERMAN_FEMALE if female else nm.GERMAN_MALE)
        return first, rng.choice(nm.GERMAN_SURNAMES)
    if country == "UA":
        first = rng.choice(nm.UKRAINIAN_FEMALE if female else nm.UKRAINIAN_MALE)
        return first, rng.choice(nm.UKRAINIAN_SURNAMES)
    first = rng.choice(nm.CZECH_FEMALE if female else nm.CZECH_MALE)
    male_last, female_last = rng.choice(nm.CZECH_SURNAMES)
    return first, female_last if female else male_last


def _email(rng: random.Random, first: str, last: str, domain: str, emails: _Unique) -> str:
    f, la = nm.slugify(first).replace("-", ""), nm.slugify(last).replace("-", "")
    shapes = [f"{f}.{la}", f"{f[0]}.{la}", f"{f}{la}", f"{f}_{la}", f"{la}.{f}"]
    rng.shuffle(shapes)
    return emails.take([f"{s}@{domain}" for s in shapes])


def _ipv4(rng: random.Random, used: _Unique) -> str:
    # Prefixes of large Polish and European access networks: realistic-looking, synthetic.
    prefixes = (83, 89, 31, 178, 188, 5, 37, 46, 77, 79, 91, 93, 95, 109, 151, 176, 185, 212, 213)
    while True:
        candidate = (
            f"{rng.choice(prefixes)}.{rng.randrange(256)}.{rng.randrange(256)}."
            f"{rng.randrange(1, 255)}"
        )
        if candidate not in used.seen:
            used.seen.add(candidate)
            return candidate


def _ipv6(rng: random.Random, used: _Unique) -> str:
    while True:
        if rng.random() < 0.6:  # the documentation prefix
            groups = ["2001", "db8", f"{rng.randrange(1, 0xFFFF):x}", f"{rng.randrange(0xFFFF):x}"]
        else:  # look-alikes of Polish mobile and cable allocations
            groups = [
                rng.choice(("2a01", "2a02", "2a00")),
                f"{rng.randrange(0x100, 0xFFFF):x}",
                f"{rng.randrange(0xFFFF):x}",
                f"{rng.randrange(0xFFFF):x}",
            ]
        tail = ":".join(f"{rng.randrange(0x10000):x}" for _ in range(rng.choice((1, 2, 4))))
        candidate = ":".join(groups) + ("::" if tail.count(":") < 3 else ":") + tail
        if candidate not in used.seen:
            used.seen.add(candidate)
            return candidate


def _host(rng: random.Random, used: _Unique) -> str:
    a, b, c, d = (rng.randrange(1, 255) for _ in range(4))
    shapes = (
        f"host-{a}-{b}-{c}-{d}.dsl.example.net",
        f"{a}-{b}-{c}-{d}.cable.example.com",
        f"static-{d}.{c}.{b}.{a}.biz.example.org",
        f"user-{a}{b:03d}{c:03d}.mobile.example.net",
    )
    return used.take([rng.choice(shapes)])


def _client(
    rng: random.Random, used: _Unique, ipv6_share: float = 0.18, host_share: float = 0.12
) -> tuple[str, ClientKind]:
    r = rng.random()
    if r < host_share:
        return _host(rng, used), ClientKind.HOST
    if r < host_share + ipv6_share:
        return _ipv6(rng, used), ClientKind.IPV6
    return _ipv4(rng, used), ClientKind.IPV4


def _pareto_weight(rng: random.Random, alpha: float = 1.3, cap: float = 60.0) -> float:
    # Heavy tail: most visitors near 1, a few tens of times busier.
    return min(rng.paretovariate(alpha), cap)


def _organisations(rng: random.Random, count: int, used_ips: _Unique) -> list[Organisation]:
    orgs, names = [], _Unique()
    for i in range(count):
        country = rng.choices(COUNTRIES, weights=(80, 6, 6, 5, 3))[0]
        stem = rng.choice(_ORG_STEMS) + rng.choice(_ORG_TAILS)
        name = names.take([f"{stem} {rng.choice(_LEGAL[country])}"])
        domain = f"{nm.slugify(stem)}{i}.example.{'pl' if country == 'PL' else 'com'}"
        orgs.append(
            Organisation(
                org_id=1000 + i * 7 + rng.randrange(7),
                name=name,
                size_band=rng.choices(SIZE_BANDS, weights=(45, 35, 15, 5))[0],
                industry=rng.choice(INDUSTRIES),
                # The first partner is the big one: partner reports have different sizes.
                partner=rng.choices([p for p, _ in PARTNERS], weights=(45, 25, 20, 10))[0],
                country=country,
                domain=domain,
                office_ip=_ipv4(rng, used_ips),
            )
        )
    return orgs


def _accounts(
    rng: random.Random,
    count: int,
    orgs: list[Organisation],
    start: dt.date,
    emails: _Unique,
    logins: _Unique,
    slugs: _Unique,
) -> list[Account]:
    accounts = []
    opened = dt.datetime(2022, 1, 10, tzinfo=WARSAW)
    span = (dt.datetime.combine(start, dt.time(), WARSAW) - opened).total_seconds()
    for i in range(count):
        org = (
            orgs[min(int(rng.paretovariate(1.1)) - 1, len(orgs) - 1)]
            if i >= len(orgs)
            else (orgs[i])
        )
        country = org.country if rng.random() < 0.9 else rng.choice(COUNTRIES)
        first, last = _draw_name(rng, country)
        domain = org.domain if rng.random() < 0.6 else rng.choice(FREE_MAIL)
        email = _email(rng, first, last, domain, emails)
        f, la = nm.slugify(first).replace("-", ""), nm.slugify(last).replace("-", "")
        created = opened + dt.timedelta(seconds=int(rng.random() * span * 0.98))
        closed = None
        if rng.random() < 0.04:
            closed = created + dt.timedelta(days=rng.randrange(30, 300))
            closed = min(
                closed,
                dt.datetime.combine(start, dt.time(), WARSAW)
                - dt.timedelta(hours=rng.randrange(1, 400)),
            )
            closed = max(closed, created + dt.timedelta(hours=1))
        accounts.append(
            Account(
                account_id=100_000 + i * 13 + rng.randrange(13),
                person=Person(first, last, email, country),
                login=logins.take([f"{f[0]}{la}", f"{f}{la[0]}", f"{f}.{la}"]),
                slug=slugs.take([nm.slugify(first, last)]),
                org_id=org.org_id,
                signup_channel=rng.choices(SIGNUP_CHANNELS, weights=(55, 22, 12, 4, 3, 2, 2))[0],
                created_at=created.astimezone(WARSAW),
                closed_at=closed.astimezone(WARSAW) if closed else None,
                plan=rng.choices(list(Plan), weights=(40, 35, 20, 5))[0],
                consent_statistics=rng.random() >= 0.06,
                consent_publication=rng.random() < 0.6,
                erasure_requested=False,
            )
        )
    # A few persons asked for erasure; they were active on the web, so erasure has work to do.
    # The earliest accounts become the web users (build_world), so choose among them.
    active = [a for a in accounts[: count // 2] if a.closed_at is None and a.consent_statistics]
    chosen = {a.account_id for a in rng.sample(active, k=min(len(active), max(1, count // 60)))}
    return [
        Account(**{**a.__dict__, "erasure_requested": True}) if a.account_id in chosen else a
        for a in accounts
    ]


def build_world(rng: random.Random, visitors: int, start: dt.date, days: int) -> World:
    """A world with exactly ``visitors`` visitors and the accounts and organisations behind them."""
    used_ips = _Unique({"198.51.100.77"})  # keep clear of the hand-written canaries
    emails, logins, slugs = _Unique(), _Unique(), _Unique(set(BLOG_POSTS) | set(HELP_ARTICLES))
    n_accounts = max(8, round(visitors * 0.6))
    orgs = _organisations(rng, max(4, n_accounts // 5), used_ips)
    accounts = _accounts(rng, n_accounts, orgs, start, emails, logins, slugs)
    by_org = {o.org_id: o for o in orgs}
    live = [a for a in accounts if a.closed_at is None]

    quotas = _quotas(visitors)
    result: list[Visitor] = []
    ua_tokens = _Unique()
    contact_slugs = _Unique(slugs.seen)

    def add(kind: VisitorKind, **kw: object) -> None:
        # kw are Visitor's other fields, of several types, which **object does not tell apart.
        result.append(Visitor(visitor_id=len(result), kind=kind, **kw))  # type: ignore[arg-type]

    users = live[: quotas[VisitorKind.USER]]
    for account in users:
        org = by_org[account.org_id]
        if rng.random() < 0.45:
            client, ckind = org.office_ip, ClientKind.IPV4
        else:
            client, ckind = _client(rng, used_ips)
        agent, token = ua.desktop_browser(rng, ua_tokens)
        n_contacts = rng.randrange(1, 4)
        cslugs, cnames = [], []
        for _ in range(n_contacts):
            first, last = _draw_name(rng, "PL")
            cnames.append(f"{first} {last}")
            cslugs.append(contact_slugs.take([nm.slugify(last), nm.slugify(last, first)]))
        add(
            VisitorKind.USER,
            client=client,
            client_kind=ckind,
            user_agent=agent,
            ua_token=token,
            weight=_pareto_weight(rng),
            account=account,
            person=account.person,
            contact_slugs=tuple(cslugs),
            contact_names=tuple(cnames),
        )
    mobile_owners = rng.sample(users, k=min(len(users), quotas[VisitorKind.MOBILE]))
    for account in mobile_owners:
        client, ckind = _client(rng, used_ips, ipv6_share=0.45, host_share=0.1)
        add(
            VisitorKind.MOBILE,
            client=client,
            client_kind=ckind,
            user_agent=ua.mobile_app(rng),
            ua_token=None,
            weight=_pareto_weight(rng),
            account=account,
            person=account.person,
        )
    for _ in range(quotas[VisitorKind.PROSPECT]):
        country = rng.choices(COUNTRIES, weights=(82, 5, 6, 5, 2))[0]
        first, last = _draw_name(rng, country)
        person = Person(
            first, last, _email(rng, first, last, rng.choice(FREE_MAIL), emails), country
        )
        client, ckind = _client(rng, used_ips)
        agent, token = ua.any_browser(rng, ua_tokens)
        add(
            VisitorKind.PROSPECT,
            client=client,
            client_kind=ckind,
            user_agent=agent,
            ua_token=token,
            weight=_pareto_weight(rng, cap=8),
            person=person,
        )
    for _ in range(quotas[VisitorKind.READER]):
        client, ckind = _client(rng, used_ips, ipv6_share=0.3)
        agent, token = ua.any_browser(rng, ua_tokens)
        add(
            VisitorKind.READER,
            client=client,
            client_kind=ckind,
            user_agent=agent,
            ua_token=token,
            weight=_pareto_weight(rng, cap=5),
        )
    for i in range(quotas[VisitorKind.BOT]):
        agent, prefix = ua.CRAWLERS[i % len(ua.CRAWLERS)]
        client = f"{prefix}.{rng.randrange(1, 255)}" if prefix else _ipv4(rng, used_ips)
        if client in used_ips.seen and prefix:
            client = _ipv4(rng, used_ips)
        used_ips.seen.add(client)
        add(
            VisitorKind.BOT,
            client=client,
            client_kind=ClientKind.IPV4,
            user_agent=agent,
            ua_token=None,
            weight=_pareto_weight(rng, alpha=1.0, cap=20),
        )
    for i in range(quotas[VisitorKind.SCANNER]):
        add(
            VisitorKind.SCANNER,
            client=_ipv4(rng, used_ips),
            client_kind=ClientKind.IPV4,
            user_agent=ua.SCANNERS[i % len(ua.SCANNERS)],
            ua_token=None,
            weight=1.0,
        )
    for i in range(quotas[VisitorKind.FEED]):
        client, ckind = _client(rng, used_ips, ipv6_share=0.3, host_share=0.2)
        add(
            VisitorKind.FEED,
            client=client,
            client_kind=ckind,
            user_agent=ua.feed_reader(rng, i),
            ua_token=None,
            weight=1.0,
        )
    integrators = [a for a in live if a.plan in (Plan.BUSINESS, Plan.ENTERPRISE)] or live
    for i in range(quotas[VisitorKind.INTEGRATION]):
        account = integrators[i % len(integrators)]
        client, ckind = _client(rng, used_ips, ipv6_share=0.25, host_share=0.05)
        # The first integration is the service's busiest client by far.
        weight = 40.0 if i == 0 else _pareto_weight(rng, alpha=1.1)
        add(
            VisitorKind.INTEGRATION,
            client=client,
            client_kind=ckind,
            user_agent=ua.api_client(rng),
            ua_token=None,
            weight=weight,
            account=account,
            person=account.person,
        )
    for _ in range(quotas[VisitorKind.MONITOR]):
        add(
            VisitorKind.MONITOR,
            client=_ipv4(rng, used_ips),
            client_kind=ClientKind.IPV4,
            user_agent=ua.MONITOR,
            ua_token=None,
            weight=1.0,
        )
    for _ in range(quotas[VisitorKind.DOWNLOADER]):
        client, ckind = _client(rng, used_ips)
        add(
            VisitorKind.DOWNLOADER,
            client=client,
            client_kind=ckind,
            user_agent=ua.desktop_browser(rng, ua_tokens)[0],
            ua_token=None,
            weight=1.0,
        )
    return World(
        start=start,
        days=days,
        partners=PARTNERS,
        organisations=tuple(orgs),
        accounts=tuple(accounts),
        visitors=tuple(result),
    )


_SHARES = {
    VisitorKind.MOBILE: 0.08,
    VisitorKind.READER: 0.13,
    VisitorKind.BOT: 0.05,
    VisitorKind.SCANNER: 0.02,
    VisitorKind.FEED: 0.03,
    VisitorKind.INTEGRATION: 0.03,
    VisitorKind.MONITOR: 0.004,
    VisitorKind.DOWNLOADER: 0.04,
    VisitorKind.PROSPECT: 0.17,
}


def _quotas(visitors: int) -> dict[VisitorKind, int]:
    """How many visitors of each kind: every kind present once there are enough visitors."""
    if visitors < 12:
        raise ConfigError("synth needs at least 12 visitors, so that every kind of visitor appears")
    quotas = {kind: max(1, round(visitors * share)) for kind, share in _SHARES.items()}
    quotas[VisitorKind.USER] = visitors - sum(quotas.values())
    return quotas
