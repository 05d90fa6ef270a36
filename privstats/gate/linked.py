"""The linked-set check: the report being released, with everything released before, as one set.

Every table of the audited report folders and every table of the release ledger (to any
audience: partners may talk to each other) whose family and period meet one of them is read
as its audience holds it (``released.published_of``) and recomputed from the store; tables
counting the same thing are joined through their populations (``privstats.tabulate.linking``),
so that two tables describing one population are one population, whatever their wording: a
no-op cap, a time-zone alias, a dimension that sums away, a one-dimensional table equal to
another's margin, a chain of three tables, two partners' reports against a third's.

Four kinds of problem, each a failure when this release causes it and a note when the
releases before it caused it alone (the new release cannot undo that):

``recoverable``  a hidden sensitive cell an attacker narrows below its protection from all
                 the shown cells together;
``small-group``  a group of 1 to threshold - 1 persons the shown cells give away exactly (a
                 difference of two periods, of two filters, all partners but one, ...);
``dominated``    a sum one or two persons dominate that two shown cells give away by their
                 difference (a month minus its first thirty days);
``change``       a cell released before with another value (late logs, an erasure) whose
                 population the new release pins: the difference would tell the change.

Tables that are not sums (quantiles, statistics over units) and rounded tables are checked
alone (``thresholds``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from privstats.exceptions import DisclosureError
from privstats.gate.findings import Check, GateFinding, LinkedProblem, Severity
from privstats.gate.ledger import ReleaseLedger
from privstats.gate.published import ReportFolder
from privstats.gate.released import published_of, released_tables
from privstats.protect.linked import Role
from privstats.store import Store
from privstats.tabulate.linking import CLIPPED, Linker, Published, code_text, roles_of


def check_linked(
    reports: Sequence[ReportFolder],
    ledger: ReleaseLedger | None,
    store: Store,
    skip_release: str | None = None,
) -> tuple[list[LinkedProblem], list[GateFinding]]:
    """Every linked-set problem of ``reports`` with the ledger's releases (but the release whose
    content is ``skip_release``: this very report, released already)."""
    findings: list[GateFinding] = []
    new: list[Published] = []
    files: dict[str, str] = {}
    for report in reports:
        for table in report.tables:
            published = published_of(report, table)
            if published is None:
                findings.append(GateFinding(report.display(table.file), "", Check.LINKED,
                                            "not-linked", "its query or layout cannot be read: "
                                            "checked alone only"))  # fmt: skip
                continue
            new.append(published)
            files[published.label] = report.display(table.file)
    linker = Linker(store)
    for published in new:
        if linker.clips(published.query, published.rules):
            findings.append(GateFinding(files[published.label], "", Check.LINKED, "clipped",
                                        CLIPPED))  # fmt: skip
    if not new:
        return [], findings
    if ledger is not None:
        for published in released_tables(ledger.root, skip=skip_release):
            linker.add(published)
    problems: list[LinkedProblem] = []
    try:
        for _family, entries, audit, fresh in linker.audit(new):
            labels = [e.published.label if e.published else "" for e in entries]
            threshold = max(e.rules.threshold for e in entries)
            for k, entry in enumerate(entries):
                # A released table's cells narrowed by this release (persons shown beside the
                # requests it hid) are this release's problem; what it gave away alone is not.
                unsafe, before = audit.unsafe[k], audit.unsafe_before[k]
                for is_before, cells in ((False, unsafe & ~before), (True, unsafe & before)):
                    if cells.any() and (fresh[k] or not is_before):
                        others = [labels[j] for j in range(len(entries)) if j != k]
                        if not fresh[k]:
                            others = [labels[j] for j, f in enumerate(fresh) if f] or [
                                p.label for p in new
                            ]
                        problems.append(LinkedProblem(
                            "recoverable", labels[k], tuple(others),
                            int(cells.sum()), threshold, is_before,
                            _locations(entry, np.flatnonzero(cells)),
                        ))  # fmt: skip
            if not any(fresh):
                continue  # the other counting family: only what this release narrows in it
            if audit.changed:
                first = fresh.index(True)
                changed = {labels[k] for k, e in enumerate(entries)
                           if not fresh[k] and (roles_of(e) == Role.CHANGED).any()}  # fmt: skip
                problems.append(LinkedProblem("change", labels[first], tuple(sorted(changed)),
                                              audit.changed, threshold))  # fmt: skip
            for combination in audit.combinations:
                involved = [labels[m] for m in combination.members]
                mine = [m for m in combination.members if fresh[m]] or [fresh.index(True)]
                locations = tuple(
                    loc for m, cell in combination.cells if fresh[m]
                    for loc in _locations(entries[m], [cell])
                )  # fmt: skip
                problems.append(LinkedProblem(
                    "dominated" if combination.dominated else "small-group", labels[mine[0]],
                    tuple(lb for lb in dict.fromkeys(involved) if lb != labels[mine[0]]),
                    1, threshold, combination.before, locations,
                ))  # fmt: skip
    except DisclosureError as error:
        findings.append(
            GateFinding(
                "", "", Check.LINKED, "not-checked", f"the linked set could not be checked: {error}"
            )
        )
        return problems, findings
    for problem in problems:
        findings.append(GateFinding(
            files.get(problem.table, problem.table), "; ".join(problem.locations[:5]),
            Check.LINKED, problem.kind, problem.risk(),
            Severity.NOTE if problem.before else Severity.FAIL,
        ))  # fmt: skip
    return problems, findings


def _locations(entry: object, cells: Sequence[int] | np.ndarray) -> tuple[str, ...]:
    published = getattr(entry, "published", None)
    grid = getattr(entry, "grid", None)
    if published is None or grid is None or not published.locations:
        return ()
    keys = grid.keys
    out = []
    for cell in cells:
        key = tuple(code_text(keys.iloc[int(cell)][d]) for d in published.query.dims)
        if key in published.locations:
            out.append(published.locations[key])
    return tuple(out)
