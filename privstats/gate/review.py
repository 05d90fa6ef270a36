"""The reviewer's view of one rendered report folder (``notebooks/review.ipynb`` shows it).

:func:`review_report` reads a folder the runner wrote (``reports/<name>/<partner>/<period>/``):
its ``manifest.json`` (parameters, rules, each table's public record, file hashes) and, when it
is there, the reviewer's full records that the runner keeps outside the folder
(``reports/.work/<name>/<partner>/<period>/records.json``: which rule hid which cell, and the
audit's interval for each hidden cell). It checks the files against the manifest's hashes and
asks the reviewer's gate (``privstats.gate.audit_path``) for its findings, its verification of
every table (with the store: recomputed and audited by linear programming) and its
problems of the linked set; without the gate, it runs the leak scanner
(:mod:`privstats.leaks`) itself.
The verdict comes first: every check passed, or the reasons it did not.

Nothing here reads a hidden value: only what the folder and the records hold (and what the
gate recomputes from the store, when it is given one).
"""

from __future__ import annotations

import importlib
import json
import statistics
import sys
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from privstats.exceptions import ReportError
from privstats.report.i18n import Language, message
from privstats.report.manifest import (
    MANIFEST,
    REVIEW_RECORDS,
    WORK_FOLDER,
    Manifest,
    TableEntry,
    verify_manifest,
)

_PASSING = frozenset({"pass", "suppressed"})
SECONDARY = "secondary"  # the engine's reason for a cell hidden to protect others
OTHER_STORE = "other-store"  # the gate's finding for a report made from another store


@dataclass(frozen=True)
class IntervalSummary:
    """How far an attacker can narrow the hidden cells of one table, in the table's unit."""

    audited: int
    unsafe: int
    narrowest: float | None = None
    median_width: float | None = None
    unbounded: int = 0


@dataclass(frozen=True)
class TableReview:
    """One published table as the reviewer sees it."""

    name: str
    title: str
    status: str
    shape: tuple[int, int]
    hidden: int
    rules: Mapping[str, Any]
    method: str
    audit_passed: bool | None
    # Full records only: rule → cells it fired on (a cell can fail several rules), and the
    # hidden cells by kind: failing a primary rule, or hidden to protect those (secondary).
    reasons: Mapping[str, int] = field(default_factory=dict)
    primary: int | None = None
    secondary: int | None = None
    intervals: IntervalSummary | None = None

    @property
    def ok(self) -> bool:
        return self.status in _PASSING and self.audit_passed is not False


@dataclass(frozen=True)
class ReportReview:
    """Everything the reviewer's notebook shows about one report folder."""

    folder: Path
    report: str
    partner: str | None
    period: str
    generated_at: str
    parameters: Mapping[str, Any]
    rules: Mapping[str, Any] | None
    tables: tuple[TableReview, ...]
    figures: int
    file_problems: tuple[str, ...]
    full_records: bool
    # None: the check is not available here (no scanner, no gate), which is not a pass.
    leak_findings: tuple[Any, ...] | None
    linked: tuple[Any, ...] | None
    gate_findings: tuple[Any, ...] | None = None
    gate_tables: tuple[Any, ...] | None = None  # the gate's verification of each table
    gate_verdict: str | None = None
    # The gate recomputed every table from the store the report was made from.
    store_checked: bool = False
    # The privacy budget of the DP tables: spent, this release's charge, what would remain.
    budget: tuple[str, ...] = ()

    def problems(self, language: Language | str) -> list[str]:
        """Why the report may not be released, in words; empty when every check passed."""
        out = []
        for table in self.tables:
            if table.status not in _PASSING:
                out.append(message("review.problem.status", language, table=table.name))
            elif table.audit_passed is False:
                out.append(message("review.problem.audit", language, table=table.name))
        if self.file_problems:
            out.append(message("review.problem.files", language, count=len(self.file_problems)))
        if self.leak_findings:
            out.append(message("review.problem.leaks", language, count=len(self.leak_findings)))
        failing = _failing(self.gate_findings)
        if any(getattr(f, "kind", "") == OTHER_STORE for f in failing):
            out.append(message("review.problem.other_store", language))
            failing = [f for f in failing if getattr(f, "kind", "") != OTHER_STORE]
        if failing:
            out.append(message("review.problem.gate", language, count=len(failing)))
        new = [p for p in self.linked or () if not getattr(p, "before", False)]
        if new:
            out.append(message("review.problem.linked", language, count=len(new)))
        return out

    @property
    def passed(self) -> bool:
        """Every check ran, the recomputation from the store included, and passed."""
        return (
            not self.problems(Language.EN)
            and self.leak_findings is not None
            and (self.store_checked or not self.tables)
        )

    def verdict(self, language: Language | str) -> str:
        """The verdict in words, naming the report, its partner and its period."""
        about = {
            "report": self.report,
            "partner": self.partner or message("report.partner.all", language),
            "period": self.period,
        }
        problems = self.problems(language)
        if problems:
            return message("review.verdict.fail", language, reasons="; ".join(problems), **about)
        if self.leak_findings is None:
            return message("review.leaks.absent", language)
        if not self.passed:
            return message("review.verdict.unverified", language, **about)
        return message("review.verdict.pass", language, **about)

    # -- tables for display ----------------------------------------------------------------

    def tables_frame(self, language: Language | str) -> pd.DataFrame:
        """One row per table: status, shape, hidden cells, threshold, the audit's verdict."""

        def c(key: str) -> str:
            return message(f"review.column.{key}", language)

        return pd.DataFrame(
            [
                {
                    c("table"): t.name,
                    c("status"): t.status,
                    c("shape"): f"{t.shape[0]} × {t.shape[1]}",
                    c("hidden"): t.hidden,
                    c("threshold"): t.rules.get("threshold"),
                    c("rules"): _rules_text(t.rules, t.method),
                    c("audited"): t.intervals.audited if t.intervals else None,
                    c("unsafe"): t.intervals.unsafe if t.intervals else None,
                }
                for t in self.tables
            ]
        )

    def reasons_frame(self, language: Language | str) -> pd.DataFrame:
        """Per table: the cells each rule fired on (threshold, nk, p_percent, ...; a cell may
        fail several), the cells hidden to protect them (secondary), and all hidden cells."""
        names = sorted({r for t in self.tables for r in t.reasons if r != SECONDARY})
        rows = []
        for table in self.tables:
            row: dict[str, Any] = {message("review.column.table", language): table.name}
            row.update({name: int(table.reasons.get(name, 0)) for name in names})
            row[SECONDARY] = table.secondary
            row[message("review.column.hidden", language)] = table.hidden
            rows.append(row)
        return pd.DataFrame(rows)

    def intervals_frame(self, language: Language | str) -> pd.DataFrame:
        """Per table: cells audited, unsafe, narrowest and median width of attacker intervals."""

        def c(key: str) -> str:
            return message(f"review.column.{key}", language)

        return pd.DataFrame(
            [
                {
                    c("table"): t.name,
                    c("audited"): t.intervals.audited,
                    c("unsafe"): t.intervals.unsafe,
                    c("narrowest"): t.intervals.narrowest,
                    c("median_width"): t.intervals.median_width,
                }
                for t in self.tables
                if t.intervals is not None
            ]
        )

    def findings_frame(self, language: Language | str) -> pd.DataFrame:
        """The leak scanner's and the gate's findings (values redacted by the scanner)."""

        def c(key: str) -> str:
            return message(f"review.column.{key}", language)

        rows = []
        for finding in (*(self.leak_findings or ()), *_failing(self.gate_findings)):
            kind = getattr(finding, "kind", "")
            rows.append(
                {
                    c("file"): getattr(finding, "file", ""),
                    c("location"): getattr(finding, "location", ""),
                    c("kind"): getattr(kind, "value", kind),
                    c("note"): " ".join(
                        str(part)
                        for part in (
                            getattr(finding, "redacted", ""),
                            getattr(finding, "detail", ""),
                            getattr(finding, "note", ""),
                        )
                        if part
                    ),
                }
            )
        return pd.DataFrame(rows, columns=[c("file"), c("location"), c("kind"), c("note")])

    def gate_frame(self) -> pd.DataFrame:
        """The gate's verification per table (claims, recomputation, LP audit), if it ran."""
        return pd.DataFrame([t.to_dict() for t in self.gate_tables or ()])

    def linked_frame(self) -> pd.DataFrame:
        """The gate's problems of the linked set (this report with everything released
        before), one line each."""
        return pd.DataFrame({"problem": [str(problem) for problem in self.linked or ()]})

    def budget_frame(self) -> pd.DataFrame:
        """Each privacy budget the report's DP tables charge, one line each (empty without DP
        tables or without the release area)."""
        return pd.DataFrame({"budget": list(self.budget)})


def _failing(findings: Sequence[Any] | None) -> list[Any]:
    """The gate's findings that fail a release (its notes say what it could not check)."""
    return [f for f in findings or () if str(getattr(f, "severity", "fail")) == "fail"]


def _rules_text(rules: Mapping[str, Any], method: str) -> str:
    parts = [
        f"{key}={rules[key]}" for key in ("threshold", "nk_n", "nk_k", "p_ratio") if key in rules
    ]
    if method == "round" and "round_base" in rules:
        parts.append(f"round_base={rules['round_base']}")
    return f"{method}: " + ", ".join(parts)


def work_folder_of(folder: Path) -> Path:
    """The private work folder the runner kept for ``<out>/<name>/<partner>/<period>/<lang>``."""
    folder = Path(folder).resolve()
    return folder.parents[3] / WORK_FOLDER / folder.relative_to(folder.parents[3])


def _intervals(record: Mapping[str, Any]) -> IntervalSummary | None:
    audit = record.get("audit") or {}
    if "cells_audited" not in audit:
        return None
    widths = []
    unbounded = 0
    for cell in record.get("cells", ()):
        interval = cell.get("interval")
        if not interval:
            continue
        lo, hi = (float(x) for x in interval)
        if hi == float("inf") or lo == float("-inf"):
            unbounded += 1
        else:
            widths.append(hi - lo)
    return IntervalSummary(
        audited=int(audit.get("cells_audited", 0)),
        unsafe=int(audit.get("cells_unsafe", 0)),
        narrowest=min(widths) if widths else None,
        median_width=statistics.median(widths) if widths else None,
        unbounded=unbounded,
    )


def _table(entry: TableEntry, full: Mapping[str, Any] | None) -> TableReview:
    record = entry.record
    audit = record.get("audit") or {}
    reasons: Counter[str] = Counter()
    primary = secondary = None
    if full is not None:
        notes = [cell.get("reasons", ()) for cell in full.get("cells", ())]
        for fired in notes:
            reasons.update(fired)
        secondary = sum(list(fired) == [SECONDARY] for fired in notes)
        primary = len(notes) - secondary
    return TableReview(
        name=entry.name,
        title=entry.title or "",
        status=entry.status or "unknown",
        shape=entry.shape or (0, 0),
        hidden=entry.hidden_cells or 0,
        rules=dict(record.get("rules") or {}),
        method=str(record.get("method", "suppress")),
        audit_passed=audit.get("passed") if isinstance(audit.get("passed"), bool) else None,
        reasons=dict(reasons),
        primary=primary,
        secondary=secondary,
        intervals=_intervals(full if full is not None else record),
    )


def _leak_scan(folder: Path) -> tuple[Any, ...] | None:
    try:
        from privstats.leaks import scan_path
    except ImportError:  # the scanner is an optional part of an installation
        return None
    return tuple(scan_path(folder))


def _gate(folder: Path, options: Mapping[str, Any]) -> Any:
    """The gate's audit of ``folder``, when ``privstats.gate`` offers ``audit_path``."""
    try:
        gate = importlib.import_module("privstats.gate")
    except ImportError:
        return None
    audit_path: Callable[..., Any] | None = getattr(gate, "audit_path", None)
    if not callable(audit_path):
        return None
    return audit_path(folder, **{k: v for k, v in options.items() if v is not None})


def review_report(
    folder: Path | str,
    work_folder: Path | str | None = None,
    *,
    leak_scan: bool = True,
    gate: bool = True,
    store: Any = None,
    ledger: Any = None,
    canaries: Any = None,
) -> ReportReview:
    """Review the report folder ``folder`` (see the module's documentation).

    ``store``, ``ledger`` and ``canaries`` go to the gate: with the store it recomputes every
    table and, with the release ledger, checks the report with every released table as one
    linked set; with the canaries, it looks for the inputs' known identifying values.
    """
    folder = Path(folder)
    if not (folder / MANIFEST).is_file():
        raise ReportError(f"{folder} is not a report folder: it has no {MANIFEST}")
    manifest, _ = Manifest.read(folder)
    if manifest is None:
        raise ReportError(f"the {MANIFEST} of {folder} cannot be read")
    work = Path(work_folder) if work_folder else work_folder_of(folder)
    records_file = work / REVIEW_RECORDS
    full: dict[str, Any] | None = None
    if records_file.is_file():
        try:
            full = json.loads(records_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise ReportError(f"the reviewer's records at {records_file} cannot be read") from None
    tables = tuple(
        _table(entry, None if full is None else full.get(entry.name))
        for entry in manifest.tables
        if entry is not None
    )
    options = {"store": store, "ledger": ledger, "canaries": canaries}
    audited = _gate(folder, options) if gate else None
    # The gate runs the leak scanner itself; its findings stand for the scan then.
    leaks = () if audited is not None else _leak_scan(folder) if leak_scan else None
    return ReportReview(
        folder=folder,
        report=manifest.report or "",
        partner=manifest.partner,
        period=manifest.period or "",
        generated_at=manifest.generated_at or "",
        parameters=dict(manifest.parameters),
        rules=manifest.rules,
        tables=tables,
        figures=len(manifest.figures),
        file_problems=tuple(verify_manifest(folder)),
        full_records=full is not None,
        leak_findings=leaks,
        linked=tuple(audited.linked) if audited is not None else None,
        gate_findings=tuple(audited.findings) if audited is not None else None,
        gate_tables=tuple(audited.tables) if audited is not None else None,
        gate_verdict=audited.verdict() if audited is not None else None,
        store_checked=audited is not None and audited.store_checked,
        budget=tuple(audited.budget) if audited is not None else (),
    )


def run_review(
    report_folder: Path | str,
    executed: Path | str,
    *,
    language: Language | str = Language.PL,
    work_folder: Path | str | None = None,
    store_path: Path | str | None = None,
    notebooks_dir: Path | str | None = None,
    timeout: int = 600,
) -> Path:
    """Execute ``notebooks/review.ipynb`` on ``report_folder``; the executed notebook goes to
    ``executed`` (outside the report folder: it holds the reviewer's view, not a partner's)."""
    from privstats.report.runner import run_notebook

    folder = Path(report_folder).resolve()
    if not (folder / MANIFEST).is_file():
        raise ReportError(f"{folder} is not a report folder: it has no {MANIFEST}")
    if Path(executed).resolve().is_relative_to(folder):
        raise ReportError("the executed review must not be written into the report folder")
    params = {
        "report_folder": str(folder),
        "work_folder": str(Path(work_folder).resolve()) if work_folder else "",
        "store_path": str(Path(store_path).resolve()) if store_path else "",
        "language": Language.parse(language).value,
    }
    return run_notebook(
        "review", executed, params=params, notebooks_dir=notebooks_dir, timeout=timeout
    )


# The verdict as data, beside its words: the review notebook displays it in this media type so
# that ``privstats review`` reads the verdict from the executed notebook, not from its prose.
VERDICT_MIMETYPE = "application/vnd.privstats.review+json"
REVIEW_HTML = "review.html"


def run_review_command(args: Any, *, config: Any) -> int:
    """``privstats review FOLDER``: render the reviewer's notebook into the report's private
    work folder (``review.ipynb`` and a self-contained ``review.html``) and print the verdict;
    0 when the report may be released, 1 when not or when not every check ran."""
    from privstats.gate.command import configured_store

    folder = Path(args.path).resolve()
    if not (folder / MANIFEST).is_file():
        raise ReportError(f"{folder} is not a report folder: it has no {MANIFEST}")
    store = None if args.no_store else configured_store(config, "a review recomputes every table")
    work = work_folder_of(folder)
    executed = run_review(
        folder,
        work / "review.ipynb",
        language=args.language,
        store_path=store.root if store is not None else None,
    )
    html = work / REVIEW_HTML
    html.write_text(review_html(executed), encoding="utf-8")
    verdict = read_verdict(executed)
    print(verdict["verdict"], file=sys.stdout if verdict["passed"] else sys.stderr)
    print(f"the reviewer's notebook: {html}")
    return 0 if verdict["passed"] else 1


def verdict_output(review: ReportReview, language: Language | str) -> dict[str, Any]:
    """The verdict cell's display: the verdict in bold, and as data for ``privstats review``."""
    text = review.verdict(language)
    return {
        "text/markdown": f"**{text}**",
        "text/plain": text,
        VERDICT_MIMETYPE: {"passed": review.passed, "verdict": text},
    }


def read_verdict(executed: Path) -> dict[str, Any]:
    """The verdict the executed review notebook displayed."""
    import nbformat

    for cell in nbformat.read(executed, as_version=4).cells:
        for output in cell.get("outputs", ()):
            data = output.get("data", {})
            if VERDICT_MIMETYPE in data:
                return dict(data[VERDICT_MIMETYPE])
    raise ReportError(f"the executed review at {executed} shows no verdict")


def review_html(executed: Path) -> str:
    """The executed review as one HTML page that loads nothing and runs nothing: nbconvert's
    ``basic`` template (the cells alone, without require.js or MathJax from a CDN), outputs
    sanitised, the code left out."""
    import nbformat
    from markupsafe import escape
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="basic", exclude_input=True, sanitize_html=True)
    notebook = nbformat.read(executed, as_version=4)
    for cell in notebook.cells:  # the verdict as data is for the command, not the page
        for output in cell.get("outputs", ()):
            output.get("data", {}).pop(VERDICT_MIMETYPE, None)
    body, _ = exporter.from_notebook_node(notebook)
    title = escape(f"Review: {executed.parent.relative_to(executed.parents[4])}")
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
        f"<title>{title}</title></head><body>\n{body}\n</body></html>\n"
    )
