"""What the gate prints: one line per finding, never a found value; a curated public API."""

from __future__ import annotations

import json
import types
from pathlib import Path

import privstats.gate as gate
from privstats.gate import AuditReport, Check, GateFinding, Severity, audit_path
from privstats.leaks import LeakScanner


def test_public_names_are_exactly_all() -> None:
    for name in gate.__all__:  # loaded on first use
        getattr(gate, name)
    public = {
        name for name, value in vars(gate).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }  # fmt: skip
    assert public - {"annotations", "TYPE_CHECKING"} == set(gate.__all__)


def test_a_leak_finding_keeps_the_scanners_redaction() -> None:
    [leak] = LeakScanner().scan_text("<p>write to jan.kowalski@example.com</p>", "report.html")
    finding = GateFinding.from_leak(leak)
    assert (finding.check, finding.kind, finding.severity) == (Check.LEAK, "email", Severity.FAIL)
    assert str(finding).startswith("report.html:1:13: leak email — ja…(24 chars, #")
    assert "kowalski" not in str(finding) and "kowalski" not in json.dumps(finding.to_dict())


def test_a_note_says_so_and_never_fails() -> None:
    note = GateFinding("manifest.json", "", Check.RECOMPUTE, "no-store", "why",
                       Severity.NOTE)  # fmt: skip
    report = AuditReport(Path("r"), (note,))
    assert report.passed and str(note) == "note: manifest.json: recompute no-store — why"
    assert report.lines()[0].startswith("PASS: r — 0 failures, 1 notes")


def test_the_report_is_json_serialisable(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("nothing to see\n", encoding="utf-8")
    document = json.loads(json.dumps(audit_path(tmp_path).to_dict()))
    assert document["passed"] is True and document["files_scanned"] == 1


def test_a_broken_manifest_fails_the_report_folder(tmp_path: Path) -> None:
    (tmp_path / "report.html").write_text("<p>x</p>", encoding="utf-8")
    (tmp_path / "manifest.json").write_text("{not json", encoding="utf-8")
    result = audit_path(tmp_path)
    assert [(f.file, f.check, f.kind) for f in result.failures] == [
        ("manifest.json", Check.MANIFEST, "malformed")
    ]
    (tmp_path / "manifest.json").write_text('{"files": {}, "tables": 3}', encoding="utf-8")
    assert [f.kind for f in audit_path(tmp_path).failures] == ["malformed"]
