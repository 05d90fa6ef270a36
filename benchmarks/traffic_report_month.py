"""One traffic report over a month: how long each stage takes and how big the page is.

    PRIVSTATS_KEY_FILE=... .venv/bin/python benchmarks/traffic_report_month.py --store PATH
        [--period 2026-10] [--language en]

Runs ``notebooks/traffic_report.ipynb`` as ``privstats report`` does, into a fresh folder with
an empty release area (the first release of the period), and prints side by side the seconds
of each stage: the plan pass (the notebook run once to record its queries), the linked
decisions (every table protected with the others), the final pass (the notebook again, each
table read from the decisions) and the render (charts, HTML, CSV, manifest); then the size of
``report.html`` and its charts.

Targets (issue 20): the report in 10 s or less, its HTML 2 MB or less, on a month of
synthetic data (1.34 M requests).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from privstats.report import runner  # noqa: E402


def timed(stages: dict[str, float], name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    """``function``, adding the seconds of each call to ``stages[name]``."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            stages[name] = stages.get(name, 0.0) + time.perf_counter() - started

    return wrapper


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--store", required=True, type=Path)
    parser.add_argument("--period", default="2026-10")
    parser.add_argument("--language", default="en")
    args = parser.parse_args()
    stages: dict[str, float] = {}
    passes = iter(("plan pass", "final pass"))
    execute = runner._execute

    def each_pass(*a: Any, **k: Any) -> Any:
        return timed(stages, next(passes), execute)(*a, **k)

    runner._execute = each_pass  # type: ignore[assignment]
    runner._decide = timed(stages, "linked decisions", runner._decide)  # type: ignore[assignment]
    runner._render = timed(stages, "render", runner._render)  # type: ignore[assignment]
    with tempfile.TemporaryDirectory(prefix="privstats-month-report-") as out:
        started = time.perf_counter()
        output = runner.run_report(
            "traffic_report",
            params={"period": args.period, "language": args.language},
            out_root=Path(out),
            store_path=args.store,
            notebooks_dir=REPO / "notebooks",
            released_root=Path(out) / "released",
        )
        total = time.perf_counter() - started
        html = (output.folder / "report.html").read_text(encoding="utf-8")
        tables = html.count('<table class="data"')
        charts = html.count('<figure class="chart">')
        withheld = html.count("is not shown")
    print(f"traffic_report {args.period} ({args.language}) on {args.store}")
    for name in ("plan pass", "linked decisions", "final pass", "render"):
        print(f"  {name:<18}{stages.get(name, 0.0):7.1f} s")
    print(f"  {'total':<18}{total:7.1f} s   (target 10 s)")
    print(f"  report.html {len(html.encode()) / 1e6:5.2f} MB   (target 2 MB): {tables} tables, "
          f"{charts} charts, {withheld} withheld")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
