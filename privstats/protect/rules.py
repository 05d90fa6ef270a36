"""Primary disclosure rules: which cells may not be shown as they are.

Each rule is an enum member; its parameters come from ``privstats.config.RuleSet``. The
comparisons follow ACRO 1.0.2 so that verdicts match it cell for cell (a test holds us to
that), with two deliberate differences, both about cells nobody contributes to:

* the threshold rule judges cells with at least one person; an empty cell is the zeros rule's
  business (ACRO's threshold mask also flags empty cells, making its zeros switch moot);
* thresholds count persons, not rows: one busy visitor with 5,000 requests is one contributor.

Rules on magnitude cells use per-person contributions (``top1``, ``top2``, ``topn``); a mean
meets them too, through the sum it is taken of (``magnitude``), as ACRO treats a mean:

``THRESHOLD``  0 < persons < threshold (every kind of cell, means and quantiles included);
``DOMINANCE``  (n,k): the n largest contributions make up at least k % of the cell total;
``P_PERCENT``  total - top1 - top2 < p/100 * top1: the second largest contributor could
               estimate the largest to within p %; a cell of contributions that are all zero
               is flagged too, since it tells every contributor's value;
``UNITS``      a statistic over units (persons per organisation, say) is taken over fewer
               than ``threshold`` units: a statistic of three organisations describes each;
``QUANTILE``   a quantile's window of units (see ``privstats.tabulate``) has fewer than
               ``quantile_side`` units below or above it: a p99 of 80 persons would be the
               largest person's value;
``NETWORKS``   the persons of a web cell come from fewer than ``min_networks`` client networks
               (where the store keeps networks): padding a cell with visitors from one network
               is cheap;
``ZEROS``      nobody contributes (only when ``check_zeros``);
``NEGATIVE``   some contribution is negative, where dominance is undefined (``check_negative``);
``MISSING``    some contributor lacks the measure (``check_missing``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np
import pandas as pd

from privstats.config import RuleSet
from privstats.exceptions import DisclosureError
from privstats.protect.cells import (
    MAGNITUDE,
    MISSING,
    NEGATIVES,
    NETWORKS,
    SIDE,
    TOP1,
    TOP2,
    TOPN,
    UNITS,
    CellKind,
    Table,
)


class Rule(enum.StrEnum):
    THRESHOLD = "threshold"
    DOMINANCE = "nk"
    P_PERCENT = "p_percent"
    UNITS = "units"
    QUANTILE = "quantile"
    NETWORKS = "networks"
    ZEROS = "zeros"
    NEGATIVE = "negative"
    MISSING = "missing"


@dataclass(frozen=True, eq=False)
class Verdicts:
    """Per cell, which rules fired. ``flags`` has one boolean column per rule."""

    flags: pd.DataFrame

    @property
    def primary(self) -> np.ndarray:
        # np.any, not .any(): numpy's stubs type the method's result as a scalar or an array
        return np.any(self.flags.to_numpy(dtype=bool), axis=1)

    def fired(self, cell: int) -> tuple[Rule, ...]:
        row = self.flags.iloc[cell]
        # The columns are rule values (str); pandas types a label as any Hashable.
        return tuple(Rule(str(name)) for name, hit in row.items() if hit)

    def count(self) -> dict[str, int]:
        return {name: int(self.flags[name].sum()) for name in self.flags.columns}


def assess(table: Table, rules: RuleSet) -> Verdicts:
    """Apply every configured primary rule to every cell of ``table``."""
    cells = table.cells
    persons = table.persons
    magnitude = table.kind is CellKind.MAGNITUDE or MAGNITUDE in cells
    # The total the magnitude rules judge: a mean's sum, or the cell itself.
    value = cells[MAGNITUDE].to_numpy(float) if MAGNITUDE in cells else table.values
    n = table.n
    none = np.zeros(n, dtype=bool)

    threshold = (persons >= 1) & (persons < rules.threshold)
    units = cells[UNITS].to_numpy(float) if UNITS in cells else np.full(n, np.nan)
    few_units = (persons >= 1) & (np.nan_to_num(units, nan=np.inf) < rules.threshold)
    side = cells[SIDE].to_numpy(float) if SIDE in cells else np.full(n, np.nan)
    quantile = (persons >= 1) & (np.nan_to_num(side, nan=np.inf) < rules.quantile_side)
    networks = cells[NETWORKS].to_numpy(float) if NETWORKS in cells else np.full(n, np.nan)
    few_networks = (persons >= 1) & (np.nan_to_num(networks, nan=np.inf) < rules.min_networks)

    negatives = cells[NEGATIVES].to_numpy(float) if NEGATIVES in cells else np.zeros(n)
    negative = ((negatives > 0) | (np.nan_to_num(value) < 0)) if rules.check_negative else none
    missing_count = cells[MISSING].to_numpy(float) if MISSING in cells else np.zeros(n)
    is_nan = np.isnan(value) & (persons >= 1)
    missing = ((missing_count > 0) | is_nan) if rules.check_missing else none
    zeros = (persons <= 0) if rules.check_zeros else none

    if magnitude:
        top1 = cells[TOP1].to_numpy(float)
        top2 = cells[TOP2].to_numpy(float)
        topn = _top_n(table, rules.nk_n, top1, top2)
        contributes = persons >= 1
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.where(value != 0, topn / value, np.nan)
        dominance = contributes & (share >= rules.nk_k / 100.0)
        remainder = value - top1 - top2
        all_zero = contributes & (top1 == 0) & (remainder <= 0)
        p_percent = contributes & (
            (top1 > 0) & (remainder < rules.p_ratio / 100.0 * top1) | all_zero
        )
        # Dominance is undefined with negative contributions; NEGATIVE hides those cells.
        if rules.check_negative:
            dominance &= ~negative
            p_percent &= ~negative
    else:
        dominance = p_percent = none

    flags = pd.DataFrame(
        {
            Rule.THRESHOLD.value: threshold,
            Rule.DOMINANCE.value: dominance,
            Rule.P_PERCENT.value: p_percent,
            Rule.UNITS.value: few_units,
            Rule.QUANTILE.value: quantile,
            Rule.NETWORKS.value: few_networks,
            Rule.ZEROS.value: zeros,
            Rule.NEGATIVE.value: negative,
            Rule.MISSING.value: missing,
        }
    )
    return Verdicts(flags=flags)


def _top_n(table: Table, n: int, top1: np.ndarray, top2: np.ndarray) -> np.ndarray:
    if n == 1:
        return top1
    if n == 2:
        return top1 + top2
    if TOPN not in table.cells:
        raise DisclosureError(f"an (n,k) rule with n = {n} needs the 'topn' column of each cell")
    return table.cells[TOPN].to_numpy(float)
