"""``release``: audit a report folder and, only when it passes, copy it into the release area.

``reports/<name>/<partner>/<period>/`` goes to
``reports/released/<name>/<partner>/<period>/<release-id>/`` and one line is appended to
``reports/released/ledger.jsonl``. The steps:

1. the folder is audited (``audit_path``) with the store and the ledger, before anything is
   written or locked: a failing audit raises :class:`AuditFailed` and leaves the release area
   untouched;
2. under the ledger's lock from here on, unfinished releases of a crashed run are settled: a
   staged copy whose ledger line was written is moved into place (the release happened), any
   other is removed (it did not); if another release was recorded since step 1, the audit runs
   again, so that the differencing check sees it;
3. a report whose files were all released before (the same SHA-256 of every file), or whose
   tables and page were (every file but the manifest) for the same report, partner and
   period, is refused: a changed report is a new release, the same one is not;
4. the audited files are copied to ``released/.staging/<release-id>/``, each copy hashed
   again (a file changed between the audit and the copy is refused), made read-only and
   synced to disk;
5. the DP tables, if any, are charged to the privacy budget (``privstats.dp.budget``), which
   refuses a release that would take a budget over its cap; then the ledger line is appended
   and synced: this is the moment the release happens;
6. the staged copy is renamed into place.

A crash before step 5 leaves only a staged copy, removed by the next release; after it, the
ledger is right and the next release completes the rename.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from privstats.config import Config, load_config
from privstats.dp import budget
from privstats.exceptions import GateError
from privstats.gate.audit import RequiredRules, audit_path
from privstats.gate.findings import AuditReport
from privstats.gate.ledger import (
    HEADS_FILE,
    LedgerEntry,
    LedgerState,
    ReleaseLedger,
    content_sha256,
)
from privstats.gate.published import MANIFEST
from privstats.leaks import CanarySet
from privstats.report.manifest import Manifest, sha256_file
from privstats.store import Store, fsync_path

RELEASED = "released"
STAGING = ".staging"
ALL_PARTNERS = "all"
_REVIEWER = re.compile(r"^\w[\w .'-]{0,63}$")
_COMPONENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class AuditFailed(GateError):
    """The audit failed: nothing was released. ``report`` holds every finding."""

    def __init__(self, message: str, report: AuditReport) -> None:
        super().__init__(message)
        self.report = report


@dataclass(frozen=True)
class Release:
    """A release that happened: its id, where its files are, its ledger entry, its audit."""

    release_id: str
    folder: Path
    entry: LedgerEntry
    audit: AuditReport
    settled: tuple[str, ...] = ()  # what was done about unfinished earlier releases
    ledger_notes: tuple[str, ...] = ()  # torn or damaged ledger lines, reported

    def summary(self) -> str:
        lines = [f"released {self.entry.name} as {self.release_id} to {self.folder}"]
        lines += [f"  {line}" for line in (*self.settled, *self.ledger_notes)]
        return "\n".join(lines)


def default_released_root(folder: Path, manifest: Manifest) -> Path:
    """``reports/released`` for a folder at ``reports/<name>/<partner>/<period>/<language>``."""
    expected = (
        str(manifest.report),
        manifest.partner or ALL_PARTNERS,
        str(manifest.period),
        str(manifest.language),
    )
    resolved = folder.resolve()
    if tuple(p.name for p in (*resolved.parents[2::-1], resolved)) != expected:
        raise GateError(
            "this folder is not at reports/<report>/<partner>/<period>/<language>; "
            "name the release area"
        )
    return resolved.parents[3] / RELEASED


def release(
    path: Path | str,
    reviewer: str,
    *,
    released_root: Path | str | None = None,
    store: Store | Path | str | None = None,
    canaries: CanarySet | None = None,
    required_rules: RequiredRules = None,
    require_store: bool = True,
    now: dt.datetime | None = None,
    config: Config | None = None,
) -> Release:
    """Release the report folder ``path`` on behalf of ``reviewer`` (see the module's notes).

    Raises ``AuditFailed`` when the audit fails and ``GateError`` when the release is refused
    for any other reason; in both cases nothing is written to the release area.
    """
    folder = Path(path)
    if not _REVIEWER.match(reviewer or ""):
        raise GateError("the reviewer's name must be 1-64 letters, digits, spaces, . ' or -")
    manifest = _manifest(folder)
    name, partner, period = _components(manifest)
    root = (
        Path(released_root)
        if released_root is not None
        else default_released_root(folder, manifest)
    )
    if root.resolve() in folder.resolve().parents:
        raise GateError("this folder is in the release area already; release its original")
    if require_store and store is None:
        raise GateError("a release re-verifies every table against the store: give the store")
    ledger = ReleaseLedger(root, anchor=None if store is None else ledger_anchor(store))

    def audited() -> AuditReport:
        report = audit_path(folder, store=store, canaries=canaries, ledger=ledger,
                            required_rules=required_rules, config=config)  # fmt: skip
        if not report.passed:
            raise AuditFailed(
                f"the audit of {folder} found {len(report.failures)} failures; "
                "nothing was released",
                report,
            )
        return report

    # The audit only reads: a failing report leaves the release area untouched, not even a
    # lock file. Under the lock, a ledger that moved on meanwhile means auditing again, so
    # that the differencing check sees every release before this one.
    report = audited()
    seen = ledger.read().last_sha256
    with ledger.locked():
        ledger.verify(ledger.read())  # before settling: settling trusts the ledger's entries
        settled = _settle(ledger)
        state = ledger.read()
        ledger.verify(state)
        if state.last_sha256 != seen:
            report = audited()
        hashes = report.file_hashes
        _refuse_repeat(state, hashes, name, partner, period)
        content = content_sha256(hashes)
        moment = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
        release_id = f"{moment:%Y%m%dT%H%M%SZ}-{content[:8]}"
        relative = f"{name}/{partner}/{period}/{release_id}"
        final = root / relative
        if final.exists():
            raise GateError(f"a release folder {relative} exists already; try again")
        staging = root / STAGING / release_id
        _stage(folder, staging, hashes)
        try:
            # DP tables are charged first: a crash between the two lines leaves a budget spent
            # on a release that did not happen (safe), never a release that spent nothing.
            # Over a cap, BudgetExceeded leaves both ledgers as they were.
            budget.charge(
                budget.BudgetLedger(root, anchor=ledger.anchor), release_id,
                {"report": manifest.report, "partner": manifest.partner, "period": manifest.period},
                _dp_tables(manifest),
                (config or load_config()).dp,
            )  # fmt: skip
            entry = ledger.append(
                _entry(manifest, report, hashes, reviewer, moment, release_id, relative)
            )
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        _move_into_place(staging, final)
    notes = tuple(str(p) for p in state.problems)
    return Release(release_id, final, entry, report, tuple(settled), notes)


def ledger_anchor(store: Store | Path | str) -> Path:
    """Where the heads of release ledgers are anchored: beside the store's catalog."""
    return (store.root if isinstance(store, Store) else Path(store)) / HEADS_FILE


def _dp_tables(manifest: Manifest) -> list[tuple[str, Mapping[str, Any]]]:
    """(name, ``protection["dp"]``) of every DP table of the report."""
    out = []
    for table in manifest.tables:
        if table is not None and table.record.get("method") == "dp":
            noise = (table.record.get("protection") or {}).get("dp")
            if not isinstance(noise, Mapping):
                raise GateError(f"DP table '{table.name}' has no record of its noise")
            out.append((table.name, noise))
    return out


def _manifest(folder: Path) -> Manifest:
    manifest, problems = Manifest.read(folder)
    if manifest is None:
        if any(pointer == "" for pointer, _ in problems):
            raise GateError(f"{folder} is not a report folder with a readable {MANIFEST}")
        raise GateError(f"{folder}/{MANIFEST} is not a manifest")
    return manifest


def _components(manifest: Manifest) -> tuple[str, str, str]:
    parts = (manifest.report or "", manifest.partner or ALL_PARTNERS, manifest.period or "")
    if not all(_COMPONENT.match(part) and part not in (".", "..") for part in parts):
        raise GateError("the manifest's report, partner or period is not a plain name")
    return parts


def _refuse_repeat(
    state: LedgerState, hashes: Mapping[str, str], name: str, partner: str, period: str
) -> None:
    content = content_sha256(hashes)
    same = state.by_content(content)
    if same is not None:
        raise GateError(f"this report was released already: {same.describe()}; "
                        "nothing was released")  # fmt: skip
    data = content_sha256({k: v for k, v in hashes.items() if k != MANIFEST})
    for entry in state.entries:
        if entry.name == f"{name}/{partner}/{period}" and entry.data.get("data_sha256") == data:
            raise GateError(f"the same tables and page were released already: "
                            f"{entry.describe()}; nothing was released")  # fmt: skip


def _stage(folder: Path, staging: Path, hashes: Mapping[str, str]) -> None:
    staging.mkdir(parents=True)
    try:
        for name, digest in hashes.items():
            target = staging / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(folder / name, target)
            if sha256_file(target) != digest:
                raise GateError(f"{name} changed after the audit; nothing was released")
            os.chmod(target, stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
            fsync_path(target)
        fsync_path(staging)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _move_into_place(staging: Path, final: Path) -> None:
    final.parent.mkdir(parents=True, exist_ok=True)
    os.rename(staging, final)
    fsync_path(final.parent)


def _settle(ledger: ReleaseLedger) -> list[str]:
    """Finish or undo the releases a crash left in the staging folder."""
    staging_root = ledger.root / STAGING
    if not staging_root.is_dir():
        return []
    released = {entry.release_id: entry for entry in ledger.entries()}
    done = []
    for staged in sorted(p for p in staging_root.iterdir() if p.is_dir()):
        entry = released.get(staged.name)
        if entry is not None and entry.folder and not (ledger.root / entry.folder).exists():
            _move_into_place(staged, ledger.root / entry.folder)
            done.append(f"completed release {entry.release_id}, interrupted after its ledger line")
        else:
            shutil.rmtree(staged)
            done.append(f"removed the copy of an unfinished release {staged.name}")
    return done


def _entry(
    manifest: Manifest,
    report: AuditReport,
    hashes: Mapping[str, str],
    reviewer: str,
    moment: dt.datetime,
    release_id: str,
    relative: str,
) -> dict[str, Any]:
    tables = []
    for table in manifest.tables:
        if table is None:
            continue
        record = table.record
        tables.append({
            "name": table.name,
            "file": table.file,
            "status": table.status,
            "hidden_cells": table.hidden_cells,
            "method": record.get("method"),
            "rules": record.get("rules"),
            "query": record.get("query"),
            "checksum_sha256": record.get("checksum_sha256"),
        })  # fmt: skip
    return {
        "release_id": release_id,
        "report": manifest.report,
        "partner": manifest.partner,
        "period": manifest.period,
        "title": manifest.title,
        "language": manifest.language,
        "folder": relative,
        "reviewer": reviewer,
        "released_at": moment.isoformat(timespec="seconds"),
        "generated_at": manifest.generated_at,
        "parameters": dict(manifest.parameters),
        "rules": dict(manifest.rules) if manifest.rules is not None else None,
        "software": dict(manifest.software),
        "notebook_sha256": manifest.notebook_sha256,
        "input_catalog_ids": (
            list(manifest.input_catalog_ids) if manifest.input_catalog_ids is not None else None
        ),
        "files": dict(hashes),
        "content_sha256": content_sha256(hashes),
        "data_sha256": content_sha256({k: v for k, v in hashes.items() if k != MANIFEST}),
        "tables": tables,
        "audit": {
            "store_checked": report.store_checked,
            "tables": len(report.tables),
            "linked_problems": sum(not p.before for p in report.linked),
            "notes": len(report.notes),
            "seconds": round(report.seconds, 2),
        },
    }
