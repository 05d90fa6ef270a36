"""The cell model: a table to protect, its cells and the linear relations linking them.

A table is one row per cell, margin and subtotal cells included, over the full cross product of
its dimensions' codes. Besides its key columns each cell carries

``value``     the true magnitude or count (never leaves this package unprotected),
``persons``   a lower bound on the distinct persons contributing (the caller computes it; across
              key-rotation periods it is the largest single-period count, never a sum),
``top1``      the largest per-person contribution (magnitude cells),
``top2``      the second largest per-person contribution (magnitude cells),
``topn``      optional: the sum of the ``n`` largest contributions, for an (n,k) rule with n > 2,
``negatives`` optional: how many contributions are negative,
``missing``   optional: how many contributors lack the measure,
``magnitude`` optional (statistic cells): the sum a mean is taken of, which the dominance and
              p % rules judge with ``top1``/``top2`` as they judge a sum,
``units``     optional (statistics over units): how many units (organisations) the statistic
              is taken over,
``side``      optional (quantiles): how many units lie below and above the window of units
              the quantile is averaged over, on its thinner side,
``networks``  optional (web tables whose store keeps networks): distinct client networks of
              the cell's busiest key period.

The relations say how totals are made of their parts: for every dimension with margins or a
hierarchy, and every combination of the other dimensions' codes, ``total = sum(parts)``. They
are derived here from the dimension definitions so that no caller writes equations by hand.
Distinct-person counts are not additive (one person visits in several hours), so a table may
declare its relations sub-additive: ``total <= sum(parts)`` and ``part <= total``.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from privstats.exceptions import DisclosureError

TOTAL = "Total"

# Cell columns besides the dimension keys, in the order the table keeps them.
VALUE, PERSONS, TOP1, TOP2, TOPN, NEGATIVES, MISSING = (
    "value", "persons", "top1", "top2", "topn", "negatives", "missing",
)  # fmt: skip
MAGNITUDE, UNITS, SIDE, NETWORKS = "magnitude", "units", "side", "networks"
MARGIN = "is_margin"

_RELATIVE_TOLERANCE = 1e-9


class CellKind(enum.StrEnum):
    """What a table's cells hold; it decides which rules apply and how cells are protected."""

    # The value is a number of distinct persons; the threshold protects it directly.
    COUNT = "count"
    # The value is a sum of per-person contributions (requests, bytes, response time):
    # dominance rules apply to the contributions.
    MAGNITUDE = "magnitude"
    # A mean or quantile: not additive. The threshold applies; a mean also meets the dominance
    # and p % rules through the sum it is taken of, a quantile the quantile rule.
    STATISTIC = "statistic"


class Additivity(enum.StrEnum):
    """How totals relate to their parts."""

    # total == sum(parts): sums of contributions, counts of events.
    EXACT = "exact"
    # total <= sum(parts) and part <= total: distinct-person counts. Where the data happen to
    # add up exactly the relation is kept as an equality, which assumes the attacker knows as
    # much: the safe side.
    SUBADDITIVE = "subadditive"


@dataclass(frozen=True)
class Hierarchy:
    """Subtotals of one dimension, each the sum of its parts.

    ``relations`` lists ``(subtotal, parts)`` among the dimension's own codes; ``tops`` lists the
    decompositions of the grand total (each a tuple of codes summing to it), used when the
    table has margins. Several decompositions may coexist: days add up to ISO weeks and to
    months although weeks straddle months, and both weeks and months add up to the total.
    """

    relations: tuple[tuple[Hashable, tuple[Hashable, ...]], ...]
    tops: tuple[tuple[Hashable, ...], ...]

    def __post_init__(self) -> None:
        if not self.tops:
            raise DisclosureError("a hierarchy needs at least one decomposition of its total")
        for agg, parts in self.relations:
            if not parts:
                raise DisclosureError("a subtotal of a hierarchy has no parts")
            if agg in parts:
                raise DisclosureError("a subtotal of a hierarchy is listed among its own parts")

    @property
    def aggregates(self) -> tuple[Hashable, ...]:
        seen: dict[Hashable, None] = {}
        for agg, _ in self.relations:
            seen.setdefault(agg, None)
        return tuple(seen)

    @property
    def leaves(self) -> tuple[Hashable, ...]:
        aggregates = set(self.aggregates)
        seen: dict[Hashable, None] = {}
        for _, parts in self.relations:
            for part in parts:
                if part not in aggregates:
                    seen.setdefault(part, None)
        for top in self.tops:
            for code in top:
                if code not in aggregates:
                    seen.setdefault(code, None)
        return tuple(seen)

    @classmethod
    def tree(cls, parent: Mapping[Hashable, Hashable]) -> Hierarchy:
        """A tree given as ``{child: parent}``; parents without a parent sum to the total."""
        children: dict[Hashable, list[Hashable]] = {}
        for child, par in parent.items():
            children.setdefault(par, []).append(child)
        roots = [p for p in children if p not in parent]
        if not roots:
            raise DisclosureError("a hierarchy tree has a cycle and no root")
        _check_acyclic(parent)
        relations = tuple((agg, tuple(parts)) for agg, parts in children.items())
        return cls(relations=relations, tops=(tuple(roots),))

    @classmethod
    def groupings(cls, *levels: Mapping[Hashable, Hashable]) -> Hierarchy:
        """Several partitions of the same leaves, ``{leaf: group}`` each, nested or not."""
        if not levels:
            raise DisclosureError("a grouping hierarchy needs at least one level")
        relations: list[tuple[Hashable, tuple[Hashable, ...]]] = []
        tops: list[tuple[Hashable, ...]] = []
        for level in levels:
            groups: dict[Hashable, list[Hashable]] = {}
            for leaf, group in level.items():
                groups.setdefault(group, []).append(leaf)
            relations.extend((g, tuple(parts)) for g, parts in groups.items())
            tops.append(tuple(groups))
        return cls(relations=tuple(relations), tops=tuple(tops))

    @classmethod
    def calendar(
        cls, days: Iterable[dt.date | str], levels: Sequence[str] = ("week", "month")
    ) -> Hierarchy:
        """Days (``YYYY-MM-DD``) grouped into ISO weeks (``YYYY-Www``) and/or months (``YYYY-MM``).

        Weeks at the edges of the period hold only the period's days.
        """
        parsed = sorted({d if isinstance(d, dt.date) else dt.date.fromisoformat(d) for d in days})
        if not parsed:
            raise DisclosureError("a calendar hierarchy needs at least one day")
        maps: list[dict[Hashable, Hashable]] = []
        for level in levels:
            if level == "week":
                maps.append({d.isoformat(): _iso_week(d) for d in parsed})
            elif level == "month":
                maps.append({d.isoformat(): f"{d.year:04d}-{d.month:02d}" for d in parsed})
            else:
                raise DisclosureError("calendar levels are 'week' and 'month'")
        return cls.groupings(*maps)


def _iso_week(day: dt.date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year:04d}-W{week:02d}"


def _check_acyclic(parent: Mapping[Hashable, Hashable]) -> None:
    for start in parent:
        seen = {start}
        node = parent.get(start)
        while node is not None and node in parent:
            if node in seen:
                raise DisclosureError("a hierarchy tree has a cycle")
            seen.add(node)
            node = parent.get(node)


@dataclass(frozen=True, eq=False)
class Relations:
    """Linear relations between cells, stored row-wise: relation ``r`` links cell ``total[r]``
    to cells ``parts[ptr[r]:ptr[r+1]]``; ``exact[r]`` tells an equality from a sub-additive
    relation. Each consumer builds its own solver model from these arrays."""

    total: np.ndarray
    ptr: np.ndarray
    parts: np.ndarray
    exact: np.ndarray

    def __len__(self) -> int:
        return int(self.total.size)

    def parts_of(self, r: int | np.integer) -> np.ndarray:
        return self.parts[self.ptr[r] : self.ptr[r + 1]]

    def __iter__(self):
        for r in range(len(self)):
            yield int(self.total[r]), self.parts_of(r), bool(self.exact[r])

    @classmethod
    def empty(cls) -> Relations:
        z = np.zeros(0, dtype=np.int64)
        return cls(total=z, ptr=np.zeros(1, dtype=np.int64), parts=z, exact=np.zeros(0, bool))


@dataclass(frozen=True, eq=False)
class Table:
    """A table to protect: its cells (canonical order, position = cell id) and relations."""

    dims: tuple[str, ...]
    cells: pd.DataFrame
    relations: Relations
    kind: CellKind
    total_code: Hashable = TOTAL
    codes: Mapping[str, tuple[Hashable, ...]] = field(default_factory=dict)
    hierarchies: Mapping[str, Hierarchy] = field(default_factory=dict)

    def __post_init__(self) -> None:
        missing = [c for c in (*self.dims, VALUE, PERSONS, TOP1, TOP2) if c not in self.cells]
        if missing:
            raise DisclosureError(f"the cell frame lacks the columns {', '.join(missing)}")
        if not self.cells.index.equals(pd.RangeIndex(len(self.cells))):
            raise DisclosureError("the cell frame must be indexed 0..n-1 in canonical order")

    @property
    def n(self) -> int:
        return len(self.cells)

    @property
    def values(self) -> np.ndarray:
        return self.cells[VALUE].to_numpy(dtype=float)

    @property
    def persons(self) -> np.ndarray:
        return self.cells[PERSONS].to_numpy(dtype=float)

    @property
    def keys(self) -> pd.DataFrame:
        """The cells' keys only: safe to show, record and log."""
        return self.cells[list(self.dims)]

    def containing(self) -> list[np.ndarray]:
        """For each cell, the cells it adds up into, itself included (subtotals, totals)."""
        ups: list[dict[Hashable, list[int]]] = []
        for dim in self.dims:
            codes = self.codes[dim]
            where = {code: i for i, code in enumerate(codes)}
            parents: dict[Hashable, set[Hashable]] = {}
            hierarchy = self.hierarchies.get(dim)
            for agg, parts in hierarchy.relations if hierarchy else ():
                for part in parts:
                    parents.setdefault(part, set()).add(agg)
            if self.total_code in where:
                tops = (
                    hierarchy.tops
                    if hierarchy
                    else (tuple(c for c in codes if c != self.total_code),)
                )
                for top in tops:
                    for code in top:
                        parents.setdefault(code, set()).add(self.total_code)
            closed: dict[Hashable, list[int]] = {}
            for code in codes:
                seen, todo = {code}, list(parents.get(code, ()))
                while todo:
                    up = todo.pop()
                    if up not in seen:
                        seen.add(up)
                        todo.extend(parents.get(up, ()))
                closed[code] = sorted(where[c] for c in seen)
            ups.append(closed)
        shape = [len(self.codes[d]) for d in self.dims]
        strides = [int(np.prod(shape[a + 1 :])) for a in range(len(shape))]
        out = []
        for position in np.indices(shape).reshape(len(shape), -1).T:
            ids = np.zeros(1, dtype=np.int64)
            for axis, dim in enumerate(self.dims):
                options = np.asarray(ups[axis][self.codes[dim][position[axis]]], dtype=np.int64)
                ids = (ids[:, None] + options[None, :] * strides[axis]).ravel()
            out.append(np.sort(ids))
        return out

    @property
    def is_margin(self) -> np.ndarray:
        return self.cells[MARGIN].to_numpy(dtype=bool)

    @property
    def empty(self) -> np.ndarray:
        """Cells nobody contributes to: published as known zeros, never used to hide others."""
        return (self.persons <= 0) & (np.nan_to_num(self.values) == 0)

    @property
    def nonnegative(self) -> bool:
        """Whether an attacker may assume every cell is at least zero."""
        neg = self.cells[NEGATIVES].to_numpy(dtype=float) if NEGATIVES in self.cells else 0
        return bool(np.all(np.nan_to_num(self.values) >= 0) and np.all(neg == 0))

    @property
    def additive(self) -> bool:
        return self.kind is not CellKind.STATISTIC and len(self.relations) > 0

    @classmethod
    def from_frame(
        cls,
        frame: pd.DataFrame,
        dims: Sequence[str],
        *,
        kind: CellKind | str = CellKind.MAGNITUDE,
        margins: bool = True,
        hierarchies: Mapping[str, Hierarchy] | None = None,
        additivity: Additivity | str = Additivity.EXACT,
        total_code: Hashable = TOTAL,
        value: str = VALUE,
        persons: str = PERSONS,
        top1: str = TOP1,
        top2: str = TOP2,
        topn: str | None = None,
        negatives: str | None = None,
        missing: str | None = None,
        magnitude: str | None = None,
        units: str | None = None,
        side: str | None = None,
        networks: str | None = None,
    ) -> Table:
        """Build a table from one row per cell, margins included (``total_code`` in a key).

        Cells absent from ``frame`` are empty (zero, nobody). Raises ``DisclosureError`` when a
        total does not match its parts, so a table that does not add up is never protected as
        if it did.
        """
        kind = CellKind(kind)
        additivity = Additivity(additivity)
        dims = tuple(dims)
        hierarchies = dict(hierarchies or {})
        if not dims:
            raise DisclosureError("a table needs at least one dimension")
        if len(set(dims)) != len(dims):
            raise DisclosureError("a table's dimensions must be distinct")
        if unknown := set(hierarchies) - set(dims):
            raise DisclosureError(f"hierarchies given for unknown dimensions: {sorted(unknown)}")
        needed = [*dims, value] + ([persons] if kind is not CellKind.COUNT else [])
        if absent := [c for c in needed if c not in frame.columns]:
            raise DisclosureError(f"the cell frame lacks the columns {', '.join(absent)}")

        codes: dict[str, tuple[Hashable, ...]] = {}
        dim_relations: dict[str, list[tuple[Hashable, tuple[Hashable, ...]]]] = {}
        for dim in dims:
            codes[dim], dim_relations[dim] = _dimension_codes(
                frame[dim], hierarchies.get(dim), margins, total_code
            )

        shape = tuple(len(codes[d]) for d in dims)
        n = int(np.prod(shape))
        positions = np.zeros(len(frame), dtype=np.int64)
        stride = 1
        for axis in range(len(dims) - 1, -1, -1):
            dim = dims[axis]
            index = pd.Index(codes[dim])
            at = index.get_indexer(pd.Index(frame[dim]))
            if (at < 0).any():
                raise DisclosureError(f"dimension '{dim}' has codes outside its hierarchy")
            positions += at * stride
            stride *= shape[axis]
        if len(np.unique(positions)) != len(positions):
            raise DisclosureError("the cell frame has more than one row for a cell")

        grid = np.indices(shape).reshape(len(dims), -1)
        cells = pd.DataFrame(
            {d: pd.Series(np.asarray(codes[d], dtype=object)[grid[a]]) for a, d in enumerate(dims)}
        )
        fill = np.nan if kind is CellKind.STATISTIC else 0.0

        def column(name: str | None, default: float) -> np.ndarray:
            out = np.full(n, default, dtype=float)
            if name is not None:
                out[positions] = pd.to_numeric(frame[name], errors="coerce").to_numpy(float)
            return out

        cells[VALUE] = column(value, fill)
        cells[PERSONS] = column(persons if persons in frame.columns else value, 0.0)
        leaders = kind is CellKind.MAGNITUDE or magnitude is not None
        cells[TOP1] = column(top1 if leaders and top1 in frame.columns else None, 0.0)
        cells[TOP2] = column(top2 if leaders and top2 in frame.columns else None, 0.0)
        if topn is not None:
            cells[TOPN] = column(topn, 0.0)
        cells[NEGATIVES] = column(negatives, 0.0)
        cells[MISSING] = column(missing, 0.0)
        extra = ((MAGNITUDE, magnitude), (UNITS, units), (SIDE, side), (NETWORKS, networks))
        for name, given in extra:
            if given is not None:
                cells[name] = column(given, np.nan)
        aggregate_sets = {d: {agg for agg, _ in dim_relations[d]} for d in dims}
        cells[MARGIN] = np.zeros(n, dtype=bool)
        for d in dims:
            cells[MARGIN] |= cells[d].isin(aggregate_sets[d]).to_numpy()
        if leaders and (top1 not in frame.columns or top2 not in frame.columns):
            raise DisclosureError("a magnitude table needs top1 and top2 per cell")

        if kind is CellKind.STATISTIC:
            relations = Relations.empty()
        else:
            relations = _relations(shape, dims, codes, dim_relations)
            relations = _check_additivity(relations, cells[VALUE].to_numpy(float), additivity)
        return cls(
            dims=dims, cells=cells, relations=relations, kind=kind,
            total_code=total_code, codes=codes, hierarchies=hierarchies,
        )  # fmt: skip


def _sort_codes(codes: Iterable[Hashable]) -> list[Hashable]:
    # Mixed types (an hour 3 beside a code '3') must still sort the same way every run.
    return sorted(codes, key=lambda c: (type(c).__name__, c))


def _dimension_codes(
    column: pd.Series, hierarchy: Hierarchy | None, margins: bool, total_code: Hashable
) -> tuple[tuple[Hashable, ...], list[tuple[Hashable, tuple[Hashable, ...]]]]:
    present = [c for c in pd.unique(column) if c != total_code]
    if any(pd.isna(c) for c in present):
        raise DisclosureError("a dimension key is missing in some cells")
    relations: list[tuple[Hashable, tuple[Hashable, ...]]] = []
    if hierarchy is None:
        leaves = _sort_codes(present)
        aggregates: list[Hashable] = []
        if margins:
            relations.append((total_code, tuple(leaves)))
    else:
        aggregates = list(hierarchy.aggregates)
        known = set(hierarchy.leaves) | set(aggregates)
        if any(c not in known for c in present):
            raise DisclosureError("a dimension has codes its hierarchy does not define")
        leaves = _sort_codes(hierarchy.leaves)
        relations.extend(hierarchy.relations)
        if margins:
            relations.extend((total_code, tuple(top)) for top in hierarchy.tops)
    ordered = [*leaves, *aggregates] + ([total_code] if margins else [])
    if margins and not leaves:
        raise DisclosureError("a dimension has no codes")
    return tuple(ordered), relations


def _relations(
    shape: tuple[int, ...],
    dims: tuple[str, ...],
    codes: Mapping[str, tuple[Hashable, ...]],
    dim_relations: Mapping[str, list[tuple[Hashable, tuple[Hashable, ...]]]],
) -> Relations:
    """Every ``total = sum(parts)`` along each dimension, for all codes of the others."""
    grid = np.arange(int(np.prod(shape))).reshape(shape)
    totals: list[np.ndarray] = []
    parts_rows: list[list[np.ndarray]] = []
    for axis, dim in enumerate(dims):
        where = {code: i for i, code in enumerate(codes[dim])}
        for agg, members in dim_relations[dim]:
            a = where[agg]
            p = np.array([where[c] for c in members], dtype=np.int64)
            tot = np.take(grid, a, axis=axis).ravel()
            par = np.moveaxis(np.take(grid, p, axis=axis), axis, -1).reshape(tot.size, p.size)
            totals.append(tot)
            parts_rows.append([par])
    if not totals:
        return Relations.empty()
    total = np.concatenate(totals)
    lengths = np.concatenate(
        [np.full(t.size, rows[0].shape[1]) for t, rows in zip(totals, parts_rows, strict=True)]
    )
    ptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    parts = np.concatenate([rows[0].ravel() for rows in parts_rows]).astype(np.int64)
    return Relations(total=total.astype(np.int64), ptr=ptr, parts=parts,
                     exact=np.ones(total.size, dtype=bool))  # fmt: skip


def _check_additivity(
    relations: Relations, values: np.ndarray, additivity: Additivity
) -> Relations:
    if np.isnan(values).any():
        raise DisclosureError("an additive table has cells without a value")
    sums = np.add.reduceat(values[relations.parts], relations.ptr[:-1]) if len(relations) else 0.0
    totals = values[relations.total]
    scale = np.maximum(1.0, np.abs(totals))
    gap = totals - sums
    equal = np.abs(gap) <= _RELATIVE_TOLERANCE * scale
    if additivity is Additivity.EXACT:
        if not equal.all():
            raise DisclosureError(
                f"{int((~equal).sum())} totals of the table do not equal the sum of their parts"
            )
        return relations
    over = gap > _RELATIVE_TOLERANCE * scale
    part_max = np.maximum.reduceat(values[relations.parts], relations.ptr[:-1])
    under = part_max > totals + _RELATIVE_TOLERANCE * scale
    if over.any() or under.any():
        raise DisclosureError(
            f"{int((over | under).sum())} totals of the table are not sub-additive in their parts"
        )
    return Relations(total=relations.total, ptr=relations.ptr, parts=relations.parts, exact=equal)
