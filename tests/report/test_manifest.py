"""manifest.json records how a report was made and the SHA-256 of every file beside it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from privstats.report.manifest import MANIFEST, sha256_file, verify_manifest


def _manifest(folder: Path) -> dict:
    return json.loads((folder / MANIFEST).read_text(encoding="utf-8"))


def test_the_hashes_match_the_files(tiny_pl) -> None:
    manifest = _manifest(tiny_pl.folder)
    files = {p.name for p in tiny_pl.folder.iterdir()} - {MANIFEST}
    assert set(manifest["files"]) == files
    for name, digest in manifest["files"].items():
        assert sha256_file(tiny_pl.folder / name) == digest
    assert verify_manifest(tiny_pl.folder) == []


def test_the_manifest_records_the_run(tiny_pl) -> None:
    manifest = _manifest(tiny_pl.folder)
    assert manifest["report"] == "tiny"
    assert manifest["partner"] == "acme"
    assert manifest["period"] == "2026-10"
    assert manifest["language"] == "pl"
    assert manifest["parameters"] == {
        "partner": "acme",
        "period": "2026-10",
        "language": "pl",
        "rows": 4,
    }
    assert manifest["rules"]["threshold"] == 10
    assert manifest["input_catalog_ids"] == ["catalog-2026-10-01-a1", "catalog-2026-10-02-b2"]
    assert manifest["software"]["privstats"]
    assert len(manifest["notebook_sha256"]) == 64
    assert manifest["markers"] == {"hidden": "x", "missing": "."}
    browsers = manifest["tables"][0]
    assert browsers["name"] == "browsers"
    assert browsers["file"] == "browsers.csv"
    assert browsers["status"] == "suppressed"
    assert browsers["hidden_cells"] == 1
    assert browsers["shape"] == [6, 3]
    assert browsers["record"]["rules"]["threshold"] == 10
    assert browsers["record"]["hidden_cells"] == [{"row": 1, "column": 0, "rule": "threshold"}]
    devices = manifest["tables"][2]
    assert devices["name"] == "devices"
    assert devices["record"]["status"] == "suppressed"
    assert devices["record"]["cells_protected"] == 4  # the engine's public view: a count only
    assert "cells" not in devices["record"]
    assert len(devices["record"]["checksum_sha256"]) == 64
    assert manifest["figures"] == [
        {"name": "browsers-chart", "title": "Osoby według przeglądarki", "tables": ["browsers"]}
    ]


def test_local_paths_stay_out_of_the_manifest(tiny_pl) -> None:
    text = (tiny_pl.folder / MANIFEST).read_text(encoding="utf-8")
    assert "store_path" not in text
    assert str(tiny_pl.out_root) not in text
    for path in tiny_pl.folder.iterdir():
        assert str(tiny_pl.out_root) not in path.read_text(encoding="utf-8-sig")


def test_a_changed_added_or_removed_file_is_found(tiny_pl, tmp_path) -> None:
    copy = Path(shutil.copytree(tiny_pl.folder, tmp_path / "copy"))
    with (copy / "browsers.csv").open("a", encoding="utf-8") as stream:
        stream.write("Opera,3,3,3\r\n")
    (copy / "hours.csv").unlink()
    (copy / "extra.txt").write_text("not listed")
    assert verify_manifest(copy) == [
        "extra.txt: not listed in manifest.json",
        "hours.csv: listed but absent",
        "browsers.csv: SHA-256 differs from manifest.json",
    ]


def test_a_missing_manifest_is_a_problem(tmp_path) -> None:
    assert verify_manifest(tmp_path) == ["manifest.json: missing or not valid JSON"]
