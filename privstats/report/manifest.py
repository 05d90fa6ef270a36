"""``manifest.json``: what a report folder holds, how it was made, and the hash of every file.

The reviewer's gate re-verifies a report from this file (issue 6): the parameters it ran with,
the disclosure rules, each table's full protection record, the software version, the input
catalog ids it read, and the SHA-256 of every other file in the folder. Local paths (the
store's location, the work folder) are left out: a path such as ``/home/<user>/...`` can name
a person, and it tells a partner nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from privstats.report.html import FigureItem
from privstats.report.table import HIDDEN_MARKER, MISSING_MARKER, ReportTable, json_default

MANIFEST = "manifest.json"
# Beside the report folders, never in them: what only the reviewer reads (the executed notebook,
# each table's full record of which rule hid which cell).
WORK_FOLDER = ".work"
REVIEW_RECORDS = "records.json"
FORMAT_VERSION = 1
_CHUNK = 1 << 20


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def file_hashes(folder: Path) -> dict[str, str]:
    """Relative POSIX path → SHA-256 of every file under ``folder`` except the manifest."""
    return {
        path.relative_to(folder).as_posix(): sha256_file(path)
        for path in sorted(folder.rglob("*"))
        if path.is_file() and path.relative_to(folder).as_posix() != MANIFEST
    }


@dataclass(frozen=True)
class ManifestInput:
    """What the runner knows about a run, beyond the published items."""

    report: str
    notebook_sha256: str
    partner: str | None
    period: str
    language: str
    parameters: Mapping[str, Any]
    rules: Mapping[str, Any] | None
    catalog_ids: Sequence[str]
    version: str
    generated_at: dt.datetime
    title: str
    # The first and last day of the period the store holds data of (None: not known).
    covered: tuple[dt.date, dt.date] | None = None


def build_manifest(
    run: ManifestInput, tables: Sequence[ReportTable], figures: Sequence[FigureItem], folder: Path
) -> dict[str, Any]:
    """The manifest of ``folder``, whose other files must all be written already."""
    return {
        "format": FORMAT_VERSION,
        "report": run.report,
        "title": run.title,
        "partner": run.partner,
        "period": run.period,
        "covered": [d.isoformat() for d in run.covered] if run.covered else None,
        "language": run.language,
        "generated_at": run.generated_at.astimezone(dt.UTC).isoformat(timespec="seconds"),
        "software": {"privstats": run.version},
        "notebook_sha256": run.notebook_sha256,
        "parameters": dict(run.parameters),
        "rules": dict(run.rules) if run.rules is not None else None,
        "input_catalog_ids": list(run.catalog_ids),
        "markers": {"hidden": HIDDEN_MARKER, "missing": MISSING_MARKER},
        "tables": [
            {
                "name": t.name,
                "title": t.title,
                "file": f"{t.name}.csv",
                "status": t.status,
                "hidden_cells": t.hidden_count,
                "shape": [len(t.rows), len(t.columns)],
                # The CSV's layout: the dimensions down its label columns and across its
                # header (its labels are the store's codes), for the gate to place each cell.
                **(
                    {"layout": {"index": list(t.index_dims), "columns": list(t.column_dims)}}
                    if t.index_dims
                    else {}
                ),
                "record": t.record,
            }
            for t in tables
        ],
        "figures": [{"name": f.name, "title": f.title, "tables": list(f.tables)} for f in figures],
        "files": file_hashes(folder),
    }


def write_manifest(manifest: Mapping[str, Any], folder: Path) -> Path:
    path = folder / MANIFEST
    text = json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=False, default=json_default)
    path.write_text(text + "\n", encoding="utf-8")
    return path


def verify_manifest(folder: Path) -> list[str]:
    """Problems between ``folder``'s manifest and its files; an empty list when they agree."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return [f"{MANIFEST}: missing or not valid JSON"]
    listed = manifest.get("files")
    if not isinstance(listed, dict):
        return [f"{MANIFEST}: no file list"]
    actual = file_hashes(folder)
    problems = [f"{name}: not listed in {MANIFEST}" for name in sorted(actual.keys() - listed)]
    problems += [f"{name}: listed but absent" for name in sorted(listed.keys() - actual)]
    problems += [
        f"{name}: SHA-256 differs from {MANIFEST}"
        for name in sorted(actual.keys() & listed)
        if actual[name] != listed[name]
    ]
    return problems
