"""``privstats demo``: the whole chain on generated data, with a throw-away key.

Nothing of the demo outlives it but what it prints: inputs, key and store live in a temporary
folder, and the key exists only in memory.
"""

from __future__ import annotations

import dataclasses
import secrets
import tempfile
from collections import defaultdict
from pathlib import Path

import polars as pl

from privstats.config import AnonymiseConfig, Config
from privstats.ingest import IngestResult, ingest_access
from privstats.key import SecretKey
from privstats.store import Store
from privstats.synth import generate

# The synthetic service's own domain: referers from it are internal.
DEMO_SITE_DOMAINS = ("example.com",)


def run_demo(days: int = 3, visitors: int = 300, seed: int = 7) -> int:
    with tempfile.TemporaryDirectory(prefix="privstats-demo-") as tmp:
        root = Path(tmp)
        manifest = generate(root / "inputs", days=days, visitors=visitors, seed=seed)
        print(f"generated {manifest.summary()}")
        config = demo_config(root / "store")
        results = ingest_generated(config, SecretKey(secrets.token_bytes(32)), root / "inputs")
        for result in results:
            print("  " + result.summary().replace(str(root / "inputs") + "/", ""))
        print()
        print(summary(Store(config.store_path), results))
    return 0 if all(r.ok for r in results) else 1


def demo_config(store: Path) -> Config:
    config = Config().with_store(store)
    return dataclasses.replace(config, anonymise=AnonymiseConfig(site_domains=DEMO_SITE_DOMAINS))


def ingest_generated(config: Config, key: SecretKey, inputs: Path) -> list[IngestResult]:
    """Ingest every access log ``privstats synth`` wrote under ``inputs``, each in its format."""
    from privstats.synth import load_manifest

    by_format: dict[str, list[str]] = defaultdict(list)
    for entry in load_manifest(inputs).access:
        by_format[entry.format].append(str(inputs / entry.path))
    results = []
    for fmt, paths in sorted(by_format.items()):
        results += ingest_access(config, key, paths, log_format=fmt)
    return results


def summary(store: Store, results: list[IngestResult]) -> str:
    rows = sum(r.rows for r in results)
    lines = sum(r.lines for r in results)
    bad = sum(r.quarantine.total for r in results)
    per_day = (
        store.scan("access")
        .group_by(pl.col("ts").dt.date().alias("day"))
        .agg(
            pl.len().alias("requests"),
            pl.struct("key_period", "visitor").n_unique().alias("visitors"),
            pl.col("is_bot").mean().alias("bots"),
        )
        .sort("day")
        .collect()
    )
    out = [
        f"ingested {rows:,} of {lines:,} lines from {len(results)} files "
        f"({bad:,} quarantined by reason, none of them stored)",
        "",
        f"{'day':<12}{'requests':>10}{'visitors':>10}{'bot share':>11}",
    ]
    for day, requests, visitors, bots in per_day.iter_rows():
        out.append(f"{day.isoformat():<12}{requests:>10,}{visitors:>10,}{bots:>10.0%} ")
    out.append("")
    out.append("visitors are distinct keyed pseudonyms of one day; nothing identifying was stored")
    return "\n".join(out)
