from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from canaries import leaks

SAMPLE_TRUTH = Path(__file__).resolve().parents[1] / "data" / "sample" / "truth.json"


def test_the_demo_runs_from_the_shell_and_prints_per_day_visitors(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "privstats.cli", "demo"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    truth = json.loads(SAMPLE_TRUTH.read_text(encoding="utf-8"))
    # The demo's default world is the committed sample's (seed 7, 3 days, 300 visitors).
    for day, visitors in truth["distinct_client_agents_per_day"].items():
        hits = truth["daily_hits"]["total"][day]
        assert any(
            line.split()[:3] == [day, f"{hits:,}", f"{visitors:,}"]
            for line in result.stdout.splitlines()
        ), day
    planted = [v for values in truth["planted"].values() for v in values]
    assert leaks(result.stdout + result.stderr, planted) == []
    assert not list(tmp_path.iterdir()), "the demo leaves nothing behind in the working folder"
