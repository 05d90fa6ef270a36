"""``privstats demo``: the whole chain on generated data, leaving a working folder to try.

The demo writes ``out`` (default ``./privstats-demo``): a ``privstats.toml`` whose store is
``store/`` beside it and whose secret key lives outside any git repository (under
``~/.config/privstats/demo-keys/``, one per demo folder), the store of the generated inputs, and
rendered reports under ``reports/``: ``partner_summary/<partner>/<period>/pl/`` for the two
partners with the most accounts, and ``traffic_report/all/<period>/pl/``. The generated inputs
themselves (with their made-up addresses and e-mails) live in a temporary folder and are gone
when it ends. It prints three commands to try next, in that folder. Running the demo again
replaces its own earlier output; a folder that holds anything else is refused.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import logging
import os
import shutil
import tempfile
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import polars as pl

from privstats.config import (
    CONFIG_FILE,
    AnonymiseConfig,
    Config,
    default_config_text,
    load_config,
)
from privstats.exceptions import ConfigError, ReportError
from privstats.ingest import IngestResult, ingest_access
from privstats.key import SecretKey, create_key, load_key
from privstats.store import Store
from privstats.synth import generate

# The synthetic service's own domain: referers from it are internal.
DEMO_SITE_DOMAINS = ("example.com",)
DEFAULT_OUT = Path("privstats-demo")
# Written into the demo's output folder: a later run may replace what holds it, nothing else.
MARKER = ".privstats-demo"
REPORTS = "reports"
PARTNER_REPORTS = 2
# A rules profile of the demo's configuration, for `-p rules_profile=strict`.
STRICT_PROFILE = "strict"


def run_demo(
    days: int = 3,
    visitors: int = 300,
    seed: int = 7,
    out: Path | str = DEFAULT_OUT,
    *,
    start: dt.date = dt.date(2026, 10, 1),
    workers: int = 2,
) -> int:
    """Generate, ingest (access logs and CRM exports), summarise, render the reports, and leave
    ``out`` as a working folder (configuration, store, reports)."""
    out = Path(out)
    period = periods(start, days)
    prepare_output(out)
    config = load_config(write_config(out, demo_key_path(out)))
    key = demo_key(config.key_path)
    with tempfile.TemporaryDirectory(prefix="privstats-demo-") as tmp:
        inputs = Path(tmp) / "inputs"
        manifest = generate(inputs, days=days, visitors=visitors, seed=seed, start=start)
        print(f"generated {manifest.summary()}")
        results = ingest_generated(config, key, inputs)
        for result in results:
            print("  " + result.summary().replace(str(inputs) + "/", ""))
        crm = ingest_generated_crm(config, key, inputs)
        if crm is not None:
            print("  " + crm.replace(str(inputs) + "/", "").replace("\n", "\n  "))
    print()
    store = Store(config.store_path)
    print(summary(store, results))
    if not all(r.ok for r in results):
        return 1
    print()
    written = render_reports(config, out / REPORTS, period, workers=workers)
    print("reports (open report.html in a browser):")
    for path in written:
        print(f"  {path}")
    print()
    print(next_steps(out, period, written[0].parent))
    return 0


def next_steps(out: Path, period: str, first_report: Path) -> str:
    """The three commands to try next, in the demo's folder."""
    review = first_report.relative_to(out.resolve())
    return "\n".join(
        [
            f"{out} is a working folder now (its {CONFIG_FILE}, store and reports); try:",
            f"  cd {out}",
            "  privstats store info",
            f"  privstats report crm_activity_report --period {period} --language en",
            f"  privstats review {review}",
        ]
    )


def demo_key_path(out: Path) -> Path:
    """Where the key of the demo folder ``out`` lives: outside any git repository (the demo
    may well run inside a clone), one key per demo folder."""
    home = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    digest = hashlib.sha256(str(out.resolve()).encode()).hexdigest()[:16]
    return home / "privstats" / "demo-keys" / digest


def demo_key(path: Path) -> SecretKey:
    """The demo folder's key: the one made by an earlier run, or a new one."""
    if not path.exists():
        create_key(path)
    return load_key(path)


def write_config(out: Path, key_path: Path) -> Path:
    """The demo folder's ``privstats.toml``: the commented default, with the demo's key, its
    site's own domain and a stricter rules profile."""
    text = default_config_text()
    replaced = {
        'file = "~/.config/privstats/key"': f"file = {_toml_string(key_path)}",
        "site_domains = []": "site_domains = [" + ", ".join(
            _toml_string(d) for d in DEMO_SITE_DOMAINS
        ) + "]",
        "# [disclosure.partners.acme]\n# threshold = 20\n": (
            "# [disclosure.partners.acme]\n# threshold = 20\n"
            f"# A profile a report may ask for with -p rules_profile={STRICT_PROFILE}:\n"
            f"[disclosure.partners.{STRICT_PROFILE}]\nthreshold = 20\n"
        ),
    }  # fmt: skip
    for old, new in replaced.items():
        if old not in text:
            raise ConfigError(f"the default configuration no longer holds {old.splitlines()[0]}")
        text = text.replace(old, new)
    path = out / CONFIG_FILE
    path.write_text(text, encoding="utf-8")
    return path


def _toml_string(text: object) -> str:
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"') + '"'


def prepare_output(out: Path) -> None:
    """Make ``out`` an empty folder of the demo's: clear an earlier run, refuse anything else."""
    if out.exists() and not out.is_dir():
        raise ConfigError(f"the demo's output {out} is a file; choose a folder")
    if out.is_dir() and any(out.iterdir()):
        if not (out / MARKER).is_file():
            raise ConfigError(
                f"{out} is not empty and was not written by the demo; choose another folder"
            )
        for entry in out.iterdir():
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER).write_text(
        "Written by `privstats demo`; the next run replaces this folder's content.\n",
        encoding="utf-8",
    )


def demo_config(store: Path) -> Config:
    """The demo's settings with its store at ``store`` (for tests and benchmarks)."""
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


def ingest_generated_crm(config: Config, key: SecretKey, inputs: Path) -> str | None:
    """Ingest the CRM exports ``privstats synth`` wrote (its CSV copy); the result's summary."""
    from privstats.crm import ingest_crm, open_source

    folder = inputs / "crm"
    if not folder.is_dir():
        return None
    source = open_source(folder=folder, fmt="csv", crm=config.crm)
    return ingest_crm(config, key, source).summary()


def periods(start: dt.date, days: int) -> str:
    """The report period of the generated days: their month (the demo's days stay in one)."""
    last = start + dt.timedelta(days=max(days, 1) - 1)
    if (last.year, last.month) != (start.year, start.month):
        raise ConfigError("the demo's days must lie within one month")
    return start.strftime("%Y-%m")


def biggest_partners(store: Store, count: int = PARTNER_REPORTS) -> list[str]:
    """The ``count`` partners with the most accounts (partners are businesses, not persons)."""
    frame = (
        store.scan("crm_accounts")
        .group_by("partner")
        .agg(pl.len().alias("accounts"))
        .drop_nulls("partner")
        .collect()
    )
    ranked = sorted(
        ((str(p), int(n)) for p, n in frame.iter_rows()), key=lambda item: (-item[1], item[0])
    )
    return [partner for partner, _ in ranked[:count]]


def render_reports(config: Config, out: Path, period: str, *, workers: int = 2) -> list[Path]:
    """The partner summaries of the biggest partners and the traffic report, in parallel."""
    from privstats.report import run_all_partners, run_report

    # papermill and nbclient narrate every step at INFO; the demo prints what matters.
    for name in ("papermill", "nbclient", "traitlets"):
        logging.getLogger(name).setLevel(logging.WARNING)
    store = Store(config.store_path)
    written: list[Path] = []
    partners = biggest_partners(store)
    if partners:
        batch = run_all_partners(
            "partner_summary",
            partners,
            period,
            workers=workers,
            progress=False,
            out_root=out,
            store_path=store.root,
            overwrite=True,
            config=config,
        )
        if not batch.ok:
            raise ReportError(batch.summary().replace("\n", "; "))
        written += [output.folder / "report.html" for output in batch.succeeded]
    traffic = run_report(
        "traffic_report",
        params={"period": period},
        out_root=out,
        store_path=store.root,
        overwrite=True,
        config=config,
    )
    written.append(traffic.folder / "report.html")
    return written


def summary(store: Store, results: Sequence[IngestResult]) -> str:
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
