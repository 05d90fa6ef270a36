"""Reports: parameterised notebooks run by papermill, rendered to self-contained HTML and CSV.

A report notebook publishes protected tables, charts and text with :func:`publish`,
:func:`publish_figure` and :func:`publish_text`; :func:`run_report` executes it and writes
``reports/<name>/<partner>/<period>/`` (``report.html``, one CSV per table, ``manifest.json``);
:func:`run_all_partners` does so for many partners in parallel.

Names are imported on first use: a notebook kernel importing the publish API does not pay for
papermill, and the command line pays for neither.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from privstats._lazy import attach as _attach

if TYPE_CHECKING:
    from privstats.report.headline import Headline, Read
    from privstats.report.parameters import period_days
    from privstats.report.runner import (
        BatchFailure,
        BatchResult,
        ReportOutput,
        run_all_partners,
        run_report,
    )
    from privstats.report.session import (
        publish,
        publish_figure,
        publish_headline,
        publish_text,
        set_title,
    )

__all__ = [
    "BatchFailure",
    "BatchResult",
    "Headline",
    "Read",
    "ReportOutput",
    "period_days",
    "publish",
    "publish_figure",
    "publish_headline",
    "publish_text",
    "run_all_partners",
    "run_report",
    "set_title",
]

__getattr__, __dir__ = _attach(
    __name__,
    {"period_days": "privstats.report.parameters"}
    | dict.fromkeys(("Headline", "Read"), "privstats.report.headline")
    | dict.fromkeys(
        ("publish", "publish_figure", "publish_headline", "publish_text", "set_title"),
        "privstats.report.session",
    )
    | dict.fromkeys(
        ("BatchFailure", "BatchResult", "ReportOutput", "run_all_partners", "run_report"),
        "privstats.report.runner",
    ),
)
