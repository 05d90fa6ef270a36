"""``audit_path``: every check of the gate over a report folder, or any file or folder.

For any path: the leak scan and the self-containment check (``privstats.leaks``) over every
file. For each report folder found (a folder with ``manifest.json``: the path itself, or any
folder under it): the manifest against the files (every file listed, every SHA-256 equal,
nothing else in the folder), the threshold audit of each table (``thresholds``), with the store
when one is given, and the linked-set check (``linked``) of the report's tables with every
released table of the ledger.
"""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import polars as pl

from privstats.config import Config, RuleSet, load_config
from privstats.exceptions import InputError
from privstats.gate import budget as dp_check
from privstats.gate.findings import (
    AuditReport,
    Check,
    GateFinding,
    LinkedProblem,
    Severity,
    TableVerdict,
    note,
    sort_findings,
)
from privstats.gate.ledger import LEDGER_FILE, ReleaseLedger, content_sha256
from privstats.gate.linked import check_linked
from privstats.gate.provenance import other_store
from privstats.gate.published import HTML, MANIFEST, PublishedTable, ReportFolder, read_report
from privstats.gate.thresholds import Verified, check_claims, check_with_store
from privstats.leaks import CanarySet, Finding, Kind, scan_path
from privstats.report.manifest import file_hashes, sha256_file
from privstats.report.table import CellState
from privstats.schema import PERSON_KEYS
from privstats.store import Store

RequiredRules = RuleSet | Callable[[str | None], RuleSet] | None
# Pseudonyms handed to the leak scanner are read from the store for the reports' periods; a
# store with more than this many in those periods is not loaded (the scanner still finds
# pseudonym-shaped numbers by their form).
MAX_PSEUDONYMS = 5_000_000
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def audit_path(
    path: Path | str,
    *,
    store: Store | Path | str | None = None,
    canaries: CanarySet | None = None,
    ledger: ReleaseLedger | Path | str | None = None,
    required_rules: RequiredRules = None,
    config: Config | None = None,
) -> AuditReport:
    """Audit ``path`` (see the module's notes); the report's ``passed`` is the verdict.

    ``store``: the store the reports were made from (omit it to check the folder alone);
    ``canaries``: known identifying values of the inputs, as keyed digests; ``ledger``: the
    release ledger (or its folder) whose released tables the linked-set check joins;
    ``required_rules``: the rules the configuration requires, or a function of the partner
    giving them. DP tables are checked by their method (``privstats.gate.budget``): their
    draw, and the privacy budget under ``config``'s ``[dp]`` caps, instead of rules and links.
    """
    config = config or load_config()
    started = time.perf_counter()
    root = Path(path)
    if not root.exists():
        raise InputError(f"nothing to audit at {root}: no such file or folder")
    findings: list[GateFinding] = []
    the_store = _open_store(store, findings)
    the_ledger = ReleaseLedger(ledger) if isinstance(ledger, Path | str) else ledger
    folders = _report_folders(root)
    reports: list[ReportFolder] = []
    for folder in folders:
        relative = folder.relative_to(root).as_posix() if folder != root else "."
        report, problems = read_report(folder, relative)
        findings += problems
        findings += check_manifest(folder, relative, report)
        if report is not None:
            reports.append(report)

    pseudonyms = _pseudonyms(the_store, reports, findings)
    leaks = scan_path(root, canaries, pseudonyms=pseudonyms)
    findings += [GateFinding.from_leak(leak) for leak in _without_catalog_ids(leaks, reports)]
    hashes = {root.name: sha256_file(root)} if root.is_file() else file_hashes_all(root)
    if not folders:
        findings.append(note(root.name, Check.MANIFEST, "no-manifest",
                             "not a report folder: only the leak scan and the self-containment "
                             "check ran"))  # fmt: skip

    verdicts: list[TableVerdict] = []
    checked: list[ReportFolder] = []
    for report in reports:
        rules = required_rules(report.partner) if callable(required_rules) else required_rules
        made_from = the_store
        if the_store is not None and (elsewhere := other_store(report, the_store)) is not None:
            findings.append(elsewhere)
            made_from = None if elsewhere.severity is Severity.FAIL else the_store
        if made_from is not None:
            checked.append(report)
        for table in report.tables:
            verdict, found = _table(report, table, made_from, rules, config)
            verdicts.append(verdict)
            findings += found
        if the_store is None and report.tables:
            findings.append(
                note(
                    report.display(MANIFEST),
                    Check.RECOMPUTE,
                    "no-store",
                    "tables not recomputed: the persons behind each shown cell and "
                    "the protection of hidden cells are proven only with the store",
                )
            )

    linked: list[LinkedProblem] = []
    if the_ledger is not None:
        findings += _ledger_problems(the_ledger)
    # By method: DP tables are never linked (their noisy numbers pin no population); the
    # budget holds them instead.
    suppressed = [
        dataclasses.replace(r, tables=tuple(t for t in r.tables if not dp_check.is_dp(t)))
        for r in checked
    ]
    suppressed = [r for r in suppressed if r.tables]
    found, budget_lines = dp_check.check_budget(
        reports, the_ledger.root if the_ledger is not None else None, config
    )
    findings += found
    if the_store is not None and suppressed:
        linked, found = check_linked(suppressed, the_ledger, the_store,
                                     skip_release=content_sha256(hashes))  # fmt: skip
        findings += found
    elif the_store is None and any(not dp_check.is_dp(t) for r in reports for t in r.tables):
        findings.append(note(root.name, Check.LINKED, "no-store",
                             "the release was not checked with everything released before: "
                             "that needs the store"))  # fmt: skip
    return AuditReport(
        path=root,
        findings=sort_findings(findings),
        tables=tuple(verdicts),
        linked=tuple(linked),
        reports=tuple(r.relative for r in reports),
        store_checked=the_store is not None,
        seconds=time.perf_counter() - started,
        files_scanned=len(hashes),
        file_hashes=hashes,
        budget=tuple(budget_lines),
    )


def file_hashes_all(folder: Path) -> dict[str, str]:
    """SHA-256 of every file under ``folder``, the manifest included."""
    hashes = file_hashes(folder)
    if (folder / MANIFEST).is_file():
        hashes[MANIFEST] = sha256_file(folder / MANIFEST)
    return dict(sorted(hashes.items()))


def _without_catalog_ids(leaks: list[Finding], reports: Sequence[ReportFolder]) -> list[Finding]:
    """The leak findings, less the scanner's reading of a manifest's input catalog ids.

    The scanner reads a JSON list of strings as one text (a notebook's ``source`` lines), so
    the catalog ids, each a SHA-256 in hexadecimal, run together into one long hexadecimal
    token that it reports as a pseudonym. Here that finding is dropped only when every id of
    that manifest is exactly a SHA-256, which this function checks itself; any other content
    of the list still fails. (Until the scanner keeps list items apart; see the gate's notes.)
    """
    digests_only = {
        report.display(MANIFEST)
        for report in reports
        if (ids := report.manifest.input_catalog_ids) is not None
        and all(isinstance(i, str) and _SHA256.match(i) for i in ids)
    }
    return [
        leak for leak in leaks
        if not (leak.file in digests_only and leak.kind is Kind.PSEUDONYM
                and leak.location.startswith("/input_catalog_ids/")
                and leak.note == "long hexadecimal token")
    ]  # fmt: skip


def _open_store(store: Store | Path | str | None, findings: list[GateFinding]) -> Store | None:
    if store is None:
        return None
    the_store = store if isinstance(store, Store) else Store(Path(store))
    if not the_store.exists():
        findings.append(
            note(
                str(the_store.root.name),
                Check.RECOMPUTE,
                "no-store",
                "no store there: tables are checked from the folder alone",
            )
        )
        return None
    return the_store


def _report_folders(root: Path) -> list[Path]:
    """``root`` if it holds a manifest, and every folder under it that does (none hidden)."""
    if root.is_file():
        return []
    found = [root] if (root / MANIFEST).is_file() else []
    found += sorted(
        path.parent for path in root.rglob(MANIFEST)
        if path.parent != root and path.is_file()
        and not any(part.startswith(".") for part in path.parent.relative_to(root).parts)
    )  # fmt: skip
    return found


def check_manifest(folder: Path, relative: str, report: ReportFolder | None) -> list[GateFinding]:
    """The manifest's file list against the folder: every file listed, every checksum equal,
    and nothing in the folder but the report's artefacts."""

    def display(name: str) -> str:
        return name if relative == "." else f"{relative}/{name}"

    if report is None:
        return []
    listed = report.manifest.files
    actual = file_hashes(folder)
    found = []
    for name in sorted(actual.keys() - listed.keys()):
        found.append(
            GateFinding(
                display(name), "", Check.MANIFEST, "unlisted", f"a file {MANIFEST} does not list"
            )
        )
    for name in sorted(listed.keys() - actual.keys()):
        found.append(
            GateFinding(
                display(name),
                "",
                Check.MANIFEST,
                "absent",
                f"listed in {MANIFEST} but not in the folder",
            )
        )
    for name in sorted(actual.keys() & listed.keys()):
        expected = listed[name]
        if not isinstance(expected, str) or not _SHA256.match(expected):
            found.append(
                GateFinding(
                    display(MANIFEST),
                    f"/files/{name}",
                    Check.MANIFEST,
                    "malformed",
                    "not a SHA-256 in hexadecimal",
                )
            )
        elif actual[name] != expected:
            found.append(GateFinding(display(name), "", Check.MANIFEST, "wrong-sha256",
                                     f"its SHA-256 is not the one {MANIFEST} states: changed "
                                     "after the report was made"))  # fmt: skip
    artefacts = {HTML, *(t.file for t in report.manifest.tables if t is not None)}
    for name in sorted(actual):
        if name not in artefacts:
            found.append(GateFinding(display(name), "", Check.MANIFEST, "not-an-artefact",
                                     "a report folder holds only report.html, the tables' CSV "
                                     f"files and {MANIFEST}"))  # fmt: skip
    return found


def _pseudonyms(
    store: Store | None, reports: Sequence[ReportFolder], findings: list[GateFinding]
) -> set[int] | None:
    """The store's pseudonyms in the periods the reports cover, for the leak scanner."""
    if store is None:
        return None
    wanted: dict[str, tuple[str | None, str | None]] = {}
    for report in reports:
        for table in report.tables:
            name = str(table.query.get("table") or "")
            if name in PERSON_KEYS:
                start, end = table.query.get("start"), table.query.get("end")
                old = wanted.get(name)
                if old is not None:
                    start = None if start is None or old[0] is None else min(start, old[0])
                    end = None if end is None or old[1] is None else max(end, old[1])
                wanted[name] = (start, end)
    known: set[int] = set()
    import datetime as dt

    for name, (start, end) in wanted.items():
        person = PERSON_KEYS[name][-1]
        pad = dt.timedelta(days=1)
        first = dt.date.fromisoformat(start) - pad if start else None
        last = dt.date.fromisoformat(end) + pad if end else None
        column = store.scan(name, first, last).select(pl.col(person).unique()).collect()
        if len(known) + column.height > MAX_PSEUDONYMS:
            findings.append(note(name, Check.LEAK, "pseudonyms-not-loaded",
                                 "too many pseudonyms to look up one by one; found by their "
                                 "form only"))  # fmt: skip
            return known or None
        known.update(v for v in column[person].to_list() if v is not None)
    return known


def _table(
    report: ReportFolder,
    table: PublishedTable,
    store: Store | None,
    rules: RuleSet | None,
    config: Config,
) -> tuple[TableVerdict, list[GateFinding]]:
    if dp_check.is_dp(table):
        found, recomputed = dp_check.check_table(report, table, store, config)
        return TableVerdict(
            report=report.relative, name=table.name, file=report.display(table.file),
            measure=table.measure, method=table.method, status=str(table.record.get("status")),
            threshold=None, shown_cells=table.count(CellState.VALUE),
            hidden_cells=table.count(CellState.HIDDEN), claims_checked=True,
            store_checked=recomputed, failures=sum(f.severity is Severity.FAIL for f in found),
        ), found  # fmt: skip
    found = check_claims(report, table, rules)
    verified: Verified | None = None
    if store is not None:
        store_found, verified = check_with_store(report, table, store)
        found += store_found
    threshold = table.rules.get("threshold")
    verdict = TableVerdict(
        report=report.relative,
        name=table.name,
        file=report.display(table.file),
        measure=table.measure,
        method=table.method,
        status=str(table.record.get("status")) if table.record.get("status") else None,
        threshold=threshold if isinstance(threshold, int) else None,
        shown_cells=table.count(CellState.VALUE),
        hidden_cells=table.count(CellState.HIDDEN),
        claims_checked=True,
        store_checked=verified is not None and verified.placement.exact,
        lp_cells_audited=verified.lp_cells_audited if verified else 0,
        lp_cells_unsafe=verified.lp_cells_unsafe if verified else 0,
        lp_tightest_margin=verified.lp_tightest_margin if verified else None,
        failures=sum(f.severity is Severity.FAIL for f in found),
    )
    return verdict, found


def _ledger_problems(ledger: ReleaseLedger) -> list[GateFinding]:
    """The ledger's own damage: a broken chain fails, a torn line is a note."""
    found = []
    for problem in ledger.read().problems:
        severity = Severity.FAIL if problem.kind == "chain" else Severity.NOTE
        found.append(GateFinding(LEDGER_FILE, f"line {problem.line}", Check.LEDGER,
                                 problem.kind, problem.message, severity))  # fmt: skip
    return found
