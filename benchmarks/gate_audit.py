"""Time the reviewer's gate on a real rendered report: audit without and with the store, with
canaries, then a release, then audits against that release (a re-rendering; an overlapping
period, which the differencing check recomputes from the store row by row).

    .venv/bin/python benchmarks/gate_audit.py [--days 31] [--visitors 2000] [--canaries 100000]

It generates a month of synthetic traffic (``privstats.synth``), ingests it, renders
``notebooks/traffic_report`` for the month, and prints each step's wall time. Nothing is kept.
"""

from __future__ import annotations

import argparse
import datetime as dt
import secrets
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from privstats.config import RuleSet  # noqa: E402
from privstats.demo import demo_config, ingest_generated  # noqa: E402
from privstats.gate import audit_path, release  # noqa: E402
from privstats.key import SecretKey  # noqa: E402
from privstats.leaks import CanarySet  # noqa: E402
from privstats.report import run_report  # noqa: E402
from privstats.synth import generate  # noqa: E402


def timed(label: str, action):
    started = time.perf_counter()
    result = action()
    print(f"{label:<58} {time.perf_counter() - started:7.2f} s")
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--days", type=int, default=31)
    parser.add_argument("--visitors", type=int, default=2000)
    parser.add_argument("--canaries", type=int, default=100_000)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="privstats-gate-bench-"))
    try:
        key = SecretKey(secrets.token_bytes(32))
        timed(f"generate {args.days} days, {args.visitors} visitors",
              lambda: generate(root / "inputs", days=args.days, visitors=args.visitors, seed=3,
                               start=dt.date(2026, 10, 1)))  # fmt: skip
        config = demo_config(root / "store")
        results = timed("ingest", lambda: ingest_generated(config, key, root / "inputs"))
        rows = sum(r.rows for r in results)
        print(f"  {rows:,} requests in the store")

        def render(period: str):
            return run_report("traffic_report", params={"period": period, "language": "pl"},
                              out_root=root / "reports", store_path=config.store_path,
                              notebooks_dir=REPO / "notebooks", catalog_ids=["bench"],
                              rules=RuleSet())  # fmt: skip

        report = timed("render traffic_report 2026-10", lambda: render("2026-10")).folder
        files = sorted(report.iterdir())
        size = sum(p.stat().st_size for p in files)
        print(f"  {len(files)} files, {size / 1024:,.0f} KiB")
        canaries = timed(
            f"build a canary set of {args.canaries:,} values",
            lambda: CanarySet.build((f"person{i}@example.org" for i in range(args.canaries)),
                                    key.derive("canary")),
        )  # fmt: skip
        released = root / "reports" / "released"
        for label, options in (
            ("audit, folder alone (no store)", {}),
            ("audit with the store (recompute + LP audit)", {"store": config.store_path}),
            ("audit with the store and the canaries", {"store": config.store_path,
                                                       "canaries": canaries}),
        ):  # fmt: skip
            result = timed(label, lambda o=options: audit_path(report, ledger=released, **o))
            assert result.passed, "\n".join(result.lines())
        done = timed("release (audit, copy, ledger)",
                     lambda: release(report, "bench", store=config.store_path))  # fmt: skip
        print(f"  released as {done.release_id}")
        # The same month rendered again (another language): compared with the release by its
        # CSV files, as a re-run of a released report is.
        again = run_report(
            "traffic_report", params={"period": "2026-10", "language": "en"},
            out_root=root / "reports-en", store_path=config.store_path,
            notebooks_dir=REPO / "notebooks", catalog_ids=["bench"], rules=RuleSet(),
        ).folder  # fmt: skip
        result = timed(
            "audit of a re-rendering against the release",
            lambda: audit_path(again, store=config.store_path, ledger=released),
        )
        print(f"  {len(result.pairs)} differencing pairs, {len(result.failures)} failures")

        # Differencing from the store: tests/gate's probe notebook over 1-31 October
        # (released), then over 1-30 October (audited against it, row by row).
        def probe(end: str):
            return run_report("probe", params={"start": "2026-10-01", "end": end},
                              out_root=root / "probe", store_path=config.store_path,
                              notebooks_dir=REPO / "tests" / "gate" / "notebooks",
                              catalog_ids=["bench"], rules=RuleSet()).folder  # fmt: skip

        release(probe("2026-10-31"), "bench", store=config.store_path)
        shorter = probe("2026-10-30")
        result = timed("audit of 1-30 October against released 1-31 October",
                       lambda: audit_path(shorter, store=config.store_path,
                                          ledger=root / "probe" / "released"))  # fmt: skip
        print(f"  {len(result.pairs)} differencing pairs flagged")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
