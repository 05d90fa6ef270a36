"""Deterministic synthetic inputs of a web CRM service: access logs, CRM exports, ground truth.

``generate(out, days=3, visitors=300, seed=0)`` writes::

    out/access/<family>/...   access logs in seven formats, some gzip-rotated
    out/crm/...               organisations, accounts, contact forms, activity (CSV and JSON lines)
    out/manifest.json         every file: format or kind, line and row counts, bad lines by kind
    out/truth.json            what a correct ingest must find, and every identifying value planted

The same arguments give the same bytes. ``write_benchmark_log`` writes big logs fast for the
speed benchmark.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from privstats.exceptions import ConfigError
from privstats.synth.accesslog import FAMILIES, AccessLogFile, AccessTruth, write_access_logs
from privstats.synth.benchmark import write_benchmark_log
from privstats.synth.crm import CrmFile, CrmTruth, write_crm
from privstats.synth.world import build_world

__all__ = [
    "AccessLogFile",
    "CrmFile",
    "SynthManifest",
    "SynthParams",
    "generate",
    "load_manifest",
    "write_benchmark_log",
]

MANIFEST = "manifest.json"
TRUTH = "truth.json"


@dataclass(frozen=True)
class SynthParams:
    days: int = 3
    visitors: int = 300
    seed: int = 0
    start: dt.date = dt.date(2026, 10, 1)
    bad_ratio: float = 0.01
    crm: bool = True
    huge_line: bool = True  # one line of about 1 MB among the malformed ones

    def __post_init__(self) -> None:
        if not 1 <= self.days <= 366:
            raise ConfigError("synth --days must be between 1 and 366")
        if not 12 <= self.visitors <= 1_000_000:
            raise ConfigError("synth --visitors must be between 12 and 1000000")
        if not 0.0 <= self.bad_ratio <= 0.5:
            raise ConfigError("synth bad-line ratio must be between 0 and 0.5")
        if self.seed < 0:
            raise ConfigError("synth --seed must not be negative")


@dataclass(frozen=True)
class SynthManifest:
    """What ``generate`` wrote: mirrors ``manifest.json``."""

    seed: int
    start: str
    days: int
    visitors: int
    bad_ratio: float
    access: tuple[AccessLogFile, ...]
    crm: tuple[CrmFile, ...] = field(default=())

    @property
    def access_lines(self) -> int:
        return sum(f.lines for f in self.access)

    @property
    def malformed_lines(self) -> int:
        return sum(f.malformed for f in self.access)

    def summary(self) -> str:
        text = (
            f"{len(self.access)} access-log files, {self.access_lines} lines of which "
            f"{self.malformed_lines} malformed"
        )
        if self.crm:
            text += f"; {len(self.crm)} CRM files, {sum(f.rows for f in self.crm)} rows"
        return text

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SynthManifest:
        return cls(
            seed=data["seed"],
            start=data["start"],
            days=data["days"],
            visitors=data["visitors"],
            bad_ratio=data["bad_ratio"],
            access=tuple(AccessLogFile(**f) for f in data["access"]),
            crm=tuple(CrmFile(**f) for f in data["crm"]),
        )


def load_manifest(out: Path) -> SynthManifest:
    return SynthManifest.from_json(json.loads((Path(out) / MANIFEST).read_text("utf-8")))


def generate(
    out: Path,
    *,
    days: int = 3,
    visitors: int = 300,
    seed: int = 0,
    start: dt.date = dt.date(2026, 10, 1),
    bad_ratio: float = 0.01,
    crm: bool = True,
    huge_line: bool = True,
) -> SynthManifest:
    """Writes the synthetic inputs of one seeded world under ``out`` and returns the manifest."""
    params = SynthParams(
        days=days,
        visitors=visitors,
        seed=seed,
        start=start,
        bad_ratio=bad_ratio,
        crm=crm,
        huge_line=huge_line,
    )
    out = Path(out)
    _prepare(out)
    rng = random.Random(f"privstats-synth-{params.seed}")
    world = build_world(rng, params.visitors, params.start, params.days)
    access, access_truth = write_access_logs(
        out,
        world,
        random.Random(rng.getrandbits(64)),
        bad_ratio=params.bad_ratio,
        huge_line=params.huge_line,
    )
    crm_files: list[CrmFile] = []
    crm_truth = None
    if params.crm:
        crm_files, crm_truth = write_crm(
            out,
            world,
            random.Random(rng.getrandbits(64)),
            bad_ratio=params.bad_ratio,
            contact_posts=access_truth.contact_posts,
        )
    manifest = SynthManifest(
        seed=params.seed,
        start=params.start.isoformat(),
        days=params.days,
        visitors=params.visitors,
        bad_ratio=params.bad_ratio,
        access=tuple(access),
        crm=tuple(crm_files),
    )
    _dump(out / MANIFEST, manifest.to_json())
    _dump(out / TRUTH, _truth(params, access_truth, crm_truth))
    return manifest


def _prepare(out: Path) -> None:
    """Refuses a folder with foreign content; clears one this generator wrote before."""
    if out.exists() and not out.is_dir():
        raise ConfigError("synth --out must be a folder")
    if out.exists() and any(out.iterdir()):
        if not (out / MANIFEST).is_file():
            raise ConfigError("synth --out is not empty and holds no earlier synthetic data")
        for name in ("access", "crm"):
            shutil.rmtree(out / name, ignore_errors=True)
        for name in (MANIFEST, TRUTH):
            (out / name).unlink(missing_ok=True)
    out.mkdir(parents=True, exist_ok=True)


def _dump(path: Path, data: object) -> None:
    path.write_text(
        json.dumps(data, indent=1, ensure_ascii=False, sort_keys=False) + "\n", encoding="utf-8"
    )


def _truth(params: SynthParams, access: AccessTruth, crm: CrmTruth | None) -> dict[str, Any]:
    total: dict[str, int] = {}
    for per_day in access.daily_hits.values():
        for day, n in per_day.items():
            total[day] = total.get(day, 0) + n
    counts = sorted(access.hits_by_client.values(), reverse=True)
    top = max(1, len(counts) // 100)
    planted = {kind.value: sorted(values) for kind, values in sorted(access.planted.items())}
    if crm is not None:
        for kind, values in crm.planted.items():
            planted[kind.value] = sorted(set(planted.get(kind.value, ())) | values)
    return {
        "seed": params.seed,
        "start": params.start.isoformat(),
        "days": params.days,
        "timezone": "Europe/Warsaw",
        "note": "daily counts are keyed by the UTC date of each valid line (odd-byte and CRLF "
        "lines are valid; malformed ones are not)",
        "families": {f.directory: f.fmt.value for f in FAMILIES},
        "daily_hits": {
            "total": dict(sorted(total.items())),
            "files": {
                path: dict(sorted(c.items())) for path, c in sorted(access.daily_hits.items())
            },
        },
        "distinct_clients_per_day": {d: len(c) for d, c in sorted(access.daily_clients.items())},
        "distinct_client_agents_per_day": {
            d: len(c) for d, c in sorted(access.daily_client_agents.items())
        },
        "heavy_tail": {
            "clients": len(counts),
            "top_1pct_clients": top,
            "top_1pct_share": round(sum(counts[:top]) / max(1, sum(counts)), 4),
            "busiest_client_hits": counts[0] if counts else 0,
            "median_client_hits": counts[len(counts) // 2] if counts else 0,
        },
        "planted": planted,
        "malformed_only_clients": sorted(access.malformed_only_clients),
        "odd_byte_clients": sorted(access.odd_clients),
        "odd_byte_lines": access.odd_lines,
        "crlf_lines": access.crlf_lines,
        "crm": crm.to_json() if crm is not None else None,
    }
