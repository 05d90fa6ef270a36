"""Required protection: how wide the attacker's interval around a hidden sensitive cell must be.

An attacker who sees a protected table can bound every hidden cell by linear programming: the
smallest and largest values consistent with everything shown, the table's relations and what
is known a priori (cells are not negative). A hidden sensitive cell of value ``v`` is
protected when that interval reaches down to ``v - lower`` and up to ``v + upper``. The
protection levels, in the cell's own unit, follow tau-ARGUS's practice:

Count cells (persons) hidden by the threshold or zeros rule: the interval must reach 0 and
the threshold, so nobody can tell whether the cell is empty or safe::

    lower = v                          upper = max(threshold - v, ratio * v, minimum)

Magnitude cells: nobody may narrow the cell to within ``ratio`` of its value (``ratio`` is the
p % rule's p by default), and where a dominance rule fired, by at least the amount that would
make the cell pass it (tau-ARGUS's protection levels for the p % and (n,k) rules)::

    upper = max(ratio * |v|,  p/100 * top1 - (v - top1 - top2),  100/k * top_n - v,  minimum)
    lower = min(upper, v) when cells cannot be negative, else upper

The p % rule's amount never exceeds ``ratio * v`` with the default ratio; it matters when a
smaller ratio is configured. ``minimum`` (one unit) keeps a cell whose value is zero from being
"protected" by an interval of width zero.

These levels are secret, like the values they derive from: they never enter a record.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from privstats.config import RuleSet
from privstats.exceptions import ConfigError
from privstats.protect.cells import TOP1, TOP2, TOPN, CellKind, Table
from privstats.protect.rules import Rule, Verdicts


@dataclass(frozen=True)
class ProtectionPolicy:
    """How much uncertainty a hidden sensitive cell needs (see the module's documentation)."""

    # Relative protection (fraction of the cell value); None: the p % rule's p / 100.
    ratio: float | None = None
    # Smallest protection of any sensitive cell, in the cell's unit.
    minimum: float = 1.0

    def __post_init__(self) -> None:
        if self.ratio is not None and not 0 < self.ratio <= 1:
            raise ConfigError("protection ratio must lie in (0, 1]")
        if self.minimum <= 0:
            raise ConfigError("minimum protection must be positive")

    def effective_ratio(self, rules: RuleSet) -> float:
        return self.ratio if self.ratio is not None else max(rules.p_ratio, 1.0) / 100.0


@dataclass(frozen=True, eq=False)
class Requirement:
    """Protection levels per cell (zero for cells that need none)."""

    lower: np.ndarray
    upper: np.ndarray

    @property
    def needed(self) -> np.ndarray:
        return (self.lower > 0) | (self.upper > 0)


def requirement(
    table: Table,
    verdicts: Verdicts,
    rules: RuleSet,
    policy: ProtectionPolicy | None = None,
    *,
    counts_rows: bool = False,
) -> Requirement:
    """Protection levels for the cells the primary rules flagged.

    ``counts_rows``: the magnitude counts rows (requests), at least one per person, so a
    request count bounds its persons from above: a cell the threshold flags must then be
    protected like a count of persons (its interval reaching 0 and the threshold), not by a
    tenth of its value."""
    policy = policy or ProtectionPolicy()
    ratio = policy.effective_ratio(rules)
    v = np.nan_to_num(table.values)
    primary = verdicts.primary
    n = table.n
    lower = np.zeros(n)
    upper = np.zeros(n)
    if not table.additive:
        # Without relations a hidden cell is unconstrained; nothing to require of others.
        return Requirement(lower=lower, upper=upper)
    nonneg = table.nonnegative
    if table.kind is CellKind.COUNT:
        up = np.maximum.reduce([rules.threshold - v, ratio * np.abs(v), np.full(n, policy.minimum)])
        low = np.abs(v) if nonneg else np.maximum(ratio * np.abs(v), policy.minimum)
    else:
        cells = table.cells
        top1 = cells[TOP1].to_numpy(float)
        top2 = cells[TOP2].to_numpy(float)
        candidates = [ratio * np.abs(v), np.full(n, policy.minimum)]
        fired = verdicts.flags
        p_amount = rules.p_ratio / 100.0 * top1 - (v - top1 - top2)
        candidates.append(np.where(fired[Rule.P_PERCENT.value], p_amount, 0.0))
        if rules.nk_n <= 2 or TOPN in cells:
            topn = (
                top1 if rules.nk_n == 1
                else top1 + top2 if rules.nk_n == 2
                else cells[TOPN].to_numpy(float)
            )  # fmt: skip
            nk_amount = 100.0 / rules.nk_k * topn - v
            candidates.append(np.where(fired[Rule.DOMINANCE.value], nk_amount, 0.0))
        small = fired[Rule.THRESHOLD.value].to_numpy(bool) if counts_rows else np.zeros(n, bool)
        candidates.append(np.where(small, rules.threshold - v, 0.0))
        up = np.maximum.reduce(candidates)
        low = np.minimum(up, np.abs(v)) if nonneg else up
        low = np.where(small, np.abs(v), low)
    upper[primary] = up[primary]
    lower[primary] = low[primary]
    return Requirement(lower=lower, upper=upper)
