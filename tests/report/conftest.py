"""Report fixtures: real papermill runs of the test notebooks, shared across the report tests.

Each kernel start costs about two seconds, so the two runs of the tiny report (Polish and
English) are made once per session and read by many tests; tests that change a folder copy it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from report.samples import (
    LANGUAGES,
    SampleReports,
    build_sample_store,
    run_dp_reports,
    run_sample_reports,
)

from privstats.report import ReportOutput, run_report

NOTEBOOKS = Path(__file__).parent / "notebooks"
CATALOG_IDS = ("catalog-2026-10-01-a1", "catalog-2026-10-02-b2")
RULES = {"threshold": 10, "nk_n": 2, "nk_k": 90.0, "p_ratio": 10.0, "round_base": 5}
PRINTED_CANARY = "PRINTED-CANARY-7f3a"
PLANTED_MARKUP = ("<script>alert(1)</script>", "<img src=x onerror=alert(2)>")


@dataclass(frozen=True)
class Rendered:
    output: ReportOutput
    out_root: Path

    @property
    def folder(self) -> Path:
        return self.output.folder

    @property
    def html(self) -> str:
        return (self.folder / "report.html").read_text(encoding="utf-8")


def _render(tmp_path_factory: pytest.TempPathFactory, language: str) -> Rendered:
    out_root = tmp_path_factory.mktemp(f"reports-{language}")
    output = run_report(
        "tiny",
        params={"partner": "acme", "period": "2026-10", "language": language},
        out_root=out_root,
        store_path=out_root / "store",
        notebooks_dir=NOTEBOOKS,
        catalog_ids=CATALOG_IDS,
        rules=RULES,
    )
    return Rendered(output, out_root)


@pytest.fixture(scope="session")
def tiny_pl(tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    return _render(tmp_path_factory, "pl")


@pytest.fixture(scope="session")
def tiny_en(tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    return _render(tmp_path_factory, "en")


# -- the real report notebooks on the committed sample (see samples.py) ---------------------------


@pytest.fixture(scope="session")
def sample_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The committed sample (access logs and CRM exports) in a store, with a throw-away key."""
    return build_sample_store(tmp_path_factory.mktemp("sample") / "store")


@pytest.fixture(scope="session")
def sample_reports(sample_store: Path, tmp_path_factory: pytest.TempPathFactory) -> SampleReports:
    """Every report notebook of ``RUNS`` on the sample, in both languages, two runs at a time."""
    roots = {language: tmp_path_factory.mktemp(f"reports-{language}") for language in LANGUAGES}
    return run_sample_reports(sample_store, roots)


@pytest.fixture(scope="session")
def dp_reports(sample_store: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The sample's traffic report (English) and acme's partner summary (Polish) in DP mode:
    report folders by notebook."""
    outputs = run_dp_reports(sample_store, tmp_path_factory.mktemp("reports-dp"))
    return {name: output.folder for name, output in outputs.items()}
