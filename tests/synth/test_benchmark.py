"""write_benchmark_log: exact line count, valid layout, time order, realistic variety."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from types import SimpleNamespace

import pytest

from privstats.exceptions import ConfigError
from privstats.synth import write_benchmark_log


@pytest.mark.parametrize("fmt", ["combined_D", "combined", "common", "combined_T", "nginx_timed"])
def test_every_line_is_valid_and_in_time_order(
    fmt: str, tmp_path: Path, logs: SimpleNamespace
) -> None:
    path = tmp_path / "big.log"
    write_benchmark_log(path, 3_000, seed=1, fmt=fmt)
    lines = logs.raw_lines(path)
    assert len(lines) == 3_000
    parsed = [logs.parse(fmt, line) for line in lines]
    assert all(parsed)
    moments = [dt.datetime.strptime(f["time"], "%d/%b/%Y:%H:%M:%S %z") for f in parsed]
    assert moments == sorted(moments)


def test_the_log_has_realistic_variety(tmp_path: Path, logs: SimpleNamespace) -> None:
    path = tmp_path / "big.log"
    write_benchmark_log(path, 20_000, seed=2)
    parsed = [logs.parse("combined_D", line) for line in logs.raw_lines(path)]
    clients = [f["client"] for f in parsed]
    targets = {f["target"] for f in parsed}
    assert 800 < len(set(clients)) < 4_000  # about 6 % distinct, heavy-tailed
    assert max(clients.count(c) for c in set(clients[:200])) > 100
    assert len({f["agent"] for f in parsed}) > 300
    assert len(targets) > 5_000
    assert any(t.startswith("/crm/deals/") and len(t) == len("/crm/deals/") + 36 for t in targets)
    assert any("%40example.pl" in t for t in targets)
    assert any(":" in c for c in clients)
    assert any("@" in f["login"] for f in parsed)


def test_the_same_seed_gives_the_same_file(tmp_path: Path) -> None:
    write_benchmark_log(tmp_path / "a.log", 5_000, seed=3)
    write_benchmark_log(tmp_path / "b.log", 5_000, seed=3)
    write_benchmark_log(tmp_path / "c.log", 5_000, seed=4)
    assert (tmp_path / "a.log").read_bytes() == (tmp_path / "b.log").read_bytes()
    assert (tmp_path / "a.log").read_bytes() != (tmp_path / "c.log").read_bytes()


def test_unknown_formats_and_empty_logs_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        write_benchmark_log(tmp_path / "x.log", 10, fmt="nginx_json")
    with pytest.raises(ConfigError):
        write_benchmark_log(tmp_path / "x.log", 10, fmt="apache")
    with pytest.raises(ConfigError):
        write_benchmark_log(tmp_path / "x.log", 0)
