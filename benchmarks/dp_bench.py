"""DP counts of distinct visitors per day x device on 1 M log rows: privstats beside OpenDP's
and PipelineDP's own pipelines, on the same rows, at the same privacy loss.

    .venv/bin/python benchmarks/dp_bench.py [--rows 1000000] [--days 30] [--repeat 3]

It writes ``--rows`` synthetic log lines over ``--days`` days (``privstats.synth``), ingests
them into a store (not timed), and then times, from the store's Parquet files to the noisy
table, each of:

* **privstats**: ``crosstab("day", "device", aggfunc="visitors", method="dp")``: rows read,
  units bounded, OpenDP's discrete Gaussian on every key, the draw stored (a fresh draw each
  round);
* **OpenDP** (core API; its Polars API needs polars 1.x, this project runs 2.x): the rows read
  with pyarrow, each visitor-day bounded to one (day, device) with pandas, then OpenDP's
  ``make_count_by_categories`` and discrete Gaussian;
* **PipelineDP** (``pip install -e '.[bench]'``; skipped with a note if missing):
  ``DPEngine.aggregate`` with ``PRIVACY_ID_COUNT`` on the local backend, public partitions,
  one partition per visitor-day.

All three spend the same loss: ρ = ``--rho`` for privstats and OpenDP, and for PipelineDP (which
takes ε, δ) the ε that OpenDP's conversion gives for that ρ at δ = 1e-5. It prints each tool's
fastest time and the median absolute error per cell against the true (unbounded) table.
"""

from __future__ import annotations

import argparse
import datetime as dt
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import polars as pl  # noqa: E402

from privstats.config import Config, DPConfig  # noqa: E402
from privstats.dp import mechanisms  # noqa: E402
from privstats.dp.draws import FOLDER  # noqa: E402
from privstats.ingest import ingest_access  # noqa: E402
from privstats.key import SecretKey  # noqa: E402
from privstats.store import Store  # noqa: E402
from privstats.synth import benchmark as synth  # noqa: E402

DELTA = 1e-5
DEVICES = ("desktop", "mobile", "tablet", "bot", "other")


def build(folder: Path, rows: int, days: int) -> tuple[Store, str, str]:
    # The generator spreads its lines over days of LINES_PER_DAY each.
    synth.LINES_PER_DAY = -(-rows // days)
    log = folder / "access.log"
    synth.write_benchmark_log(log, rows, seed=19)
    config = Config().with_store(folder / "store")
    results = ingest_access(config, SecretKey(secrets.token_bytes(32)), [str(log)],
                            log_format="combined_D")  # fmt: skip
    assert all(r.ok for r in results), "the benchmark log did not ingest"
    start = dt.date(2026, 10, 1)
    return Store(config.store_path), start.isoformat(), (start + dt.timedelta(days - 1)).isoformat()


def truth(store: Store) -> dict[tuple[str, str], int]:
    frame = (
        store.scan("access")
        .select(pl.col("key_period").cast(pl.String).alias("day"),
                pl.col("device").cast(pl.String), "visitor")
        .unique()
        .group_by("day", "device")
        .agg(n=pl.len())
        .collect()
    )  # fmt: skip
    return {(r["day"], r["device"]): r["n"] for r in frame.iter_rows(named=True)}


def keys(start: str, end: str) -> list[tuple[str, str]]:
    first, last = dt.date.fromisoformat(start), dt.date.fromisoformat(end)
    days = [(first + dt.timedelta(i)).isoformat() for i in range((last - first).days + 1)]
    return [(d, device) for d in days for device in DEVICES]


def run_privstats(store: Store, start: str, end: str, rho: float) -> dict[tuple[str, str], float]:
    shutil.rmtree(store.root / FOLDER, ignore_errors=True)  # a fresh draw every round
    config = Config(dp=DPConfig(rho_per_table=rho, rho_per_day=rho))
    from privstats.dp.tables import dp_table
    from privstats.tabulate.query import Query

    query = Query.build("day", "device", aggfunc="visitors", start=start, end=end)
    table = dp_table(query, store, config=config)
    return {(r["day"], r["device"]): r["value"] for r in table.shown.to_dict("records")}


def run_opendp(store: Store, start: str, end: str, rho: float) -> dict[tuple[str, str], float]:
    import opendp.prelude as dp
    import pyarrow.parquet as pq

    table = pq.read_table([str(f) for f in store.files("access")],
                          columns=["key_period", "visitor", "device"]).to_pandas()  # fmt: skip
    table["key_period"] = table["key_period"].astype(str)
    table["device"] = table["device"].astype(str)
    # Bound: one (day, device) per visitor-day.
    bounded = table.drop_duplicates(["key_period", "visitor"])
    categories = [f"{d}|{device}" for d, device in keys(start, end)]
    count = dp.t.make_count_by_categories(
        dp.vector_domain(dp.atom_domain(T=str)), dp.symmetric_distance(),
        categories=categories, MO=dp.L2Distance[int], null_category=False,
    )  # fmt: skip
    scale = dp.binary_search_param(
        lambda s: count >> dp.m.then_gaussian(scale=s), d_in=1, d_out=rho
    )
    measurement = count >> dp.m.then_gaussian(scale=scale)
    noisy = measurement((bounded["key_period"] + "|" + bounded["device"]).tolist())
    return {tuple(c.split("|")): max(v, 0) for c, v in zip(categories, noisy, strict=False)}


def run_pipelinedp(store: Store, start: str, end: str, epsilon: float) -> dict | None:
    try:
        import pipeline_dp
    except ImportError:
        return None
    rows = (
        store.scan("access")
        .select(pl.col("key_period").cast(pl.String), "visitor", pl.col("device").cast(pl.String))
        .collect()
        .rows()
    )
    accountant = pipeline_dp.NaiveBudgetAccountant(total_epsilon=epsilon, total_delta=DELTA)
    engine = pipeline_dp.DPEngine(accountant, pipeline_dp.LocalBackend())
    params = pipeline_dp.AggregateParams(
        noise_kind=pipeline_dp.NoiseKind.GAUSSIAN, metrics=[pipeline_dp.Metrics.PRIVACY_ID_COUNT],
        max_partitions_contributed=1, max_contributions_per_partition=1,
    )  # fmt: skip
    extractors = pipeline_dp.DataExtractors(
        privacy_id_extractor=lambda r: (r[0], r[1]), partition_extractor=lambda r: (r[0], r[2]),
        value_extractor=lambda r: 0,
    )  # fmt: skip
    result = engine.aggregate(rows, params, extractors, public_partitions=keys(start, end))
    accountant.compute_budgets()
    return {key: max(metrics.privacy_id_count, 0) for key, metrics in result}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--rho", type=float, default=0.05)
    args = parser.parse_args()
    epsilon = mechanisms.epsilon(args.rho, DELTA)
    with tempfile.TemporaryDirectory(prefix="privstats-dp-bench-") as tmp:
        store, start, end = build(Path(tmp), args.rows, args.days)
        true = truth(store)
        rows = store.scan("access").select(pl.len()).collect().item()
        print(
            f"{rows:,} rows, {args.days} days x {len(DEVICES)} devices = "
            f"{len(keys(start, end))} cells; ρ = {args.rho} (ε = {epsilon:.3f} at δ = {DELTA})"
        )
        tools = {
            "privstats": lambda: run_privstats(store, start, end, args.rho),
            "OpenDP (core)": lambda: run_opendp(store, start, end, args.rho),
            "PipelineDP": lambda: run_pipelinedp(store, start, end, epsilon),
        }
        print(f"{'tool':<16} {'fastest s':>10} {'median abs error':>17}")
        for name, run in tools.items():
            times, errors = [], []
            for _ in range(args.repeat):
                started = time.perf_counter()
                noisy = run()
                times.append(time.perf_counter() - started)
                if noisy is None:
                    break
                errors.append(statistics.median(
                    abs(noisy.get(k, 0) - true.get(k, 0)) for k in keys(start, end)))  # fmt: skip
            if not errors:
                print(f"{name:<16} skipped: pip install -e '.[bench]' brings it")
                continue
            print(f"{name:<16} {min(times):>10.2f} {statistics.median(errors):>17.1f}")


if __name__ == "__main__":
    main()
