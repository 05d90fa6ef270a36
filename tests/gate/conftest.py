"""Gate fixtures: real stores and real rendered reports, made once per session and copied per test.

- ``traffic``: ``notebooks/traffic_report`` rendered on the committed sample (data/sample), the
  report a partner would receive; tests copy it before changing anything.
- ``probe``: a hand-written access log whose days are known person by person (52 visitors on
  30 October, 3 more on the 31st, 2 of them Safari users), and ``tests/gate/notebooks/probe``
  rendered over 1-31 and 1-30 October: the differencing pair the gate must flag.
"""

from __future__ import annotations

import gzip
import json
import re
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import without_networks

from privstats.config import RuleSet
from privstats.demo import demo_config
from privstats.ingest import ingest_access
from privstats.key import SecretKey
from privstats.leaks import CanarySet
from privstats.report import run_report
from privstats.report.manifest import MANIFEST, file_hashes
from privstats.store import Store

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "data" / "sample"
NOTEBOOKS = Path(__file__).parent / "notebooks"
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0"
CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36"
)
SAFARI = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_1) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.1 Safari/605.1.15"
)


@dataclass(frozen=True)
class Rendered:
    folder: Path  # reports/<name>/<partner>/<period>/<language>
    store: Path

    def copy_to(self, root: Path) -> Path:
        """A copy at ``root/reports/<name>/<partner>/<period>/<language>`` (as release expects)."""
        relative = self.folder.relative_to(self.folder.parents[4])
        target = root / relative
        shutil.copytree(self.folder, target)
        return target


def rehash(folder: Path) -> None:
    """Rewrite the manifest's checksums for the folder as it is now (a consistent forgery)."""
    path = folder / MANIFEST
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest["files"] = file_hashes(folder)
    path.write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def tables_of(folder: Path) -> int:
    """How many tables the report in ``folder`` published (a table that cannot be protected
    with the others is withheld: the count is the manifest's, not the notebook's)."""
    return len(json.loads((folder / MANIFEST).read_text(encoding="utf-8"))["tables"])


def shown_row(folder: Path, file: str) -> bytes:
    """The first CSV line of ``file`` whose value is shown (a number of 10 or more), as bytes
    with its line end: what a forger would change."""
    for line in (folder / file).read_bytes().split(b"\r\n")[1:]:
        value = line.rsplit(b",", 1)[-1]
        if value.isdigit() and int(value) >= 10 and not line.startswith(b"Total"):
            return b"\r\n" + line + b"\r\n"
    raise AssertionError(f"{file} shows no value to change")


def edit_manifest(folder: Path, change) -> None:
    path = folder / MANIFEST
    manifest = json.loads(path.read_text(encoding="utf-8"))
    change(manifest)
    path.write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def raw_identifiers() -> list[str]:
    """Client addresses and e-mail addresses as they stand in the raw sample logs."""
    found: set[str] = set()
    for path in (SAMPLE / "access").rglob("*"):
        if not path.is_file():
            continue
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
        text = raw.decode("latin-1")
        found |= set(re.findall(r"^(\d{1,3}(?:\.\d{1,3}){3}|[0-9a-f:]*:[0-9a-f:]+)\s", text, re.M))
        found |= set(re.findall(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", text))
    return sorted(found)


@pytest.fixture(scope="session")
def canary_key() -> bytes:
    return SecretKey(secrets.token_bytes(32)).derive("canary")


@pytest.fixture(scope="session")
def sample_canaries(canary_key: bytes) -> CanarySet:
    values = raw_identifiers()
    assert len(values) > 50
    return CanarySet.build(values, canary_key)


@pytest.fixture(scope="session")
def traffic(tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    root = tmp_path_factory.mktemp("gate-traffic")
    config = without_networks(demo_config(root / "store"))
    from privstats.demo import ingest_generated

    results = ingest_generated(config, SecretKey(secrets.token_bytes(32)), SAMPLE)
    assert all(r.ok for r in results)
    store = Store(config.store_path)
    output = run_report(
        "traffic_report",
        params={"period": "2026-10", "language": "en"},
        out_root=root / "reports",
        store_path=config.store_path,
        notebooks_dir=REPO / "notebooks",
        catalog_ids=[entry["id"] for entry in store.catalog().inputs],
        rules=RuleSet(),
    )
    return Rendered(output.folder, config.store_path)


def _line(ip: str, day: int, agent: str, path: str = "/pricing") -> str:
    return (
        f'{ip} - - [{day:02d}/Oct/2026:10:{day:02d}:00 +0000] "GET {path} HTTP/1.1" 200 512 '
        f'"-" "{agent}"'
    )


def write_probe_log(path: Path) -> Path:
    """30 October: 30 Firefox, 20 Chrome and 2 Safari visitors; 31 October: 3 Firefox."""
    lines = [_line(f"203.0.113.{i}", 30, FIREFOX) for i in range(1, 31)]
    lines += [_line(f"198.51.100.{i}", 30, CHROME) for i in range(1, 21)]
    lines += [_line(f"192.0.2.{i}", 30, SAFARI, "/contact") for i in range(1, 3)]
    lines += [_line(f"192.0.2.{i}", 31, FIREFOX) for i in range(100, 103)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@dataclass(frozen=True)
class Probe:
    root: Path
    store: Path
    october: Rendered  # 1-31 October
    october_but_last: Rendered  # 1-30 October

    def render(self, end: str, method: str = "suppress") -> Rendered:
        output = run_report(
            "probe",
            params={"start": "2026-10-01", "end": end, "method": method, "language": "en"},
            out_root=self.root / f"reports-{method}",
            store_path=self.store,
            notebooks_dir=NOTEBOOKS,
            catalog_ids=[entry["id"] for entry in Store(self.store).catalog().inputs],
            rules=RuleSet(),
            overwrite=True,
        )
        return Rendered(output.folder, self.store)


@pytest.fixture(scope="session")
def probe(tmp_path_factory: pytest.TempPathFactory) -> Probe:
    root = tmp_path_factory.mktemp("gate-probe")
    config = without_networks(demo_config(root / "store"))
    log = write_probe_log(root / "access.log")
    results = ingest_access(config, SecretKey(secrets.token_bytes(32)), [str(log)],
                            log_format="combined")  # fmt: skip
    assert all(r.ok for r in results) and sum(r.rows for r in results) == 55
    unrendered = Probe(root, config.store_path, None, None)  # type: ignore[arg-type]
    return Probe(root, config.store_path, unrendered.render("2026-10-31"),
                 unrendered.render("2026-10-30"))  # fmt: skip


@pytest.fixture(scope="session")
def probe_methods(probe: Probe) -> dict[str, Rendered]:
    """The 1-31 October probe by the two other methods: '<10' in place of small counts, and
    controlled rounding to 5."""
    return {method: probe.render("2026-10-31", method) for method in ("less_than", "round")}
