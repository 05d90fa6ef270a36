"""Requests of the simulated world: sessions of each kind of visitor, day by day.

A session is a short script (log in, open some contacts, edit one, log out; or land on a blog
post from a search engine and read on) played at a time of day that fits the visitor. Every hit
remembers which identifying values it carries in its URL or referer, so ``truth.json`` can list
exactly what was planted in the written files.
"""

from __future__ import annotations

import datetime as dt
import enum
import math
import random
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from urllib.parse import quote, quote_plus, urlencode

from privstats.synth.world import WARSAW, Visitor, VisitorKind, World


class Site(enum.StrEnum):
    """The service's virtual hosts; each writes its own log in its own format."""

    WWW = "www.example.com"
    APP = "app.example.com"
    API = "api.example.com"
    MOBILE = "m.example.com"
    HELP = "help.example.com"
    STATUS = "status.example.com"
    EXPORTS = "exports.example.com"
    DOWNLOADS = "downloads.example.com"


class Planted(enum.StrEnum):
    """Kinds of identifying value a hit can carry (the keys of ``truth.json``'s ``planted``)."""

    IP = "ips"
    HOST = "hosts"
    EMAIL = "emails"
    NAME = "names"
    LOGIN = "logins"
    AGENT_TOKEN = "user_agent_tokens"
    URL_TOKEN = "url_tokens"
    SLUG = "slugs"
    PHONE = "phones"
    MESSAGE = "messages"  # free text of contact forms


@dataclass(slots=True)
class Hit:
    ts: float  # seconds since the epoch, UTC
    site: Site
    visitor: int
    client: str
    login: str  # "-" when not logged in
    method: str
    target: str
    protocol: str
    status: int
    size: int  # body bytes
    referer: str  # "-" when empty
    agent: str
    response_us: int
    planted: tuple[tuple[Planted, str], ...] = ()


_STATIC_APP = (
    "/static/js/app.3f2a9c1b.js",
    "/static/js/vendor.8e1d2c77.js",
    "/static/css/app.5b7c1e0a.css",
    "/static/fonts/inter-var.2b9e.woff2",
    "/static/img/avatar-placeholder.svg",
)
_STATIC_SITE = (
    "/static/css/site.a1b2c3d4.css",
    "/static/js/site.9f8e7d6c.js",
    "/static/img/hero-crm.webp",
    "/favicon.ico",
)
_STATIC_SIZES = {
    ".js": 184_000,
    ".css": 41_000,
    ".woff2": 96_000,
    ".svg": 1_400,
    ".webp": 88_000,
    ".ico": 15_086,
}
_PUBLIC_PAGES = (
    "/",
    "/pricing",
    "/features",
    "/features/pipeline",
    "/features/invoices",
    "/features/mobile",
    "/about",
    "/contact",
    "/blog",
    "/integrations",
    "/security",
    "/pl/cennik",
    "/pl/funkcje",
)
_SEARCHES = (
    "crm dla małej firmy",
    "darmowy crm",
    "crm z fakturowaniem",
    "best crm for small business",
    "crm integracja subiekt",
    "program do zarządzania klientami",
    "crm rodo",
    "pipeline management software",
    "crm opinie",
    "crm mobile app offline",
)
_APP_MODULES = (
    "contacts",
    "companies",
    "deals",
    "tasks",
    "calendar",
    "invoices",
    "campaigns",
    "reports",
)
_SCANNER_PATHS = (
    "/wp-login.php",
    "/.env",
    "/phpmyadmin/",
    "/xmlrpc.php",
    "/.git/config",
    "/admin/config.php",
    "/vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php",
    "/cgi-bin/luci/;stok=/locale",
    "/actuator/health",
    "/boaform/admin/formLogin",
)
_DOWNLOADS = (
    "/downloads/crm-desktop-3.2.1.msi",
    "/downloads/crm-desktop-3.2.1.dmg",
    "/downloads/import-template.xlsx",
    "/downloads/import-template.csv",
    "/downloads/price-list-2026.pdf",
    "/downloads/api-guide-v1.pdf",
)
_DOWNLOAD_SIZES = (48_211_456, 52_003_840, 18_734, 412, 1_204_512, 884_120)


def _poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam > 30:  # normal approximation; exact enough for activity counts
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, p = math.exp(-lam), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def _hex(rng: random.Random, n: int) -> str:
    return f"{rng.getrandbits(4 * n):0{n}x}"


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _lognormal_int(rng: random.Random, median: float, sigma: float) -> int:
    return max(1, int(rng.lognormvariate(math.log(median), sigma)))


# Local-time hour weights: office hours for account holders, evenings for readers.
_OFFICE = (1, 1, 1, 1, 1, 2, 5, 14, 28, 34, 34, 31, 26, 30, 31, 29, 24, 15, 10, 8, 7, 6, 4, 2)
_LEISURE = (6, 4, 3, 2, 2, 2, 4, 8, 12, 14, 15, 15, 15, 15, 14, 14, 15, 17, 20, 24, 26, 24, 18, 10)
_FLAT = (1,) * 24


def _google_referer(rng: random.Random, query: str) -> str:
    q = quote_plus(query)
    return (
        f"https://www.google.com/search?q={q}&sca_esv={_hex(rng, 16)}&source=hp"
        f"&ei={_hex(rng, 22)}&iflsig=AL9hbdg{_hex(rng, 30)}&ved=0ahUKEwi{_hex(rng, 24)}"
        f"&uact=5&oq={q[: max(3, len(q) // 2)]}&gs_lp=Egdnd3Mtd2l6{_hex(rng, 48)}"
        "&sclient=gws-wiz"
    )


def _external_referer(rng: random.Random, landing: str) -> str:
    r = rng.random()
    if r < 0.35:
        return _google_referer(rng, rng.choice(_SEARCHES))
    if r < 0.45:
        return (
            f"https://www.bing.com/search?q={quote_plus(rng.choice(_SEARCHES))}&form=QBLH"
            f"&sp=-1&pq=crm&sc=10-3&qs=n&sk=&cvid={_hex(rng, 32).upper()}"
        )
    if r < 0.6:
        target = quote(f"https://www.example.com{landing}?fbclid=IwAR{_hex(rng, 40)}", safe="")
        return f"https://l.facebook.com/l.php?u={target}&h=AT{_hex(rng, 60)}"
    if r < 0.68:
        return f"https://t.co/{_hex(rng, 10)}"
    if r < 0.75:
        return "https://www.linkedin.com/"
    if r < 0.8:
        return "https://duckduckgo.com/"
    if r < 0.83:
        return "android-app://com.google.android.gm/"
    return "-"


@dataclass
class _Session:
    """Plays one visitor's requests, advancing the clock between them."""

    rng: random.Random
    visitor: Visitor
    t: float
    hits: list[Hit] = field(default_factory=list)
    referer: str = "-"
    seen_static: set[str] = field(default_factory=set)

    def request(
        self,
        site: Site,
        target: str,
        *,
        method: str = "GET",
        status: int = 200,
        size: int = 0,
        login: str = "-",
        response_us: int | None = None,
        planted: tuple[tuple[Planted, str], ...] = (),
        referer: str | None = None,
        protocol: str | None = None,
        gap: float | None = None,
    ) -> None:
        rng = self.rng
        if protocol is None:
            nginx = site in (Site.API, Site.MOBILE)
            protocol = "HTTP/2.0" if nginx or rng.random() < 0.3 else "HTTP/1.1"
        if response_us is None:
            response_us = _lognormal_int(rng, 45_000, 0.9)
        used_referer = self.referer if referer is None else referer
        self.hits.append(
            Hit(
                self.t,
                site,
                self.visitor.visitor_id,
                self.visitor.client,
                login,
                method,
                target,
                protocol,
                status,
                size,
                used_referer,
                self.visitor.user_agent,
                response_us,
                planted,
            )
        )
        if method == "GET" and site in (Site.WWW, Site.APP, Site.HELP):
            self.referer = f"https://{site.value}{target}"
        self.t += gap if gap is not None else rng.expovariate(1 / 25)

    def page(
        self,
        site: Site,
        target: str,
        *,
        login: str = "-",
        planted: tuple[tuple[Planted, str], ...] = (),
    ) -> None:
        """A page view with its occasional errors."""
        rng = self.rng
        r = rng.random()
        if r < 0.012:
            status, size = 404, 1_245
        elif r < 0.016:
            status, size = 500, 612
        elif r < 0.019 and login != "-":
            status, size = 403, 890
        else:
            status, size = 200, _lognormal_int(rng, 24_000, 0.5)
        response = _lognormal_int(rng, 900_000 if status == 500 else 70_000, 0.8)
        self.request(
            site,
            target,
            status=status,
            size=size,
            login=login,
            response_us=response,
            planted=planted,
        )

    def assets(self, site: Site, paths: tuple[str, ...], login: str = "-") -> None:
        referer = self.referer
        for path in paths:
            fresh = path not in self.seen_static
            self.seen_static.add(path)
            size = _STATIC_SIZES[path[path.rindex(".") :]] if fresh else 0
            self.request(
                site,
                path,
                status=200 if fresh else 304,
                size=size,
                login=login,
                response_us=self.rng.randrange(150, 3_000),
                referer=referer,
                gap=self.rng.uniform(0.01, 0.3),
            )
        self.referer = referer


def _user(s: _Session, world: World) -> None:
    rng, v = s.rng, s.visitor
    assert v.account is not None
    email = v.account.email
    if rng.random() < 0.5:  # a fresh log-in; otherwise the session cookie is still valid
        s.referer = "-"
        s.page(Site.WWW, "/login")
        s.assets(Site.WWW, _STATIC_SITE[:2])
        s.request(Site.WWW, "/login", method="POST", status=302, size=0, gap=rng.uniform(3, 20))
    s.page(Site.APP, "/crm/", login=email)
    s.assets(Site.APP, _STATIC_APP, login=email)
    for _ in range(rng.randrange(2, 10)):
        r = rng.random()
        module = rng.choice(_APP_MODULES)
        if r < 0.3:
            s.page(Site.APP, f"/crm/{module}", login=email)
        elif r < 0.55:
            s.page(Site.APP, f"/crm/{module}/{rng.randrange(1_000, 99_999)}", login=email)
        elif r < 0.7:
            s.page(Site.APP, f"/crm/deals/{_uuid(rng)}", login=email)
        elif r < 0.78:
            s.page(Site.APP, f"/crm/contacts/{rng.randrange(1_000, 99_999)}/edit", login=email)
            s.request(
                Site.APP,
                f"/crm/contacts/{rng.randrange(1_000, 99_999)}",
                method="POST",
                status=302,
                login=email,
                response_us=_lognormal_int(rng, 120_000, 0.5),
            )
        elif r < 0.85 and v.contact_slugs:
            i = rng.randrange(len(v.contact_slugs))
            slug, name = v.contact_slugs[i], v.contact_names[i]
            s.page(
                Site.APP,
                f"/crm/search?q={quote_plus(name)}",
                login=email,
                planted=((Planted.NAME, name),),
            )
            s.page(
                Site.APP,
                f"/crm/contacts/{slug}/edit",
                login=email,
                planted=((Planted.SLUG, slug), (Planted.NAME, name)),
            )
        elif r < 0.9:
            slug = v.account.slug
            s.page(Site.APP, f"/u/{slug}", login=email, planted=((Planted.SLUG, slug),))
        elif r < 0.93:
            day = dt.datetime.fromtimestamp(s.t, WARSAW).date().isoformat()
            token = _hex(rng, 32)
            s.request(
                Site.EXPORTS,
                f"/exports/{module}-{day}.csv?token={token}",
                size=_lognormal_int(rng, 400_000, 1.2),
                login=email,
                response_us=_lognormal_int(rng, 4_000_000, 0.9),
                planted=((Planted.URL_TOKEN, token),),
            )
        elif r < 0.96:
            article = rng.choice(world.help_articles)
            s.page(Site.HELP, f"/articles/{article}")
        else:
            s.page(
                Site.APP,
                f"/crm/calendar/{dt.datetime.fromtimestamp(s.t, WARSAW):%Y-%m}",
                login=email,
            )
    if rng.random() < 0.3:
        s.request(Site.APP, "/logout", status=302, login=email, response_us=8_000)


def _mobile(s: _Session, world: World) -> None:
    rng, v = s.rng, s.visitor
    assert v.account is not None
    login = v.account.login
    since = dt.datetime.fromtimestamp(s.t - rng.randrange(600, 90_000), dt.UTC)
    s.referer = "-"
    s.request(
        Site.MOBILE,
        f"/m/api/v2/sync?since={since:%Y-%m-%dT%H:%M:%SZ}",
        login=login,
        size=_lognormal_int(rng, 6_000, 1.0),
        response_us=_lognormal_int(rng, 90_000, 0.7),
    )
    for _ in range(rng.randrange(1, 8)):
        r = rng.random()
        if r < 0.6:
            target, method, status = (
                f"/m/api/v2/contacts/{rng.randrange(1_000, 99_999)}",
                "GET",
                200,
            )
        elif r < 0.85:
            target, method, status = "/m/api/v2/activities", "POST", 201
        else:
            target, method, status = f"/m/api/v2/deals/{_uuid(rng)}", "PATCH", 200
        if rng.random() < 0.02:
            status = 502
        s.request(
            Site.MOBILE,
            target,
            method=method,
            status=status,
            login=login,
            size=_lognormal_int(rng, 1_800, 0.8),
            response_us=_lognormal_int(rng, 60_000, 0.8),
        )


def _prospect(s: _Session, world: World) -> None:
    rng, v = s.rng, s.visitor
    assert v.person is not None
    landing = rng.choice(("/", "/pricing", "/features", "/pl/cennik"))
    s.referer = _external_referer(rng, landing)
    s.page(Site.WWW, landing)
    s.assets(Site.WWW, _STATIC_SITE)
    for _ in range(rng.randrange(0, 4)):
        s.page(Site.WWW, rng.choice(_PUBLIC_PAGES))
    r = rng.random()
    person = v.person
    if r < 0.35:  # registration, the form pre-filled from a campaign link
        query = urlencode(
            {
                "email": person.email,
                "name": person.full_name,
                "plan": "team",
                "utm_source": "newsletter",
                "utm_medium": "email",
            }
        )
        planted = ((Planted.EMAIL, person.email), (Planted.NAME, person.full_name))
        s.page(Site.WWW, f"/register?{query}", planted=planted)
        s.request(Site.WWW, "/register", method="POST", status=302, gap=rng.uniform(20, 90))
        token = _hex(rng, 40)
        s.referer = f"https://mail.example.org/?_task=mail&_action=show&to={person.email}"
        s.page(
            Site.WWW,
            f"/verify/{token}",
            planted=((Planted.URL_TOKEN, token), (Planted.EMAIL, person.email)),
        )
    elif r < 0.6:  # writes to sales through the contact form
        s.page(Site.WWW, "/contact?topic=sales")
        s.request(Site.WWW, "/contact", method="POST", status=303, gap=rng.uniform(40, 200))
        s.page(Site.WWW, "/contact/thanks")
    elif r < 0.7:  # newsletter confirmation link with the raw address in it
        token = _hex(rng, 24)
        s.referer = "-"
        s.page(
            Site.WWW,
            f"/newsletter/confirm?email={person.email}&t={token}",
            planted=((Planted.EMAIL, person.email), (Planted.URL_TOKEN, token)),
        )
    elif r < 0.8:
        s.page(
            Site.HELP, f"/search?q={quote_plus(rng.choice(('import kontaktów', 'faktura', 'api')))}"
        )


def _password_reset(s: _Session, world: World) -> None:
    rng, v = s.rng, s.visitor
    assert v.account is not None
    s.referer = "-"
    s.page(Site.WWW, "/reset-password")
    s.request(Site.WWW, "/reset-password", method="POST", status=302, gap=rng.uniform(5, 30))
    token = _hex(rng, 40)
    s.referer = f"https://mail.example.org/?_task=mail&_action=show&to={v.account.email}"
    s.page(
        Site.WWW,
        f"/reset/{token}",
        planted=((Planted.URL_TOKEN, token), (Planted.EMAIL, v.account.email)),
    )
    s.request(
        Site.WWW,
        f"/reset/{token}",
        method="POST",
        status=302,
        planted=((Planted.URL_TOKEN, token),),
    )


def _reader(s: _Session, world: World) -> None:
    rng = s.rng
    # A few posts are read by many: Zipf-like popularity.
    post = world.blog_posts[min(int(rng.paretovariate(0.9)) - 1, len(world.blog_posts) - 1)]
    s.referer = _external_referer(rng, f"/blog/{post}")
    s.page(Site.WWW, f"/blog/{post}")
    s.assets(Site.WWW, _STATIC_SITE)
    if rng.random() < 0.3:
        s.page(Site.WWW, f"/blog/{rng.choice(world.blog_posts)}")
    if rng.random() < 0.15:
        s.page(Site.WWW, "/pricing")


def _bot(s: _Session, world: World) -> None:
    rng = s.rng
    s.referer = "-"
    s.request(Site.WWW, "/robots.txt", size=312, response_us=900, protocol="HTTP/1.1")
    if rng.random() < 0.3:
        s.request(Site.WWW, "/sitemap.xml", size=18_220, response_us=2_400, protocol="HTTP/1.1")
    for _ in range(rng.randrange(1, 10)):
        r = rng.random()
        if r < 0.45:
            target = f"/blog/{rng.choice(world.blog_posts)}"
        elif r < 0.75:
            target = rng.choice(_PUBLIC_PAGES)
        else:
            s.page(Site.HELP, f"/articles/{rng.choice(world.help_articles)}")
            continue
        s.referer = "-"
        s.page(Site.WWW, target)
        s.t += rng.expovariate(1 / 60)


def _scanner(s: _Session, world: World) -> None:
    rng = s.rng
    s.referer = "-"
    for path in rng.sample(_SCANNER_PATHS, k=rng.randrange(2, len(_SCANNER_PATHS))):
        s.request(
            rng.choice((Site.WWW, Site.APP)),
            path,
            status=404,
            size=196,
            protocol="HTTP/1.1",
            response_us=rng.randrange(300, 2_000),
            gap=rng.uniform(0.05, 2),
        )


def _feed(s: _Session, world: World) -> None:
    s.referer = "-"
    fresh = s.rng.random() < 0.2
    s.request(
        Site.WWW,
        "/blog/feed.xml",
        status=200 if fresh else 304,
        size=38_114 if fresh else 0,
        response_us=s.rng.randrange(1_000, 9_000),
    )


def _integration(s: _Session, world: World) -> None:
    rng, v = s.rng, s.visitor
    assert v.account is not None
    # Half the integrations authenticate with HTTP basic auth: the e-mail lands in $remote_user.
    login = v.account.email if v.visitor_id % 2 == 0 else "-"
    s.referer = "-"
    s.request(
        Site.API, "/api/v1/auth/token", method="POST", status=200, size=412, login=login, gap=0.4
    )
    pages = 1 + int(v.weight / 3)
    for page in range(1, pages + 1):
        status = 429 if rng.random() < 0.02 else 200
        s.request(
            Site.API,
            f"/api/v1/contacts?page={page}&per_page=100",
            status=status,
            size=_lognormal_int(rng, 48_000, 0.3),
            login=login,
            response_us=_lognormal_int(rng, 180_000, 0.5),
            gap=rng.uniform(0.2, 2),
        )
    for _ in range(rng.randrange(1, 6)):
        r = rng.random()
        if r < 0.4:
            s.request(
                Site.API,
                f"/api/v1/deals/{_uuid(rng)}",
                method="PATCH",
                size=640,
                login=login,
                gap=rng.uniform(0.1, 3),
            )
        elif r < 0.7:
            s.request(
                Site.API,
                f"/api/v1/contacts/{rng.randrange(1_000, 99_999)}",
                size=1_210,
                login=login,
                status=404 if rng.random() < 0.05 else 200,
                gap=rng.uniform(0.1, 3),
            )
        elif r < 0.85:
            s.request(
                Site.API,
                "/api/v1/activities",
                method="POST",
                status=201,
                size=233,
                login=login,
                gap=rng.uniform(0.1, 3),
            )
        else:
            other = world.accounts[rng.randrange(len(world.accounts))].email
            s.request(
                Site.API,
                f"/api/v1/contacts?email={quote(other, safe='')}",
                size=980,
                login=login,
                planted=((Planted.EMAIL, other),),
                gap=rng.uniform(0.1, 3),
            )
    if rng.random() < 0.05:
        s.request(Site.API, "/api/v1/me", status=401, size=88, login="-")


def _downloader(s: _Session, world: World) -> None:
    rng = s.rng
    s.referer = "https://www.example.com/downloads"
    i = rng.randrange(len(_DOWNLOADS))
    partial = rng.random() < 0.1
    s.request(
        Site.DOWNLOADS,
        _DOWNLOADS[i],
        status=206 if partial else 200,
        size=_DOWNLOAD_SIZES[i] // (3 if partial else 1),
        protocol="HTTP/1.1",
        response_us=_lognormal_int(rng, 2_000_000, 1.0),
    )


Script = Callable[[_Session, World], None]


@dataclass(frozen=True)
class _Behaviour:
    script: Script
    sessions_per_day: float  # at weight 1 on a weekday
    hours: tuple[int, ...]
    weekend: float  # weekend activity relative to weekdays


_BEHAVIOUR = {
    VisitorKind.USER: _Behaviour(_user, 0.5, _OFFICE, 0.2),
    VisitorKind.MOBILE: _Behaviour(_mobile, 0.6, _LEISURE, 0.6),
    VisitorKind.PROSPECT: _Behaviour(_prospect, 0.25, _OFFICE, 0.5),
    VisitorKind.READER: _Behaviour(_reader, 0.35, _LEISURE, 1.2),
    VisitorKind.BOT: _Behaviour(_bot, 0.8, _FLAT, 1.0),
    VisitorKind.SCANNER: _Behaviour(_scanner, 0.5, _FLAT, 1.0),
    VisitorKind.INTEGRATION: _Behaviour(_integration, 0.5, _OFFICE, 0.5),
    VisitorKind.DOWNLOADER: _Behaviour(_downloader, 0.9, _OFFICE, 0.3),
}


def _start(rng: random.Random, day_start: float, day_end: float, hours: tuple[int, ...]) -> float:
    hour = rng.choices(range(24), weights=hours)[0]
    return min(day_start + hour * 3600 + rng.random() * 3600, day_end - 1)


def _periodic(
    v: Visitor, day_start: float, day_end: float, rng: random.Random, every: float
) -> Iterator[float]:
    t = day_start + rng.random() * every
    while t < day_end:
        yield t
        t += every * rng.uniform(0.97, 1.03)


def day_hits(world: World, day: dt.date, rng: random.Random) -> list[Hit]:
    """All hits of one local (Warsaw) day, in time order."""
    day_start = dt.datetime.combine(day, dt.time(), WARSAW).timestamp()
    day_end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), WARSAW).timestamp()
    weekend = day.weekday() >= 5
    hits: list[Hit] = []
    for v in world.visitors:
        if v.kind is VisitorKind.FEED:
            every = (900, 1800, 3600, 7200)[v.visitor_id % 4]
            for t in _periodic(v, day_start, day_end, rng, every):
                s = _Session(rng, v, t)
                _feed(s, world)
                hits += s.hits
            continue
        if v.kind is VisitorKind.MONITOR:
            for t in _periodic(v, day_start, day_end, rng, 300):
                s = _Session(rng, v, t)
                s.request(
                    Site.STATUS,
                    "/api/v2/status.json",
                    size=rng.randrange(1_150, 1_190),
                    response_us=rng.randrange(2_000, 20_000),
                    protocol="HTTP/1.1",
                )
                hits += s.hits
            continue
        behaviour = _BEHAVIOUR[v.kind]
        lam = behaviour.sessions_per_day * v.weight * (behaviour.weekend if weekend else 1.0)
        for _ in range(_poisson(rng, lam)):
            s = _Session(rng, v, _start(rng, day_start, day_end, behaviour.hours))
            if v.kind is VisitorKind.USER and rng.random() < 0.03:
                _password_reset(s, world)
            behaviour.script(s, world)
            hits += s.hits
    hits = [h for h in hits if day_start <= h.ts < day_end]
    hits.sort(key=lambda h: (h.ts, h.visitor))
    return hits
