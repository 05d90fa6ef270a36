"""Secondary suppression: privstats beside pytauargus's OPT (tau-ARGUS) on the same tables.

Two count tables with margins, with realistic sparse small cells:

* 50 x 20: pages by referring domain, a few big cells and a long tail of small ones;
* 365 x 24: visitors by day and hour of day, quiet nights and weekends;
* the same days also summed into ISO weeks and into months (privstats only: tau-ARGUS takes
  tree hierarchies, and weeks straddle months).

Both engines get the same problem: the same primary cells (threshold 10 on persons), the
same protection levels (privstats's, passed to tau-ARGUS as manual-unsafe cells with lower
and upper protection levels) and the same cost per cell (value + 1). For each engine the
script prints the time, the number of cells hidden, the cost, and what privstats's
independent audit says of the pattern (cells it finds unsafe).

Run: ``.venv/bin/python benchmarks/protect_bench.py`` (pytauargus: ``pip install
-e '.[bench]'``; without it only privstats's figures are printed).
"""

from __future__ import annotations

import datetime as dt
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from privstats.config import RuleSet
from privstats.protect import (
    TOTAL,
    Hierarchy,
    Knowledge,
    Table,
    assess,
    audit,
    requirement,
    suppress,
)
from privstats.protect.suppression import CostModel, cell_costs


def grid_table(values: np.ndarray, rows: list[str], cols: list[str]) -> Table:
    records = [(rows[i], cols[j], values[i, j]) for i in range(len(rows)) for j in range(len(cols))]
    records += [(rows[i], TOTAL, values[i].sum()) for i in range(len(rows))]
    records += [(TOTAL, cols[j], values[:, j].sum()) for j in range(len(cols))]
    records += [(TOTAL, TOTAL, values.sum())]
    frame = pd.DataFrame(records, columns=["row", "col", "value"])
    return Table.from_frame(frame, ["row", "col"], kind="count")


def pages_by_referer(rng: np.random.Generator) -> Table:
    pages = rng.lognormal(2.5, 1.1, 50)
    referers = rng.lognormal(0.0, 1.0, 20)
    values = rng.poisson(np.outer(pages, referers))
    return grid_table(values, [f"p{i:02d}" for i in range(50)], [f"r{j:02d}" for j in range(20)])


def days_by_hour(rng: np.random.Generator) -> Table:
    hours = np.arange(24)
    diurnal = 12 + 150 * np.exp(-(((hours - 14) / 4.0) ** 2))
    weekly = np.where(np.arange(365) % 7 >= 5, 0.4, 1.0)
    values = rng.poisson(np.outer(weekly, diurnal))
    return grid_table(values, [f"d{i:03d}" for i in range(365)], [f"h{j:02d}" for j in hours])


def calendar_by_hour(rng: np.random.Generator) -> Table:
    """365 days into ISO weeks and into months (weeks straddle months) by 24 hours."""
    days = [dt.date(2026, 1, 1) + dt.timedelta(days=i) for i in range(365)]
    hierarchy = Hierarchy.calendar(days)
    hours = np.arange(24)
    diurnal = 12 + 150 * np.exp(-(((hours - 14) / 4.0) ** 2))
    weekly = np.where(np.arange(365) % 7 >= 5, 0.4, 1.0)
    values = rng.poisson(np.outer(weekly, diurnal))
    rows = {d.isoformat(): values[i] for i, d in enumerate(days)}
    for agg, parts in hierarchy.relations:
        rows.setdefault(agg, sum(rows[p] for p in parts))
    rows[TOTAL] = values.sum(axis=0)
    records = [(day, f"h{h:02d}", row[h]) for day, row in rows.items() for h in hours]
    records += [(day, TOTAL, row.sum()) for day, row in rows.items()]
    frame = pd.DataFrame(records, columns=["day", "hour", "value"])
    return Table.from_frame(frame, ["day", "hour"], kind="count", hierarchies={"day": hierarchy})


def privstats_pattern(table: Table, rules: RuleSet) -> tuple[np.ndarray, float]:
    start = time.perf_counter()
    verdicts = assess(table, rules)
    needed = requirement(table, verdicts, rules)
    result = suppress(table, verdicts.primary, needed)
    return result.hidden, time.perf_counter() - start


def tauargus_pattern(table: Table, rules: RuleSet) -> tuple[np.ndarray | None, float, str]:
    try:
        from pytauargus.engine import run_batch
    except ImportError:
        return None, 0.0, "pytauargus not installed (pip install pytauargus==0.6.0)"
    verdicts = assess(table, rules)
    needed = requirement(table, verdicts, rules)
    cost = cell_costs(table, CostModel.VALUE)
    cells = table.cells
    frame = pd.DataFrame(
        {
            "row": cells["row"],
            "col": cells["col"],
            "value": table.values.astype(int),
            "freq": np.maximum(table.persons, 1).astype(int),
            "status": np.where(verdicts.primary, "U", "S"),
            "lpl": needed.lower,
            "upl": needed.upper,
            "cost": cost,
        }
    )
    frame = frame[~table.empty]
    with tempfile.TemporaryDirectory(prefix="protect_bench_") as folder:
        work = Path(folder)
        frame.to_csv(work / "t.tab", sep=";", header=False, index=False)
        (work / "t.rda").write_text(
            'row "" ""\n<RECODEABLE>\n<TOTCODE> "Total"\n'
            'col "" ""\n<RECODEABLE>\n<TOTCODE> "Total"\n'
            'value "" ""\n<NUMERIC>\nfreq "" ""\n<FREQUENCY>\nstatus "" ""\n<STATUS>\n'
            'lpl "" ""\n<NUMERIC> <LOWERPL>\nupl "" ""\n<NUMERIC> <UPPERPL>\n'
            'cost "" ""\n<NUMERIC> <COSTVAR>\n<SAFE> S\n<UNSAFE> U\n<PROTECT> P\n'
        )
        (work / "t.arb").write_text(
            f'<OPENTABLEDATA> "{work / "t.tab"}"\n<OPENMETADATA> "{work / "t.rda"}"\n'
            '<SPECIFYTABLE> "row""col"|"value"||"cost"\n<SAFETYRULE>\n<READTABLE> 0\n'
            f'<SUPPRESS> OPT(1,600)\n<WRITETABLE> (1,5,SO+,"{work / "out.tab"}")\n'
        )
        start = time.perf_counter()
        try:
            run_batch(str(work / "t.arb"))
        except Exception as exc:  # the native engine's own errors, reported as such
            return None, time.perf_counter() - start, f"pytauargus failed: {exc}"
        elapsed = time.perf_counter() - start
        out = pd.read_csv(work / "out.tab", sep=";", header=None, dtype=str)
    status = dict(zip(zip(out[0], out[1], strict=True), out[5], strict=True))
    keys = zip(cells["row"], cells["col"], strict=True)
    hidden = np.array([status.get(key, "E") in ("U", "M") for key in keys])
    return hidden, elapsed, "ok"


def unsafe_cells(table: Table, hidden: np.ndarray, rules: RuleSet) -> tuple[int, float]:
    start = time.perf_counter()
    needed = requirement(table, assess(table, rules), rules)
    result = audit(table, Knowledge.suppressed(table, hidden), needed)
    return int(result.unsafe.sum()), time.perf_counter() - start


def main() -> None:
    rules = RuleSet()
    rng = np.random.default_rng(20261001)
    tables = {
        "50 x 20 pages by referer": pages_by_referer(rng),
        "365 x 24 days by hour": days_by_hour(rng),
        "(365+53+12+1) x 24 calendar": calendar_by_hour(rng),
    }
    cost_of = {}
    print(f"{'table':28} {'engine':11} {'cells':>6} {'primary':>7} {'hidden':>6} "
          f"{'cost':>9} {'seconds':>8} {'unsafe':>6} {'audit s':>8}")  # fmt: skip
    for name, table in tables.items():
        primary = int(assess(table, rules).primary.sum())
        cost = cell_costs(table, CostModel.VALUE)
        ours, ours_time = privstats_pattern(table, rules)
        if table.dims == ("row", "col"):
            theirs, theirs_time, note = tauargus_pattern(table, rules)
        else:
            theirs, theirs_time = None, 0.0
            note = "not run: tau-ARGUS hierarchies are trees, ISO weeks straddle months"
        for engine, hidden, elapsed in (
            ("privstats", ours, ours_time),
            ("tau OPT", theirs, theirs_time),
        ):
            if hidden is None:
                print(f"{name:28} {engine:11} {note}")
                continue
            unsafe, audit_time = unsafe_cells(table, hidden, rules)
            cost_of[(name, engine)] = (int(hidden.sum()), float(cost[hidden].sum()))
            print(
                f"{name:28} {engine:11} {table.n:6d} {primary:7d} {int(hidden.sum()):6d} "
                f"{cost[hidden].sum():9.0f} {elapsed:8.2f} {unsafe:6d} {audit_time:8.2f}"
            )
        if (name, "tau OPT") in cost_of:
            ours_n, _ = cost_of[(name, "privstats")]
            theirs_n, _ = cost_of[(name, "tau OPT")]
            print(f"{'':28} hidden cells, privstats / OPT: {ours_n / max(theirs_n, 1):.3f}")


if __name__ == "__main__":
    main()
