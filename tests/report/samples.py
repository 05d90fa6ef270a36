"""The real report notebooks run on the committed sample: what the report fixtures share.

Each run starts its own kernel (about two seconds), so every notebook is run once per language
per session, two at a time, and read by many tests.
"""

from __future__ import annotations

import secrets
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from privstats.demo import demo_config, ingest_generated, ingest_generated_crm
from privstats.key import SecretKey
from privstats.report import ReportOutput, run_report

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "data" / "sample"
REPORT_NOTEBOOKS = REPO / "notebooks"
PERIOD = "2026-10"
LANGUAGES = ("pl", "en")
# (notebook, partner): every report; the whole service, the biggest partner, and a small one.
RUNS = (
    ("traffic_report", None),
    ("crm_activity_report", None),
    ("crm_activity_report", "acme"),
    ("partner_summary", "acme"),
    ("partner_summary", "vistula"),
    ("explore", None),
)


def build_sample_store(store: Path) -> Path:
    """Ingest the sample's access logs and CRM exports into ``store`` with a throw-away key."""
    config = demo_config(store)
    key = SecretKey(secrets.token_bytes(32))
    assert all(result.ok for result in ingest_generated(config, key, SAMPLE))
    assert ingest_generated_crm(config, key, SAMPLE) is not None
    return config.store_path


@dataclass(frozen=True)
class SampleReports:
    """Every run of ``RUNS`` in both languages; one output root per language."""

    roots: dict[str, Path]
    outputs: dict[tuple[str, str | None, str], ReportOutput]

    def __getitem__(self, key: tuple[str, str | None, str]) -> ReportOutput:
        return self.outputs[key]

    def html(self, name: str, partner: str | None, language: str) -> str:
        return (self[name, partner, language].folder / "report.html").read_text(encoding="utf-8")


def run_sample_reports(store: Path, roots: dict[str, Path]) -> SampleReports:
    def run(job: tuple[str, str | None, str]) -> ReportOutput:
        name, partner, language = job
        params = {"period": PERIOD, "language": language}
        if partner is not None:
            params["partner"] = partner
        return run_report(
            name,
            params=params,
            out_root=roots[language],
            store_path=store,
            notebooks_dir=REPORT_NOTEBOOKS,
        )

    jobs = [(name, partner, language) for name, partner in RUNS for language in LANGUAGES]
    with ThreadPoolExecutor(max_workers=2) as pool:
        outputs = dict(zip(jobs, pool.map(run, jobs), strict=True))
    return SampleReports(roots, outputs)


# (notebook, partner, language) of the DP runs: a report of each kind in each language.
DP_RUNS = (("traffic_report", None, "en"), ("partner_summary", "acme", "pl"))


def run_dp_reports(store: Path, root: Path) -> dict[str, ReportOutput]:
    """The DP runs of ``DP_RUNS`` (``method=dp``), by notebook."""
    outputs = {}
    for name, partner, language in DP_RUNS:
        params = {"period": PERIOD, "language": language, "method": "dp"}
        if partner is not None:
            params["partner"] = partner
        outputs[name] = run_report(
            name, params=params, out_root=root, store_path=store, notebooks_dir=REPORT_NOTEBOOKS
        )
    return outputs
