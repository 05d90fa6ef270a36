"""Tables recomputed from the store, and the published CSV cells placed onto their cells.

**The recomputation.** A table's record holds the query ``privstats.crosstab`` ran (table,
index, columns, values, measure, margins, start, end, where, hierarchies, cap, tz, and any
further option such as ``versus`` or ``per``). The gate needs the *true* table behind it (every
cell's value and contributors), which ``crosstab`` never returns. :func:`true_table` replays
the query through the tabulation engine, the very step ``crosstab`` protects: the gate then
judges exactly the table the report was made from, by the same code path, rather than a
second implementation that could drift from it. A query this version of ``crosstab`` cannot
replay is a ``RecomputeError``, never a silent pass.

**The placement.** A CSV shows a table laid out for reading: some dimensions down, some across,
codes renamed for display (``True`` → "bots"), maybe only the top rows. The manifest does not
record the layout, so :func:`place` finds it: for each way of putting the dimensions down and
across that fits the CSV's shape, labels equal to a code match it; labels that match no code
(renamed categories) are matched to the remaining codes by the values they show. A layout in
which every shown number equals the true one wins; failing that, the layout with the fewest
disagreements is returned, so that the gate can name the cells that disagree.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Hashable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from privstats.config import RuleSet
from privstats.exceptions import ConfigError, DisclosureError, PrivstatsError
from privstats.gate.published import PublishedCell, PublishedTable
from privstats.protect import Table
from privstats.report.table import CellState
from privstats.store import Store
from privstats.tabulate.query import Query

# More label assignments than this per layout are not tried: the table is reported as not
# placeable rather than the audit taking minutes.
MAX_ASSIGNMENTS = 5040
_TOLERANCE = 1e-9
COUNT_MEASURES = frozenset({"visitors", "requests"})
_RULE_FIELDS = frozenset(f.name for f in dataclasses.fields(RuleSet))


class RecomputeError(PrivstatsError):
    """A recorded query cannot be run again on the store (one line, no data in it)."""


def dims_of(query: Mapping[str, Any]) -> tuple[str, ...]:
    return (*_names(query.get("index")), *_names(query.get("columns")))


def _names(value: Any) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else [str(v) for v in value]


def recorded_query(query: Mapping[str, Any]) -> Query:
    """The typed query a record holds (of this version or the first)."""
    try:
        return Query.from_dict(query)
    except DisclosureError as error:
        raise RecomputeError(f"the recorded query cannot be read: {error}") from None


def true_table(
    query: Mapping[str, Any] | Query, store: Store, rules: Mapping[str, Any] | None = None
) -> Table:
    """The unprotected table behind a recorded query, built by ``crosstab``'s own code path."""
    from privstats.tabulate import _engine

    typed = query if isinstance(query, Query) else recorded_query(query)
    try:
        ruleset = RuleSet(**{k: v for k, v in (rules or {}).items() if k in _RULE_FIELDS})
        table = _engine.true_table(typed, store, ruleset).grid
    except (DisclosureError, ConfigError, TypeError) as error:
        raise RecomputeError(f"the recorded query cannot be run again: {error}") from None
    if table is None:
        raise RecomputeError("the store holds no rows for this query any more")
    return table


def code_text(code: Hashable) -> str:
    """A cell code as the report writes it in a label."""
    if isinstance(code, float) and code.is_integer():
        return str(int(code))
    if code is None or (isinstance(code, float) and math.isnan(code)):
        return ""
    return str(code)


@dataclass(frozen=True)
class Placement:
    """Where each published cell sits in the true table."""

    index: tuple[str, ...]
    columns: tuple[str, ...]
    cell_of: Mapping[tuple[int, int], int]  # (data row, value column) -> cell id
    disagreements: tuple[tuple[int, int], ...]  # published cells that disagree with the truth
    renamed: int  # labels matched by value rather than by text

    @property
    def exact(self) -> bool:
        return not self.disagreements


def agrees(cell: PublishedCell, truth: float, method: str, rules: Mapping[str, Any]) -> bool:
    """Whether a published cell can be the true value ``truth`` under the table's method."""
    if cell.state is CellState.HIDDEN:
        return True
    if cell.state is CellState.MISSING:
        return math.isnan(truth)
    if cell.state is CellState.TEXT:
        threshold = int(rules.get("threshold", 10))
        return (
            method == "less_than" and cell.value == f"<{threshold}"
            and not math.isnan(truth) and 1 <= truth <= threshold - 1
        )  # fmt: skip
    # A VALUE cell's value is a number (Cell checks it); the type allows text and None.
    shown = float(cell.value)  # type: ignore[arg-type]
    if math.isnan(truth):
        return False
    if method == "round":
        base = int(rules.get("round_base", 5))
        return shown % base == 0 and abs(shown - truth) <= base - 1 + _TOLERANCE
    return abs(shown - truth) <= _TOLERANCE * max(1.0, abs(truth))


def place(
    published: PublishedTable, table: Table, method: str, rules: Mapping[str, Any]
) -> Placement | None:
    """The layout and label matching that fits the CSV best (see the module's notes)."""
    dims = table.dims
    levels = published.label_columns
    codes = {d: {code_text(c): i for i, c in enumerate(table.codes[d])} for d in dims}
    position = _positions(table)
    values = table.values
    best: Placement | None = None
    for index in itertools.permutations(dims, min(levels, len(dims))):
        if len(index) != levels:
            continue
        rest = [d for d in dims if d not in index]
        for columns in itertools.permutations(rest):
            for placement in _placements(published, index, columns, codes, position, values,
                                         method, rules):  # fmt: skip
                if best is None or _better(placement, best):
                    best = placement
                if best.exact and best.renamed == 0:
                    return best
    return best


def _better(a: Placement, b: Placement) -> bool:
    return (len(a.disagreements), a.renamed) < (len(b.disagreements), b.renamed)


def _positions(table: Table) -> dict[tuple[int, ...], int]:
    """Cell id of each tuple of code positions (one per dimension)."""
    index_of = {d: {c: i for i, c in enumerate(table.codes[d])} for d in table.dims}
    keys = table.keys
    return {
        tuple(index_of[d][code] for d, code in zip(table.dims, row, strict=True)): cell
        for cell, row in enumerate(keys.itertuples(index=False, name=None))
    }


def _placements(
    published: PublishedTable,
    index: tuple[str, ...],
    columns: tuple[str, ...],
    codes: Mapping[str, Mapping[str, int]],
    position: Mapping[tuple[int, ...], int],
    values: np.ndarray,
    method: str,
    rules: Mapping[str, Any],
) -> Iterator[Placement]:
    if not columns and len(published.column_labels) != 1:
        return
    column_parts: list[tuple[str, ...]] = []
    for label in published.column_labels:
        parts = tuple(label.split(" / ")) if len(columns) > 1 else (label,)
        if columns and len(parts) != len(columns):
            return
        column_parts.append(parts if columns else ())
    seen: dict[str, set[str]] = {d: set() for d in (*index, *columns)}
    for labels in published.labels:
        for dim, label in zip(index, labels, strict=True):
            seen[dim].add(label)
    for parts in column_parts:
        for dim, label in zip(columns, parts, strict=True):
            seen[dim].add(label)
    choices: list[list[dict[str, int]]] = []
    for dim in (*index, *columns):
        options = list(_assignments(seen[dim], codes[dim]))
        if not options:
            return
        choices.append(options)
    total = math.prod(len(options) for options in choices)
    if total > MAX_ASSIGNMENTS:
        return
    dims = (*index, *columns)
    order = list(codes)  # the table's own dimension order
    for combination in itertools.product(*choices):
        mapping = dict(zip(dims, combination, strict=True))
        renamed = sum(
            1 for dim in dims for label, at in mapping[dim].items()
            if label != _name_of(codes[dim], at)
        )  # fmt: skip
        cell_of: dict[tuple[int, int], int] = {}
        disagreements: list[tuple[int, int]] = []
        unplaced = False
        for r, labels in enumerate(published.labels):
            for c, parts in enumerate(column_parts):
                at = {d: mapping[d][lab] for d, lab in zip(index, labels, strict=True)}
                at |= {d: mapping[d][lab] for d, lab in zip(columns, parts, strict=True)}
                cell = position.get(tuple(at[d] for d in order))
                if cell is None or (r, c) in cell_of:
                    unplaced = True
                    break
                cell_of[(r, c)] = cell
                if not agrees(published.cells[r][c], float(values[cell]), method, rules):
                    disagreements.append((r, c))
            if unplaced:
                break
        if unplaced or len(set(cell_of.values())) != len(cell_of):
            continue
        yield Placement(index, columns, cell_of, tuple(disagreements), renamed)


def _name_of(codes: Mapping[str, int], at: int) -> str | None:
    return next((text for text, i in codes.items() if i == at), None)


def _assignments(labels: set[str], codes: Mapping[str, int]) -> Iterator[dict[str, int]]:
    """Injective label -> code position maps: equal texts fixed, the rest every way."""
    fixed = {label: codes[label] for label in labels if label in codes}
    free_labels = sorted(labels - fixed.keys())
    free_codes = sorted(set(codes.values()) - set(fixed.values()))
    if len(free_labels) > len(free_codes):
        return
    chosen_ways = itertools.permutations(free_codes, len(free_labels))
    for chosen in itertools.islice(chosen_ways, MAX_ASSIGNMENTS):
        yield fixed | dict(zip(free_labels, chosen, strict=True))
