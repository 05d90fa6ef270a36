"""Statistics: means and quantiles giving one person's value or a hidden sum away.

A mean is a sum over a count, and a partner who holds two of the three holds the third; a
quantile may be one person's value.
"""

from __future__ import annotations

from pathlib import Path

from attacks.conftest import (
    Attacker,
    Crm,
    World,
    at,
    crowd,
    log_line,
    pinned,
    plus,
    protected,
)

DAYS = ("2026-10-05", "2026-10-06", "2026-10-07", "2026-10-08")


def test_a_mean_and_its_sum_do_not_give_a_hidden_count_away(tmp_path: Path) -> None:
    world = World(tmp_path / "world")
    lines = []
    for day in (5, 6, 7, 8):
        lines += crowd(f"10.2.{day}", 30 + day, day, size=1000)
    # A scraper makes 900 small requests on the 5th: the day's requests are dominated.
    lines += [log_line("10.4.4.4", at(5, 11, i // 60, i % 60), size=10) for i in range(900)]
    world.ingest_log(lines, "october")
    by_day = {"index": "day"}
    folder = world.probe(
        "statistics",
        [
            {"name": "requests", "query": {**by_day, "margins": True}},
            {"name": "mean", "query": {**by_day, "values": "bytes", "aggfunc": "mean"}},
            {"name": "sum", "query": {**by_day, "values": "bytes", "aggfunc": "sum"}},
        ],
    )
    world.release(folder)

    requests = world.latest("statistics", "requests")
    mean = world.latest("statistics", "mean")
    total = world.latest("statistics", "sum")
    assert requests is not None and requests.value("2026-10-05") is None  # hidden: dominated
    shown_mean = mean.value("2026-10-05") if mean else None
    shown_sum = total.value("2026-10-05") if total else None
    if shown_mean is None or shown_sum is None:
        return
    # requests = sum / mean
    assert round(shown_sum / shown_mean, 6) != 935


def test_means_per_person_do_not_give_a_hidden_person_count_away(tmp_path: Path) -> None:
    world = World(tmp_path / "world")
    crm = Crm()
    org = crm.organisation(1, "acme")
    for module, persons in (("contacts", 40), ("deals", 30), ("tasks", 12), ("invoices", 4)):
        for i in range(persons):
            crm.act(crm.person(org), module, times=2 + i % 3)
    world.ingest_crm(crm)
    activity = {"index": "module", "table": "crm_activity"}
    # Events and events per person of every module but one: nothing sensitive in them.
    others = {**activity, "where": {"module": {"not": "invoices"}}}
    folder = world.probe(
        "per-person",
        [
            {"name": "persons", "query": {**activity, "aggfunc": "visitors", "margins": True}},
            {"name": "events", "query": others},
            {"name": "mean", "query": {**others, "per": "person", "aggfunc": "mean"}},
        ],
    )
    world.release(folder)

    persons = world.latest("per-person", "persons")
    events = world.latest("per-person", "events")
    mean = world.latest("per-person", "mean")
    assert persons is not None
    attacker = Attacker()
    modules = ("contacts", "deals", "tasks", "invoices")
    cells = {m: attacker.cell(persons, m) for m in modules}
    attacker.same(attacker.cell(persons, "Total"), plus(*cells.values()))
    for module in ("contacts", "deals", "tasks"):
        ratio = mean.value(module) if mean else None
        count = events.value(module) if events else None
        if ratio and count is not None:  # persons = events / (events per person)
            attacker.same(cells[module], {"": round(count / ratio, 9)})
    assert protected(attacker.interval(cells["invoices"]))


def test_a_mean_of_a_day_one_request_dominates_is_not_shown_with_its_count(
    tmp_path: Path,
) -> None:
    """One request of thirty seconds among twenty of a tenth: mean x requests would be the
    day's sum, 93 % of it the slow request."""
    world = World(tmp_path / "world")
    lines = []
    for day in (5, 6, 7):
        lines += [
            log_line(f"10.5.{day}.{i}", at(day, 10, i), micros=100_000 + 1_000 * i)
            for i in range(20)
        ]
    lines.append(log_line("10.6.6.6", at(5, 12), micros=30_000_000))
    world.ingest_log(lines, "october", log_format="combined_D")
    by_day = {"index": "day"}
    folder = world.probe(
        "latency",
        [
            {"name": "requests", "query": {**by_day, "margins": True}},
            {"name": "mean", "query": {**by_day, "values": "response_us", "aggfunc": "mean"}},
        ],
    )
    assert world.release(folder), world.outputs[-1]
    mean = world.latest("latency", "mean")
    requests = world.latest("latency", "requests")
    assert mean is not None and requests is not None
    shown = [t.value("2026-10-05") for t in (mean, requests)]
    assert None in shown  # else mean x requests is the day's sum, 95 % one request


def test_quantiles_of_a_day_one_visitor_dominates_are_not_that_visitors_value(
    tmp_path: Path,
) -> None:
    """The standard traffic report: on the 5th one visitor makes 500 of 520 requests, all
    of 109,321 us; twenty others take 100,000 to 119,000 us."""
    world = World(tmp_path / "world")
    lines = []
    for day in (5, 6):
        lines += [
            log_line(f"10.5.{day}.{i}", at(day, 10, i), micros=100_000 + 1_000 * i)
            for i in range(20)
        ]
    busy = 109_321
    lines += [log_line("10.6.6.6", at(5, 11, i // 60, i % 60), micros=busy) for i in range(500)]
    world.ingest_log(lines, "october", log_format="combined_D")
    assert world.report("traffic_report", period="2026-10") == 0, world.outputs[-1]
    assert world.release(world.folder("traffic_report", None, "2026-10")), world.outputs[-1]

    for measure in ("median", "p90"):
        table = world.latest("traffic_report", f"response-time-{measure}")
        assert table is not None
        if table.has("page"):  # the report's response times are of pages, in milliseconds
            assert table.value("page") != busy / 1000, measure


def test_differences_of_means_pin_nothing(tmp_path: Path) -> None:
    """Mean bytes of 1-31 and 1-30 October with their request counts: the 31st's mean is
    (sum31 - sum30) / (n31 - n30), a mean of three persons."""
    world = World(tmp_path / "world")
    lines = []
    for day in (10, 20, 30):
        lines += crowd(f"10.7.{day}", 20, day, size=1000 + day)
    lines += [log_line(f"10.8.8.{i}", at(31, 12, i), size=7_777) for i in range(3)]
    world.ingest_log(lines, "october")
    query = {"index": "method", "margins": True}
    for name, end in (("month", "2026-10-31"), ("shorter", "2026-10-30")):
        folder = world.probe(
            name,
            [
                {"name": "requests", "query": query},
                {"name": "mean", "query": {**query, "values": "bytes", "aggfunc": "mean"}},
            ],
            end=end,
        )
        world.release(folder)
    attacker = Attacker()
    sums = {}
    for name in ("month", "shorter"):
        requests = world.latest(name, "requests")
        mean = world.latest(name, "mean")
        count = requests.value("GET") if requests else None
        average = mean.value("GET") if mean else None
        sums[name] = (
            {"": count * average}
            if count is not None and average is not None
            else attacker.unknown(f"{name}:sum")
        )
    last = attacker.unknown("31st")
    attacker.same(sums["month"], plus(sums["shorter"], last))
    assert not pinned(attacker.interval(last))
