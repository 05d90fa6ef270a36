"""Primary disclosure rules: which cells may not be shown as they are.

Each rule is one class in ``RULES`` (its name an enum member, its settings fields of
``privstats.config.RuleSet``): a new rule is one more class, registered with ``@primary``. The
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

import abc
import enum
from dataclasses import dataclass
from functools import cached_property
from typing import ClassVar, TypeVar

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


@dataclass(frozen=True, eq=False)
class Cells:
    """What the rules read of a table's cells: persons, the value they judge (a mean's sum, or
    the cell itself), and the optional columns, each as an array (NaN or 0 where absent)."""

    table: Table
    rules: RuleSet

    def column(self, name: str, absent: float = np.nan) -> np.ndarray:
        cells = self.table.cells
        return cells[name].to_numpy(float) if name in cells else np.full(self.table.n, absent)

    @cached_property
    def persons(self) -> np.ndarray:
        return self.table.persons

    @cached_property
    def contributes(self) -> np.ndarray:
        return self.persons >= 1

    @cached_property
    def value(self) -> np.ndarray:
        return self.column(MAGNITUDE) if MAGNITUDE in self.table.cells else self.table.values

    @cached_property
    def magnitude(self) -> bool:
        return self.table.kind is CellKind.MAGNITUDE or MAGNITUDE in self.table.cells

    @cached_property
    def negative(self) -> np.ndarray:
        if not self.rules.check_negative:
            return np.zeros(self.table.n, dtype=bool)
        return (self.column(NEGATIVES, 0.0) > 0) | (np.nan_to_num(self.value) < 0)

    def fewer(self, name: str, least: float) -> np.ndarray:
        """Cells with persons whose ``name`` column (where there is one) is below ``least``."""
        return self.contributes & (np.nan_to_num(self.column(name), nan=np.inf) < least)


class PrimaryRule(abc.ABC):
    """One primary rule: the cells it hides."""

    rule: ClassVar[Rule]

    @abc.abstractmethod
    def fires(self, cells: Cells) -> np.ndarray: ...


# Every primary rule, in the order their columns appear in ``Verdicts.flags``.
RULES: dict[Rule, PrimaryRule] = {}
_P = TypeVar("_P", bound=type[PrimaryRule])


def primary(cls: _P) -> _P:
    """Registers a rule class in ``RULES``."""
    RULES[cls.rule] = cls()
    return cls


@primary
class Threshold(PrimaryRule):
    rule = Rule.THRESHOLD

    def fires(self, cells: Cells) -> np.ndarray:
        return cells.contributes & (cells.persons < cells.rules.threshold)


@primary
class Dominance(PrimaryRule):
    rule = Rule.DOMINANCE

    def fires(self, cells: Cells) -> np.ndarray:
        if not cells.magnitude:
            return np.zeros(cells.table.n, dtype=bool)
        top1, top2 = cells.column(TOP1), cells.column(TOP2)
        topn = _top_n(cells.table, cells.rules.nk_n, top1, top2)
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.where(cells.value != 0, topn / cells.value, np.nan)
        # Dominance is undefined with negative contributions; NEGATIVE hides those cells.
        return cells.contributes & (share >= cells.rules.nk_k / 100.0) & ~cells.negative


@primary
class PPercent(PrimaryRule):
    rule = Rule.P_PERCENT

    def fires(self, cells: Cells) -> np.ndarray:
        if not cells.magnitude:
            return np.zeros(cells.table.n, dtype=bool)
        top1, top2 = cells.column(TOP1), cells.column(TOP2)
        remainder = cells.value - top1 - top2
        all_zero = cells.contributes & (top1 == 0) & (remainder <= 0)
        near = (top1 > 0) & (remainder < cells.rules.p_ratio / 100.0 * top1)
        return cells.contributes & (near | all_zero) & ~cells.negative


@primary
class Units(PrimaryRule):
    rule = Rule.UNITS

    def fires(self, cells: Cells) -> np.ndarray:
        return cells.fewer(UNITS, cells.rules.threshold)


@primary
class Quantile(PrimaryRule):
    rule = Rule.QUANTILE

    def fires(self, cells: Cells) -> np.ndarray:
        return cells.fewer(SIDE, cells.rules.quantile_side)


@primary
class Networks(PrimaryRule):
    rule = Rule.NETWORKS

    def fires(self, cells: Cells) -> np.ndarray:
        return cells.fewer(NETWORKS, cells.rules.min_networks)


@primary
class Zeros(PrimaryRule):
    rule = Rule.ZEROS

    def fires(self, cells: Cells) -> np.ndarray:
        return (cells.persons <= 0) & cells.rules.check_zeros


@primary
class Negative(PrimaryRule):
    rule = Rule.NEGATIVE

    def fires(self, cells: Cells) -> np.ndarray:
        return cells.negative


@primary
class Missing(PrimaryRule):
    rule = Rule.MISSING

    def fires(self, cells: Cells) -> np.ndarray:
        if not cells.rules.check_missing:
            return np.zeros(cells.table.n, dtype=bool)
        is_nan = np.isnan(cells.value) & cells.contributes
        return (cells.column(MISSING, 0.0) > 0) | is_nan


def assess(table: Table, rules: RuleSet) -> Verdicts:
    """Apply every registered primary rule to every cell of ``table``."""
    cells = Cells(table, rules)
    return Verdicts(pd.DataFrame({rule.value: check.fires(cells) for rule, check in RULES.items()}))


def _top_n(table: Table, n: int, top1: np.ndarray, top2: np.ndarray) -> np.ndarray:
    if n == 1:
        return top1
    if n == 2:
        return top1 + top2
    if TOPN not in table.cells:
        raise DisclosureError(f"an (n,k) rule with n = {n} needs the 'topn' column of each cell")
    return table.cells[TOPN].to_numpy(float)
