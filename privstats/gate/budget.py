"""The gate's check of DP tables: their numbers are the stored draw's, and the budget holds.

A DP table is checked by its method, never by accident: it hides nothing, so the threshold
claims, the linear-programming audit and the linked set (which read shown numbers as exact)
do not apply to it. Instead:

* **draw**: the table recomputed from the store (``privstats.dp.dp_table`` with ``draw=False``)
  finds the same stored draw and gives the same shown table (its checksum). Data that changed
  since (late logs, an erasure) has no draw: the report must be made again, and charged again;
* **budget**: the report's DP tables, added to everything the budget ledger holds, must leave
  every budget (visitor-day, CRM person-year) within its cap. The lines of ``budget_lines``
  say what each budget this report touches has spent, what this release adds and what remains,
  as ρ and as ε at the configured δ.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from privstats.config import Config, RuleSet
from privstats.dp import budget
from privstats.exceptions import ConfigError, DisclosureError, PrivstatsError
from privstats.gate.findings import Check, GateFinding, Severity
from privstats.gate.published import PublishedTable, ReportFolder
from privstats.store import Store
from privstats.tabulate.query import Query

DP = "dp"
_RULES = frozenset(RuleSet.__dataclass_fields__)


def is_dp(table: PublishedTable) -> bool:
    return table.method == DP


def noise_of(table: PublishedTable) -> Mapping[str, Any] | None:
    protection = table.record.get("protection")
    noise = protection.get("dp") if isinstance(protection, Mapping) else None
    return noise if isinstance(noise, Mapping) else None


def check_table(
    report: ReportFolder, table: PublishedTable, store: Store | None, config: Config
) -> tuple[list[GateFinding], bool]:
    """Findings for one DP table, and whether it was recomputed from the store."""
    file = report.display(table.file)
    noise = noise_of(table)
    if noise is None or not noise.get("draw") or not noise.get("commitment"):
        return [
            GateFinding(
                file,
                "",
                Check.CLAIMS,
                "dp-record",
                "a DP table whose record does not say how it was drawn",
            )
        ], False
    if table.record.get("status") != "pass":
        return [
            GateFinding(
                file, "", Check.CLAIMS, "status", "the DP table's record does not say it passed"
            )
        ], False
    if store is None:
        return [], False
    from privstats.dp.tables import dp_table

    try:
        query = Query.from_dict(table.query)
        rules = RuleSet(**{k: v for k, v in table.rules.items() if k in _RULES})
        again = dp_table(query, store, rules, config, draw=False)
    except (DisclosureError, ConfigError, TypeError, ValueError) as error:
        return [GateFinding(file, "", Check.RECOMPUTE, "dp-not-recomputed",
                            f"{error}; or the [dp] settings changed since")], False  # fmt: skip
    found = []
    if again.record.protection["dp"]["draw"] != noise["draw"]:
        found.append(
            GateFinding(
                file,
                "",
                Check.RECOMPUTE,
                "dp-draw",
                "the store's data gives another draw than the one published",
            )
        )
    elif again.record.checksum != table.record.get("checksum_sha256"):
        found.append(
            GateFinding(
                file,
                "",
                Check.RECOMPUTE,
                "dp-values",
                "the published numbers are not the stored draw's",
            )
        )
    return found, True


def check_budget(
    reports: Sequence[ReportFolder], released_root: Path | None, config: Config
) -> tuple[list[GateFinding], list[str]]:
    """The budget check of every DP table of ``reports`` (see the module's notes)."""
    tables = [
        (f"{report.relative}/{table.name}", noise)
        for report in reports for table in report.tables
        if is_dp(table) and (noise := noise_of(table)) is not None
    ]  # fmt: skip
    if not tables:
        return [], []
    if released_root is None:
        return [GateFinding("", "", Check.BUDGET, "not-checked",
                            "no release area: the privacy budget was not checked",
                            Severity.NOTE)], []  # fmt: skip
    settings = config.dp
    try:
        planned = budget.plan(tables, budget.BudgetLedger(released_root), settings)
    except (PrivstatsError, KeyError, TypeError, ValueError) as error:
        text = str(error) if isinstance(error, PrivstatsError) else type(error).__name__
        return [GateFinding(budget.BUDGET_FILE, "", Check.BUDGET, "unreadable",
                            f"the budget cannot be checked ({text})")], []  # fmt: skip
    found = []
    if not planned.allowed:
        found.append(GateFinding(budget.BUDGET_FILE, "", Check.BUDGET, "exceeded",
                                 planned.refusal()))  # fmt: skip
    adds = {c.budget: c.rho for c in planned.charges}
    names = budget.budgets_of(noise for _, noise in tables)
    accounts = {a.budget: a for a in planned.after}
    lines = []
    for account in budget.statement(budget.BudgetLedger(released_root), settings, names):
        after = accounts.get(account.budget, account)
        eps = account.epsilon(settings.delta)
        lines.append(
            f"{account.budget}: spent ρ = {account.rho:.4g} (ε = {eps:.3g}"
            f" at δ = {settings.delta:g}), this release adds {adds.get(account.budget, 0.0):.4g}, "
            f"{max(after.cap - after.rho, 0.0):.4g} of {after.cap:.4g} would remain"
        )
    free = sum(not row["charged"] for row in planned.tables)
    if free:
        lines.append(f"{free} DP table(s) released before with the same numbers: charged nothing")
    return found, lines
