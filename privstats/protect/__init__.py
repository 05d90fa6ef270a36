"""Disclosure control for tables: primary rules, secondary suppression, rounding, the audit.

::

    table = Table.from_frame(cells, dims=["day", "hour"], kind="count", margins=True)
    result = protect(table, rules, method="suppress", query={"measure": "visitors"})
    result.shown        # keys, value (NaN where not shown), marker ("x", "<10" or "")
    result.status       # Status.PASS / SUPPRESSED / FAIL
    result.record       # ProtectionRecord: rules, reasons, audit, checksum

The result never holds a value that is not shown; the true table stays with the caller.
"""

from __future__ import annotations

from collections.abc import Mapping as _Mapping
from dataclasses import asdict as _asdict
from dataclasses import dataclass as _dataclass
from dataclasses import replace as _replace
from typing import Any as _Any

import numpy as _np
import pandas as _pd

from privstats.config import RuleSet
from privstats.exceptions import DisclosureError as _DisclosureError
from privstats.protect import record as _record
from privstats.protect import rounding as _rounding
from privstats.protect.audit import AuditResult, Knowledge, audit
from privstats.protect.cells import TOTAL, Additivity, CellKind, Hierarchy, Table
from privstats.protect.protection import ProtectionPolicy, Requirement, requirement
from privstats.protect.record import Method, ProtectionRecord, Status
from privstats.protect.rules import Rule, Verdicts, assess
from privstats.protect.suppression import CostModel, SuppressionOptions, suppress

HIDDEN_MARKER = "x"

__all__ = [
    "HIDDEN_MARKER",
    "TOTAL",
    "Additivity",
    "AuditResult",
    "CellKind",
    "CostModel",
    "Hierarchy",
    "Knowledge",
    "Method",
    "ProtectedTable",
    "ProtectionPolicy",
    "ProtectionRecord",
    "Requirement",
    "Rule",
    "RuleSet",
    "Status",
    "SuppressionOptions",
    "Table",
    "Verdicts",
    "assess",
    "audit",
    "protect",
    "requirement",
    "suppress",
]


@_dataclass(frozen=True, eq=False)
class ProtectedTable:
    """A table as it may be shown, with its record. Holds no value that is not shown."""

    dims: tuple[str, ...]
    shown: _pd.DataFrame
    status: Status
    record: ProtectionRecord
    audit: AuditResult | None

    def to_frame(self, marker: str = HIDDEN_MARKER) -> _pd.DataFrame:
        """Keys and one ``value`` column where cells not shown carry their marker."""
        out = self.shown[list(self.dims)].copy()
        values = self.shown["value"].astype(object)
        marks = self.shown["marker"]
        values[marks == HIDDEN_MARKER] = marker
        other = (marks != "") & (marks != HIDDEN_MARKER)
        values[other] = marks[other]
        out["value"] = values
        return out

    def pivot(self, index: _Any = None, columns: _Any = None, **options: _Any) -> _pd.DataFrame:
        """The table shaped like ``pandas.crosstab``, any number of dimensions: numbers only,
        NaN where not shown; ``normalize``, ``dropna``, ``fill_value`` (``privstats.frames``)."""
        from privstats import frames

        return frames.pivot(self, index, columns, **options)

    def mask(self, index: _Any = None, columns: _Any = None, **options: _Any) -> _pd.DataFrame:
        """True where a cell is hidden, in the layout of ``pivot`` with the same arguments."""
        from privstats import frames

        return frames.mask(self, index, columns, **options)

    def __repr__(self) -> str:
        from privstats import frames

        return frames.text(self)

    def _repr_html_(self) -> str:
        from privstats import frames

        return frames.html(self)


def protect(
    table: Table,
    rules: RuleSet | None = None,
    *,
    method: Method | str = Method.SUPPRESS,
    query: _Mapping[str, _Any] | None = None,
    policy: ProtectionPolicy | None = None,
    options: SuppressionOptions | None = None,
    known: _np.ndarray | None = None,
    unpublished: _np.ndarray | None = None,
) -> ProtectedTable:
    """Apply the rules, protect the table by ``method``, audit it, and record all of it.

    ``known`` cells (a total the table does not show, public through other tables or by
    adding up) are taken as known to the attacker; ``unpublished`` ones (subtotals the table
    does not show) as unknown. Neither is ever hidden or shown here. A table that cannot be
    protected, or fails its audit, comes back with status ``FAIL`` and nothing shown.
    """
    rules = rules or RuleSet()
    method = Method(method)
    policy = policy or ProtectionPolicy()
    known = _np.zeros(table.n, bool) if known is None else _np.asarray(known, bool)
    unpublished = (
        _np.zeros(table.n, bool) if unpublished is None else _np.asarray(unpublished, bool)
    )
    outside = known | unpublished
    verdicts = assess(table, rules)
    if outside.any():
        # Cells this table does not publish are not its to protect.
        flags = verdicts.flags.copy()
        flags.loc[outside] = False
        verdicts = Verdicts(flags=flags)
    counts_rows = (query or {}).get("measure") == "requests"
    base = requirement(table, verdicts, rules, policy, counts_rows=counts_rows)
    values = _np.nan_to_num(table.values)
    n = table.n
    marker = _np.full(n, "", dtype=object)
    shown = values.astype(float)
    message = None
    search: dict[str, _Any] = {}
    try:
        if method is Method.ROUND:
            rounded = _rounding.controlled_round(table, rules.round_base)
            knowledge = _rounding.rounded_knowledge(table, rounded, rules.round_base)
            required = _rounding.rounded_requirement(table, verdicts, knowledge)
            # Rounding blurs a small count, not a large value of few persons (95 visits of
            # three visitors): such cells are hidden, and must keep a count's protection.
            hide = _rounding.unblurred(table, verdicts, rules)
            if hide.any():
                least = 0.0 if table.nonnegative else -_np.inf
                knowledge = Knowledge(
                    lo=_np.where(hide, least, knowledge.lo),
                    hi=_np.where(hide, _np.inf, knowledge.hi),
                )
                required = Requirement(
                    lower=_np.where(hide, base.lower, required.lower),
                    upper=_np.where(hide, base.upper, required.upper),
                )
            result = audit(table, knowledge, required, targets=verdicts.primary)
            shown = _np.where(hide, _np.nan, rounded)
            marker[hide] = HIDDEN_MARKER
            noted = verdicts.primary
        else:
            small = _np.zeros(n, bool)
            floor: _np.ndarray | None = None
            ceiling: _np.ndarray | None = None
            required = base
            if method is Method.LESS_THAN:
                small = _rounding.less_than_cells(table, verdicts, rules)
                floor, ceiling = _rounding.less_than_bounds(table, small, rules)
                required = _rounding.less_than_requirement(table, small, base, rules)
            pattern = suppress(
                table, verdicts.primary | unpublished, required, options,
                bounds=None if floor is None or ceiling is None else (floor, ceiling),
                candidates=~verdicts.primary & ~table.empty & ~outside,
            )  # fmt: skip
            knowledge = Knowledge.suppressed(table, pattern.hidden, floor, ceiling)
            result = audit(table, knowledge, required, targets=~knowledge.exact & ~unpublished)
            shown = _np.where(pattern.hidden, _np.nan, values)
            marker[pattern.hidden] = HIDDEN_MARKER
            marker[small] = f"<{rules.threshold}"
            noted = pattern.hidden & ~unpublished
            search = {
                "secondary_cells": int(pattern.secondary.sum()),
                "rounds": pattern.rounds,
                "optimal": pattern.optimal,
            }
    except _DisclosureError as exc:
        result, noted, message = None, verdicts.primary, str(exc)

    if result is None or not result.passed:
        status = Status.FAIL
        shown = _np.full(n, _np.nan)
        marker[:] = HIDDEN_MARKER
        message = message or "the audit found hidden cells an attacker can narrow too far"
    elif noted.any():
        status = Status.SUPPRESSED
    else:
        status = Status.PASS

    frame = table.keys.copy()
    frame["value"] = shown
    frame["marker"] = marker
    frame = frame[~outside].reset_index(drop=True)
    notes = _notes(table, verdicts, noted & ~outside, result if status is not Status.FAIL else None)
    record = ProtectionRecord(
        query=dict(query or {}),
        method=method,
        rules=_record.rules_dict(rules),
        protection=_asdict(policy) | {"effective_ratio": policy.effective_ratio(rules)},
        status=status,
        cells=notes,
        rule_counts=verdicts.count(),
        audit=result.summary() if result is not None else {"passed": False},
        checksum="",
        message=message,
        search=search,
    )
    unsigned = ProtectedTable(
        dims=table.dims, shown=frame, status=status, record=record, audit=None
    )
    record = _with_checksum(record, _record.checksum(unsigned.to_frame()))
    return ProtectedTable(
        dims=table.dims,
        shown=frame,
        status=status,
        record=record,
        audit=result if status is not Status.FAIL else None,
    )


def _notes(
    table: Table, verdicts: Verdicts, noted: _np.ndarray, result: AuditResult | None
) -> list[_record.CellNote]:
    keys = table.keys
    notes = []
    for cell in _np.flatnonzero(noted):
        fired = verdicts.fired(int(cell))
        reasons = tuple(r.value for r in fired) if fired else (_record.SECONDARY,)
        interval = None
        if result is not None and result.targets[cell]:
            interval = (float(result.lo[cell]), float(result.hi[cell]))
        notes.append(
            _record.CellNote(
                # The key frame's columns are dimension names; pandas types labels as Hashable.
                key=keys.iloc[cell].to_dict(),  # type: ignore[arg-type]
                reasons=reasons,
                interval=interval,
            )
        )
    return notes


def _with_checksum(record: ProtectionRecord, digest: str) -> ProtectionRecord:
    return _replace(record, checksum=digest)
