"""Reports: parameterised notebooks run by papermill, rendered to self-contained HTML and CSV.

A report notebook publishes protected tables, charts and text with :func:`publish`,
:func:`publish_figure` and :func:`publish_text`; :func:`run_report` executes it and writes
``reports/<name>/<partner>/<period>/`` (``report.html``, one CSV per table, ``manifest.json``);
:func:`run_all_partners` does so for many partners in parallel.

The runner's names are imported on first use, so that a notebook kernel importing the publish
API does not pay for papermill.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from privstats.report.parameters import period_days
from privstats.report.session import publish, publish_figure, publish_text, set_title

if TYPE_CHECKING:
    from privstats.report.runner import (
        BatchFailure,
        BatchResult,
        ReportOutput,
        run_all_partners,
        run_report,
    )

__all__ = [
    "BatchFailure",
    "BatchResult",
    "ReportOutput",
    "period_days",
    "publish",
    "publish_figure",
    "publish_text",
    "run_all_partners",
    "run_report",
    "set_title",
]

_RUNNER_NAMES = frozenset(
    {"BatchFailure", "BatchResult", "ReportOutput", "run_all_partners", "run_report"}
)


def __getattr__(name: str) -> Any:
    if name in _RUNNER_NAMES:
        from privstats.report import runner

        return getattr(runner, name)
    raise AttributeError(f"module 'privstats.report' has no attribute '{name}'")
