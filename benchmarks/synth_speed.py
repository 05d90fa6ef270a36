"""How fast the synthetic inputs are written, and how realistic the big log's variety is.

    .venv/bin/python benchmarks/synth_speed.py [LINES ...]      (default: 2000000)

Writes each benchmark log to a temporary folder, prints lines/s, MB/s, distinct clients, user
agents and paths, then times ``generate`` on the demo's world.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import polars as pl

from privstats.synth import generate, write_benchmark_log


def main(argv: list[str]) -> None:
    sizes = [int(a) for a in argv] or [2_000_000]
    with tempfile.TemporaryDirectory(prefix="privstats-synth-speed-") as tmp:
        print(
            f"{'lines':>12} {'seconds':>8} {'lines/s':>12} {'MB/s':>7} {'clients':>9} "
            f"{'agents':>7} {'paths':>9}"
        )
        for lines in sizes:
            path = Path(tmp) / f"bench-{lines}.log"
            start = time.perf_counter()
            write_benchmark_log(path, lines, seed=0, fmt="combined_D")
            seconds = time.perf_counter() - start
            megabytes = path.stat().st_size / 1e6
            counts = _distinct(path) if lines <= 5_000_000 else ("-", "-", "-")
            print(
                f"{lines:>12,} {seconds:>8.1f} {lines / seconds:>12,.0f} "
                f"{megabytes / seconds:>7.0f} {counts[0]:>9} {counts[1]:>7} {counts[2]:>9}"
            )
            path.unlink()
        start = time.perf_counter()
        manifest = generate(Path(tmp) / "world", days=3, visitors=300, seed=7)
        seconds = time.perf_counter() - start
        print(f"\ngenerate(days=3, visitors=300): {manifest.summary()} in {seconds:.2f} s")


def _distinct(path: Path) -> tuple[int, int, int]:
    frame = pl.read_csv(
        path, has_header=False, separator="\t", quote_char=None, new_columns=["line"]
    )
    line = frame["line"]
    return (
        line.str.extract(r"^(\S+)").n_unique(),
        line.str.extract(r'"([^"]*)" \d+$').n_unique(),
        line.str.extract(r'"\S+ (\S+) HTTP').n_unique(),
    )


if __name__ == "__main__":
    main(sys.argv[1:])
