"""The newest report views, attacked as a partner holding the released files.

Two worlds, each reported once and released (module fixtures: the attacks only read):

* **acme's CRM activity report, October 2026**, with the cohort tables (``registrations-by-month``
  and ``active-persons-by-cohort``, both of accounts, the second with each ``active_month`` of
  the account's person read through the person), active
  persons by module and action, by day, organisations by industry and size, and the headline
  strip with the onboarding funnel. acme has 24 organisations (12 retail, 11 finance, one
  healthcare organisation whose only two active persons export invoices on the 20th). Its
  persons signed up in June 2025 (2, before the year of cohorts), July (3), August (12),
  September (14) and October 2026 (25 + 2 of the healthcare organisation); 11 more opened their
  first account at nordic in June and one at acme in October (same e-mail: one person). In
  September 12 of the 14 new persons were active; in October 2 + 2 + 3 + 11 + 27 + 11 = 56 were,
  each in one module and action, 20 of them on three days.
* **the traffic report of 5-6 October** (start and end given, so that the previous period, 3-4
  October, is in the store and its ``previous-*`` tables are published with the rest): pages,
  entry pages, channels, kinds of requests, status codes, crawlers and response times, with
  small groups in each: a page with one visitor (a response time of its own), six visitors
  under a generalised path, three visitors from a social network fetching a static file, two
  visitors hitting server errors, a crawler from one address, a day of the previous period with
  three visitors.

The attacker's strongest assumptions are used where the data make them true (each person in
one cell, each visitor-day with one channel and one entry page); a group stays protected while
it can be neither pinned nor bounded below the threshold (``protected``). Three tests here
found leaks when written (the cohorts counted activity records, a family apart from the sign-ups
they nest in; cohorts read sign-ups at other partners; the daily headline divided distinct
persons by days) and hold their fixes.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Mapping, Sequence
from typing import Any

import pytest
from attacks.conftest import (
    BOT,
    CHROME,
    FIREFOX,
    SAFARI,
    Attacker,
    Crm,
    Released,
    World,
    const,
    email,
    pinned,
    plus,
    protected,
)

from privstats.report.headline import Headline, Read, figures, read
from privstats.report.i18n import Language
from privstats.report.table import TOTAL_CODE, Cell, CellState, ReportTable

# --- acme's CRM report -----------------------------------------------------------------------

CRM_REPORT = "crm_activity_report"
OCTOBER = "2026-10"
# Each person active in October does one thing there (module, action), in turn.
MODULES = [("contacts", "view"), ("contacts", "create"), ("deals", "view"), ("tasks", "create")]
ACME_ORGS = list(range(1, 24))  # 1-12 retail (10-49), 13-23 finance (50-249)
HEALTHCARE = 24  # healthcare, 250+: two persons, invoices exported on the 20th
NORDIC = 30


class _CrmBuilder:
    """Accounts and activity written by hand, on any day (``Crm`` writes October only)."""

    def __init__(self) -> None:
        self.crm = Crm()
        self.next_org = 0
        self.next_module = 0
        for org in [*ACME_ORGS, HEALTHCARE]:
            industry, size = (
                ("retail", "10-49") if org <= 12
                else ("finance", "50-249") if org <= 23
                else ("healthcare", "250+")
            )  # fmt: skip
            self.crm.organisations.append(
                {"org_id": org, "name": f"Org {org}", "size_band": size, "industry": industry,
                 "partner": "acme"}
            )  # fmt: skip
        self.crm.organisations.append(
            {"org_id": NORDIC, "name": "Nordic", "size_band": "10-49", "industry": "retail",
             "partner": "nordic"}
        )  # fmt: skip

    def account(self, org: int, created: str, mail: str | None = None) -> int:
        number = 1000 + len(self.crm.accounts)
        self.crm.accounts.append(
            {"account_id": number, "first_name": "A", "last_name": f"B{number}",
             "email": mail or email(number), "signup_channel": "email",
             "created_at": f"{created}T08:00:00+00:00", "closed_at": None, "org_id": org,
             "plan": "team", "consent_statistics": True, "consent_publication": True,
             "country": "PL"}
        )  # fmt: skip
        return number

    def acme(self, created: str, mail: str | None = None) -> int:
        org = ACME_ORGS[self.next_org % len(ACME_ORGS)]
        self.next_org += 1
        return self.account(org, created, mail)

    def act(
        self, number: int, day: str, module: str = "contacts", action: str = "view",
        source: str = "web",
    ) -> None:  # fmt: skip
        org = next(a["org_id"] for a in self.crm.accounts if a["account_id"] == number)
        self.crm.activity.append(
            {"occurred_at": f"{day}T10:00:00+00:00", "org_id": org, "account_id": number,
             "module": module, "action": action, "records_affected": 1, "source": source}
        )  # fmt: skip

    def in_october(self, number: int, days: Sequence[str]) -> None:
        module, action = MODULES[self.next_module % len(MODULES)]
        self.next_module += 1
        for day in days:
            self.act(number, day, module, action)

    def cohort(self, created: str, size: int, active: Mapping[str, int]) -> list[int]:
        numbers = [self.acme(created) for _ in range(size)]
        for month, count in active.items():
            for i, number in enumerate(numbers[:count]):
                if month == OCTOBER:
                    self.in_october(number, [f"2026-10-{6 + i % 3:02d}"])
                else:
                    self.act(number, f"{month}-12")
        return numbers


def acme_crm() -> Crm:
    b = _CrmBuilder()
    b.cohort("2025-06-10", 2, {OCTOBER: 2})  # signed up before the year of cohorts
    b.cohort("2026-07-10", 3, {"2026-07": 3, OCTOBER: 2})
    b.cohort("2026-08-10", 12, {"2026-08": 12, "2026-09": 10, OCTOBER: 3})
    b.cohort("2026-09-10", 14, {"2026-09": 12, OCTOBER: 11})
    october = b.cohort("2026-10-05", 25, {})
    for number in october[:20]:
        b.in_october(number, ["2026-10-06", "2026-10-07", "2026-10-08"])
    for number in october[20:]:
        b.in_october(number, ["2026-10-07"])
    for i in range(11):  # a nordic account in June, then one at acme in October: one person
        mail = f"mover{i}@example.org"
        b.act(b.account(NORDIC, "2026-06-10", mail), "2026-06-12")
        b.in_october(b.acme("2026-10-05", mail), ["2026-10-08"])
    for _ in range(2):
        b.act(b.account(HEALTHCARE, "2026-10-05"), "2026-10-20", "invoices", "export")
    for _ in range(15):
        b.act(b.account(NORDIC, "2026-10-02"), "2026-10-07")
    # The report's imports section asks for every configured system: the store holds each.
    for system in ("salesforce", "hubspot", "pipedrive", "subiekt"):
        b.act(b.account(NORDIC, "2026-10-02"), "2026-10-08", "imports", "create",
              f"import:{system}")  # fmt: skip
    return b.crm


@pytest.fixture(scope="module")
def crm_world(tmp_path_factory: pytest.TempPathFactory) -> World:
    world = World(tmp_path_factory.mktemp("new-views-crm") / "world")
    world.ingest_crm(acme_crm())
    assert world.report(CRM_REPORT, partner="acme", period=OCTOBER) == 0, world.outputs[-1]
    assert world.release(world.folder(CRM_REPORT, "acme", OCTOBER)), world.outputs[-1]
    return world


def crm_table(world: World, name: str) -> Released:
    table = world.latest(CRM_REPORT, name, "acme")
    assert table is not None, f"{name} was not released"
    return table


def headline_strip(table: Released) -> dict[str, tuple[str, str]]:
    """The released report's headline figures: label -> (value, change), as a reader sees them."""
    text = (table.file.parent / "report.html").read_text(encoding="utf-8")
    boxes = re.findall(
        r'<p class="label">(.*?)</p>\s*<p class="value">(.*?)</p>\s*<p class="change">(.*?)</p>',
        text,
        flags=re.S,
    )
    return {html.unescape(a): (html.unescape(b), html.unescape(c)) for a, b, c in boxes}


def number(text: str) -> float:
    """The number in a figure's text ("at least 140", "121 ms", "−9.6 %", "1,234")."""
    found = re.search(r"[-−+]?[\d,]+(?:\.\d+)?", text)
    assert found is not None, text
    return float(found.group().replace("−", "-").replace(",", ""))


def test_a_months_sign_ups_minus_its_first_month_give_no_small_group_away(
    crm_world: World,
) -> None:
    registrations = crm_table(crm_world, "registrations-by-month")
    cohorts = crm_table(crm_world, "active-persons-by-cohort")
    attacker = Attacker()
    cohort = "2026-09"
    signed_up = attacker.cell(registrations, cohort, name="signed up")
    for month in (cohort, OCTOBER):
        active = attacker.cell(cohorts, cohort, month, name=f"active {month}")
        inactive = attacker.unknown(f"inactive {month}")
        attacker.same(signed_up, plus(active, inactive))  # the cohort is among the sign-ups
        assert protected(attacker.interval(inactive)), month


def test_a_partners_cohorts_are_made_of_its_own_sign_ups(crm_world: World) -> None:
    registrations = crm_table(crm_world, "registrations-by-month")
    cohorts = crm_table(crm_world, "active-persons-by-cohort")
    for row in cohorts.rows:
        month = row[0]
        assert registrations.has(month), f"cohort {month} has no sign-ups of acme"
        signed_up = registrations.value(month)
        for column in cohorts.header[1:]:
            active = cohorts.value(month, column)
            if signed_up is not None and active is not None:
                assert active <= signed_up, (month, column)


def test_the_periods_active_persons_minus_the_cohorts_give_no_small_cohort_away(
    crm_world: World,
) -> None:
    """October's active persons (56) are October's column of the cohort table plus those who
    signed up before the year (2): the column's small cells (July 2, August 3) and the old
    customers must not come out as the total minus the rest, nor be bounded by the sign-ups."""
    cohorts = crm_table(crm_world, "active-persons-by-cohort")
    persons = crm_table(crm_world, "active-persons")
    registrations = crm_table(crm_world, "registrations-by-month")
    attacker = Attacker()
    column = {row[0]: attacker.cell(cohorts, row[0], OCTOBER, name=f"c:{row[0]}")
              for row in cohorts.rows}  # fmt: skip
    older = attacker.unknown("signed up before the year")
    attacker.same(attacker.cell(persons, "Total", "Total"), plus(*column.values(), older))
    for month, active in column.items():  # a cohort's active persons are among its sign-ups
        if registrations.has(month):
            signed_up = attacker.cell(registrations, month, name=f"r:{month}")
            attacker.same(signed_up, plus(active, attacker.unknown(f"gone:{month}")))
    assert protected(attacker.interval(plus(column["2026-07"], column["2026-08"])))
    assert protected(attacker.interval(column["2026-07"]))
    assert protected(attacker.interval(older))


def test_organisations_by_industry_minus_the_active_ones_give_no_small_cell_away(
    crm_world: World,
) -> None:
    """Every active organisation is in one cell of industry x size: the cells add up to the
    active organisations' total (24); healthcare 250+ is one organisation."""
    industries = crm_table(crm_world, "organisations-by-industry")
    organisations = crm_table(crm_world, "active-organisations")
    attacker = Attacker()
    cells = {
        (row[0], size): attacker.cell(industries, row[0], size, name=f"{row[0]}/{size}")
        for row in industries.rows
        for size in industries.header[1:]
    }
    attacker.same(attacker.cell(organisations, "Total", "Total"), plus(*cells.values()))
    assert protected(attacker.interval(cells[("healthcare", "250+")]))


def test_the_module_action_heat_maps_give_no_small_group_away(crm_world: World) -> None:
    """Persons and organisations by module and action: each person does one thing, so the
    persons' cells add up to their margins; an organisation counted has a person there. Two
    persons export invoices."""
    persons = crm_table(crm_world, "active-persons")
    organisations = crm_table(crm_world, "active-organisations")
    attacker = Attacker()
    modules = [row[0] for row in persons.rows if row[0] != "Total"]
    actions = [c for c in persons.header[1:] if c != "Total"]
    cell = {(m, a): attacker.cell(persons, m, a, name=f"p:{m}/{a}")
            for m in modules for a in actions}  # fmt: skip
    for m in modules:
        attacker.same(attacker.cell(persons, m, "Total", name=f"p:{m}/Total"),
                      plus(*(cell[m, a] for a in actions)))  # fmt: skip
    for a in actions:
        attacker.same(attacker.cell(persons, "Total", a, name=f"p:Total/{a}"),
                      plus(*(cell[m, a] for m in modules)))  # fmt: skip
    attacker.same(attacker.cell(persons, "Total", "Total"), plus(*cell.values()))
    for (m, a), expr in cell.items():  # organisations <= persons, cell by cell
        orgs = attacker.cell(organisations, m, a, name=f"o:{m}/{a}")
        attacker.same(expr, plus(orgs, attacker.unknown(f"more:{m}/{a}")))
    assert persons.value("invoices", "export") is None
    assert protected(attacker.interval(cell["invoices", "export"]))


def test_the_daily_headline_is_worked_out_from_person_days(crm_world: World) -> None:
    days = crm_table(crm_world, "active-persons-by-day")
    codes = [row[0] for row in days.rows if row[0] != "Total"]
    shown = [v for v in (days.value(d) for d in codes) if v is not None]
    value, _ = headline_strip(days)["Active persons per day (average)"]
    if value != "x":  # an average of persons per day is at least the days shown over all days
        assert number(value) >= sum(shown) / len(codes) - 0.5


# --- the traffic report of 5-6 October ------------------------------------------------------

TRAFFIC = "traffic_report"
PERIOD = ("2026-10-05", "2026-10-06")
BING = "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)"
GOOGLE = "https://www.google.com/search"
FACEBOOK = "https://www.facebook.com/"
# One person's own response time, in ms: the only visitor of /admin.
ADMIN_MS = 777.777
# Values that belong to fewer than five persons (one person's value, or a small group's).
OWN_VALUES = (ADMIN_MS, 5, 6, 7, 30, 31, 32, 300, 301, 302, 2000, 2001)


def _line(
    ip: str, when: dt.datetime, path: str, *, agent: str = FIREFOX, status: int = 200,
    referer: str = "-", ms: float = 100.0,
) -> str:  # fmt: skip
    """A ``combined_D`` line with a referer."""
    stamp = when.strftime("%d/%b/%Y:%H:%M:%S +0000")
    return (f'{ip} - - [{stamp}] "GET {path} HTTP/1.1" {status} 512 "{referer}" "{agent}" '
            f"{round(ms * 1000)}")  # fmt: skip


def _when(day: int, n: int) -> dt.datetime:
    return dt.datetime(2026, 10, day, 10, tzinfo=dt.UTC) + dt.timedelta(seconds=7 * n)


def _group(
    prefix: str, count: int, day: int, path: str, ms: float = 100.0, **line: Any
) -> list[str]:
    """``count`` visitors (distinct addresses), one request each, ``ms`` + i milliseconds."""
    return [_line(f"{prefix}.{i + 1}", _when(day, i), path, ms=ms + i, **line)
            for i in range(count)]  # fmt: skip


def traffic_lines() -> list[str]:
    lines = []
    # 5 October: 40 from a search engine, 25 + 11 direct, 2 who enter at /pricing and then
    # read /docs, 3 from a social network (a rare page, which becomes /:slug, and a static
    # file), 1 on /admin, 12 + 3 on missing pages, 15 + 2 on /pricing and then a failing API.
    lines += _group("10.1.1", 40, 5, "/pricing", referer=GOOGLE)
    lines += _group("10.1.2", 25, 5, "/features", agent=CHROME)
    lines += _group("10.1.3", 3, 5, "/careers", agent=SAFARI, referer=FACEBOOK, ms=300)
    lines += _group("10.1.3", 3, 5, "/static/app.css", agent=SAFARI, referer=FACEBOOK, ms=5)
    lines += [_line("10.1.4.1", _when(5, 1), "/admin", ms=ADMIN_MS)]
    lines += _group("10.1.5", 12, 5, "/missing", agent=CHROME, status=404, ms=20)
    lines += _group("10.1.6", 3, 5, "/old-page", agent=CHROME, status=404, ms=30)
    lines += _group("10.1.7", 15, 5, "/pricing", ms=150)
    lines += _group("10.1.7", 15, 5, "/api/export", status=503, ms=900)
    lines += _group("10.1.8", 2, 5, "/pricing", ms=150)
    lines += _group("10.1.8", 2, 5, "/api/report", status=500, ms=2000)
    lines += _group("10.1.10", 11, 5, "/docs", ms=60)
    lines += _group("10.1.11", 2, 5, "/pricing", ms=160)
    lines += [_line(f"10.1.11.{i + 1}", _when(5, 300 + i), "/docs", ms=61) for i in range(2)]
    # Crawlers: Googlebot from 12 addresses (5 requests each), bingbot from one (40).
    for i in range(12):
        lines += [_line(f"10.9.1.{i + 1}", _when(5, 100 + 5 * i + k), "/pricing", agent=BOT)
                  for k in range(5)]  # fmt: skip
    lines += [_line("10.9.2.1", _when(5, 200 + k), "/pricing", agent=BING) for k in range(40)]
    lines += _group("10.2.1", 30, 6, "/pricing", ms=120)
    # The previous period: 55 visitors on the 3rd, 3 on the 4th.
    lines += _group("10.3.1", 30, 3, "/pricing", ms=110)
    lines += _group("10.3.2", 25, 3, "/features", ms=130)
    lines += _group("10.3.3", 3, 4, "/pricing", ms=140)
    return lines


@pytest.fixture(scope="module")
def traffic_world(tmp_path_factory: pytest.TempPathFactory) -> World:
    world = World(tmp_path_factory.mktemp("new-views-traffic") / "world")
    world.ingest_log(traffic_lines(), "october", log_format="combined_D")
    start, end = PERIOD
    assert world.report(TRAFFIC, f"start={start}", f"end={end}") == 0, world.outputs[-1]
    assert world.release(world.folder(TRAFFIC, None, f"{start}_{end}")), world.outputs[-1]
    return world


def traffic_table(world: World, name: str) -> Released:
    table = world.latest(TRAFFIC, name)
    assert table is not None, f"{name} was not released"
    return table


def leaves(table: Released) -> list[str]:
    return [row[0] for row in table.rows if row[0] != "Total"]


def test_entry_pages_and_top_pages_give_no_small_page_away(traffic_world: World) -> None:
    """Each visitor-day has one entry page, so the entry pages (all six paths are listed) add
    up to the visitors of the days; a page's entries are among its visitors. /:slug (6),
    /admin (1) and the 2 who read /docs without entering there are small."""
    days = traffic_table(traffic_world, "visitors-by-day")
    entries = traffic_table(traffic_world, "entry-pages")
    pages = traffic_table(traffic_world, "top-pages")
    assert len(leaves(pages)) < 10 and len(leaves(entries)) < 10  # every path is listed
    attacker = Attacker()
    entry = {p: attacker.cell(entries, p, name=f"entry:{p}") for p in leaves(pages)}
    seen = {p: attacker.cell(pages, p, name=f"page:{p}") for p in leaves(pages)}
    attacker.same(attacker.cell(days, "Total"), plus(*entry.values()))
    others = {p: attacker.unknown(f"not entering:{p}") for p in seen}
    for p in seen:
        attacker.same(seen[p], plus(entry[p], others[p]))
    assert protected(attacker.interval(plus(entry["/admin"], entry["/:slug"])))
    assert protected(attacker.interval(seen["/admin"]))
    assert protected(attacker.interval(others["/docs"]))


def test_channels_and_referring_sites_give_no_small_channel_away(traffic_world: World) -> None:
    """Each visitor-day came one way: the channels add up to the visitors; the referring sites
    listed are the search engine's and the social network's. Social: 3 visitors."""
    days = traffic_table(traffic_world, "visitors-by-day")
    channels = traffic_table(traffic_world, "channels")
    sites = traffic_table(traffic_world, "referring-sites")
    attacker = Attacker()
    way = {c: attacker.cell(channels, c, name=c) for c in leaves(channels)}
    attacker.same(attacker.cell(days, "Total"), plus(*way.values()))
    attacker.same(attacker.cell(sites, "google.com", name="google"), way["search"])
    attacker.same(attacker.cell(sites, "facebook.com", name="facebook"), way["social"])
    assert protected(attacker.interval(way["social"]))


def test_kinds_of_requests_statuses_and_error_paths_give_no_small_group_away(
    traffic_world: World,
) -> None:
    """Requests by kind, class, code, weekday and hour, and the 404 and 5xx paths (when
    released) all add up to the same requests. Small: 3 static files (3 persons), 2 requests
    with 500 (2 persons), 3 on a missing page; bingbot's 40 requests come from one address."""
    kinds = traffic_table(traffic_world, "requests-by-resource")
    classes = traffic_table(traffic_world, "status-classes")
    codes = traffic_table(traffic_world, "status-codes")
    weekly = traffic_table(traffic_world, "requests-by-weekday-hour")
    attacker = Attacker()
    total = attacker.cell(kinds, "Total", name="total")
    kind = {k: attacker.cell(kinds, k, name=f"kind:{k}") for k in leaves(kinds)}
    attacker.same(total, plus(*kind.values()))
    klass = {c: attacker.cell(classes, c, name=f"class:{c}") for c in leaves(classes)}
    attacker.same(attacker.cell(classes, "Total", name="class total"), total)
    attacker.same(total, plus(*klass.values()))
    code = {c: attacker.cell(codes, c, name=f"code:{c}") for c in leaves(codes)}
    assert len(code) < 10  # every code is listed
    for c, members in klass.items():
        attacker.same(members, plus(const(0), *(v for k, v in code.items() if k[0] == c[0])))
    cells = [attacker.cell(weekly, row[0], hour, name=f"w:{row[0]}/{hour}")
             for row in weekly.rows for hour in weekly.header[1:]]  # fmt: skip
    attacker.same(total, plus(*cells))
    for name, code_ in (("not-found-pages", "404"), ("server-error-pages", "5")):
        table = traffic_world.latest(TRAFFIC, name)
        if table is None:  # withheld: nothing to add
            continue
        paths = plus(*(attacker.cell(table, p, name=f"{name}:{p}") for p in leaves(table)))
        attacker.same(paths, plus(const(0), *(v for k, v in code.items() if k.startswith(code_))))
    crawlers = traffic_table(traffic_world, "crawlers")
    bingbot = attacker.cell(crawlers, "bingbot", name="bingbot")
    attacker.same(total, plus(attacker.unknown("people's requests"), bingbot,
                              attacker.cell(crawlers, "Googlebot", name="googlebot")))  # fmt: skip
    assert protected(attacker.interval(kind["asset"]))
    assert protected(attacker.interval(code["500"]))
    assert not pinned(attacker.interval(bingbot))
    missing = traffic_world.latest(TRAFFIC, "not-found-pages")
    if missing is not None and missing.has("/:slug"):
        assert missing.value("/:slug") is None


def test_the_previous_period_gives_no_small_day_away(traffic_world: World) -> None:
    """The previous period's tables are published beside this period's: the 4th had 3
    visitors, each with one request of a page."""
    days = traffic_table(traffic_world, "previous-visitors-by-day")
    kinds = traffic_table(traffic_world, "previous-requests-by-resource")
    classes = traffic_table(traffic_world, "previous-status-classes")
    attacker = Attacker()
    day = {d: attacker.cell(days, d, name=d) for d in ("2026-10-03", "2026-10-04")}
    visitors = attacker.cell(days, "Total", name="visitor-days")
    attacker.same(visitors, plus(*day.values()))
    # Every visitor made one request, and every request came from a visitor (no bots then).
    attacker.same(visitors, attacker.cell(kinds, "Total", name="requests"))
    attacker.same(visitors, attacker.cell(classes, "Total", name="statuses"))
    attacker.same(visitors, attacker.cell(kinds, "page", name="pages"))
    assert protected(attacker.interval(day["2026-10-04"]))
    _, change = headline_strip(days)["Visitors on the busiest day"]
    assert "%" not in change  # the previous busiest day is hidden: no change to read


def test_no_response_time_is_a_small_groups_own_value(traffic_world: World) -> None:
    """/admin has one visitor (777.777 ms), /:slug six, static files three, the failing
    /api/report two: no quantile of theirs is shown, nor any value of theirs anywhere."""
    names = ["response-time-median", "response-time-p90", "top-pages-response-time",
             "previous-response-time-median", "previous-response-time-p90"]  # fmt: skip
    top = traffic_table(traffic_world, "top-pages-response-time")
    for path in ("/admin", "/:slug"):
        if top.has(path):
            assert top.value(path) is None, path
    for name in names:
        table = traffic_table(traffic_world, name)
        for row in table.rows:
            for column in table.header[1:]:
                value = table.value(row[0], column)
                if value is not None:
                    assert all(abs(value - own) > 0.06 for own in OWN_VALUES), (name, row)
    for measure in ("median", "p90"):
        assert traffic_table(traffic_world, f"response-time-{measure}").value("asset") is None


# The traffic report's headline figures, as the notebook defines them (non-DP).
TRAFFIC_HEADLINES = [
    Headline("Requests", "requests-by-resource"),
    Headline("Page views", "requests-by-resource", Read.CELLS, ("page",)),
    Headline("Visitors per day (average)", "visitors-by-day", Read.PER_ROW),
    Headline("Visitors on the busiest day", "visitors-by-day", Read.LARGEST),
    Headline("Error responses (4xx, 5xx)", "status-classes", Read.CELLS, ("4xx", "5xx"),
             over="status-classes", percent=True),
    Headline("Page response time, median", "response-time-median", Read.CELLS, ("page",),
             unit="ms"),
    Headline("Page response time, 90th percentile", "response-time-p90", Read.CELLS,
             ("page",), unit="ms"),
]  # fmt: skip


def as_report_table(table: Released) -> ReportTable:
    """A released CSV as the headline reader takes a table: only what the partner holds."""

    def cell(text: str) -> Cell:
        try:
            return Cell(CellState.VALUE, float(text))
        except ValueError:
            return Cell(CellState.MISSING if text == "." else CellState.HIDDEN)

    codes = tuple((TOTAL_CODE,) if row[0] == "Total" else (row[0],) for row in table.rows)
    columns = tuple((TOTAL_CODE,) if c == "Total" else (c,) for c in table.header[1:])
    return ReportTable(
        name=table.file.stem, title=table.file.stem, columns=columns, rows=codes,
        row_codes=codes, column_codes=columns,
        cells=tuple(tuple(cell(t) for t in row[1:]) for row in table.rows),
        record={}, status="ok",
    )  # fmt: skip


def test_every_headline_figure_is_worked_out_from_cells_shown(traffic_world: World) -> None:
    """The strip, read back from the released HTML, against the same figures worked out from
    the released CSV files only: no figure or change may hold more than they do (a hidden
    largest day, a hidden cell of a sum, a hidden denominator or a hidden previous value)."""
    folder = traffic_table(traffic_world, "visitors-by-day").file.parent
    tables = {f.stem: as_report_table(Released.read(f)) for f in folder.glob("*.csv")}
    strip = headline_strip(traffic_table(traffic_world, "visitors-by-day"))
    assert set(strip) == {h.label for h in TRAFFIC_HEADLINES}
    for headline, figure in zip(
        TRAFFIC_HEADLINES, figures(TRAFFIC_HEADLINES, tables, Language.EN), strict=True
    ):
        value, change = strip[headline.label]
        shown = read(headline, tables)
        if shown.value is None:
            assert value == "x", headline.label
        else:
            assert value == figure.value, headline.label
        if "%" in change or " pp" in change:
            before = read(headline, tables, "previous-")
            assert before.value is not None and not before.at_least, headline.label
            assert change == figure.change, headline.label
        else:
            assert figure.change == change, headline.label


def _published(name: str, cells: Mapping[str, float | None]) -> ReportTable:
    rows = tuple((code,) for code in cells)
    return ReportTable(
        name=name, title=name, columns=(("n",),), rows=rows, row_codes=rows,
        cells=tuple((Cell(CellState.VALUE, v) if v is not None else Cell(CellState.HIDDEN),)
                    for v in cells.values()),
        record={}, status="ok",
    )  # fmt: skip


def test_a_headline_never_reads_a_hidden_largest_cell_or_denominator() -> None:
    """The busiest day hidden (as a secondary cell, say 250), a share over a hidden total, and
    a change against a period whose busiest day is hidden."""
    now = _published("visitors-by-day", {"d1": 100.0, "d2": None, "d3": 140.0, TOTAL_CODE: 490.0})
    before = _published("previous-visitors-by-day", {"d0": 90.0, TOTAL_CODE: 90.0})
    hidden_total = _published("status-classes", {"4xx": 40.0, "5xx": 12.0, TOTAL_CODE: None})
    tables = {"visitors-by-day": now, "previous-visitors-by-day": before,
              "status-classes": hidden_total}  # fmt: skip
    busiest = Headline("busiest", "visitors-by-day", Read.LARGEST)
    reading = read(busiest, tables)
    assert reading.value == 140 and reading.at_least  # never 250, never 490 - 240
    [figure] = figures([busiest], tables, Language.EN)
    assert figure.value == "at least 140" and "%" not in figure.change
    share = Headline("errors", "status-classes", Read.CELLS, ("4xx", "5xx"),
                     over="status-classes", percent=True)  # fmt: skip
    assert read(share, tables).value is None
    hidden_before = {**tables, "previous-visitors-by-day": _published(
        "previous-visitors-by-day", {"d0": None, "d00": 80.0, TOTAL_CODE: 170.0})}  # fmt: skip
    [figure] = figures([Headline("busiest", "visitors-by-day", Read.LARGEST)],
                       {**hidden_before, "visitors-by-day": _published(
                           "visitors-by-day", {"d1": 100.0, "d3": 140.0, TOTAL_CODE: 240.0})},
                       Language.EN)  # fmt: skip
    assert "%" not in figure.change  # 140 against "at least 80": no change is told
