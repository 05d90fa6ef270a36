"""Differencing: two tables that are each safe, whose difference isolates a handful of persons.

A table for 1–31 October and one for 1–30 October, or one for all partners and one for all
partners but one, pass the threshold each; subtracted, cell by cell, they give the 31st of
October, or the one partner, which may hold two persons. The gate pairs each table of the
audited report with every other table of the report and every released table in the ledger,
and recomputes from the store, cell by cell, who is in one population and not in the other.

**What is compared.** Two tables are comparable when they count the same thing the same way:
the same store table, measure, measured column, set of dimensions, contribution cap, time zone
and hierarchies (margins may differ: only cells present in both are compared). Their filters
(period ``start``/``end``, ``where`` on any column) may be nested, overlapping or disjoint.

**What is flagged.** For each cell shown as a number in both tables, let ``A \\ B`` be the
persons the difference ``A − B`` is made of: for person counts, the persons counted in A's cell
and not in B's; for requests, sums, means and quantiles, the persons with rows in A's cell
that B's filter leaves out. The pair is flagged in that cell when the cell is nested (B's cell
holds nobody that A's leaves out) and ``A \\ B`` holds at least one and fewer than ``threshold``
persons (the larger of the two tables' thresholds; persons counted as ``tabulate`` counts them,
the largest single key period, the safe side for a lower bound). Both directions are checked.
Overlapping filters are flagged in the cells where they happen to nest.

**Same query, other numbers.** A table released before with exactly the same query and
protection method (the same report re-run after late logs or an erasure) is compared by its
shown numbers: for person and request counts, a cell shown in both whose numbers differ by
more than nothing and less than the threshold is flagged. This needs no store.

**Same query, two methods.** The same query published by two protection methods (suppressed
and rounded, say), in one report or across releases, is flagged whenever either of them hides a
cell or shows it as ``<N``: each table passed its own audit, but the other's numbers narrow its
protected cells, and the audits do not see the tables together (linked tables).

**Not covered** (the reviewer's judgement remains):

- differences across more than two tables (A − B − C, or a cell recovered from three
  overlapping periods);
- linked tables of different dimensions that share a margin (the browser totals of a rounded
  "browser by device" table narrowing a suppressed "by browser" table): each is audited alone;
- overlapping filters in cells where neither population nests in the other
  (``A − B = (A \\ B) − (B \\ A)`` mixes two groups);
- tables of different time zones, caps or measures;
- hidden cells of either table (the threshold audit protects those);
- a ``where`` on a value missing in the store (read as "(none)");
- statistics (means, quantiles) are flagged like sums, although one small group moves them
  less; tables whose layout the gate cannot place are taken as showing every cell (the safe
  side).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from privstats.gate.findings import Check, DifferencingPair, GateFinding
from privstats.gate.published import PublishedTable
from privstats.gate.recompute import (
    COUNT_MEASURES,
    RecomputeError,
    code_text,
    dims_of,
    recorded_query,
    rows_for,
)
from privstats.protect import TOTAL
from privstats.report.table import CellState
from privstats.store import Store

Key = tuple[str, ...]


@dataclass(frozen=True)
class TableRef:
    """A table taking part in the check: its query and which of its cells it shows."""

    label: str  # how the reviewer finds it: "<report folder>/<table>" or "release <id>: ..."
    query: Mapping[str, Any]
    threshold: int
    # Keys (codes in sorted dimension order) of cells shown as numbers; None: every cell.
    shown: frozenset[Key] | None
    published: PublishedTable | None = None
    # Where each shown key sits in the CSV (audited tables only), for the reviewer.
    locations: Mapping[Key, str] | None = None
    file: str = ""  # the CSV as findings name it (audited tables only)

    @property
    def method(self) -> str:
        return self.published.method or "suppress" if self.published else "suppress"

    @property
    def dims(self) -> tuple[str, ...]:
        return tuple(sorted(dims_of(self.query)))

    def signature(self) -> tuple[Any, ...]:
        q = self.query
        return (
            q.get("table") or "access",
            q.get("measure"),
            q.get("values"),
            self.dims,
            q.get("cap"),
            q.get("tz") or "UTC",
            tuple(sorted((q.get("hierarchies") or {}).items())),
        )

    def filters(self) -> tuple[Any, ...]:
        q = self.query
        return (q.get("start"), q.get("end"), _where(q))


def _where(query: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    where = recorded_query(query).where
    return {
        f.column: tuple(sorted(str(v).lower() if isinstance(v, bool) else str(v) for v in f.values))
        if f.between is None and not f.negate
        else (repr(f.to_dict()),)
        for f in where
    }


def cell_keys(table: Any) -> list[Key]:
    """Each cell's key of a ``privstats.protect.Table``, codes in sorted-dimension order."""
    order = sorted(table.dims)
    keys = table.keys[order]
    return [tuple(code_text(v) for v in row) for row in keys.itertuples(index=False, name=None)]


def describe(a: TableRef, b: TableRef) -> str:
    """How the two populations differ, in words (no value of the data, only the filters)."""
    parts = []
    qa, qb = a.query, b.query
    if (qa.get("start"), qa.get("end")) != (qb.get("start"), qb.get("end")):
        parts.append(f"period {_span(qa)} vs {_span(qb)}")
    wa, wb = _where(qa), _where(qb)
    for column in sorted(wa.keys() | wb.keys()):
        if wa.get(column) != wb.get(column):
            parts.append(f"{column} {_values(wa.get(column))} vs {_values(wb.get(column))}")
    return "; ".join(parts) or "the same query, released with other numbers"


def _span(query: Mapping[str, Any]) -> str:
    return f"{query.get('start') or '…'}..{query.get('end') or '…'}"


def _values(values: tuple[str, ...] | None) -> str:
    if values is None:
        return "any"
    return f"{len(values)} values" if len(values) > 1 else "one value"


def find_pairs(
    audited: Sequence[TableRef],
    released: Sequence[TableRef],
    store: Store | None,
) -> tuple[list[DifferencingPair], list[GateFinding]]:
    """Every flagged pair between the audited tables, and between them and released ones."""
    pairs: list[DifferencingPair] = []
    problems: list[GateFinding] = []
    candidates = [(a, b) for i, a in enumerate(audited) for b in audited[i + 1 :]]
    candidates += [(a, b) for a in audited for b in released]
    for a, b in candidates:
        if a.signature() != b.signature():
            continue
        relation, kind = None, "difference"
        if a.filters() == b.filters():
            if b.published is None or a.published is None:
                continue
            if a.method != b.method:
                cells, kind = _two_methods(a, b), "two-methods"
                relation = (f"the same cells published by two methods ({a.method}, {b.method}), "
                            "which are audited one at a time, not together")  # fmt: skip
            else:
                cells, kind = _same_query(a, b), "same-query"
            locations: tuple[str, ...] = tuple(loc for _, loc in cells if loc)
        elif store is None:
            continue
        else:
            try:
                flagged = _difference(a, b, store)
            except RecomputeError as error:
                problems.append(
                    GateFinding(
                        a.file or a.label,
                        "",
                        Check.DIFFERENCING,
                        "not-checked",
                        f"against {b.label}: {error}",
                    )
                )
                continue
            cells = [(key, (a.locations or {}).get(key, "")) for key in flagged]
            locations = tuple(loc for _, loc in cells if loc)
        if cells:
            pairs.append(DifferencingPair(
                a.label, b.label, relation or describe(a, b), len(cells),
                max(a.threshold, b.threshold), locations, kind,
            ))  # fmt: skip
    return pairs, problems


def _same_query(a: TableRef, b: TableRef) -> list[tuple[Key, str]]:
    """Cells whose shown counts differ by less than the threshold between two runs of a query."""
    if a.query.get("measure") not in COUNT_MEASURES:
        return []
    assert a.published is not None and b.published is not None
    threshold = max(a.threshold, b.threshold)
    before = _by_label(b.published)
    flagged = []
    for (labels, column), cell in _by_label(a.published).items():
        old = before.get((labels, column))
        if old is None or cell.number is None or old.number is None:
            continue
        if 0 < abs(cell.number - old.number) < threshold:
            flagged.append(((*labels, column), cell.location))
    return flagged


def _two_methods(a: TableRef, b: TableRef) -> list[tuple[Key, str]]:
    """Cells a suppressed or ``<N`` table of the pair protects, which the other table's numbers
    (rounded, or shown where this one hides) may narrow further than either audit knows."""
    at_risk: list[tuple[Key, str]] = []
    for ref in (a, b):
        if ref.method == "round" or ref.published is None:
            continue
        for labels, row in zip(ref.published.labels, ref.published.cells, strict=True):
            for column, cell in zip(ref.published.column_labels, row, strict=True):
                if cell.state in (CellState.HIDDEN, CellState.TEXT):
                    at_risk.append(((*labels, column), cell.location if ref is a else ""))
    return at_risk


def _by_label(table: PublishedTable) -> dict[tuple[Key, str], Any]:
    return {
        (labels, column): cell
        for labels, row in zip(table.labels, table.cells, strict=True)
        for column, cell in zip(table.column_labels, row, strict=True)
        if cell.state is CellState.VALUE
    }


def _difference(a: TableRef, b: TableRef, store: Store) -> list[Key]:
    """Keys of cells shown in both where one population minus the other is small and nested."""
    dims = list(a.dims)
    wa, wb = _where(a.query), _where(b.query)
    extra = [] if "day" in dims else ["day"]
    where_columns = sorted((wa.keys() | wb.keys()) - set(dims) - set(extra))
    starts = [a.query.get("start"), b.query.get("start")]
    ends = [a.query.get("end"), b.query.get("end")]
    start = None if None in starts else min(starts)
    end = None if None in ends else max(ends)
    frame = rows_for(store, a.query, [*dims, *extra, *where_columns], start=start, end=end)
    frame = frame.with_columns(_inside(a.query, wa).alias("_a"), _inside(b.query, wb).alias("_b"))
    margins = bool(a.query.get("margins")) or bool(b.query.get("margins"))
    expanded = _expand(frame, dims, margins, a.query.get("hierarchies") or {})
    persons = expanded.group_by([*dims, "_period", "_person"]).agg(
        a=pl.col("_a").any(),
        b=pl.col("_b").any(),
        a_rows=(pl.col("_a") & ~pl.col("_b")).any(),
        b_rows=(pl.col("_b") & ~pl.col("_a")).any(),
    )
    if a.query.get("measure") == "visitors":
        only_a, only_b = pl.col("a") & ~pl.col("b"), pl.col("b") & ~pl.col("a")
    else:
        only_a, only_b = pl.col("a_rows"), pl.col("b_rows")
    cells = (
        persons.group_by([*dims, "_period"])
        .agg(ab=only_a.sum(), ba=only_b.sum(), in_a=pl.col("a").any(), in_b=pl.col("b").any())
        .group_by(dims)
        .agg(
            ab_persons=pl.col("ab").max(), ba_persons=pl.col("ba").max(),
            ab_any=pl.col("ab").sum(), ba_any=pl.col("ba").sum(),
            in_a=pl.col("in_a").any(), in_b=pl.col("in_b").any(),
        )
    )  # fmt: skip
    threshold = max(a.threshold, b.threshold)
    small = lambda n: (n >= 1) & (n < threshold)  # noqa: E731
    flagged = cells.filter(
        pl.col("in_a") & pl.col("in_b")
        & ((small(pl.col("ab_persons")) & (pl.col("ba_any") == 0))
           | (small(pl.col("ba_persons")) & (pl.col("ab_any") == 0)))
    )  # fmt: skip
    keys = [tuple(code_text(v) for v in row) for row in flagged.select(dims).iter_rows()]
    return sorted(
        key for key in keys
        if (a.shown is None or key in a.shown) and (b.shown is None or key in b.shown)
    )  # fmt: skip


def _expand(
    frame: pl.DataFrame, dims: Sequence[str], margins: bool, hierarchies: Mapping[str, Any]
) -> pl.DataFrame:
    """Each row once for its own cell and once for every total and calendar subtotal above it
    (ISO week and month of a day, as ``Hierarchy.calendar`` names them)."""
    for dim in dims:
        ups: list[pl.Expr] = []
        if dim == "day" and hierarchies.get(dim) == "calendar":
            day = pl.col("day").str.to_date()
            ups += [day.dt.strftime("%G-W%V"), pl.col("day").str.slice(0, 7)]
        elif hierarchies.get(dim):
            raise RecomputeError("the table uses a hierarchy the differencing check cannot rebuild")
        if margins:
            ups.append(pl.lit(TOTAL))
        frame = pl.concat([frame, *(frame.with_columns(up.alias(dim)) for up in ups)])
    return frame


def _inside(query: Mapping[str, Any], where: Mapping[str, tuple[str, ...]]) -> pl.Expr:
    """Whether a row lies in a query's period and filters (``day`` is the local date)."""
    inside = pl.lit(True)
    if query.get("start"):
        inside &= pl.col("day") >= str(query["start"])
    if query.get("end"):
        inside &= pl.col("day") <= str(query["end"])
    for column, values in where.items():
        inside &= pl.col(column).cast(pl.String).is_in(list(values))
    return inside
