"""Time report runs: one report, then N partner reports in parallel (issue 5's targets).

    .venv/bin/python benchmarks/report_runs.py [--partners 50] [--workers 2]
        [--notebook tiny --notebooks tests/report/notebooks] [--param key=value ...]
        [--store PATH]

Targets on 2 cores: one report ≤ 10 s, 50 partner reports ≤ 3 minutes. By default it runs the
report tests' ``tiny`` notebook (two tables, one chart), which measures the machinery itself:
kernel start, papermill, staging, HTML/CSV/manifest rendering. Point it at a real report
notebook and a store to measure that report, e.g. the partner summary on a month of data::

    .venv/bin/python -m privstats.cli synth --out /tmp/month --days 28 --visitors 3000
    # ingest /tmp/month (access logs and crm/) into a store, then:
    .venv/bin/python benchmarks/report_runs.py --notebook partner_summary \
        --notebooks notebooks --store /tmp/month-store

With ``--store`` the partners are the store's own, then made-up ids up to ``--partners`` (a
partner the store does not know costs the same queries: every table is computed over the
whole service and recoded to the partner and the others).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from privstats import tabulate  # noqa: E402
from privstats.report.parameters import parse_assignments  # noqa: E402
from privstats.report.runner import run_all_partners, run_report  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--partners", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--notebook", default="tiny")
    parser.add_argument("--notebooks", type=Path, default=REPO / "tests" / "report" / "notebooks")
    parser.add_argument("--period", default="2026-10")
    parser.add_argument("-p", "--param", action="append", default=[])
    parser.add_argument("--store", type=Path, help="the store a real report notebook reads")
    args = parser.parse_args()
    texts = parse_assignments(args.param)
    known: list[str] = []
    if args.store is not None:
        texts["store_path"] = str(args.store.resolve())
        known = tabulate.partners(args.store)
    out = Path(tempfile.mkdtemp(prefix="privstats-bench-"))
    try:
        started = time.perf_counter()
        single = run_report(
            args.notebook,
            params={"partner": known[0] if known else "single", "period": args.period},
            text_params=texts,
            out_root=out / "single",  # the batch below may hold the same partner
            notebooks_dir=args.notebooks,
        )
        one = time.perf_counter() - started
        print(f"one report ({args.notebook}): {one:.2f} s  (target <= 10 s)  -> {single.folder}")

        made_up = [f"partner-{i:03d}" for i in range(args.partners)]
        partners = (known + made_up)[: args.partners]
        started = time.perf_counter()
        result = run_all_partners(
            args.notebook,
            partners,
            args.period,
            workers=args.workers,
            text_params=texts,
            out_root=out,
            notebooks_dir=args.notebooks,
            progress=False,
        )
        many = time.perf_counter() - started
        print(
            f"{args.partners} partner reports, {args.workers} workers: {many:.1f} s "
            f"({many / args.partners:.2f} s per report; target <= 180 s for 50), "
            f"{len(result.succeeded)} written, {len(result.failed)} failed"
        )
        return 0 if result.ok else 1
    finally:
        shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
