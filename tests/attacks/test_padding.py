"""Padding: fake visitors, cheap to make, lift a real one over the threshold.

The attacker sends requests from nine addresses of one network (on one day) and knows exactly
what they are; whatever the released numbers hold beyond them is the real visitors'.
"""

from __future__ import annotations

from pathlib import Path

from attacks.conftest import CHROME, FIREFOX, World, at, crowd, ips, log_line

PAGE = "/team/jan-kowalski"  # a colleague's personal page: one real visitor
FAKES = 9


def test_fake_visitors_do_not_make_a_personal_page_public(tmp_path: Path) -> None:
    world = World(tmp_path / "world", {"network": "true", "min_segment_networks": "3"})
    lines = crowd("10.1.1", 50, 5, agent=FIREFOX)
    lines.append(log_line("10.7.7.7", at(5, 14), path=PAGE, agent=FIREFOX))  # the real visit
    lines += [
        log_line(ip, at(5, 15, n), path=PAGE, agent=CHROME)
        for n, ip in enumerate(ips("203.0.113", FAKES))
    ]
    world.ingest_log(lines, "october")
    assert world.report("traffic_report", period="2026-10") == 0, world.outputs[-1]
    assert world.release(world.folder("traffic_report", None, "2026-10")), world.outputs[-1]

    sections = world.latest("traffic_report", "top-pages")
    assert sections is not None
    published = sections.has(PAGE)
    real = (sections.value(PAGE) or 0) - FAKES if published else 0
    assert not published, "a personal page is published"
    assert not 1 <= real <= 9


def test_fake_visitors_do_not_pin_a_median(tmp_path: Path) -> None:
    world = World(tmp_path / "world", {"network": "true", "min_segment_networks": "3"})
    low, high, real = 100, 90_000, 4_321
    lines = crowd("10.1.1", 30, 5, size=1_000)  # an ordinary day
    lines.append(log_line("10.7.7.7", at(7, 14), size=real))  # the only real visitor on the 7th
    fakes = ips("203.0.113", 14)
    lines += [log_line(ip, at(7, 15, n), size=low) for n, ip in enumerate(fakes[:7])]
    lines += [log_line(ip, at(7, 16, n), size=high) for n, ip in enumerate(fakes[7:])]
    world.ingest_log(lines, "october")
    median = {"index": "day", "values": "bytes", "aggfunc": "median"}
    folder = world.probe("sizes", [{"name": "median", "query": median}])
    assert world.release(folder), world.outputs[-1]

    table = world.latest("sizes", "median")
    assert table is not None
    shown = table.value("2026-10-07") if table.has("2026-10-07") else None
    recovered = None if shown is None else 5 * shown - 2 * low - 2 * high
    assert recovered is None or abs(recovered - real) > 0.1 * real
