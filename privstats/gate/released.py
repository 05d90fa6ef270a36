"""What an audience holds, read back from report folders: each table as ``Published``.

A report's CSV files name their rows and columns by the store's codes, and the manifest says
which dimensions run down and which across (its ``layout``); with the table's recorded query
every published cell has its key, and its state (a number, hidden, ``<N``) says what a reader
knows of it. :func:`released_tables` reads every release in the ledger this way, for the
runner (which protects new tables against them) and the gate (which audits a new report
against them). Tables whose record or layout cannot be read are left out and named.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

from privstats.config import RuleSet
from privstats.exceptions import ConfigError, DisclosureError
from privstats.gate.ledger import ReleaseLedger
from privstats.gate.published import MANIFEST, PublishedTable, ReportFolder, read_report
from privstats.protect import Method
from privstats.report.table import CellState
from privstats.tabulate.linking import HIDDEN, Interval, Key, Published, interval
from privstats.tabulate.query import Query

_RULE_FIELDS = frozenset(f.name for f in dataclasses.fields(RuleSet))
# How a CSV joins the codes of several column dimensions in one header cell.
_JOIN = " / "


def published_of(report: ReportFolder, table: PublishedTable) -> Published | None:
    """The table as its readers hold it, or None when its record or layout is unreadable."""
    layout = table.entry.layout
    if layout is None:
        return None
    try:
        query = Query.from_dict(table.query)
        rules = RuleSet(**{k: v for k, v in table.rules.items() if k in _RULE_FIELDS})
        method = Method(table.method or Method.SUPPRESS)
    except (DisclosureError, ConfigError, TypeError, ValueError):
        return None
    index, columns = list(layout.index), list(layout.columns)
    if sorted(index + columns) != sorted(query.dims) or len(index) != table.label_columns:
        return None
    cells: dict[Key, Interval] = {}
    locations: dict[Key, str] = {}
    for labels, row in zip(table.labels, table.cells, strict=True):
        for header, cell in zip(table.column_labels, row, strict=True):
            codes = dict(zip(index, labels, strict=True))
            if columns:
                parts = header.split(_JOIN) if len(columns) > 1 else [header]
                if len(parts) != len(columns):
                    return None
                codes.update(zip(columns, parts, strict=True))
            key = tuple(codes[d] for d in query.dims)
            known = _known(cell.state, cell.value, rules, method)
            if known is not None:
                cells[key] = known
                locations[key] = cell.location
    label = report.display(table.file)
    return Published(label, query, rules, cells, method, locations)


def _known(state: CellState, value: object, rules: RuleSet, method: Method) -> Interval | None:
    if state is CellState.VALUE:
        return interval(value, "", rules, method)
    if state is CellState.HIDDEN:
        return HIDDEN
    if state is CellState.MISSING:
        return (0.0, 0.0)  # nothing to count: a known empty cell
    if isinstance(value, str) and value.startswith("<"):
        return interval(None, value, rules, method)
    return None


def released_tables(root: Path | str, *, skip: str | None = None) -> list[Published]:
    """Every table of every release recorded in the ledger at ``root`` (every audience), but
    the release whose content hash is ``skip`` (a report audited again after its release)."""
    return list(_released(ReleaseLedger(root), skip))


def _released(ledger: ReleaseLedger, skip: str | None) -> Iterator[Published]:
    state = ledger.read()
    for entry in state.entries:
        if skip is not None and entry.data.get("content_sha256") == skip:
            continue
        folder = ledger.root / entry.folder
        if not entry.folder or not (folder / MANIFEST).is_file():
            continue
        report, _ = read_report(folder, f"release {entry.release_id}")
        if report is None:
            continue
        for table in report.tables:
            if table.method == Method.DP:
                continue  # by method: noisy numbers pin nothing; the budget keeps DP tables
            published = published_of(report, table)
            if published is not None:
                yield dataclasses.replace(
                    published, label=f"release {entry.release_id}: {table.name}"
                )
