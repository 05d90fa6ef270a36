"""Linker: each table protected against everything its audience holds, as one linked set."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_tabulate import PHONE, line, store_with

from privstats.config import Config, RuleSet
from privstats.ingest import ingest_access
from privstats.key import SecretKey
from privstats.protect import Status
from privstats.store import Store
from privstats.tabulate import protect_alone
from privstats.tabulate.linking import Linker, Published, views_of
from privstats.tabulate.query import Query

LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:118.0) Gecko/20100101 Firefox/118.0"
WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36"
)
MAC = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_1) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.1 Safari/605.1.15"
)
PERIOD = {"start": "2026-10-01", "end": "2026-10-31"}
RULES = RuleSet()


@pytest.fixture
def store(tmp_path: Path, config: Config, key: SecretKey) -> Store:
    lines = [line(f"198.51.100.{i}", 1 + i % 2, agent=WINDOWS) for i in range(60)]
    lines += [line(f"192.0.2.{i}", 1 + i % 2, agent=MAC) for i in range(30)]
    lines += [line(f"203.0.113.{i}", 1, agent=PHONE) for i in range(25)]
    lines += [line(f"203.0.113.{100 + i}", 2, agent=LINUX) for i in range(4)]  # 4 persons
    return store_with(tmp_path, config, key, lines)


def _shown(table) -> dict[str, object]:
    frame = table.to_frame()
    return dict(zip(frame[frame.columns[0]], frame["value"], strict=True))


def test_tables_sharing_a_total_hide_enough_that_subtraction_gives_nothing(store: Store) -> None:
    linker = Linker(store)
    days = linker.protect(Query.build("day", aggfunc="visitors", margins=True, **PERIOD), RULES)
    assert "x" not in _shown(days).values()  # the Total is shown: 119 visitor-days
    systems = _shown(linker.protect(Query.build("os", aggfunc="visitors", **PERIOD), RULES))
    assert systems["Linux"] == "x"
    # Alone it would hide Linux only, and Total minus the others would give the 4 back.
    alone = _shown(protect_alone(Query.build("os", aggfunc="visitors", **PERIOD), store, RULES))
    assert sum(v == "x" for v in systems.values()) >= 2
    assert alone["Linux"] == "x"


def test_days_released_from_other_data_are_frozen(
    tmp_path: Path, config: Config, key: SecretKey, store: Store
) -> None:
    query = Query.build("day", aggfunc="visitors", margins=True, **PERIOD)
    before = Linker(store).protect(query, RULES)
    released = Published.from_protected("release 1: days", before, query, RULES)
    # A late log: one more visitor on the 2nd, ingested after the release.
    late = tmp_path / "late.log"
    late.write_text(line("198.51.100.250", 2, agent=WINDOWS) + "\n")
    assert ingest_access(config, key, [str(late)])[0].status == "ingested"
    linker = Linker(store)
    linker.add(released)
    again = linker.protect(query, RULES)
    # Beside the old numbers the new ones would tell the late visitor: nothing new is shown.
    assert again.status is Status.FAIL and "released from other data" in again.record.message
    assert set(_shown(again).values()) == {"x"}


def test_a_table_that_cannot_be_protected_with_what_was_released_fails_whole(
    store: Store,
) -> None:
    # Released: the Linux visitors' day exactly (as a careless release could); then a table
    # whose only other cell would tell them apart.
    linker = Linker(store)
    query = Query.build("os", aggfunc="visitors", margins=True, **PERIOD)
    linker.add(Published("release 1", query, RULES, {("Linux",): (4.0, 4.0)}))
    table = linker.protect(Query.build("os", aggfunc="visitors", **PERIOD), RULES)
    assert table.status in (Status.SUPPRESSED, Status.PASS)
    assert _shown(table)["Linux"] == "x"  # hidden here, though given away there


def test_a_mean_hides_what_its_count_would_have_to_hide(store: Store) -> None:
    linker = Linker(store)
    requests = _shown(linker.protect(Query.build("os", margins=True, **PERIOD), RULES))
    hidden = {os for os, value in requests.items() if value == "x"}
    assert "Linux" in hidden and len(hidden) >= 2  # 4 persons, and a partner for the total
    mean = Query.build("os", values="bytes", aggfunc="mean", margins=True, **PERIOD)
    # Mean bytes x the requests would be the sum, and a sum table / the mean the requests.
    assert views_of(mean)[0] == Query.build("os", margins=True, **PERIOD)
    means = _shown(linker.protect(mean, RULES))
    assert hidden <= {os for os, value in means.items() if value == "x"}


def test_a_mean_per_person_is_the_ratio_of_the_events_and_the_persons() -> None:
    mean = Query.build("module", aggfunc="mean", per="person", table="crm_activity", **PERIOD)
    persons, events = views_of(mean)
    assert persons == Query.build("module", aggfunc="visitors", table="crm_activity", **PERIOD)
    assert events == Query.build("module", table="crm_activity", **PERIOD)
    assert views_of(Query.build("module", table="crm_activity", **PERIOD)) == []


def test_persons_shown_after_requests_leave_the_hidden_requests_protected(store: Store) -> None:
    linker = Linker(store)
    requests = Query.build("os", margins=True, **PERIOD)
    persons = Query.build("os", aggfunc="visitors", margins=True, **PERIOD)
    first = linker.protect(requests, RULES)
    second = linker.protect(persons, RULES)
    published = [
        Published.from_protected("requests", first, requests, RULES),
        Published.from_protected("persons", second, persons, RULES),
    ]
    audited = {family[0]: audit for family, _, audit, _ in Linker(store).audit(published)}
    assert set(audited) == {"rows", "units"}  # each family, with what the other shows
    assert not any(cells.any() for audit in audited.values() for cells in audit.unsafe)
