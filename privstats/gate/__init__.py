"""The reviewer's gate: nothing reaches a partner unless it passes here.

::

    report = audit_path("reports/traffic_report/acme/2026-10", store=store, canaries=canaries,
                        ledger="reports/released")
    report.passed            # the verdict
    print("\\n".join(report.lines()))   # one line per finding, no found value in full
    done = release("reports/traffic_report/acme/2026-10", "anna", store=store)
    done.folder              # reports/released/traffic_report/acme/2026-10/<release-id>/

``audit_path`` runs the leak scan and the self-containment check over every file, verifies a
report folder's manifest (checksums, file list), holds every table's CSV to the rules its
record claims and, with the store, recomputes each table and runs the independent LP audit on
the pattern as published; then it checks the report with everything released before, to any
audience, as one linked set (``privstats.gate.linked``).
``release`` does all that and, only when it passes, copies the report into the release area
and appends an entry to the append-only ``ledger.jsonl`` (``ReleaseLedger``), which erasure
asks which releases held a person's data.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from privstats._lazy import attach as _attach

if TYPE_CHECKING:
    from privstats.gate.audit import audit_path
    from privstats.gate.findings import (
        AuditReport,
        Check,
        GateFinding,
        LinkedProblem,
        Severity,
        TableVerdict,
    )
    from privstats.gate.ledger import LedgerEntry, LedgerProblem, LedgerState, ReleaseLedger
    from privstats.gate.release import AuditFailed, Release, release

_HOMES = {
    "privstats.gate.audit": ("audit_path",),
    "privstats.gate.findings": (
        "AuditReport", "Check", "GateFinding", "LinkedProblem", "Severity", "TableVerdict",
    ),
    "privstats.gate.ledger": ("LedgerEntry", "LedgerProblem", "LedgerState", "ReleaseLedger"),
    "privstats.gate.release": ("AuditFailed", "Release", "release"),
}  # fmt: skip
# The solvers and scanners load on first use: the command line imports this package for the
# arguments of audit and release only.
__getattr__, __dir__ = _attach(
    __name__, {name: home for home, names in _HOMES.items() for name in names}
)

__all__ = [
    "AuditFailed",
    "AuditReport",
    "Check",
    "GateFinding",
    "LedgerEntry",
    "LedgerProblem",
    "LedgerState",
    "LinkedProblem",
    "Release",
    "ReleaseLedger",
    "Severity",
    "TableVerdict",
    "audit_path",
    "release",
]
