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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeGuard

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


@dataclass(frozen=True)
class Layout:
    """A CSV's layout: the dimensions down its label columns and across its header."""

    index: tuple[str, ...]
    columns: tuple[str, ...]


@dataclass(frozen=True)
class TableEntry:
    """One table of a manifest. Read back, a field that is missing or of the wrong type is
    None (the gate judges it), never a guess."""

    name: str
    file: str
    title: str | None = None
    status: str | None = None
    hidden_cells: int | None = None
    shape: tuple[int, int] | None = None
    layout: Layout | None = None
    # The table's public protection record (``ProtectionRecord.to_dict``): query, rules,
    # method, status, audit, checksum. Empty when missing.
    record: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "file": self.file,
            "status": self.status,
            "hidden_cells": self.hidden_cells,
            "shape": list(self.shape) if self.shape is not None else None,
            **(
                {"layout": {"index": list(self.layout.index), "columns": list(self.layout.columns)}}
                if self.layout is not None
                else {}
            ),
            "record": dict(self.record),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TableEntry | None:
        """The entry, or None when it has no plain name and file to find its CSV by."""
        name, file = data.get("name"), data.get("file")
        if not isinstance(name, str) or not isinstance(file, str) or "/" in file or file[:1] == ".":
            return None
        layout = data.get("layout")
        shape = data.get("shape")
        return cls(
            name=name,
            file=file,
            title=_text(data.get("title")),
            status=_text(data.get("status")),
            hidden_cells=_integer(data.get("hidden_cells")),
            shape=(shape[0], shape[1]) if _pair(shape) else None,
            layout=Layout(
                tuple(str(d) for d in layout.get("index") or ()),
                tuple(str(d) for d in layout.get("columns") or ()),
            ) if isinstance(layout, Mapping) else None,
            record=record if isinstance(record := data.get("record"), Mapping) else {},
        )  # fmt: skip


@dataclass(frozen=True)
class Manifest:
    """What a report folder holds and how it was made: written by the runner, read by the
    reviewer's gate and the release, the one form both know."""

    report: str | None
    title: str | None
    partner: str | None
    period: str | None
    language: str | None
    generated_at: str | None
    software: Mapping[str, Any]
    notebook_sha256: str | None
    parameters: Mapping[str, Any]
    rules: Mapping[str, Any] | None
    # None when the manifest holds no list; items as written (the gate checks each).
    input_catalog_ids: tuple[Any, ...] | None
    markers: Mapping[str, Any]
    # Entries without a plain name and file are None, at their place.
    tables: tuple[TableEntry | None, ...]
    figures: tuple[Mapping[str, Any], ...]
    files: Mapping[str, str]
    covered: tuple[str, str] | None = None
    format: int = FORMAT_VERSION

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "report": self.report,
            "title": self.title,
            "partner": self.partner,
            "period": self.period,
            "covered": list(self.covered) if self.covered else None,
            "language": self.language,
            "generated_at": self.generated_at,
            "software": dict(self.software),
            "notebook_sha256": self.notebook_sha256,
            "parameters": dict(self.parameters),
            "rules": dict(self.rules) if self.rules is not None else None,
            "input_catalog_ids": (
                list(self.input_catalog_ids) if self.input_catalog_ids is not None else None
            ),
            "markers": dict(self.markers),
            "tables": [t.to_dict() if t is not None else None for t in self.tables],
            "figures": [dict(f) for f in self.figures],
            "files": dict(self.files),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> tuple[Manifest | None, list[tuple[str, str]]]:
        """The manifest, or None with its problems as (JSON pointer, what is wrong): it needs
        a file list and a list of tables; any other field missing or of the wrong type reads
        as None or empty for its reader to judge, and so does a table entry that is not an
        object with a plain name and file (None at its place)."""
        problems = [
            (f"/{key}", f"'{key}' is missing or not a JSON {kind.__name__}")
            for key, kind in (("files", dict), ("tables", list))
            if not isinstance(data.get(key), kind)
        ]
        if problems:
            return None, problems
        tables = tuple(
            TableEntry.from_dict(entry) if isinstance(entry, Mapping) else None
            for entry in data["tables"]
        )
        ids = data.get("input_catalog_ids")
        covered = data.get("covered")
        manifest = cls(
            report=_text(data.get("report")),
            title=_text(data.get("title")),
            partner=_text(data.get("partner")),
            period=_text(data.get("period")),
            language=_text(data.get("language")),
            generated_at=_text(data.get("generated_at")),
            software=_mapping(data.get("software")),
            notebook_sha256=_text(data.get("notebook_sha256")),
            parameters=_mapping(data.get("parameters")),
            rules=rules if isinstance(rules := data.get("rules"), Mapping) else None,
            input_catalog_ids=tuple(ids) if isinstance(ids, list) else None,
            markers=_mapping(data.get("markers")),
            tables=tables,
            figures=tuple(f for f in data.get("figures") or () if isinstance(f, Mapping)),
            files={str(k): str(v) for k, v in data["files"].items()},
            covered=(str(covered[0]), str(covered[1])) if _pair(covered) else None,
            format=fmt if isinstance(fmt := data.get("format"), int) else FORMAT_VERSION,
        )
        return manifest, []

    @classmethod
    def read(cls, folder: Path) -> tuple[Manifest | None, list[tuple[str, str]]]:
        """``folder``'s manifest, or None and why not."""
        try:
            data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        except OSError:
            return None, [("", "cannot be read")]
        except (ValueError, UnicodeDecodeError):
            return None, [("", "not valid JSON")]
        if not isinstance(data, dict):
            return None, [("", "not a JSON object")]
        return cls.from_dict(data)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _integer(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _pair(value: Any) -> TypeGuard[Sequence[Any]]:
    return isinstance(value, list | tuple) and len(value) == 2


def build_manifest(
    run: ManifestInput, tables: Sequence[ReportTable], figures: Sequence[FigureItem], folder: Path
) -> Manifest:
    """The manifest of ``folder``, whose other files must all be written already."""
    return Manifest(
        report=run.report,
        title=run.title,
        partner=run.partner,
        period=run.period,
        covered=(run.covered[0].isoformat(), run.covered[1].isoformat()) if run.covered else None,
        language=run.language,
        generated_at=run.generated_at.astimezone(dt.UTC).isoformat(timespec="seconds"),
        software={"privstats": run.version},
        notebook_sha256=run.notebook_sha256,
        parameters=dict(run.parameters),
        rules=dict(run.rules) if run.rules is not None else None,
        input_catalog_ids=tuple(run.catalog_ids),
        markers={"hidden": HIDDEN_MARKER, "missing": MISSING_MARKER},
        tables=tuple(
            TableEntry(
                name=t.name,
                title=t.title,
                file=f"{t.name}.csv",
                status=t.status,
                hidden_cells=t.hidden_count,
                shape=(len(t.rows), len(t.columns)),
                # The CSV's layout: its labels are the store's codes, for the gate to place
                # each cell.
                layout=Layout(tuple(t.index_dims), tuple(t.column_dims)) if t.index_dims else None,
                record=t.record,
            )
            for t in tables
        ),
        figures=tuple(
            {"name": f.name, "title": f.title, "tables": list(f.tables)} for f in figures
        ),
        files=file_hashes(folder),
    )


def write_manifest(manifest: Manifest, folder: Path) -> Path:
    path = folder / MANIFEST
    text = json.dumps(
        manifest.to_dict(), ensure_ascii=False, indent=2, sort_keys=False, default=json_default
    )
    path.write_text(text + "\n", encoding="utf-8")
    return path


def verify_manifest(folder: Path) -> list[str]:
    """Problems between ``folder``'s manifest and its files; an empty list when they agree."""
    manifest, problems = Manifest.read(folder)
    if manifest is None:
        unread = any(pointer == "" for pointer, _ in problems)
        return [f"{MANIFEST}: " + ("missing or not valid JSON" if unread else "no file list")]
    listed = manifest.files
    actual = file_hashes(folder)
    found = [f"{name}: not listed in {MANIFEST}" for name in sorted(actual.keys() - listed)]
    found += [f"{name}: listed but absent" for name in sorted(listed.keys() - actual)]
    found += [
        f"{name}: SHA-256 differs from {MANIFEST}"
        for name in sorted(actual.keys() & listed)
        if actual[name] != listed[name]
    ]
    return found
