"""The analyst API over a real store, built by ingesting hand-made logs."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from privstats import tabulate
from privstats.config import Config
from privstats.exceptions import DisclosureError
from privstats.ingest import ingest_access
from privstats.key import SecretKey
from privstats.protect import Status
from privstats.store import Store

AGENT = "Mozilla/5.0 (X11; Linux x86_64; rv:118.0) Gecko/20100101 Firefox/118.0"
PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) Mobile/15E148 Safari/604.1"


def line(client: str, day: int, path: str = "/", agent: str = AGENT, size: int = 100) -> str:
    return (
        f'{client} - - [{day:02d}/Oct/2026:12:00:00 +0000] "GET {path} HTTP/1.1" 200 {size} '
        f'"-" "{agent}"'
    )


def store_with(tmp_path: Path, config: Config, key: SecretKey, lines: list[str]) -> Store:
    log = tmp_path / "access.log"
    log.write_text("\n".join(lines) + "\n")
    [result] = ingest_access(config, key, [str(log)])
    assert result.status == "ingested", result.error
    return Store(config.store_path)


def test_thresholds_count_visitors_not_requests(
    tmp_path: Path, config: Config, key: SecretKey
) -> None:
    desktops = [line(f"198.51.100.{i}", 1) for i in range(12)]
    busy_phone = [line("203.0.113.5", 1, agent=PHONE)] * 5000
    store = store_with(tmp_path, config, key, desktops + busy_phone)
    table = tabulate.crosstab("device", store=store)
    shown = table.to_frame().set_index("device")["value"]
    assert shown["desktop"] == 12
    assert shown["mobile"] == "x", "5,000 requests of one visitor are one contributor"
    assert table.status is Status.SUPPRESSED


def test_a_busy_visitor_dominating_a_magnitude_cell_is_caught(
    tmp_path: Path, config: Config, key: SecretKey
) -> None:
    quiet = [line(f"198.51.100.{i}", 1, path="/pricing", size=1_000) for i in range(20)]
    heavy = [line("203.0.113.9", 1, path="/pricing", size=10_000_000)]
    others = [line(f"192.0.2.{i}", 1, path="/", size=1_000) for i in range(20)]
    store = store_with(tmp_path, config, key, quiet + heavy + others)
    table = tabulate.crosstab("path", values="bytes", aggfunc="sum", store=store)
    notes = {note.key["path"]: note.reasons for note in table.record.cells}
    assert "nk" in notes["/pricing"] or "p_percent" in notes["/pricing"]
    assert "/" not in notes


def test_monthly_cells_with_a_daily_key_do_not_over_count_persons(
    tmp_path: Path, config: Config, key: SecretKey
) -> None:
    # Five people visit every day of October: 150 daily pseudonyms, still five people.
    regulars = [
        line(f"198.51.100.{i}", day, path="/help") for i in range(5) for day in range(1, 31)
    ]
    crowd = [line(f"192.0.2.{i}", 3, path="/pricing") for i in range(15)]
    store = store_with(tmp_path, config, key, regulars + crowd)
    table = tabulate.crosstab("month", "path", aggfunc="visitors", store=store)
    shown = table.to_frame().set_index("path")["value"]
    assert shown["/help"] == "x"
    assert shown["/pricing"] == 15


def test_margins_get_secondary_suppression_and_the_audit_passes(
    tmp_path: Path, config: Config, key: SecretKey
) -> None:
    lines = [line(f"198.51.100.{i}", 1, path="/a") for i in range(30)]
    lines += [line(f"192.0.2.{i}", 1, path="/b", agent=PHONE) for i in range(25)]
    lines += [line(f"203.0.113.{i}", 1, path="/a", agent=PHONE) for i in range(3)]
    lines += [line(f"203.0.113.{i + 50}", 1, path="/b") for i in range(20)]
    store = store_with(tmp_path, config, key, lines)
    table = tabulate.crosstab("path", "device", aggfunc="visitors", margins=True, store=store)
    wide = table.pivot()
    assert math.isnan(wide.loc["/a", "mobile"])
    hidden = sum(math.isnan(v) for v in wide.to_numpy().ravel())
    assert hidden >= 4, "one hidden cell in a table with margins needs at least three more"
    assert table.record.audit["passed"] is True
    assert {n.reasons for n in table.record.cells} == {("threshold",), ("secondary",)}


def test_the_record_names_the_query_and_never_the_hidden_value(
    tmp_path: Path, config: Config, key: SecretKey
) -> None:
    lines = [line(f"198.51.100.{i}", 1) for i in range(12)] + [
        line("203.0.113.1", 1, agent=PHONE)
    ] * 7
    store = store_with(tmp_path, config, key, lines)
    table = tabulate.crosstab("device", store=store, start="2026-10-01", end="2026-10-31")
    record = table.record.to_dict()
    assert record["query"]["index"] == ["device"]
    assert record["query"]["start"] == "2026-10-01"
    assert record["rules"]["threshold"] == 10
    assert "7" not in str([n for n in record["cells"]])
    assert 7 not in table.shown["value"].tolist()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"index": "visitor"}, "is a pseudonym"),
        ({"index": "referer"}, "has no column 'referer'"),
        ({"index": "device", "aggfunc": "p90"}, "needs values="),
        ({"index": "device", "aggfunc": "median_ish", "values": "bytes"}, "unknown aggfunc"),
        ({"index": ["device", "device"]}, "only once"),
    ],
)
def test_bad_requests_are_one_line_errors(
    tmp_path: Path, config: Config, key: SecretKey, kwargs: dict, message: str
) -> None:
    store = store_with(tmp_path, config, key, [line("198.51.100.1", 1)])
    with pytest.raises(DisclosureError, match=message):
        tabulate.crosstab(store=store, **kwargs)
