"""Protection of whole releases: what it hides and what it costs, report by report.

    .venv/bin/python benchmarks/release_protection.py --store PATH [--period 2026-10]
        [--released PATH] [--year]

For each standard report (``traffic_report``; ``partner_summary`` and ``crm_activity_report``
for every partner of the store) the notebook runs its plan pass (the queries it asks for),
then the script protects those tables twice and prints, side by side, the share of published
cells hidden:

* **alone**: each table by itself, totals protected only where the table shows them (the
  protection before linked sets: ``protect`` on the table's own cells);
* **linked**: the tables of the report, every partner's report of the batch and the release
  area's tables as one linked set (``privstats.tabulate.linking``), as ``privstats report``
  now does;

and the seconds the linked protection of each report took. With ``--released`` the linked
set includes that release area, and the script times ``audit_path`` of the traffic report
against it (the gate's check of one report against a year of releases, with ``--year``: the
script then first fills a fresh release area with a report per month of the year before the
period, from the same store; months without data give no table and are skipped).

Targets (issue 18): the linked set of one report protected and audited in 10 s or less on a
month of synthetic data; ``privstats audit`` against a year of ledger in 30 s or less.
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

from privstats.config import RuleSet  # noqa: E402
from privstats.gate import audit_path, release  # noqa: E402
from privstats.gate.released import released_tables  # noqa: E402
from privstats.protect import protect  # noqa: E402
from privstats.report import runner  # noqa: E402
from privstats.store import Store  # noqa: E402
from privstats.tabulate import _engine, decisions  # noqa: E402
from privstats.tabulate.linking import Linker  # noqa: E402
from privstats.workspace import store_partners  # noqa: E402


def plan(name: str, partner: str | None, period: str, store: Path, work: Path) -> list:
    """The tables report ``name`` asks for (its plan pass, run for real)."""
    params = {"period": period, "language": "en", **({"partner": partner} if partner else {})}
    job = runner._prepare(
        name, params=params, text_params=None, out_root=work, store_path=store,
        notebooks_dir=REPO / "notebooks", work_root=work / ".work", rules=None,
        overwrite=True,
    )  # fmt: skip
    lock = runner._lock(job)
    try:
        runner._pass(job, "plan", 600, 60)
        return decisions.read_plan(job.decisions)
    finally:
        lock.release()


def hidden_alone(planned: list, store: Store) -> tuple[int, int]:
    """Cells hidden, cells published, each table protected by itself."""
    hidden = cells = 0
    for p in planned:
        truth = _engine.true_table(p.query, store, p.rules)
        if truth.grid is None:
            continue
        shown = protect(truth.grid, p.rules, method=p.method).shown
        published = _engine.published(p.query, truth.grid)
        hidden += int(((shown["marker"] != "").to_numpy() & published).sum())
        cells += int(published.sum())
    return hidden, cells


def hidden_linked(planned: list, linker: Linker) -> tuple[int, int, float]:
    started = time.perf_counter()
    hidden = cells = 0
    for p in planned:
        table = linker.protect(p.query, p.rules, p.method)
        hidden += int((table.shown["marker"] != "").sum())
        cells += len(table.shown)
    return hidden, cells, time.perf_counter() - started


def months_before(period: str, count: int) -> list[str]:
    year, month = (int(x) for x in period.split("-"))
    out = []
    for _ in range(count):
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
        out.append(f"{year:04d}-{month:02d}")
    return out


def fill_year(store: Path, period: str, area: Path, work: Path) -> int:
    """Release a traffic report and every partner summary for each month of the year before
    ``period`` into ``area``; the number of releases."""
    count = 0
    for month in months_before(period, 11):
        jobs = [("traffic_report", None)] + [("partner_summary", p) for p in store_partners(
            Store(store))]  # fmt: skip
        for name, partner in jobs:
            params = {
                "period": month,
                "language": "en",
                **({"partner": partner} if partner else {}),
            }
            try:
                output = runner.run_report(
                    name, params=params, out_root=work / "reports", store_path=store,
                    notebooks_dir=REPO / "notebooks", released_root=area, overwrite=True,
                )  # fmt: skip
            except Exception as error:  # a month the store holds nothing of
                print(f"  {month} {name} {partner or ''}: not made ({type(error).__name__})")
                continue
            release(output.folder, "Benchmark", store=store, released_root=area)
            count += 1
    return count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--store", type=Path, required=True)
    parser.add_argument("--period", default="2026-10")
    parser.add_argument("--released", type=Path, help="a release area to link with")
    parser.add_argument("--year", action="store_true", help="fill a year of releases first")
    args = parser.parse_args()
    store = Store(args.store)
    work = Path(tempfile.mkdtemp(prefix="privstats-release-bench-"))
    area = args.released or (work / "released")
    try:
        if args.year:
            started = time.perf_counter()
            made = fill_year(args.store, args.period, area, work)
            print(f"a year of releases: {made} reports released in "
                  f"{time.perf_counter() - started:.0f} s")  # fmt: skip
        partners = store_partners(store)
        reports = [("traffic_report", None)]
        reports += [("partner_summary", p) for p in partners]
        reports += [("crm_activity_report", p) for p in partners]
        linker = Linker(store)
        for published in released_tables(area) if area.exists() else []:
            linker.add(published)
        planned = {r: plan(*r, args.period, args.store, work) for r in reports}
        linker.plan([p.query for tables in planned.values() for p in tables])
        print(f"\n{'report':<34}{'alone':>14}{'linked':>14}{'linked s':>10}")
        for (name, partner), tables in planned.items():
            a_hidden, a_cells = hidden_alone(tables, store)
            l_hidden, l_cells, seconds = hidden_linked(tables, linker)
            label = f"{name} {partner or ''}"
            print(f"{label:<34}{a_hidden:>5}/{a_cells:<4} {a_hidden / max(a_cells, 1):>4.0%}"
                  f"{l_hidden:>5}/{l_cells:<4} {l_hidden / max(l_cells, 1):>4.0%}"
                  f"{seconds:>10.1f}")  # fmt: skip
        # One report end to end: made (plan, linked protection, final) and audited.
        started = time.perf_counter()
        output = runner.run_report(
            "traffic_report", params={"period": args.period, "language": "en"},
            out_root=work / "reports", store_path=args.store, notebooks_dir=REPO / "notebooks",
            released_root=area, overwrite=True, rules=RuleSet(),
        )  # fmt: skip
        made = time.perf_counter() - started
        started = time.perf_counter()
        report = audit_path(output.folder, store=args.store, ledger=area)
        audited = time.perf_counter() - started
        releases = (
            len(list((area / "ledger.jsonl").open())) if (area / "ledger.jsonl").exists() else 0
        )
        print(f"\ntraffic_report made in {made:.1f} s (two notebook passes and the linked "
              f"protection); audited against {releases} releases in {audited:.1f} s "
              f"(target 30 s): {report.verdict()}")  # fmt: skip
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
