"""The leak scanner on a report folder of a few megabytes, with and without a canary set.

The folder is built to look like a heavy rendered report: ``report.html`` with inline CSS,
forty matplotlib line charts as inline SVG (text kept as text), twelve embedded PNG charts, a
2,000-row HTML table with formatted numbers, six CSV tables, an XLSX export and
``manifest.json``. The script prints the folder's size, the time to build, save and load a
canary set of 100,000 values, and the scan time (best of three, wall and CPU) without and with
the canary set, in all and per file; the goal is well under two seconds for the folder.

Run: ``.venv/bin/python benchmarks/leak_scan.py``
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from privstats.leaks import CanarySet, LeakScanner

T = TypeVar("T")
CHARTS = 40
ROWS = 2000


def build(folder: Path) -> None:
    rng = np.random.default_rng(7)
    charts = []
    with matplotlib.rc_context({"svg.fonttype": "none"}):
        for number in range(CHARTS):
            figure, axes = plt.subplots(figsize=(8, 4))
            axes.plot(np.arange(24 * 31), rng.integers(0, 5000, 24 * 31))
            axes.set_title(f"Requests by hour, chart {number}")
            axes.set_xlabel("hour")
            axes.set_ylabel("requests")
            buffer = io.StringIO()
            figure.savefig(buffer, format="svg")
            plt.close(figure)
            svg = buffer.getvalue()
            charts.append(svg[svg.index("<svg") :])
    pngs = []
    for _ in range(12):
        figure, axes = plt.subplots(figsize=(6, 4))
        axes.bar(["Chrome", "Firefox", "Safari", "Other"], rng.integers(10, 1000, 4))
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=150)
        plt.close(figure)
        pngs.append(base64.b64encode(buffer.getvalue()).decode("ascii"))
    nbsp = "\u00a0"
    rows = "".join(
        f"<tr><th>2026-10-{i % 31 + 1:02d} {i % 24:02d}:00</th>"
        + f"<td>{rng.integers(10, 10**6):,}</td><td>{rng.integers(10**9, 10**11):,}</td>".replace(
            ",", nbsp
        )
        + "<td>#</td></tr>"
        for i in range(ROWS)
    )
    page = (
        "<!DOCTYPE html><html lang='pl'><head><meta charset='utf-8'><title>Ruch</title>"
        "<style>body{font:16px system-ui} td{text-align:right}</style></head><body>"
        "<h1>Ruch w serwisie</h1><p>Komórki z mniej niż 10 osobami są ukryte.</p>"
        f"<table><thead><tr><th>godzina</th><th>odsłony</th><th>bajty</th><th>osoby</th></tr>"
        f"</thead><tbody>{rows}</tbody></table>"
        + "".join(f"<figure>{svg}</figure>" for svg in charts)
        + "".join(f"<img alt='chart' src='data:image/png;base64,{png}'>" for png in pngs)
        + "<footer>Przygotowano programem privstats 0.1.0.</footer></body></html>"
    )
    (folder / "report.html").write_text(page, encoding="utf-8")
    frame = pd.DataFrame(
        {
            "hour": range(ROWS),
            "requests": rng.integers(10, 10**6, ROWS),
            "bytes": rng.integers(10**9, 10**11, ROWS),
            "browser": rng.choice(["Chrome", "Firefox", "Safari", "Other"], ROWS),
        }
    )
    for name in ("hours", "browsers", "devices", "referers", "statuses", "sections"):
        frame.to_csv(folder / f"{name}.csv", index=False)
    frame.head(500).to_excel(folder / "hours.xlsx", index=False)
    files = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}
    manifest = {"format": 1, "software": {"privstats": "0.1.0"}, "files": files}
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")


def best_of(runs: int, action: Callable[[], T]) -> tuple[float, float, T]:
    """(best wall time, best CPU time, result): CPU time is steadier on a busy machine."""
    walls, cpus = [], []
    result = None
    for _ in range(runs):
        wall, cpu = time.perf_counter(), time.process_time()
        result = action()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return min(walls), min(cpus), result  # type: ignore[return-value]


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "report"
        folder.mkdir()
        build(folder)
        size = sum(p.stat().st_size for p in folder.iterdir())
        print(f"report folder: {size / 2**20:.2f} MiB in {len(list(folder.iterdir()))} files")
        values = [f"person{i}@example.pl" for i in range(50_000)]
        values += [f"10.{i // 65536}.{i // 256 % 256}.{i % 256}" for i in range(50_000)]
        key = hashlib.sha256(b"benchmark key").digest()
        wall, cpu, canaries = best_of(1, lambda: CanarySet.build(values, key))
        saved = canaries.save(Path(tmp) / "canaries.json")
        print(
            f"canary set of {len(values):,} values: built in {wall:.2f} s "
            f"(CPU {cpu:.2f} s), file {saved.stat().st_size / 2**20:.1f} MiB"
        )
        wall, cpu, _ = best_of(1, lambda: CanarySet.load(saved, key))
        print(f"canary file loaded in {wall:.2f} s (CPU {cpu:.2f} s)")
        wall, cpu, findings = best_of(3, lambda: LeakScanner().scan_path(folder))
        print(f"scan without canaries: {wall:.2f} s (CPU {cpu:.2f} s), {len(findings)} findings")
        wall, cpu, findings = best_of(3, lambda: LeakScanner(canaries).scan_path(folder))
        print(f"scan with canaries:    {wall:.2f} s (CPU {cpu:.2f} s), {len(findings)} findings")
        scanner = LeakScanner(canaries)
        for file in sorted(folder.iterdir()):
            wall, cpu, _ = best_of(3, lambda file=file: scanner.scan_path(file))
            kib = file.stat().st_size / 2**10
            print(f"  {file.name:<14} {kib:8.0f} KiB  {wall:.3f} s (CPU {cpu:.3f} s)")


if __name__ == "__main__":
    main()
