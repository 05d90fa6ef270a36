"""audit_path on a real rendered report: the clean report passes; each planted leak, each forged
number and a forged checksum fail it, each for its own reason; look-alikes do not."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from gate.conftest import Rendered, edit_manifest, rehash, shown_row, tables_of

from privstats.exceptions import InputError
from privstats.gate import AuditReport, Check, Severity, audit_path
from privstats.leaks import CanarySet

CANARY_NAME = "Grzegorz Brzęczyszczykiewicz"
USER_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36"
)
TRACEBACK = (
    "Traceback (most recent call last):\n"
    '  File "/srv/reports/run.py", line 12, in &lt;module&gt;\n'
    "    main()\n"
    "ValueError: cannot convert"
)


def _insert_html(folder: Path, fragment: str) -> None:
    path = folder / "report.html"
    html = path.read_text(encoding="utf-8")
    path.write_text(html.replace("</main>", f"{fragment}\n</main>", 1), encoding="utf-8")
    assert fragment in path.read_text(encoding="utf-8")


def _replace_in(folder: Path, file: str, old: str, new: str) -> None:
    path = folder / file
    data = path.read_bytes()
    old_bytes, new_bytes = old.encode("utf-8"), new.encode("utf-8")
    assert old_bytes in data
    path.write_bytes(data.replace(old_bytes, new_bytes, 1))


def _kinds(report: AuditReport) -> set[tuple[str, str]]:
    return {(f.check.value, f.kind) for f in report.failures}


@pytest.fixture
def report(traffic: Rendered, tmp_path: Path) -> Path:
    return traffic.copy_to(tmp_path)


@pytest.fixture
def canaries(canary_key: bytes) -> CanarySet:
    return CanarySet.build([CANARY_NAME, "203.0.113.216"], canary_key)


def test_the_clean_report_passes_every_check(
    report: Path, traffic: Rendered, sample_canaries: CanarySet
) -> None:
    started = time.perf_counter()
    result = audit_path(report, store=traffic.store, canaries=sample_canaries,
                        ledger=report.parents[3] / "released")  # fmt: skip
    assert result.passed, "\n".join(result.lines())
    assert time.perf_counter() - started < 30
    assert result.store_checked and result.reports == (".",)
    assert len(result.tables) == tables_of(report) >= 15
    assert all(t.store_checked and t.failures == 0 for t in result.tables)
    assert result.files_scanned == len(list(report.iterdir()))
    assert result.verdict().startswith("PASS")


def test_the_clean_report_passes_without_the_store_with_a_note_saying_what_was_not_proven(
    report: Path,
) -> None:
    result = audit_path(report)
    assert result.passed
    assert {(n.check, n.kind) for n in result.notes} == {
        (Check.RECOMPUTE, "no-store"), (Check.LINKED, "no-store")
    }  # fmt: skip
    assert not any(t.store_checked for t in result.tables)


def _below_threshold(folder: Path, file: str) -> None:
    """A shown day's visitors changed to 3, below the threshold."""
    row = shown_row(folder, file)
    day = row.strip().split(b",")[0]
    (folder / file).write_bytes(
        (folder / file).read_bytes().replace(row, b"\r\n" + day + b",3\r\n")
    )


MUTATIONS = {
    "ip address": (lambda f: _insert_html(f, "<p>Served for 91.198.174.192.</p>"),
                   ("leak", "ipv4")),
    "e-mail": (lambda f: _replace_in(f, "browsers.csv", "\r\nOther,",
                                     "\r\nanna.nowak@example.pl,"), ("leak", "email")),
    "canary name": (lambda f: _insert_html(f, f"<p>Reviewed by {CANARY_NAME}</p>"),
                    ("leak", "canary")),
    "raw user agent": (lambda f: _insert_html(f, f"<p>{USER_AGENT}</p>"), ("leak", "user-agent")),
    "traceback": (lambda f: _insert_html(f, f"<pre>{TRACEBACK}</pre>"), ("leak", "traceback")),
    "external script": (
        lambda f: _insert_html(f, '<script src="https://cdn.example.net/a.js"></script>'),
        ("self-containment", "script"),
    ),
    "csv cell below the threshold": (
        lambda f: _below_threshold(f, "visitors-by-day.csv"),
        ("claims", "below-threshold"),
    ),
}  # fmt: skip


@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
def test_each_mutation_fails_the_audit_for_its_own_reason(
    mutation: str, report: Path, traffic: Rendered, canaries: CanarySet
) -> None:
    plant, reason = MUTATIONS[mutation]
    plant(report)
    rehash(report)  # a consistent forgery: the checksums alone must not be what catches it
    result = audit_path(report, store=traffic.store, canaries=canaries)
    assert not result.passed
    assert reason in _kinds(result), "\n".join(result.lines())
    assert not any(f.kind == "wrong-sha256" for f in result.findings)


def test_a_planted_value_never_appears_in_full_in_the_findings(
    report: Path, traffic: Rendered, canaries: CanarySet
) -> None:
    for plant, _ in MUTATIONS.values():
        plant(report)
    rehash(report)
    result = audit_path(report, store=traffic.store, canaries=canaries)
    printed = "\n".join(result.lines()) + json.dumps(result.to_dict(), ensure_ascii=False)
    for value in ("91.198.174.192", "anna.nowak@example.pl", CANARY_NAME, "Brzęczyszczykiewicz",
                  USER_AGENT, "cdn.example.net", "cannot convert"):  # fmt: skip
        assert value not in printed
    assert all("\n" not in line for line in result.lines())


def test_a_csv_cell_below_the_threshold_is_also_caught_by_the_store_and_the_page(
    report: Path, traffic: Rendered
) -> None:
    _below_threshold(report, "visitors-by-day.csv")
    rehash(report)
    kinds = _kinds(audit_path(report, store=traffic.store))
    assert {("recompute", "differs-from-store"), ("consistency", "differs-from-csv")} <= kinds
    assert ("claims", "below-threshold") in _kinds(audit_path(report))  # without the store too


def test_a_manifest_with_a_wrong_checksum_fails(report: Path, traffic: Rendered) -> None:
    def corrupt(manifest: dict) -> None:
        digest = manifest["files"]["browsers.csv"]
        manifest["files"]["browsers.csv"] = ("0" if digest[0] != "0" else "1") + digest[1:]

    edit_manifest(report, corrupt)
    result = audit_path(report, store=traffic.store)
    assert [(str(f.check), f.kind, f.file) for f in result.failures] == [
        ("manifest", "wrong-sha256", "browsers.csv")
    ]


def test_a_file_changed_after_rendering_fails_its_checksum(report: Path) -> None:
    _insert_html(report, "<p>An innocent sentence added later.</p>")
    assert ("manifest", "wrong-sha256") in _kinds(audit_path(report))


def test_an_extra_or_missing_file_fails(report: Path) -> None:
    (report / "executed.ipynb").write_text("{}", encoding="utf-8")
    (report / "devices.csv").unlink()
    kinds = _kinds(audit_path(report))
    assert {("manifest", "unlisted"), ("manifest", "not-an-artefact"),
            ("manifest", "absent")} <= kinds  # fmt: skip


def test_a_pesel_like_number_with_a_wrong_checksum_and_version_1_2_3_4_raise_no_alarm(
    report: Path, traffic: Rendered, canaries: CanarySet
) -> None:
    assert "0.1.0" in (report / "report.html").read_text(encoding="utf-8")
    _insert_html(report, "<p>Numer referencyjny zestawienia: 44051401358.</p>")
    _replace_in(report, "report.html", "privstats 0.1.0", "privstats 1.2.3.4")
    edit_manifest(report, lambda m: m["software"].update(privstats="1.2.3.4"))
    rehash(report)
    result = audit_path(report, store=traffic.store, canaries=canaries)
    assert result.passed, "\n".join(result.lines())
    # The same number with a valid PESEL checksum is an alarm: the rule, not a switch, decides.
    _replace_in(report, "report.html", "44051401358", "44051401359")
    rehash(report)
    assert ("leak", "pesel") in _kinds(audit_path(report, canaries=canaries))


def test_a_table_whose_record_claims_weaker_rules_than_required_fails(
    report: Path, traffic: Rendered
) -> None:
    from privstats.config import RuleSet

    result = audit_path(report, store=traffic.store, required_rules=RuleSet(threshold=20))
    weak = [f for f in result.failures if f.kind == "weak-rules"]
    assert len(weak) == tables_of(report) and "configuration" in weak[0].detail


def test_a_folder_of_reports_is_audited_report_by_report(traffic: Rendered, tmp_path: Path) -> None:
    traffic.copy_to(tmp_path)
    result = audit_path(tmp_path / "reports", store=traffic.store)
    assert result.passed
    assert result.reports == ("traffic_report/all/2026-10/en",)
    assert all(t.file.startswith("traffic_report/all/2026-10/en/") for t in result.tables)


def test_any_file_or_folder_gets_the_leak_scan(tmp_path: Path) -> None:
    clean = tmp_path / "notes.txt"
    clean.write_text("Monthly totals were sent on time.\n", encoding="utf-8")
    result = audit_path(clean)
    assert result.passed and [n.kind for n in result.notes] == ["no-manifest"]
    leaky = tmp_path / "export.csv"
    leaky.write_text("who,visits\njan@example.org,3\n", encoding="utf-8")
    result = audit_path(tmp_path)
    assert [(f.file, f.kind) for f in result.failures] == [("export.csv", "email")]


def test_a_missing_path_is_a_one_line_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="nothing to audit"):
        audit_path(tmp_path / "absent")


def test_findings_are_one_line_each_and_failures_come_before_notes(
    report: Path,
) -> None:
    _insert_html(report, "<p>203.0.113.216</p>")
    rehash(report)
    result = audit_path(report)
    severities = [f.severity for f in result.findings]
    assert severities == sorted(severities, key=lambda s: s is Severity.NOTE)
    line = str(result.failures[0])
    assert line.startswith("report.html:") and " leak ipv4 " in line and "203.0.113" not in line
