"""What the gate reports: one-line findings, a verdict per table, and the audit as a whole.

A finding is read by a reviewer, printed in a terminal, pasted into a ticket: it says which
file, where in it (``line 8, col 2``, a JSON pointer, a table name) and what kind of problem,
never the value it found. Leak findings carry the scanner's redacted preview (first characters,
length, a per-process tag); the gate's own findings name cells by position only, because a row
label may itself be the leak, and carry counts and rule names, never a cell's value.

``Severity.NOTE`` is for what the gate could not check and why (no store, no manifest): a note
never fails an audit, but it is shown, so that "nothing found" is never mistaken for "checked".
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from privstats.leaks import Category, Finding


class Check(enum.StrEnum):
    """Which of the gate's checks raised a finding."""

    LEAK = "leak"  # identifying data in a file (the leak scanner)
    SELF_CONTAINMENT = "self-containment"  # the file would load or run something
    UNSCANNABLE = "unscannable"  # a file the scanner could not prove clean
    MANIFEST = "manifest"  # manifest.json: missing, malformed, checksums, file list
    CLAIMS = "claims"  # a table's shown cells against the rules its record claims
    CONSISTENCY = "consistency"  # report.html and the CSV files disagree
    RECOMPUTE = "recompute"  # the CSV against the table recomputed from the store
    LP_AUDIT = "lp-audit"  # the independent audit of the shown pattern
    LINKED = "linked"  # the release with everything released before, as one linked set
    LEDGER = "ledger"  # the release ledger
    BUDGET = "budget"  # DP tables: the privacy budget across every release


class Severity(enum.StrEnum):
    FAIL = "fail"  # the path must not be released
    NOTE = "note"  # something was not checked, and why; never fails the audit


@dataclass(frozen=True, slots=True)
class GateFinding:
    """One line of the audit. ``detail`` is a fixed text with counts and rule names only."""

    file: str
    location: str
    check: Check
    kind: str
    detail: str = ""
    severity: Severity = Severity.FAIL

    def __str__(self) -> str:
        where = f"{self.file}:{self.location}" if self.location else self.file
        line = f"{where}: {self.check.value} {self.kind}"
        line = f"{line} — {self.detail}" if self.detail else line
        return f"note: {line}" if self.severity is Severity.NOTE else line

    @classmethod
    def from_leak(cls, finding: Finding, prefix: str = "") -> GateFinding:
        """A leak scanner's finding (already redacted) in the gate's form."""
        check = {
            Category.IDENTIFIER: Check.LEAK,
            Category.SELF_CONTAINMENT: Check.SELF_CONTAINMENT,
            Category.UNSCANNABLE: Check.UNSCANNABLE,
        }[finding.category]
        detail = " ".join(part for part in (finding.redacted, finding.note) if part)
        file = f"{prefix}{finding.file}" if prefix else finding.file
        return cls(file, finding.location, check, finding.kind.value, detail)

    def to_dict(self) -> dict[str, str]:
        return {
            "file": self.file,
            "location": self.location,
            "check": self.check.value,
            "kind": self.kind,
            "detail": self.detail,
            "severity": self.severity.value,
        }


def note(file: str, check: Check, kind: str, detail: str, location: str = "") -> GateFinding:
    return GateFinding(file, location, check, kind, detail, Severity.NOTE)


@dataclass(frozen=True)
class TableVerdict:
    """How far one published table was verified, for the reviewer's overview."""

    report: str  # the report folder, relative to the audited path ("." for the path itself)
    name: str
    file: str
    measure: str | None
    method: str | None
    status: str | None
    threshold: int | None
    shown_cells: int
    hidden_cells: int
    claims_checked: bool  # the CSV against the rules the record claims
    store_checked: bool  # recomputed from the store and compared cell by cell
    lp_cells_audited: int = 0  # hidden cells whose attacker interval the gate computed
    lp_cells_unsafe: int = 0
    # The narrowest attacker interval around a hidden cell, relative to its required
    # protection (1.0: exactly as wide as required); None when nothing was audited.
    lp_tightest_margin: float | None = None
    failures: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


@dataclass(frozen=True)
class LinkedProblem:
    """A problem of the linked set (``privstats.gate.linked``): which tables combine, how, and
    in how many cells."""

    kind: str  # "recoverable", "small-group", "dominated" or "change"
    table: str  # the audited table it is reported against
    others: tuple[str, ...]  # the other tables combined with it
    cells: int
    threshold: int
    before: bool = False  # caused by earlier releases alone
    locations: tuple[str, ...] = ()

    def risk(self) -> str:
        with_ = f" with {', '.join(self.others)}" if self.others else ""
        if self.kind == "small-group":
            what = f"gives away a group of fewer than {self.threshold} persons"
        elif self.kind == "dominated":
            what = "gives away a sum that one or two persons dominate"
        elif self.kind == "change":
            what = (f"would stand beside {self.cells} cells released before from other data "
                    "(late logs or an erasure since): the days they cover are frozen")  # fmt: skip
        else:
            what = f"lets {self.cells} hidden cells be narrowed below their protection"
        return f"combined{with_}, it {what}"

    def __str__(self) -> str:
        return f"{self.table}: {self.risk()}" + (" (released tables alone)" if self.before else "")

    def to_dict(self) -> dict[str, Any]:
        out = {name: getattr(self, name) for name in self.__dataclass_fields__}
        out["others"] = list(self.others)
        out["locations"] = list(self.locations)
        return out


@dataclass(frozen=True)
class AuditReport:
    """The gate's verdict on a path: every finding, each table's verification, the problems of
    the linked set."""

    path: Path
    findings: tuple[GateFinding, ...]
    tables: tuple[TableVerdict, ...] = ()
    linked: tuple[LinkedProblem, ...] = ()
    reports: tuple[str, ...] = ()  # report folders found (relative), "." for the path itself
    store_checked: bool = False
    seconds: float = 0.0
    files_scanned: int = 0
    # SHA-256 of every file audited, relative to ``path``: release copies exactly these.
    file_hashes: dict[str, str] = field(default_factory=dict)
    # DP tables: what each privacy budget they touch has spent and would have left.
    budget: tuple[str, ...] = ()

    @property
    def failures(self) -> tuple[GateFinding, ...]:
        return tuple(f for f in self.findings if f.severity is Severity.FAIL)

    @property
    def notes(self) -> tuple[GateFinding, ...]:
        return tuple(f for f in self.findings if f.severity is Severity.NOTE)

    @property
    def passed(self) -> bool:
        return not self.failures

    @property
    def complete(self) -> bool:
        """Every check ran: tables were recomputed from the store (a path without tables
        has nothing to recompute). Only a complete audit without failures is a PASS."""
        return self.store_checked or not self.tables

    def by_check(self, *checks: Check) -> tuple[GateFinding, ...]:
        return tuple(f for f in self.findings if f.check in checks)

    def verdict(self) -> str:
        """One line: PASS, FAIL or NOT VERIFIED (no failures, but not every check ran), with
        what was checked."""
        word = "FAIL" if not self.passed else "PASS" if self.complete else "NOT VERIFIED"
        tables = len(self.tables)
        store = sum(t.store_checked for t in self.tables)
        parts = [
            f"{self.files_scanned} files scanned",
            f"{tables} tables checked against their rules"
            + (f", {store} recomputed from the store" if self.store_checked else ", no store"),
            f"{sum(not p.before for p in self.linked)} problems of the linked set",
        ]
        counts = f"{len(self.failures)} failures, {len(self.notes)} notes"
        # A report folder by its report, partner, period and language; another path by name.
        label = "/".join(self.path.parts[-4:]) if self.reports == (".",) else self.path.name
        return f"{word}: {label or self.path} — {counts} ({'; '.join(parts)})"

    def lines(self) -> list[str]:
        """The verdict, then failures, then notes: what ``privstats audit`` prints."""
        out = [self.verdict()]
        out += [f"  {finding}" for finding in self.failures]
        out += [f"  linked set: {problem}" for problem in self.linked]
        out += [f"  budget: {line}" for line in self.budget]
        out += [f"  {finding}" for finding in self.notes]
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "passed": self.passed,
            "complete": self.complete,
            "verdict": self.verdict(),
            "seconds": round(self.seconds, 3),
            "store_checked": self.store_checked,
            "reports": list(self.reports),
            "files_scanned": self.files_scanned,
            "findings": [f.to_dict() for f in self.findings],
            "tables": [t.to_dict() for t in self.tables],
            "linked": [p.to_dict() for p in self.linked],
            "budget": list(self.budget),
        }


def capped(
    findings: Sequence[GateFinding], limit: int, file: str, check: Check, kind: str
) -> list[GateFinding]:
    """At most ``limit`` findings of one kind in one table, and a line saying how many more."""
    if len(findings) <= limit:
        return list(findings)
    more = len(findings) - limit
    rest = GateFinding(file, "", check, kind, f"and {more} more cells like the above")
    return [*findings[:limit], rest]


def sort_findings(findings: Iterable[GateFinding]) -> tuple[GateFinding, ...]:
    """Failures first, then by file; the order of findings within a file is kept."""
    indexed = list(enumerate(findings))
    indexed.sort(key=lambda item: (item[1].severity is Severity.NOTE, item[1].file, item[0]))
    return tuple(finding for _, finding in indexed)
