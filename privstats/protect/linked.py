"""Linked tables: protect and audit every table an audience receives as one set.

Each table may be safe alone while the set is not: four tables of one report add up to the
same total, a cell hidden in one report is a row total of another, two partners' reports give
the third partner's cells. Here tables of one family (``privstats.tabulate.populations``) are
joined through their **atoms**: every published cell is the sum of the atoms it contains, so
the attacker's problem over the whole set is one linear system, whatever the tables' wording.

A member table's cells each have a role:

``SHOWN``        published as a number (an earlier table, a released one): fixed;
``HIDDEN``       published hidden: fixed, and its protection must still hold;
``FREE``         to be shown or hidden now (the table being protected);
``IMPLICIT``     a total the table does not show but which is public in effect (another table
                 shows it, or anyone can add the parts up): known exactly, never hidden;
``BOUNDED``      published as an interval (``<10``, a rounded value): hidden with bounds;
``UNPUBLISHED``  not part of the release (rows a report leaves out);
``CHANGED``      released earlier with a value the data no longer gives (late logs, an
                 erasure).

:func:`protect_linked` chooses the cells of the ``FREE`` tables to hide so that

1. every sensitive cell of every member (primary rules, recomputed on today's data) keeps its
   required protection against the whole set (secondary suppression over the combined
   system, ``privstats.protect.suppression``);
2. no population of 1 to threshold - 1 persons is pinned by the shown cells together
   (``privstats.protect.derived``; each one found becomes a target of the suppression, which
   runs again, until none is left);
and the independent audit (``privstats.protect.audit``) proves 1 on the result.

**Released periods are frozen.** When a table released before no longer matches the data
(late logs, an erasure), its cells tell the attacker about data that no longer exists: its
old totals minus cells that did not change still hold, and the new tables would show the
change beside them. Protecting that needs the old data, which is gone (an erasure) or mixed
with the new (a late log). So a set holding a ``CHANGED`` cell protects no new table
(``protect_linked`` raises, ``audit_linked`` counts them): the released values stand, carried
forward as they were, and nothing new about those days is released.
:func:`audit_linked` runs the checks without choosing anything, for the reviewer's gate.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.linalg import lsqr

from privstats.config import RuleSet
from privstats.exceptions import DisclosureError
from privstats.protect.audit import AuditResult, Knowledge, audit
from privstats.protect.cells import MARGIN, PERSONS, TOP1, TOP2, VALUE, CellKind, Relations, Table
from privstats.protect.derived import Derived, find_dominated, find_small
from privstats.protect.protection import ProtectionPolicy, Requirement
from privstats.protect.suppression import SuppressionOptions, suppress

FROZEN = (
    "tables of these days were released from other data (late logs, an erasure since): a new "
    "table beside them would tell the change; the released tables stand as they were"
)
# Populations protected one after another, at most, before a linked set is given up.
MAX_DERIVED = 40
# Seconds the searches for given-away groups may take for one table, all rounds together. A
# mixed-integer search can take very long on an unlucky set of tables; past this the table is
# withheld (a table not shown gives nothing away) and the report goes on.
SEARCH_SECONDS = 120.0
SEARCH_TIMEOUT = (
    "the search for small groups given away by combining this table with the others did not "
    "finish in time"
)


class Role(enum.StrEnum):
    SHOWN = "shown"
    HIDDEN = "hidden"
    FREE = "free"
    IMPLICIT = "implicit"
    BOUNDED = "bounded"
    UNPUBLISHED = "unpublished"
    CHANGED = "changed"


_PUBLISHED = frozenset({Role.SHOWN, Role.HIDDEN, Role.FREE, Role.IMPLICIT, Role.BOUNDED})
# Cells whose protection still matters: hidden now, or to be decided.
_PROTECTED = [Role.FREE, Role.HIDDEN, Role.BOUNDED]


@dataclass(frozen=True, eq=False)
class AtomSpace:
    """The atoms of one family, as the protection sees them: value, persons (busiest key
    period), units per key period, and whether values count units (else they sum rows)."""

    value: np.ndarray
    persons: np.ndarray
    by_period: sp.csr_matrix
    of_units: bool
    # Magnitudes: each unit's contribution per atom, and a bound on each atom's two largest
    # contributions together (for the dominance of differences, ``derived.find_dominated``).
    by_unit: sp.csr_matrix | None = None
    top: np.ndarray | None = None

    @property
    def n(self) -> int:
        return int(self.value.size)


@dataclass(frozen=True, eq=False)
class Member:
    """One table of a linked set: its true cells (a mean's are its sums), what its rules
    require, each cell's role, the atoms of each cell, and for ``CHANGED`` cells the value
    released earlier."""

    label: str
    table: Table
    primary: np.ndarray
    required: Requirement
    roles: np.ndarray
    cells: sp.csr_matrix
    released: np.ndarray | None = None
    # What the attacker knows of each cell besides the set's relations: lo <= value <= hi.
    bounds: tuple[np.ndarray, np.ndarray] | None = None

    def role(self, which: Role) -> np.ndarray:
        return self.roles == which


@dataclass(frozen=True, eq=False)
class LinkedResult:
    """Per member, the cells hidden and the attacker's interval of each hidden target cell
    (NaN elsewhere); the populations protected beyond the members' own cells; the verdict."""

    hidden: tuple[np.ndarray, ...]
    lo: tuple[np.ndarray, ...]
    hi: tuple[np.ndarray, ...]
    derived: int
    passed: bool
    audit: AuditResult | None
    already_public: tuple[Derived, ...] = ()
    unsafe: tuple[np.ndarray, ...] = field(default=())
    message: str | None = None


@dataclass
class _System:
    """The combined table: published cells of every member, then atoms, then targets that are
    populations rather than cells (the derived small ones)."""

    members: Sequence[Member]
    atoms: AtomSpace
    rules: RuleSet
    policy: ProtectionPolicy
    extra: list[tuple[np.ndarray, float, float]] = field(default_factory=list)
    # Targets the fixed cells give away already: hiding free cells cannot protect them.
    waived: set[int] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.published = [np.flatnonzero(np.isin(m.roles, list(_PUBLISHED))) for m in self.members]
        self.offsets = np.cumsum([0, *(p.size for p in self.published)])
        self.n_published = int(self.offsets[-1])

    # -- positions ----------------------------------------------------------------------------
    def index(self, member: int) -> np.ndarray:
        """Combined positions of a member's published cells."""
        return np.arange(self.offsets[member], self.offsets[member + 1])

    @property
    def n(self) -> int:
        return self.n_published + self.atoms.n + len(self.extra)

    def incidence(self) -> sp.csr_matrix:
        """Published cells and extra targets × atoms."""
        rows = [m.cells[p] for m, p in zip(self.members, self.published, strict=True)]
        for atoms, _, _ in self.extra:
            row = np.zeros((1, self.atoms.n))
            row[0, atoms] = 1.0
            rows.append(sp.csr_matrix(row))
        return sp.vstack(rows).tocsr() if rows else sp.csr_matrix((0, self.atoms.n))

    def roles(self) -> np.ndarray:
        return np.concatenate(
            [m.roles[p] for m, p in zip(self.members, self.published, strict=True)]
        ) if self.members else np.zeros(0, dtype=object)  # fmt: skip

    # -- the table ----------------------------------------------------------------------------
    def table(self) -> Table:
        incidence = self.incidence()
        n_pub, n_atoms = self.n_published, self.atoms.n
        values = np.concatenate(
            [
                *[m.table.values[p] for m, p in zip(self.members, self.published, strict=True)],
                self.atoms.value,
                incidence[n_pub:] @ self.atoms.value,
            ]
        ).astype(float)
        persons = np.concatenate(
            [
                *[m.table.persons[p] for m, p in zip(self.members, self.published, strict=True)],
                self.atoms.persons,
                [persons for _, _, persons in self.extra],
            ]
        ).astype(float)
        n = self.n
        cells = pd.DataFrame(
            {
                "cell": [f"c{i}" for i in range(n)],
                VALUE: np.nan_to_num(values),
                PERSONS: persons,
                TOP1: np.zeros(n),
                TOP2: np.zeros(n),
                MARGIN: np.zeros(n, dtype=bool),
            }
        )
        # Every published cell and every extra target is the sum of its atoms.
        totals = np.concatenate([np.arange(n_pub), n_pub + n_atoms + np.arange(len(self.extra))])
        parts = incidence.indices + n_pub
        relations = Relations(
            total=totals.astype(np.int64),
            ptr=incidence.indptr.astype(np.int64),
            parts=parts.astype(np.int64),
            exact=np.ones(totals.size, dtype=bool),
        )
        kind = CellKind.COUNT if self.atoms.of_units else CellKind.MAGNITUDE
        return Table(dims=("cell",), cells=cells, relations=relations, kind=kind)

    def requirement(self) -> Requirement:
        n = self.n
        lower, upper = np.zeros(n), np.zeros(n)
        for k, (m, p) in enumerate(zip(self.members, self.published, strict=True)):
            at = self.index(k)
            protectable = np.isin(m.roles[p], _PROTECTED)
            lower[at] = np.where(protectable, m.required.lower[p], 0.0)
            upper[at] = np.where(protectable, m.required.upper[p], 0.0)
        start = self.n_published + self.atoms.n
        for k, (_, low, up) in enumerate(self.extra):
            lower[start + k], upper[start + k] = low, up
        for cell in self.waived:
            lower[cell] = upper[cell] = 0.0
        return Requirement(lower=lower, upper=upper)

    def always_hidden(self) -> np.ndarray:
        """Cells hidden whatever the pattern: hidden before, sensitive free cells, the atoms
        and the extra targets (none of them published)."""
        hidden = np.ones(self.n, dtype=bool)
        for k, (m, p) in enumerate(zip(self.members, self.published, strict=True)):
            roles = m.roles[p]
            fixed = np.isin(roles, [Role.HIDDEN, Role.BOUNDED])
            hidden[self.index(k)] = fixed | ((roles == Role.FREE) & m.primary[p])
        return hidden

    def bounds(self, table: Table) -> tuple[np.ndarray, np.ndarray]:
        """What the attacker knows of each cell once it is hidden: not negative (sums of
        non-negative contributions), and the member's own bounds (a BOUNDED cell's published
        interval; what tables of another family tell, e.g. requests at least the persons)."""
        floor = np.zeros(self.n) if table.nonnegative else np.full(self.n, -np.inf)
        ceiling = np.full(self.n, np.inf)
        for k, (m, p) in enumerate(zip(self.members, self.published, strict=True)):
            if m.bounds is None:
                continue
            at = self.index(k)
            floor[at] = np.maximum(floor[at], m.bounds[0][p])
            ceiling[at] = np.minimum(ceiling[at], m.bounds[1][p])
        return floor, ceiling

    def free(self) -> np.ndarray:
        out = np.zeros(self.n, dtype=bool)
        for k, (m, p) in enumerate(zip(self.members, self.published, strict=True)):
            out[self.index(k)] = m.roles[p] == Role.FREE
        return out

    # -- extra targets ------------------------------------------------------------------------
    def derived_target(self, found: Derived) -> tuple[np.ndarray, float, float]:
        """A small population pinned by the shown cells must be protected like a cell the
        threshold hides: the attacker may not tell it from empty, nor from a safe size."""
        ratio = self.policy.effective_ratio(self.rules)
        v = found.value
        if found.dominated:  # as the primary rules protect a dominated cell
            rules = self.rules
            p_amount = rules.p_ratio / 100.0 * found.top1 - (v - found.top1 - found.top2)
            nk_amount = 100.0 / rules.nk_k * (found.top1 + found.top2) - v
            up = max(p_amount, nk_amount, ratio * v, self.policy.minimum)
            return found.atoms, min(up, v), up
        if self.atoms.of_units:
            up = max(self.rules.threshold - v, ratio * v, self.policy.minimum)
            return found.atoms, v, up
        up = max(ratio * v, self.policy.minimum)
        return found.atoms, min(up, v), up


def _shown_rows(system: _System, hidden: np.ndarray) -> np.ndarray:
    """Positions (within the published cells) the attacker knows exactly."""
    roles = system.roles()
    known = np.isin(roles, [Role.SHOWN, Role.IMPLICIT, Role.FREE])
    return np.flatnonzero(known & ~hidden[: system.n_published])


def _search(
    system: _System, hidden: np.ndarray, public: Sequence[Derived], deadline: float
) -> Derived | None:
    """A small population the shown cells pin, else a dominated difference of two of them;
    a search still unsettled at ``deadline`` (``time.monotonic()``) raises DisclosureError."""
    incidence = system.incidence()[: system.n_published]
    rows = _shown_rows(system, hidden)
    shown = incidence[rows]
    exclude = [d.atoms for d in public]
    left = deadline - time.monotonic()
    if left <= 0:
        raise DisclosureError(SEARCH_TIMEOUT)
    found = find_small(
        shown, system.atoms.value, system.atoms.by_period, system.rules.threshold,
        exclude=exclude, time_limit=min(60.0, left),
    )  # fmt: skip
    atoms = system.atoms
    if found is not None or atoms.by_unit is None or atoms.top is None:
        return found
    owners = np.searchsorted(system.offsets, rows, side="right") - 1
    return find_dominated(shown, owners, atoms.by_unit, atoms.top, system.rules, exclude=exclude)


def protect_linked(
    members: Sequence[Member],
    atoms: AtomSpace,
    rules: RuleSet,
    policy: ProtectionPolicy | None = None,
    options: SuppressionOptions | None = None,
) -> LinkedResult:
    """Choose which ``FREE`` cells to hide (see the module's notes); a set that cannot be
    protected raises ``DisclosureError``."""
    policy = policy or ProtectionPolicy()
    if any(m.role(Role.CHANGED).any() for m in members):
        raise DisclosureError(FROZEN)
    system = _System(members, atoms, rules, policy)
    # What the fixed cells give away already (a population, a sensitive cell) cannot be helped
    # by hiding free cells; the gate reports it against the releases that showed it. The new
    # table's implicit total is no fixed cell: it is public only once all its cells are shown.
    fixed_only = system.always_hidden() | system.free()
    fixed_only[: system.n_published] |= system.roles() == Role.IMPLICIT
    public: list[Derived] = []
    deadline = time.monotonic() + SEARCH_SECONDS
    while (found := _search(system, fixed_only, public, deadline)) is not None:
        public.append(found)
        if len(public) > MAX_DERIVED:
            break
    system.waived = _given_away(system, fixed_only)
    derived = 0
    while True:
        table = system.table()
        required = system.requirement()
        primary = system.always_hidden()
        candidates = system.free() & ~primary & ~table.empty
        pattern = suppress(
            table, primary, required, options, candidates=candidates, bounds=system.bounds(table)
        )
        found = _search(system, pattern.hidden, public, deadline)
        if found is None:
            break
        derived += 1
        if derived > MAX_DERIVED:
            raise DisclosureError(
                "the tables give away too many small groups together; publish fewer or coarser "
                "tables"
            )
        system.extra.append(system.derived_target(found))
    return _finish(system, table, pattern.hidden, required, derived, public)


def _given_away(system: _System, hidden: np.ndarray) -> set[int]:
    """Targets an attacker narrows too far from the shown cells alone, with ``hidden`` hidden."""
    table = system.table()
    required = system.requirement()
    floor, ceiling = system.bounds(table)
    knowledge = Knowledge.suppressed(table, hidden, floor=floor, ceiling=ceiling)
    result = audit(table, knowledge, required, targets=hidden & required.needed)
    return {int(c) for c in np.flatnonzero(result.unsafe)}


@dataclass(frozen=True)
class Combination:
    """A small group the shown cells pin together: its persons and value, the shown cells
    (member, cell) combining to it, and whether the members not new gave it away alone."""

    persons: float
    value: float
    cells: tuple[tuple[int, int], ...]
    before: bool
    dominated: bool = False  # a sum one or two persons dominate, rather than a small group

    @property
    def members(self) -> tuple[int, ...]:
        return tuple(sorted({m for m, _ in self.cells}))


@dataclass(frozen=True, eq=False)
class LinkedAudit:
    """The gate's verdict on a linked set: per member, the hidden cells the whole set narrows
    too far, and those the members that are not new narrowed already; cells released before
    that the data no longer gives (the set is frozen then); small groups given away."""

    unsafe: tuple[np.ndarray, ...]
    unsafe_before: tuple[np.ndarray, ...]
    changed: int
    combinations: tuple[Combination, ...]

    @property
    def passed(self) -> bool:
        new = any((u & ~b).any() for u, b in zip(self.unsafe, self.unsafe_before, strict=True))
        return not new and not self.changed and not any(not c.before for c in self.combinations)


def audit_linked(
    members: Sequence[Member],
    atoms: AtomSpace,
    rules: RuleSet,
    policy: ProtectionPolicy | None = None,
    *,
    new: Sequence[bool] | None = None,
    earlier: Sequence[Member] | None = None,
    max_found: int = 10,
) -> LinkedAudit:
    """Check a published linked set as it is (no ``FREE`` cells): every sensitive hidden cell
    keeps its protection against the whole set, no released cell changed since, and no small
    population is pinned (at most ``max_found`` are named). ``new`` marks the members being
    released now: what the others give away alone is told apart, as a problem of earlier
    releases rather than of this one; ``earlier`` are the members as they were before it (what
    the new tables of another family tell about their cells left out)."""
    policy = policy or ProtectionPolicy()
    if any(m.role(Role.FREE).any() for m in members):
        raise DisclosureError("an audited linked set has no cells left to choose")
    new = list(new) if new is not None else [True] * len(members)
    system = _System(members, atoms, rules, policy)
    table = system.table()
    required = system.requirement()
    hidden = system.always_hidden()
    before = hidden.copy()
    for k, fresh in enumerate(new):
        if fresh:
            before[system.index(k)] = True
    found: list[Derived] = []
    old: list[Derived] = []
    # An audit that cannot settle is an error, never a pass: it gets longer than protection.
    deadline = time.monotonic() + 5 * SEARCH_SECONDS
    while len(old) < max_found and (more := _search(system, before, old, deadline)) is not None:
        old.append(more)
    while (
        len(found) < max_found
        and (more := _search(system, hidden, [*old, *found], deadline)) is not None
    ):
        found.append(more)
    everything = _unsafe(system, table, hidden, required)
    past = _System(earlier, atoms, rules, policy) if earlier is not None else system
    unsafe_before = _unsafe(past, table, before, required)
    combinations = [_combination(system, hidden, d, True) for d in old] + [
        _combination(system, hidden, d, False) for d in found
    ]
    return LinkedAudit(
        unsafe=_per_member(system, everything),
        unsafe_before=_per_member(system, unsafe_before),
        changed=sum(int(m.role(Role.CHANGED).sum()) for m in members),
        combinations=tuple(combinations),
    )


def _unsafe(system: _System, table: Table, hidden: np.ndarray, required: Requirement) -> np.ndarray:
    floor, ceiling = system.bounds(table)
    knowledge = Knowledge.suppressed(table, hidden, floor=floor, ceiling=ceiling)
    return audit(table, knowledge, required, targets=hidden & required.needed).unsafe


def _per_member(system: _System, cells: np.ndarray) -> tuple[np.ndarray, ...]:
    out = []
    for k, (m, p) in enumerate(zip(system.members, system.published, strict=True)):
        mask = np.zeros(m.table.n, dtype=bool)
        mask[p] = cells[system.index(k)]
        out.append(mask)
    return tuple(out)


def _combination(system: _System, hidden: np.ndarray, found: Derived, before: bool) -> Combination:
    """Which shown cells pin ``found``: a least-squares combination of their atoms' rows."""
    incidence = system.incidence()[: system.n_published]
    rows = _shown_rows(system, hidden)
    target = np.zeros(system.atoms.n)
    target[found.atoms] = 1.0
    weights = lsqr(incidence[rows].T.tocsr(), target, atol=1e-12, btol=1e-12)[0]
    used = rows[np.abs(weights) > 1e-6]
    cells = []
    for position in used:
        k = int(np.searchsorted(system.offsets, position, side="right") - 1)
        cells.append((k, int(system.published[k][position - system.offsets[k]])))
    return Combination(found.persons, found.value, tuple(cells), before, found.dominated)


def _finish(
    system: _System,
    table: Table,
    hidden: np.ndarray,
    required: Requirement,
    derived: int,
    public: Sequence[Derived],
) -> LinkedResult:
    floor, ceiling = system.bounds(table)
    knowledge = Knowledge.suppressed(table, hidden, floor=floor, ceiling=ceiling)
    targets = hidden & required.needed
    result = audit(table, knowledge, required, targets=targets)
    per_hidden, per_lo, per_hi, per_unsafe = [], [], [], []
    for k, (m, p) in enumerate(zip(system.members, system.published, strict=True)):
        at = system.index(k)
        mask = np.zeros(m.table.n, dtype=bool)
        mask[p] = hidden[at]
        mask[m.role(Role.HIDDEN) | m.role(Role.BOUNDED) | m.role(Role.CHANGED)] = True
        lo = np.full(m.table.n, np.nan)
        hi = np.full(m.table.n, np.nan)
        lo[p], hi[p] = result.lo[at], result.hi[at]
        unsafe = np.zeros(m.table.n, dtype=bool)
        unsafe[p] = result.unsafe[at]
        per_hidden.append(mask)
        per_lo.append(lo)
        per_hi.append(hi)
        per_unsafe.append(unsafe)
    extra_unsafe = result.unsafe[system.n_published + system.atoms.n :]
    passed = result.passed
    message = None
    if extra_unsafe.any():
        message = "a small group the tables give away together can be narrowed"
    elif not passed:
        message = "the audit found hidden cells an attacker can narrow too far"
    return LinkedResult(
        tuple(per_hidden), tuple(per_lo), tuple(per_hi), derived, passed, result,
        tuple(public), tuple(per_unsafe), message,
    )  # fmt: skip
