"""release: only an audited report reaches reports/released, once, with its ledger entry; a
failing report writes nothing; a crash at any point leaves the release area right."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from gate.conftest import Rendered, edit_manifest, rehash, shown_row

from privstats.exceptions import GateError
from privstats.gate import AuditFailed, ReleaseLedger, audit_path, release
from privstats.gate.release import ledger_anchor
from privstats.report.manifest import sha256_file

REPO = Path(__file__).resolve().parents[2]


def _tree(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` with its content (empty when ``root`` does not exist)."""
    if not root.exists():
        return {}
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _change_page(folder: Path, sentence: str) -> None:
    page = folder / "report.html"
    page.write_text(page.read_text(encoding="utf-8").replace(
        "</main>", f"<p>{sentence}</p>\n</main>", 1), encoding="utf-8")  # fmt: skip
    rehash(folder)


@pytest.fixture
def report(traffic: Rendered, tmp_path: Path) -> Path:
    return traffic.copy_to(tmp_path)


@pytest.fixture
def released(report: Path) -> Path:
    return report.parents[3] / "released"


def test_a_passing_report_is_copied_and_recorded(
    report: Path, released: Path, traffic: Rendered
) -> None:
    done = release(report, "Anna Nowak", store=traffic.store)
    assert done.folder == released / "traffic_report" / "all" / "2026-10" / done.release_id
    originals = {p.name: sha256_file(p) for p in report.iterdir()}
    assert {p.name: sha256_file(p) for p in done.folder.iterdir()} == originals
    assert all(p.stat().st_mode & 0o222 == 0 for p in done.folder.iterdir())
    [entry] = ReleaseLedger(released).entries()
    data = entry.data
    assert data["release_id"] == done.release_id and data["reviewer"] == "Anna Nowak"
    assert (data["report"], data["partner"], data["period"]) == ("traffic_report", None, "2026-10")
    assert data["files"] == originals and data["parameters"]["period"] == "2026-10"
    assert data["rules"]["threshold"] == 10 and len(data["input_catalog_ids"]) > 0
    assert {t["name"] for t in data["tables"]} >= {"visitors-by-day", "browsers"}
    assert all(t["query"]["start"] == "2026-10-01" for t in data["tables"])
    assert data["audit"]["store_checked"] is True
    assert done.audit.passed and done.settled == ()
    # The released copy is itself a report folder that passes the audit.
    assert audit_path(done.folder, store=traffic.store, ledger=released).passed


def test_the_same_report_cannot_be_released_twice(
    report: Path, released: Path, traffic: Rendered
) -> None:
    first = release(report, "anna", store=traffic.store)
    before = _tree(released)
    with pytest.raises(GateError, match=f"released already: .*{first.release_id}"):
        release(report, "piotr", store=traffic.store)
    assert _tree(released) == before


def test_the_same_tables_and_page_with_a_new_manifest_are_not_a_new_release(
    report: Path, released: Path, traffic: Rendered
) -> None:
    release(report, "anna", store=traffic.store)
    edit_manifest(report, lambda m: m.update(generated_at="2026-11-30T08:00:00+00:00"))
    with pytest.raises(GateError, match="same tables and page were released already"):
        release(report, "anna", store=traffic.store)


def test_a_changed_report_is_a_new_release(report: Path, released: Path, traffic: Rendered) -> None:
    first = release(report, "anna", store=traffic.store)
    _change_page(report, "Corrected wording of the methodology.")
    second = release(report, "anna", store=traffic.store)
    assert second.release_id != first.release_id and second.folder.is_dir()
    entries = ReleaseLedger(released).entries()
    assert [e.release_id for e in entries] == [first.release_id, second.release_id]
    assert entries[1].data["previous_sha256"] == entries[0].sha256


def test_a_failing_report_is_refused_and_nothing_is_written(
    report: Path, released: Path, traffic: Rendered
) -> None:
    _change_page(report, "Contact: 91.198.174.192")
    with pytest.raises(AuditFailed, match="nothing was released") as refused:
        release(report, "anna", store=traffic.store)
    assert ("leak", "ipv4") in {(f.check.value, f.kind) for f in refused.value.report.failures}
    assert not released.exists()  # not a folder, not a lock file


def test_a_failing_report_leaves_an_existing_release_area_as_it_was(
    report: Path, released: Path, traffic: Rendered
) -> None:
    release(report, "anna", store=traffic.store)
    before = _tree(released)
    csv = report / "visitors-by-day.csv"
    row = shown_row(report, csv.name)
    day = row.strip().split(b",")[0]
    csv.write_bytes(csv.read_bytes().replace(row, b"\r\n" + day + b",3\r\n"))
    rehash(report)
    with pytest.raises(AuditFailed):
        release(report, "anna", store=traffic.store)
    assert _tree(released) == before


def test_release_needs_the_store_and_a_reviewer(report: Path) -> None:
    with pytest.raises(GateError, match="store"):
        release(report, "anna")
    with pytest.raises(GateError, match="reviewer"):
        release(report, "", store="unused")
    with pytest.raises(GateError, match="reviewer"):
        release(report, "anna\nnowak", store="unused")


def test_a_folder_outside_reports_layout_needs_a_release_area(
    traffic: Rendered, tmp_path: Path
) -> None:
    import shutil

    loose = tmp_path / "somewhere"
    shutil.copytree(traffic.folder, loose)
    with pytest.raises(GateError, match="name the release area"):
        release(loose, "anna", store=traffic.store)
    done = release(loose, "anna", store=traffic.store, released_root=tmp_path / "area")
    assert done.folder.parent == tmp_path / "area" / "traffic_report" / "all" / "2026-10"


def test_a_crash_while_writing_the_ledger_line_releases_nothing_and_is_settled_later(
    report: Path, released: Path, traffic: Rendered
) -> None:
    script = f"""
import os
from privstats.gate import ledger, release

def crash(fd, data):
    os.write(fd, data[: len(data) // 2])
    os._exit(9)

ledger._write_all = crash
release({str(report)!r}, "anna", store={str(traffic.store)!r})
"""
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True)
    assert done.returncode == 9, done.stderr.decode()[-2000:]
    state = ReleaseLedger(released).read()
    assert state.entries == () and state.torn_tail
    assert not (released / "traffic_report").exists()  # nothing in place
    [staged] = (released / ".staging").iterdir()  # only the staged copy
    # The report was not released: releasing it now succeeds, and tidies up after the crash.
    again = release(report, "anna", store=traffic.store)
    assert again.settled == (f"removed the copy of an unfinished release {staged.name}",)
    assert [p.split(": ")[-1].split(" ")[0] for p in again.ledger_notes] == ["torn"]
    assert list((released / ".staging").iterdir()) == []
    assert [e.release_id for e in ReleaseLedger(released).entries()] == [again.release_id]


def test_a_crash_after_the_ledger_line_is_completed_by_the_next_release(
    report: Path, released: Path, traffic: Rendered
) -> None:
    first = release(report, "anna", store=traffic.store)
    staging = released / ".staging"
    staging.mkdir(exist_ok=True)
    first.folder.rename(staging / first.release_id)  # as if the process died before the rename
    _change_page(report, "A second edition.")
    second = release(report, "anna", store=traffic.store)
    assert second.settled == (
        f"completed release {first.release_id}, interrupted after its ledger line",
    )
    assert first.folder.is_dir() and second.folder.is_dir()
    assert json.loads((first.folder / "manifest.json").read_text(encoding="utf-8"))["report"] == (
        "traffic_report"
    )


@pytest.mark.parametrize(
    ("tamper", "refusal"),
    [
        # The audit reads the ledger first, for its differencing check: a failing finding.
        (lambda text: text.replace('"reviewer":"anna"', '"reviewer":"piotr"'),
         "ledger.jsonl:line 2: ledger chain"),
        (lambda text: text.replace('"reviewer":"marta"', '"reviewer":"piotr"'),
         "was edited at line 2 (the entry appended as number 2 is not what was appended)"),
        (lambda text: text[: text.index("\n") + 1], "holds 1 entries, but 2 were appended"),
        (lambda text: "", "holds 0 entries, but 2 were appended"),
    ],
    ids=["an earlier entry edited", "the last entry edited", "the last entry removed",
         "emptied"],
)  # fmt: skip
def test_a_tampered_ledger_is_refused_with_its_line_and_nothing_is_released(
    report: Path, released: Path, traffic: Rendered, tamper: object, refusal: str
) -> None:
    release(report, "anna", store=traffic.store)
    _change_page(report, "Corrected wording of the methodology.")
    release(report, "marta", store=traffic.store)
    ledger = released / "ledger.jsonl"
    ledger.write_text(tamper(ledger.read_text(encoding="utf-8")), encoding="utf-8")  # type: ignore[operator]
    _change_page(report, "Corrected wording once more.")
    before = _tree(released)
    with pytest.raises(GateError) as refused:
        release(report, "anna", store=traffic.store)
    said = [str(refused.value)]
    if isinstance(refused.value, AuditFailed):
        said += refused.value.report.lines()
    assert any(refusal in line for line in said), said
    assert _tree(released) == before


def test_a_head_anchored_one_entry_behind_still_vouches_for_the_ledger(
    report: Path, released: Path, traffic: Rendered
) -> None:
    """A crash between the entry and its anchor leaves the anchor one entry behind."""
    release(report, "anna", store=traffic.store)
    anchor = ledger_anchor(traffic.store)
    behind = anchor.read_bytes()
    _change_page(report, "Corrected wording of the methodology.")
    release(report, "marta", store=traffic.store)
    anchor.write_bytes(behind)
    _change_page(report, "Corrected wording once more.")
    third = release(report, "anna", store=traffic.store)
    assert third.entry.line == 3
