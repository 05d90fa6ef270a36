"""Protect and audit tables as one linked set: everything an audience holds, or will.

A :class:`Linker` knows what was published already (:class:`Published`: released tables
read back from the release area, and tables protected earlier in the same run) and protects
each new query against all of it: tables of one family (``populations``) whose periods meet
are joined through their atoms and protected together (``privstats.protect.linked``); the
others (quantiles, statistics over units, a cap that binds) are protected alone, as
``crosstab`` does. The reviewer's gate uses :meth:`Linker.audit` to check a published set
without choosing anything.

What an earlier table published is read on today's data: a cell shown with a value the
store no longer gives (late logs, an erasure) is *changed*, and the new tables must not pin
its population today (``privstats.protect.linked``). That is this package's answer to
re-releases: the difference is protected, the old values are not carried forward (a mix of
old and new values in one table would not add up, and its totals would give the difference
away).

Private: it reads the true data.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from collections.abc import Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from privstats.config import RuleSet
from privstats.exceptions import DisclosureError
from privstats.protect import (
    HIDDEN_MARKER,
    TOTAL,
    Method,
    ProtectedTable,
    ProtectionPolicy,
    ProtectionRecord,
    Status,
    Table,
    assess,
    requirement,
)
from privstats.protect import record as _record
from privstats.protect.linked import (
    AtomSpace,
    LinkedAudit,
    LinkedResult,
    Member,
    Role,
    audit_linked,
    protect_linked,
)
from privstats.protect.suppression import SuppressionOptions
from privstats.store import Store
from privstats.tabulate import _engine
from privstats.tabulate.populations import Atoms, Family, build_atoms, family_of
from privstats.tabulate.query import PERSONS, Measure, Query

Key = tuple[str, ...]
# What an audience knows of a published cell: lo <= value <= hi (equal: shown exactly).
Interval = tuple[float, float]
HIDDEN: Interval = (0.0, float("inf"))
CLIPPED = (
    "a cap that clips somebody's contribution makes a table no sum of its population: it "
    "cannot be protected with the other tables; ask without the cap, or with cap=1"
)
_TOLERANCE = 1e-9


def code_text(code: Hashable) -> str:
    """A cell code as a key holds it (and a report's CSV writes it)."""
    if isinstance(code, float) and code.is_integer():
        return str(int(code))
    return "" if code is None else str(code)


@dataclass(frozen=True)
class Published:
    """A table as its audience holds it: the query, the rules it was protected under, and what
    each published cell shows (cells not listed were not published)."""

    label: str
    query: Query
    rules: RuleSet
    cells: Mapping[Key, Interval]
    method: Method = Method.SUPPRESS
    # Where each cell is shown (a report's CSV: "line 3, col 2"), for the reviewer.
    locations: Mapping[Key, str] = field(default_factory=dict)

    @classmethod
    def from_protected(
        cls, label: str, table: ProtectedTable, query: Query, rules: RuleSet
    ) -> Published:
        cells: dict[Key, Interval] = {}
        for row in table.shown.to_dict("records"):
            key = tuple(code_text(row[d]) for d in query.dims)
            cells[key] = interval(row["value"], str(row["marker"]), rules, table.record.method)
        return cls(label, query, rules, cells, Method(table.record.method))


def interval(value: object, marker: str, rules: RuleSet, method: Method | str) -> Interval:
    """What a shown cell tells: a value, nothing (hidden), ``<N`` or a rounded value."""
    if marker == HIDDEN_MARKER or value is None or (isinstance(value, float) and np.isnan(value)):
        if marker.startswith("<"):
            return (1.0, float(rules.threshold - 1))
        return HIDDEN
    if marker.startswith("<"):
        return (1.0, float(rules.threshold - 1))
    # A number: None, NaN and markers were handled above.
    number = float(value)  # type: ignore[arg-type]
    if Method(method) is Method.ROUND:
        return (max(number - (rules.round_base - 1), 0.0), number + rules.round_base - 1.0)
    return (number, number)


@dataclass(frozen=True, eq=False)
class _Entry:
    """A table of the linked set with its true table (margins included)."""

    published: Published | None
    query: Query
    rules: RuleSet
    grid: Table  # as the query asks, with margins added for an implicit total
    linked: Table  # what the linked set sums: the grid, or a mean's sums
    implicit_total: bool
    ident: str  # the true table's identity: its query as computed


@dataclass
class Linker:
    """Protects queries one after another against everything published (see the module)."""

    store: Store
    policy: ProtectionPolicy = field(default_factory=ProtectionPolicy)
    options: SuppressionOptions | None = None
    known: list[Published] = field(default_factory=list)
    planned: list[Query] = field(default_factory=list)
    _atoms: dict[Family, tuple[dict[str, int], Atoms]] = field(default_factory=dict)
    _truths: dict[str, _engine.TrueTable] = field(default_factory=dict)

    # -- what is known ------------------------------------------------------------------------
    def add(self, published: Published) -> None:
        """Something the audience holds already (its true table is read when needed), and what
        a mean of it gives away with it (``views_of``)."""
        self.known.append(published)
        self.known.extend(self._views(published))

    def plan(self, queries: Sequence[Query]) -> None:
        """Queries to be protected later: their atoms are built once, with the rest."""
        self.planned.extend(queries)
        self.planned.extend(view for query in queries for view in views_of(query))

    # -- protection ---------------------------------------------------------------------------
    def protect(
        self,
        query: Query,
        rules: RuleSet,
        method: Method | str = Method.SUPPRESS,
        *,
        label: str = "",
    ) -> ProtectedTable:
        """``query`` protected against everything known, and then known itself."""
        from privstats.tabulate import protect_alone

        method = Method(method)
        if method is Method.DP:
            # By method: a DP table's guarantee holds whatever else is published, and its noisy
            # cells pin no population, so it is neither linked nor known; its budget is kept by
            # privstats.dp.budget instead.
            from privstats.dp.tables import dp_table

            return dp_table(query, self.store, rules)
        truth = self._truth(query, rules)
        family = family_of(query, truth.cap_binds) if truth.grid is not None else None
        if self.clips(query, rules):
            entry = self._entry(query, rules, None)
            assert entry is not None
            result = _failed(entry, CLIPPED)
        elif family is None or method is not Method.SUPPRESS:
            result = protect_alone(query, self.store, rules, method)
        else:
            result = self._protect_linked(query, rules, family)
        if method is Method.SUPPRESS and result.status is not Status.FAIL:
            result = self._through_views(query, rules, result)
        self.add(Published.from_protected(label or query.key(), result, query, rules))
        return result

    def _through_views(
        self, query: Query, rules: RuleSet, result: ProtectedTable
    ) -> ProtectedTable:
        """A mean shown beside its sum gives its count away, and beside its count its sum: its
        cells are shown only where each of them could be shown too (``views_of``)."""
        hidden: set[Key] = set()
        for view in views_of(query):
            truth = self._truth(view, rules)
            family = family_of(view, truth.cap_binds) if truth.grid is not None else None
            if family is None:
                continue  # nothing in the period: nothing to give away
            seen = self._protect_linked(view, rules, family)
            if seen.status is Status.FAIL:
                entry = self._entry(query, rules, None)
                assert entry is not None
                return _failed(entry, seen.record.message or "its count cannot be protected")
            cells = Published.from_protected("", seen, view, rules).cells
            hidden |= {key for key, (low, high) in cells.items() if low != high}
        return _hide(result, query, hidden)

    def _views(self, published: Published) -> list[Published]:
        """The sum and the count a published mean gives away, shown where the mean is."""
        if published.method is not Method.SUPPRESS:
            return []
        out = []
        for view in views_of(published.query):
            truth = self._truth(view, published.rules)
            if truth.grid is None:
                continue
            values = np.nan_to_num(truth.grid.values)
            at = _positions(truth.grid)
            cells = {
                key: (float(values[at[key]]),) * 2 if low == high else HIDDEN
                for key, (low, high) in published.cells.items() if key in at
            }  # fmt: skip
            label = f"{published.label} ({view.measure.value} behind its mean)"
            out.append(Published(label, view, published.rules, cells, Method.SUPPRESS,
                                 published.locations))  # fmt: skip
        return out

    def _protect_linked(self, query: Query, rules: RuleSet, family: Family) -> ProtectedTable:
        new = self._entry(query, rules, None)
        assert new is not None
        everyone = [*self._linked_to(family, query), new]
        atoms, index = self._atoms_for(family, everyone)
        threshold = max(e.rules.threshold for e in everyone)
        strictest = dataclasses.replace(rules, threshold=threshold)
        members = [self._member(e, atoms, index) for e in everyone]
        space = _space(atoms)
        chosen = members[-1]
        forced = np.zeros(new.grid.n, dtype=bool)
        while True:
            members[-1] = dataclasses.replace(chosen, primary=chosen.primary | forced)
            try:
                outcome = protect_linked(members, space, strictest, self.policy, self.options)
            except DisclosureError as error:
                return _failed(new, str(error))
            result = _result(new, members[-1], outcome, members, atoms)
            more = self._narrows_across(new, result, family) & ~forced
            if result.status is Status.FAIL or not more.any():
                return result
            forced |= more  # grows every round: the loop ends

    def _narrows_across(self, new: _Entry, result: ProtectedTable, family: Family) -> np.ndarray:
        """Cells of the new table whose shown value narrows a hidden cell of a released table
        of another counting family too far (persons shown bound the requests hidden, and
        organisations the persons): they are hidden too. Conservative: every such cell, once
        one hidden cell of that family is narrowed."""
        out = np.zeros(new.grid.n, dtype=bool)
        tentative = Published.from_protected("the new table", result, new.query, new.rules)
        at = _positions(new.grid)
        for other in _related(family):
            entries = self._linked_to(other, new.query)
            bounding = np.zeros_like(out)
            for entry in entries:
                if _frame(entry.query) != _frame(new.query):
                    continue
                roles = _roles(entry)[0]
                for key, cell in _positions(entry.grid).items():
                    mine = _translate(key, entry.query.dims, new.query.dims)
                    if mine is None or mine not in at:
                        continue
                    shown = tentative.cells.get(mine, HIDDEN) != HIDDEN
                    if shown and roles[cell] in (Role.HIDDEN, Role.BOUNDED):
                        bounding[at[mine]] = True
            if not bounding.any():
                continue
            audit = self._audit_family(other, entries, [tentative], [False] * len(entries))
            pairs = zip(audit.unsafe, audit.unsafe_before, strict=True)
            if any((unsafe & ~before).any() for unsafe, before in pairs):
                out |= bounding
        return out

    def clips(self, query: Query, rules: RuleSet) -> bool:
        """Whether the query's cap clips somebody's contribution (a cap other than one request
        per person): such a table is no sum of its population and cannot be linked."""
        if query.cap is None or family_of(query, cap_binds=True) is not None:
            return False
        return self._truth(query, rules).cap_binds

    def _linked_to(self, family: Family, query: Query) -> list[_Entry]:
        """Known tables of the family whose period meets the query's."""
        out = []
        for published in self.known:
            if published.method is Method.ROUND or not _overlaps(published.query, query):
                continue  # rounded tables are audited alone: an interval per cell
            if family_of(published.query, cap_binds=False) != family:
                continue
            entry = self._entry(published.query, published.rules, published)
            if entry is not None and self._family(entry) == family:
                out.append(entry)
        return out

    # -- the gate's check ---------------------------------------------------------------------
    def audit(
        self, new: Sequence[Published]
    ) -> Iterator[tuple[Family, list[_Entry], LinkedAudit, list[bool]]]:
        """The ``new`` tables (being released now) audited, family by family, as one linked
        set with every known table of their family whose period meets one of theirs; with
        each entry, whether it is new (the sum and count behind a new mean are)."""
        new = [*new, *(view for published in new for view in self._views(published))]
        for published in new:
            if published not in self.known:
                self.known.append(published)
        by_family: dict[Family, list[_Entry]] = {}
        fresh: set[int] = set()
        for published in self.known:
            if published.method is Method.ROUND:
                continue
            if published not in new and not any(
                _overlaps(published.query, n.query) for n in new
            ):  # fmt: skip
                continue
            entry = self._entry(published.query, published.rules, published)
            family = self._family(entry) if entry is not None else None
            if entry is not None and family is not None:
                by_family.setdefault(family, []).append(entry)
                if published in new:
                    fresh.add(id(entry))
        touched = {f for f, es in by_family.items() if any(id(e) in fresh for e in es)}
        touched |= {r for f in touched for r in _related(f) if r in by_family}
        for family in sorted(touched):
            entries = by_family[family]
            flags = [id(e) in fresh for e in entries]
            known, self.known = self.known, [p for p in self.known if p not in new]
            try:
                audit = self._audit_family(family, entries, list(new), flags)
            finally:
                self.known = known
            yield family, entries, audit, flags

    def _audit_family(
        self, family: Family, entries: list[_Entry], extra: list[Published], fresh: list[bool]
    ) -> LinkedAudit:
        """``entries`` audited as one set once ``extra`` are published beside what is known;
        their problems before are told with what the other family showed before."""
        atoms, index = self._atoms_for(family, entries)
        earlier = [self._member(e, atoms, index) for e in entries]
        self.known.extend(extra)
        try:
            members = [self._member(e, atoms, index) for e in entries]
        finally:
            del self.known[len(self.known) - len(extra) :]
        threshold = max(e.rules.threshold for e in entries)
        rules = dataclasses.replace(entries[0].rules, threshold=threshold)
        space = _space(atoms)
        return audit_linked(members, space, rules, self.policy, new=fresh, earlier=earlier)

    # -- building blocks ----------------------------------------------------------------------
    def _truth(self, query: Query, rules: RuleSet) -> _engine.TrueTable:
        implicit = query.kind != "statistic" and not query.margins
        asked = dataclasses.replace(query, margins=True, top=None) if implicit else query
        key = f"{asked.key()}:{rules.quantile_window}"
        if key not in self._truths:
            self._truths[key] = _engine.true_table(asked, self.store, rules)
        return self._truths[key]

    def _entry(self, query: Query, rules: RuleSet, published: Published | None) -> _Entry | None:
        truth = self._truth(query, rules)
        if truth.grid is None:
            return None
        linked = truth.sums if truth.sums is not None else truth.grid
        implicit = query.kind != "statistic" and not query.margins
        entry = _Entry(published, query, rules, truth.grid, linked, implicit, "")
        # Atoms depend on which cells take part: the same table published otherwise is another.
        relevant = (_roles(entry)[0] != Role.UNPUBLISHED).tobytes()
        ident = f"{truth.query.key()}:{hashlib.sha256(relevant).hexdigest()[:12]}"
        return dataclasses.replace(entry, ident=ident)

    def _family(self, entry: _Entry) -> Family | None:
        return family_of(entry.query, self._truth(entry.query, entry.rules).cap_binds)

    def _atoms_for(self, family: Family, entries: Sequence[_Entry]) -> tuple[Atoms, dict[str, int]]:
        """Atoms of the family over these entries and every planned query of the family, built
        once and reused while they cover the entries asked for."""
        cached = self._atoms.get(family)
        if cached is not None and all(e.ident in cached[0] for e in entries):
            return cached[1], cached[0]
        wanted: dict[str, _Entry] = {e.ident: e for e in entries}
        for query in self.planned:
            if family_of(query, cap_binds=False) == family:
                extra = self._entry(query, entries[-1].rules, None)
                if extra is not None:
                    wanted.setdefault(extra.ident, extra)
        atoms = build_atoms(
            self.store,
            [(e.query, e.linked) for e in wanted.values()],
            [_roles(e)[0] != Role.UNPUBLISHED for e in wanted.values()],
        )
        index = {ident: i for i, ident in enumerate(wanted)}
        self._atoms[family] = (index, atoms)
        return atoms, index

    def _across(
        self, entry: _Entry, bounds: tuple[np.ndarray, np.ndarray] | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Bounds the published tables of the other counting families give each cell: in a
        cell, organisations <= persons <= rows (each organisation counted has a person there,
        each person a row; ``cap=1`` requests count persons too)."""
        grid = entry.grid
        lo, hi = bounds if bounds is not None else (np.zeros(grid.n), np.full(grid.n, np.inf))
        lo, hi = lo.copy(), hi.copy()
        family = family_of(entry.query, cap_binds=False)
        if family is None or family[0] not in _RANK:
            return lo, hi
        same = _frame(entry.query)
        at = _positions(grid)
        for published in self.known:
            if published.method is Method.ROUND or _frame(published.query) != same:
                continue
            other = family_of(published.query, cap_binds=False)
            if other is None or other not in _related(family):
                continue
            below = _RANK[other[0]] < _RANK[family[0]]
            source, target = published.query.dims, entry.query.dims
            for key, (low, high) in published.cells.items():
                mapped = _translate(key, source, target)
                cell = at.get(mapped) if mapped is not None else None
                if cell is None or (low, high) == HIDDEN:
                    continue
                if below:
                    lo[cell] = max(lo[cell], low)
                else:
                    hi[cell] = min(hi[cell], high)
        return lo, hi

    def _member(self, entry: _Entry, atoms: Atoms, index: Mapping[str, int]) -> Member:
        table = entry.linked
        verdicts = assess(table, entry.rules)
        roles, released, bounds = _roles(entry)
        bounds = self._across(entry, bounds)
        return Member(
            label=entry.published.label if entry.published else "the new table",
            table=table, primary=verdicts.primary,
            required=requirement(table, verdicts, entry.rules, self.policy,
                                 counts_rows=entry.query.measure is Measure.REQUESTS),
            roles=roles,
            cells=atoms.cells[index[entry.ident]], released=released, bounds=bounds,
        )  # fmt: skip


def _space(atoms: Atoms) -> AtomSpace:
    return AtomSpace(atoms.value, atoms.persons, atoms.by_period, atoms.of_units, atoms.by_unit,
                     atoms.top1 + atoms.top2)  # fmt: skip


def views_of(query: Query) -> list[Query]:
    """The tables a mean is the ratio of, that another table may show one of: its count
    (requests; persons or organisations for a mean per unit) and, per unit, its sum (a mean of
    rows is linked through its sums already). Other queries have none."""
    if query.measure is not Measure.MEAN:
        return []
    if query.per is None:
        return [dataclasses.replace(query, measure=Measure.REQUESTS, values=None, cap=None)]
    count = Measure.VISITORS if query.per == "person" else Measure.ORGANISATIONS
    views = [dataclasses.replace(query, per=None, measure=count, values=None, cap=None)]
    if query.values != PERSONS:  # distinct persons per organisation add up to no population
        summed = Measure.SUM if query.values else Measure.REQUESTS
        views.append(dataclasses.replace(query, per=None, measure=summed))
    return views


def _hide(table: ProtectedTable, query: Query, keys: set[Key]) -> ProtectedTable:
    """``table`` with the cells of ``keys`` hidden too (as secondary: hiding more never shows
    more), its record and checksum to match."""
    shown = table.shown.copy()
    at = [tuple(code_text(row[d]) for d in query.dims) in keys and row["marker"] == ""
          for row in shown.to_dict("records")]  # fmt: skip
    if not any(at):
        return table
    mask = np.array(at)
    shown.loc[mask, "value"] = np.nan
    shown.loc[mask, "marker"] = HIDDEN_MARKER
    notes = [_record.CellNote(key={d: row[d] for d in query.dims}, reasons=(_record.SECONDARY,))
             for row in shown[mask].to_dict("records")]  # fmt: skip
    record = dataclasses.replace(
        table.record, status=Status.SUPPRESSED, cells=[*table.record.cells, *notes]
    )
    unsigned = dataclasses.replace(table, shown=shown, status=Status.SUPPRESSED, record=record)
    record = dataclasses.replace(record, checksum=_record.checksum(unsigned.to_frame()))
    return dataclasses.replace(unsigned, record=record)


# The counting families of one table, in the order their cells' values keep.
_RANK = {"organisations": 0, "units": 1, "rows": 2}


def _related(family: Family) -> list[Family]:
    """The other counting families of a table, whose cells bound this family's."""
    if family[0] not in _RANK:
        return []
    return [(other, *family[1:]) for other in _RANK if other != family[0]]


def _frame(query: Query) -> tuple[object, ...]:
    """The rows the query's cells describe, whatever they count and however they are laid
    out: measure, cap, top and dimensions set aside (cells are matched by ``_translate``)."""
    return (query.table, query.start, query.end, query.where, query.tz, query.versus, query.per)


def _translate(key: Key, source: tuple[str, ...], target: tuple[str, ...]) -> Key | None:
    """The key, in a table by ``target`` dimensions, of the population a cell by ``source``
    dimensions holds: a dimension the target lacks must be at its total (a margin of a bigger
    table), one the source lacks is at the target's total; None when there is no such cell."""
    if not (set(source) <= set(target) or set(target) <= set(source)):
        return None
    total = code_text(TOTAL)
    codes = dict(zip(source, key, strict=True))
    if any(codes[d] != total for d in source if d not in target):
        return None
    return tuple(codes.get(d, total) for d in target)


def _overlaps(a: Query, b: Query) -> bool:
    """Whether two queries' periods may share rows: their days are local, each in its own
    time zone, so a day of padding on each side covers every offset."""
    if a.table != b.table:
        return False
    pad = dt.timedelta(days=1)
    if a.start and b.end and a.start > b.end + pad:
        return False
    return not (b.start and a.end and b.start > a.end + pad)


def _positions(table: Table) -> dict[Key, int]:
    return {
        tuple(code_text(c) for c in row): i
        for i, row in enumerate(table.keys.itertuples(index=False, name=None))
    }


def _roles(
    entry: _Entry,
) -> tuple[np.ndarray, np.ndarray | None, tuple[np.ndarray, np.ndarray] | None]:
    """Each cell's role in the linked set, the values released earlier, and known intervals."""
    grid = entry.grid
    n = grid.n
    margin = (grid.keys == TOTAL).to_numpy()
    grand = margin.all(axis=1) if entry.implicit_total else np.zeros(n, bool)
    other_margins = margin.any(axis=1) & ~grand if entry.implicit_total else np.zeros(n, bool)
    roles = np.full(n, Role.UNPUBLISHED, dtype=object)
    if entry.published is None:
        roles[:] = Role.FREE
        roles[grand] = Role.IMPLICIT
        roles[other_margins | ~_engine.published(entry.query, grid)] = Role.UNPUBLISHED
        return roles, None, None
    # A released table's total is no more public than its cells make it.
    released = np.full(n, np.nan)
    lo, hi = np.zeros(n), np.full(n, np.inf)
    values = np.nan_to_num(grid.values)
    at = _positions(grid)
    for key, (low, high) in entry.published.cells.items():
        cell = at.get(key)
        if cell is None:
            continue  # a code the data no longer holds: nothing of it is left to link
        if low == high:
            if abs(values[cell] - low) <= _TOLERANCE * max(1.0, abs(low)):
                roles[cell] = Role.SHOWN
            else:
                roles[cell] = Role.CHANGED
                released[cell] = low
        elif (low, high) == HIDDEN:
            roles[cell] = Role.HIDDEN
        else:
            roles[cell] = Role.BOUNDED
            lo[cell], hi[cell] = low, high
    return roles, released, (lo, hi)


def roles_of(entry: _Entry) -> np.ndarray:
    """Each cell's role in the linked set (for the gate's findings)."""
    return _roles(entry)[0]


def _notes(
    entry: _Entry, member: Member, hidden: np.ndarray, outcome: LinkedResult
) -> list[_record.CellNote]:
    verdicts = assess(entry.linked, entry.rules)
    keys = entry.grid.keys
    notes = []
    for cell in np.flatnonzero(hidden & (member.roles == Role.FREE)):
        fired = verdicts.fired(int(cell))
        reasons = tuple(r.value for r in fired) if fired else (_record.SECONDARY,)
        lo, hi = outcome.lo[-1][cell], outcome.hi[-1][cell]
        interval_ = (float(lo), float(hi)) if np.isfinite(lo) or np.isfinite(hi) else None
        notes.append(
            _record.CellNote(
                # The key frame's columns are dimension names; pandas types labels as Hashable.
                key=keys.iloc[cell].to_dict(),  # type: ignore[arg-type]
                reasons=reasons,
                interval=interval_,
            )
        )
    return notes


def _result(
    entry: _Entry, member: Member, outcome: LinkedResult, members: Sequence[Member], atoms: Atoms
) -> ProtectedTable:
    hidden = outcome.hidden[-1]
    grid = entry.grid
    published = member.roles == Role.FREE
    status = (
        Status.FAIL
        if not outcome.passed
        else (Status.SUPPRESSED if (hidden & published).any() else Status.PASS)
    )
    values = np.where(hidden, np.nan, grid.values)
    marker = np.where(hidden, HIDDEN_MARKER, "").astype(object)
    if status is Status.FAIL:
        values[:] = np.nan
        marker[:] = HIDDEN_MARKER
    frame = grid.keys.copy()
    frame["value"] = values
    frame["marker"] = marker
    frame = frame[published].reset_index(drop=True)
    verdicts = assess(entry.linked, entry.rules)
    audit = outcome.audit
    record = ProtectionRecord(
        query=entry.query.to_dict(),
        method=Method.SUPPRESS,
        rules=_record.rules_dict(entry.rules),
        protection={"ratio": None, "minimum": 1.0, "linked": True},
        status=status,
        cells=_notes(entry, member, hidden, outcome) if status is not Status.FAIL else [],
        rule_counts=verdicts.count(),
        audit=audit.summary() if audit is not None else {"passed": False},
        checksum="",
        message=outcome.message if status is Status.FAIL else None,
        search={
            "linked_tables": len(members),
            "atoms": atoms.n,
            "small_groups_protected": outcome.derived,
        },
    )
    unsigned = ProtectedTable(dims=grid.dims, shown=frame, status=status, record=record, audit=None)
    record = dataclasses.replace(record, checksum=_record.checksum(unsigned.to_frame()))
    return ProtectedTable(dims=grid.dims, shown=frame, status=status, record=record, audit=audit)


def _failed(entry: _Entry, message: str) -> ProtectedTable:
    grid = entry.grid
    published = (
        # np.any, not .any(): numpy's stubs type the method's result as a scalar or an array
        ~np.any((grid.keys == TOTAL).to_numpy(), axis=1)
        if entry.implicit_total
        else np.ones(grid.n, bool)
    )
    frame = grid.keys[published].reset_index(drop=True).copy()
    frame["value"] = np.nan
    frame["marker"] = HIDDEN_MARKER
    record = ProtectionRecord(
        query=entry.query.to_dict(), method=Method.SUPPRESS,
        rules=_record.rules_dict(entry.rules), protection={"linked": True}, status=Status.FAIL,
        cells=[], rule_counts={}, audit={"passed": False}, checksum="", message=message,
    )  # fmt: skip
    unsigned = ProtectedTable(
        dims=grid.dims, shown=frame, status=Status.FAIL, record=record, audit=None
    )
    record = dataclasses.replace(record, checksum=_record.checksum(unsigned.to_frame()))
    return ProtectedTable(
        dims=grid.dims, shown=frame, status=Status.FAIL, record=record, audit=None
    )
