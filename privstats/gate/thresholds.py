"""The threshold audit: each published table against the rules it claims, and against the store.

From the report folder alone (:func:`check_claims`):

- the record's status is ``pass`` or ``suppressed`` and its own audit passed;
- its rules are at least as strict as the rules the report ran under (the manifest's), and as
  the rules the caller requires (the configuration's for the partner);
- the CSV has the shape and the number of hidden cells the manifest states, and each value cell
  is a number, the hidden marker, the missing marker, or ``<N`` where the method shows small
  counts so (anything else is text where a number belongs);
- for person counts and request counts, where every contributor adds at least one, a shown
  value between 0 and the threshold is a cell with fewer contributors than the threshold: it
  fails; a negative or fractional count fails; under rounding every value is a multiple of the
  base;
- ``report.html`` shows the same cells as the CSV: the same markers, the same numbers (to the
  decimals the page shows).

With the store (:func:`check_with_store`), for every table whatever its measure:

- the table is rebuilt from its recorded query, the CSV's cells are placed onto it, and every
  shown number must be the true one (a report altered after rendering, or a store changed since,
  fails here);
- the primary rules are applied afresh to the true cells: a shown cell that fails one (fewer
  persons than the threshold, a dominant contributor, ...) fails;
- the independent LP audit (``privstats.protect.audit``) runs on the pattern *as published*,
  not as recorded: every hidden, ``<N`` or rounded cell must keep the protection its rules
  require against everything the CSV shows.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from privstats.config import RuleSet
from privstats.exceptions import ConfigError, DisclosureError
from privstats.gate.findings import Check, GateFinding, capped
from privstats.gate.published import (
    HTML,
    MANIFEST,
    PublishedCell,
    PublishedTable,
    ReportFolder,
    html_number,
)
from privstats.gate.recompute import (
    COUNT_MEASURES,
    Placement,
    RecomputeError,
    place,
    true_table,
)
from privstats.protect import Knowledge, ProtectionPolicy, Table, assess, audit, requirement
from privstats.protect.rounding import less_than_requirement, rounded_requirement
from privstats.report.table import CellState
from privstats.solvers import quiet_highs
from privstats.store import Store

SHOWN_STATUSES = frozenset({"pass", "suppressed"})
MAX_CELL_FINDINGS = 10
_RULE_FIELDS = tuple(f.name for f in dataclasses.fields(RuleSet))
_CHECK_FLAGS = ("check_zeros", "check_negative", "check_missing")


@dataclass(frozen=True)
class Verified:
    """A table re-verified against the store: the truth and where its published cells sit."""

    table: PublishedTable
    truth: Table
    placement: Placement
    lp_cells_audited: int = 0
    lp_cells_unsafe: int = 0
    lp_tightest_margin: float | None = None

    def shown_cells(self) -> set[int]:
        """Cell ids shown as exact numbers (or, rounded, as numbers) in the CSV."""
        return {
            cell for (r, c), cell in self.placement.cell_of.items()
            if self.table.cells[r][c].state is CellState.VALUE
        }  # fmt: skip

    def location_of(self, cell: int) -> str | None:
        for (r, c), placed in self.placement.cell_of.items():
            if placed == cell:
                return self.table.cells[r][c].location
        return None


def ruleset(rules: Mapping[str, Any]) -> RuleSet:
    """The ``RuleSet`` a record states; ``ConfigError`` when it is not one."""
    try:
        return RuleSet(**{k: rules[k] for k in _RULE_FIELDS if k in rules})
    except TypeError:
        raise ConfigError("the record's rules are not a rule set") from None


def at_least_as_strict(rules: RuleSet, other: RuleSet) -> bool:
    return rules.is_at_least_as_strict_as(other) and all(
        getattr(rules, flag) or not getattr(other, flag) for flag in _CHECK_FLAGS
    )


# --- from the folder alone -----------------------------------------------------------------


def check_claims(
    report: ReportFolder, table: PublishedTable, required: RuleSet | None = None
) -> list[GateFinding]:
    """Every check of the module's first list, for one table."""
    file = report.display(table.file)
    manifest = report.display(MANIFEST)
    found: list[GateFinding] = []
    record = table.record
    status = str(record.get("status", ""))
    if status not in SHOWN_STATUSES or (table.entry.status or status) != status:
        found.append(
            GateFinding(
                manifest,
                f"table '{table.name}'",
                Check.CLAIMS,
                "status",
                "the table's record does not say it passed or was protected",
            )
        )
    record_audit = record.get("audit")
    if (
        not isinstance(record_audit, Mapping)
        or record_audit.get("passed") is not True
        or (record_audit.get("cells_unsafe", 0) != 0)
    ):
        found.append(
            GateFinding(
                manifest,
                f"table '{table.name}'",
                Check.CLAIMS,
                "record-audit",
                "the table's record does not show a passed audit",
            )
        )
    try:
        rules = ruleset(table.rules)
    except ConfigError:
        found.append(
            GateFinding(
                manifest,
                f"table '{table.name}'",
                Check.CLAIMS,
                "rules",
                "the table's record states no valid disclosure rules",
            )
        )
        return found
    run_rules = report.manifest.rules
    for source, other in (("the report's run", run_rules), ("the configuration", required)):
        if other is None:
            continue
        try:
            wanted = other if isinstance(other, RuleSet) else ruleset(other)
        except ConfigError:
            found.append(
                GateFinding(
                    manifest,
                    "/rules",
                    Check.CLAIMS,
                    "rules",
                    "the report's rules are not a valid rule set",
                )
            )
            continue
        if not at_least_as_strict(rules, wanted):
            found.append(
                GateFinding(
                    manifest,
                    f"table '{table.name}'",
                    Check.CLAIMS,
                    "weak-rules",
                    f"the table's rules are weaker than {source}'s",
                )
            )
    found += _check_cells(table, rules, file)
    found += _check_counts(report, table, file)
    found += check_html(report, table)
    return found


def _check_counts(report: ReportFolder, table: PublishedTable, file: str) -> list[GateFinding]:
    found = []
    hidden = table.count(CellState.HIDDEN)
    stated = table.entry.hidden_cells
    if stated != hidden:
        found.append(
            GateFinding(
                file,
                "",
                Check.CLAIMS,
                "hidden-count",
                "the number of hidden cells differs from the manifest's",
            )
        )
    protected = table.record.get("cells_protected")
    if isinstance(protected, int) and hidden > protected:
        found.append(
            GateFinding(
                file,
                "",
                Check.CLAIMS,
                "hidden-count",
                "more cells are hidden than the record protected",
            )
        )
    if table.record.get("status") == "pass" and (hidden or table.count(CellState.TEXT)):
        found.append(
            GateFinding(
                file,
                "",
                Check.CLAIMS,
                "status",
                "cells are hidden in a table whose record says nothing was",
            )
        )
    return found


def _check_cells(table: PublishedTable, rules: RuleSet, file: str) -> list[GateFinding]:
    method = table.method or "suppress"
    counts = table.measure in COUNT_MEASURES
    small: list[GateFinding] = []
    other: list[GateFinding] = []
    for cell in table.all_cells():
        if cell.state is CellState.TEXT:
            if not (method == "less_than" and cell.value == f"<{rules.threshold}"):
                other.append(
                    GateFinding(
                        file,
                        cell.location,
                        Check.CLAIMS,
                        "text-cell",
                        "text where a number or a marker belongs",
                    )
                )
            continue
        value = cell.number
        if value is None or not counts:
            continue
        if value < 0 or not float(value).is_integer():
            other.append(
                GateFinding(
                    file,
                    cell.location,
                    Check.CLAIMS,
                    "not-a-count",
                    "a count that is negative or not whole",
                )
            )
        elif method == "round":
            if value % rules.round_base:
                other.append(
                    GateFinding(
                        file,
                        cell.location,
                        Check.CLAIMS,
                        "not-rounded",
                        f"not a multiple of the rounding base {rules.round_base}",
                    )
                )
        elif 0 < value < rules.threshold:
            small.append(GateFinding(
                file, cell.location, Check.CLAIMS, "below-threshold",
                f"a shown {table.measure} count under the threshold {rules.threshold}: fewer "
                "contributors than the rule allows",
            ))  # fmt: skip
    return capped(small, MAX_CELL_FINDINGS, file, Check.CLAIMS, "below-threshold") + capped(
        other, MAX_CELL_FINDINGS, file, Check.CLAIMS, "cells"
    )


def check_html(report: ReportFolder, table: PublishedTable) -> list[GateFinding]:
    """``report.html`` shows this table's cells as its CSV does."""
    if not (report.folder / HTML).is_file():
        return []
    html = report.display(HTML)
    rows = report.html_tables.get(table.name)
    if rows is None:
        return [
            GateFinding(
                html,
                f"table '{table.name}'",
                Check.CONSISTENCY,
                "missing-table",
                "the table is in the manifest but not in the page",
            )
        ]
    if [len(r) for r in rows] != [len(r) for r in table.cells]:
        return [
            GateFinding(
                html,
                f"table '{table.name}'",
                Check.CONSISTENCY,
                "shape",
                "the page shows another number of rows or cells than the CSV",
            )
        ]
    found = []
    for r, (texts, cells) in enumerate(zip(rows, table.cells, strict=True), start=1):
        for c, (text, cell) in enumerate(zip(texts, cells, strict=True), start=1):
            if not _same(text, cell, report.language):
                found.append(GateFinding(
                    html, f"table '{table.name}', row {r}, cell {c}", Check.CONSISTENCY,
                    "differs-from-csv", f"the page and {table.file} ({cell.location}) disagree",
                ))  # fmt: skip
    return capped(found, MAX_CELL_FINDINGS, html, Check.CONSISTENCY, "differs-from-csv")


def _same(text: str, cell: PublishedCell, language: str) -> bool:
    if cell.state is CellState.HIDDEN:
        return text == "x"
    if cell.state is CellState.MISSING:
        return text == "."
    if cell.state is CellState.TEXT:
        return text == cell.value
    shown = html_number(text, language)
    if shown is None or cell.number is None:
        return False
    digits = text.replace("\u00a0", "").replace("\u202f", "")
    separator = "," if language == "pl" else "."
    decimals = len(digits.rsplit(separator, 1)[1]) if separator in digits else 0
    return abs(shown - cell.number) <= 0.5 * 10.0**-decimals + 1e-9 * max(1.0, abs(cell.number))


# --- with the store ------------------------------------------------------------------------


def check_with_store(
    report: ReportFolder, table: PublishedTable, store: Store
) -> tuple[list[GateFinding], Verified | None]:
    """Every check of the module's second list, for one table."""
    file = report.display(table.file)
    try:
        rules = ruleset(table.rules)
        truth = true_table(table.query, store, table.rules)
    except (ConfigError, RecomputeError) as error:
        return [GateFinding(file, "", Check.RECOMPUTE, "not-recomputed", str(error))], None
    method = table.method or "suppress"
    placement = place(table, truth, method, table.rules)
    if placement is None:
        return [
            GateFinding(
                file,
                "",
                Check.RECOMPUTE,
                "not-placed",
                "the CSV's labels match none of the store's codes for its query",
            )
        ], None
    found: list[GateFinding] = []
    if placement.disagreements:
        found += capped(
            [
                GateFinding(file, table.cells[r][c].location, Check.RECOMPUTE, "differs-from-store",
                            "not the value the store gives for this cell (altered, or the store "
                            "changed since the report ran)")
                for r, c in placement.disagreements
            ],
            MAX_CELL_FINDINGS, file, Check.RECOMPUTE, "differs-from-store",
        )  # fmt: skip
        return found, Verified(table, truth, placement)
    verdicts = assess(truth, rules)
    primary = verdicts.primary
    failing: list[GateFinding] = []
    for (r, c), cell_id in placement.cell_of.items():
        cell = table.cells[r][c]
        fired = [rule.value for rule in verdicts.fired(cell_id)]
        exact = cell.state is CellState.VALUE and method != "round"
        less_than = cell.state is CellState.TEXT and fired != ["threshold"]
        if (exact and primary[cell_id]) or (less_than and fired):
            failing.append(
                GateFinding(
                    file,
                    cell.location,
                    Check.CLAIMS,
                    "fails-rule",
                    f"shown although it fails the {', '.join(fired)} rule "
                    "(recomputed from the store)",
                )
            )
    found += capped(failing, MAX_CELL_FINDINGS, file, Check.CLAIMS, "fails-rule")
    verified, lp_found = _lp_audit(table, truth, placement, rules, verdicts, file)
    return found + lp_found, verified


def _lp_audit(
    table: PublishedTable,
    truth: Table,
    placement: Placement,
    rules: RuleSet,
    verdicts: Any,
    file: str,
) -> tuple[Verified, list[GateFinding]]:
    """The attacker's problem on the pattern as published (see ``privstats.protect.audit``)."""
    method = table.method or "suppress"
    plain = Verified(table, truth, placement)
    if not truth.additive:
        return plain, []
    n = truth.n
    values = np.nan_to_num(truth.values)
    floor = 0.0 if truth.nonnegative else -np.inf
    lo = np.full(n, floor)
    hi = np.full(n, np.inf)
    small = np.zeros(n, dtype=bool)
    for (r, c), cell_id in placement.cell_of.items():
        cell = table.cells[r][c]
        if cell.state is CellState.VALUE and method == "round":
            # A VALUE cell's value is a number (Cell checks it); the type allows text and None.
            shown = float(cell.value)  # type: ignore[arg-type]
            lo[cell_id] = max(shown - (rules.round_base - 1), 0.0)
            hi[cell_id] = shown + rules.round_base - 1.0
        elif cell.state is CellState.VALUE:
            lo[cell_id] = hi[cell_id] = values[cell_id]
        elif cell.state is CellState.TEXT:
            small[cell_id] = True
            lo[cell_id], hi[cell_id] = 1.0, rules.threshold - 1.0
    protection = table.record.get("protection")
    protection = protection if isinstance(protection, Mapping) else {}
    try:
        policy = ProtectionPolicy(ratio=protection.get("ratio"),
                                  minimum=float(protection.get("minimum", 1.0)))  # fmt: skip
        knowledge = Knowledge(lo=lo, hi=hi)
        targets = None
        if method == "round":
            required = rounded_requirement(truth, verdicts, knowledge)
            targets = verdicts.primary
        else:
            required = requirement(truth, verdicts, rules, policy,
                                   counts_rows=table.measure == "requests")  # fmt: skip
            if small.any():
                required = less_than_requirement(truth, small, required, rules)
        quiet_highs()
        result = audit(truth, knowledge, required, targets=targets)
    except (ConfigError, DisclosureError):
        return plain, [
            GateFinding(
                file,
                "",
                Check.LP_AUDIT,
                "unsolved",
                "the independent audit could not be run on this pattern",
            )
        ]
    unsafe = np.flatnonzero(result.unsafe)
    found = [
        GateFinding(file, plain.location_of(int(cell)) or "not published", Check.LP_AUDIT,
                    "recoverable", "an attacker can narrow this hidden cell to less than its "
                    "required protection from the other shown cells and totals")
        for cell in unsafe
    ]  # fmt: skip
    verified = dataclasses.replace(
        plain,
        lp_cells_audited=int(result.targets.sum()),
        lp_cells_unsafe=int(unsafe.size),
        lp_tightest_margin=_tightest(result, values, required),
    )
    return verified, capped(found, MAX_CELL_FINDINGS, file, Check.LP_AUDIT, "recoverable")


def _tightest(result: Any, values: np.ndarray, required: Any) -> float | None:
    """The smallest ratio of an attacker's interval to the protection required of it."""
    ratios = []
    for cell in np.flatnonzero(result.targets):
        for room, need in (
            (values[cell] - result.lo[cell], required.lower[cell]),
            (result.hi[cell] - values[cell], required.upper[cell]),
        ):
            if need > 0:
                ratios.append(room / need)
    finite = [r for r in ratios if math.isfinite(r)]
    if not ratios:
        return None
    return round(float(min(finite)), 3) if finite else math.inf
