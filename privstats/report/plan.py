"""One set of report parameters for every report notebook, resolved and checked in one place.

Every report notebook declares the same parameters for the same ideas (partner, period or start
and end, rules profile, language, store) and hands them to :func:`report_plan` in its setup
cell; the runner calls the same function before any kernel starts, so a misspelt partner, a
period the store holds nothing of or a missing store fails there, with exit 2, and never
becomes an empty or mislabelled report::

    plan = report_plan(partner=partner, period=period, start=start, end=end,
                       rules_profile=rules_profile, language=language, store_path=store_path)
    plan.start, plan.end, plan.words("crm.title")
    privstats.crosstab("module", **plan.query())      # store, start, end and rules
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from privstats.config import Config, RuleSet, load_config
from privstats.exceptions import ParameterError
from privstats.protect import Method
from privstats.report.i18n import Language
from privstats.report.notebook import Words, report_period, report_rules
from privstats.schema import TABLES
from privstats.store import Store
from privstats.workspace import check_partner, open_store, require_rows

# The parameters every report notebook declares, for the same ideas (a test keeps notebooks/
# to it): who the report is for, which days, which rules, which language, which store.
STANDARD_PARAMETERS = (
    "partner",
    "period",
    "start",
    "end",
    "rules_profile",
    "language",
    "store_path",
)
# Where a notebook names the store tables it reads: ``{"privstats": {"reads": ["access"]}}``.
METADATA_KEY = "privstats"


@dataclass(frozen=True)
class ReportPlan:
    """A report's parameters, resolved: who it is for, which days, which rules, which store."""

    partner: str | None
    start: dt.date | None
    end: dt.date | None
    language: Language
    rules: RuleSet
    store: Store
    # How every table is protected: hidden cells, or noise under the privacy budget (``dp``).
    method: Method = Method.SUPPRESS
    # The operator's time zone ([report] timezone): the report's days, hours and weekdays.
    timezone: str = "UTC"

    @property
    def dp(self) -> bool:
        return self.method is Method.DP

    @property
    def words(self) -> Words:
        return Words(self.language)

    @property
    def period(self) -> str:
        """The folder name of the days: ``2026-10`` for a whole month, else ``start_end``."""
        if self.start is None or self.end is None:
            return "all"
        month = self.start.strftime("%Y-%m")
        if self.start.day == 1 and report_period(month)[1] == self.end:
            return month
        return f"{self.start.isoformat()}_{self.end.isoformat()}"

    def covered(self, tables: Iterable[str]) -> tuple[dt.date, dt.date] | None:
        """The first and last day within the period that the store holds data of ``tables``
        (by the store's UTC day partitions), or None when it holds none."""
        days = [
            dt.date.fromisoformat(entry["day"])
            for table in set(tables)
            for entry in self.store.entries(table, self.start, self.end)
            if entry.get("day")
        ]
        return (min(days), max(days)) if days else None

    def query(self) -> dict[str, Any]:
        """``crosstab``'s arguments that every table of the report shares."""
        return {"store": self.store, "start": self.start, "end": self.end, "rules": self.rules,
                "method": self.method, "tz": self.timezone}  # fmt: skip

    def previous(self, tables: Iterable[str]) -> ReportPlan | None:
        """The same plan for the period before (the month before a month, else as many days
        just before), or None unless the store holds data of ``tables`` on every day of both:
        a change between a whole month and three days of one would mislead, so the headline
        then shows none."""
        if self.start is None or self.end is None:
            return None
        if self.period == self.start.strftime("%Y-%m"):
            last = self.start - dt.timedelta(days=1)
            first = last.replace(day=1)
        else:
            first = self.start - (self.end - self.start) - dt.timedelta(days=1)
            last = self.start - dt.timedelta(days=1)
        before = dataclasses.replace(self, start=first, end=last)
        whole = before.covered(tables) == (first, last) and self.covered(tables) == (
            self.start,
            self.end,
        )
        return before if whole else None


def report_plan(
    *,
    partner: str | None = None,
    period: str | None = None,
    start: str | None = None,
    end: str | None = None,
    rules_profile: str | None = None,
    language: str = "pl",
    store_path: str | Path | None = None,
    reads: Iterable[str] | None = None,
    period_required: bool = True,
    config: Config | None = None,
    method: str | None = None,
) -> ReportPlan:
    """Resolve and check a report's parameters (see the module's notes).

    ``store_path`` empty or None: the configuration's store (found from the working folder up).
    ``reads``: the store tables the report reads (default: all), whose source must hold rows
    in the period. ``method`` empty or None: the partner's (``dp`` for the partners listed
    under ``[dp]``), else ``suppress``.
    """
    config = config or load_config()
    first, last = report_period(period, start, end, required=period_required)
    store = open_store(store_path or None, config)
    if partner is not None:
        check_partner(partner, config, store)
    require_rows(store, TABLES if reads is None else reads, first, last)
    return ReportPlan(
        partner=partner,
        start=first,
        end=last,
        language=Language.parse(language),
        rules=report_rules(partner, rules_profile, config),
        store=store,
        method=_method(method or config.dp.method_for(partner)),
        timezone=config.report.timezone,
    )


def _method(name: str) -> Method:
    if name not in (Method.SUPPRESS, Method.DP):
        raise ParameterError(f"a report's method is 'suppress' or 'dp', not '{name[:20]}'")
    return Method(name)


def tables_read(metadata: Mapping[str, Any]) -> list[str] | None:
    """The store tables a notebook's metadata says it reads, if it says so."""
    reads = (metadata.get(METADATA_KEY) or {}).get("reads")
    return [str(t) for t in reads] if isinstance(reads, list) else None
