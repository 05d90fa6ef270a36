"""The linked-set check: a report is released only if, with everything released before, to any
audience, it gives no small group and no hidden cell away; a report made after a release is
protected against it and passes."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
from gate.conftest import Probe, rehash

from privstats.config import RuleSet
from privstats.gate import AuditFailed, ReleaseLedger, audit_path, release
from privstats.gate.findings import Check, Severity
from privstats.gate.release import ledger_anchor
from privstats.report import run_report
from privstats.store import Store

NOTEBOOKS = Path(__file__).parent / "notebooks"


def _cells(folder: Path, table: str) -> dict[str, str]:
    with (folder / f"{table}.csv").open(encoding="utf-8-sig", newline="") as stream:
        return {row[0]: row[1] for row in list(csv.reader(stream))[1:]}


def _kinds(report) -> set[tuple[str, str]]:
    return {(f.check.value, f.kind) for f in report.failures}


@pytest.fixture
def released_october(probe: Probe, tmp_path: Path) -> tuple[Path, Path]:
    """1-31 October released into tmp_path's release area; the release area."""
    october = probe.october.copy_to(tmp_path)
    area = tmp_path / "reports" / "released"
    release(october, "Anna Nowak", store=probe.store, released_root=area)
    return october, area


def test_one_day_less_than_a_released_period_is_refused(
    probe: Probe, released_october: tuple[Path, Path], tmp_path: Path
) -> None:
    october, area = released_october
    shorter = probe.october_but_last.copy_to(tmp_path)
    # Alone, each is safe: Firefox is 33 in one and 30 in the other.
    assert _cells(october, "browsers")["Firefox"] == "33"
    assert _cells(shorter, "browsers")["Firefox"] == "30"
    assert audit_path(shorter, store=probe.store).passed
    # Together they give away the 3 visitors of 31 October.
    report = audit_path(shorter, store=probe.store, ledger=area)
    assert ("linked", "small-group") in _kinds(report)
    assert any("browsers" in f.file for f in report.failures if f.check is Check.LINKED)
    with pytest.raises(AuditFailed):
        release(shorter, "Anna Nowak", store=probe.store, released_root=area)


def test_made_after_the_release_the_shorter_period_is_protected_and_released(
    probe: Probe, released_october: tuple[Path, Path], tmp_path: Path
) -> None:
    october, area = released_october
    output = run_report(
        "probe", params={"start": "2026-10-01", "end": "2026-10-30", "language": "en"},
        out_root=tmp_path / "reports", store_path=probe.store, notebooks_dir=NOTEBOOKS,
        catalog_ids=[e["id"] for e in Store(probe.store).catalog().inputs], rules=RuleSet(),
        released_root=area,
    )  # fmt: skip
    shorter = _cells(output.folder, "browsers")
    longer = _cells(october, "browsers")
    # The attacker's subtraction, browser by browser, never leaves 1 to 9 persons.
    for browser in shorter.keys() & longer.keys():
        if shorter[browser] != "x" and longer[browser] != "x":
            assert not 0 < int(longer[browser]) - int(shorter[browser]) < 10, browser
    assert shorter["Firefox"] == "x"
    done = release(output.folder, "Anna Nowak", store=probe.store, released_root=area)
    assert done.audit.passed


def test_what_earlier_releases_gave_away_alone_is_a_note_not_this_release_s_failure(
    probe: Probe, tmp_path: Path
) -> None:
    # Both periods released by hand, the shorter one past the gate (as a careless release
    # area might hold): a third report of the same tables is not blamed for their leak.
    area = tmp_path / "released-area"
    october = probe.october.copy_to(tmp_path / "a")
    shorter = probe.october_but_last.copy_to(tmp_path / "b")
    release(october, "Anna Nowak", store=probe.store, released_root=area)
    release(shorter, "Anna Nowak", store=probe.store, released_root=tmp_path / "elsewhere")
    _copy_release(tmp_path / "elsewhere", area, probe.store)
    # The same tables again, in a report released anew (its page says one thing more).
    again = probe.october.copy_to(tmp_path / "c")
    page = again / "report.html"
    page.write_text(page.read_text(encoding="utf-8").replace("</main>", "<p>Again.</p></main>"),
                    encoding="utf-8")  # fmt: skip
    rehash(again)
    report = audit_path(again, store=probe.store, ledger=area)
    linked = [f for f in report.findings if f.check is Check.LINKED]
    assert linked and all(f.severity is Severity.NOTE for f in linked)
    assert report.passed


def _copy_release(source: Path, target: Path, store: Path) -> None:
    """Append the releases of one area's ledger to another's (files and ledger lines)."""
    ledger = ReleaseLedger(target, anchor=ledger_anchor(store))
    for entry in ReleaseLedger(source).entries():
        shutil.copytree(source / entry.folder, target / entry.folder)
        with ledger.locked():
            ledger.append({k: v for k, v in entry.data.items() if k != "previous_sha256"})


def test_without_the_store_the_linked_check_is_named_as_not_run(probe: Probe) -> None:
    report = audit_path(probe.october.folder)
    assert ("linked", "no-store") in {(f.check.value, f.kind) for f in report.notes}
    assert not report.complete


@pytest.mark.parametrize("table", ["browsers", "days"])
def test_a_released_report_is_not_linked_with_itself(
    probe: Probe, released_october: tuple[Path, Path], table: str
) -> None:
    october, area = released_october
    report = audit_path(october, store=probe.store, ledger=area)
    assert report.passed, [str(f) for f in report.failures]
    assert table in {t.name for t in report.tables}
