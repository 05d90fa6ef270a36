"""The parse stage on its own: the compiled tokeniser's cost per line, and its start-up.

    .venv/bin/python benchmarks/parse_stage.py [--lines 2000000] [--blocks N] [--starts 5]

Prints, for ``ingest_speed.py``'s cached ``combined_D`` log, the CPU time per line of
``tokens.scan`` (the C kernel, outside the GIL) and of ``BlockParser.parse`` (kernel, then
typing once per distinct value and the line parser for the lines the kernel hands over), the
first block apart (it sizes the kernel's reused workspace), and the page faults of the scans
(fresh pages per block are what a block's arrays cost beyond their bytes); then, in fresh
processes, the time to import ``tokens`` (the extension with it) and of the first scan, the
best of ``--starts`` runs (the C kernel has nothing to compile or cache).
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ingest_speed import _input

from privstats.sources import tokens
from privstats.sources.access import BlockParser, BlockReader, Input
from privstats.sources.logformat import resolve_format

_FIRST_SCAN = """
import time
started = time.perf_counter()
from privstats.sources import tokens
from privstats.sources.logformat import resolve_format
plan = tokens.TokenPlan.of(resolve_format("combined_D"))
imported = time.perf_counter()
line = b'203.0.113.9 - - [01/Oct/2026:12:00:03 +0200] "GET / HTTP/1.1" 200 5 "-" "ua" 12\\n'
tokens.scan(bytearray(line), plan, 65536)
print(f"{imported - started:.4f} {time.perf_counter() - imported:.6f}")
"""


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=2_000_000, help="lines of the log")
    parser.add_argument("--blocks", type=int, default=0, help="stop after N blocks (0: all)")
    parser.add_argument("--starts", type=int, default=5, help="fresh processes timed")
    args = parser.parse_args(argv)
    log = _input(args.lines, 0)
    fmt = resolve_format("combined_D")
    blocks = BlockParser(fmt, 65536)
    plan = blocks.plan
    assert plan is not None
    scan_s = parse_s = first_s = 0.0
    lines = kept = count = faults = 0
    for _, block, _ in BlockReader(Input(log, log.name), reuse=True):
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        start = time.thread_time()
        found = tokens.scan(block, plan, 65536)
        spent = time.thread_time() - start
        faults += resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
        start = time.thread_time()
        blocks.parse(block, lines + 1)
        parsed = time.thread_time() - start
        if count == 0:
            first_s = spent
        else:
            scan_s += spent
            parse_s += parsed
            lines += found.lines
        kept += len(found.row_line)
        count += 1
        if args.blocks and count >= args.blocks:
            break
    print(f"{log.name}: {count} blocks; the kernel kept {kept:,} lines")
    print(f"  first block's scan          {first_s * 1e3:6.1f} ms")
    print(f"  tokens.scan, other blocks   {scan_s / lines * 1e6:6.3f} µs/line CPU")
    print(f"  BlockParser.parse           {parse_s / lines * 1e6:6.3f} µs/line CPU")
    print(f"  page faults in tokens.scan  {faults:,} ({count} blocks)")
    runs = [
        subprocess.run(
            [sys.executable, "-c", _FIRST_SCAN], capture_output=True, text=True, check=True
        ).stdout.split()
        for _ in range(max(args.starts, 1))
    ]
    imported = min(float(run[0]) for run in runs)
    first = min(float(run[1]) for run in runs)
    print(f"  fresh process: import tokens {imported:.3f} s, first scan {first * 1e3:.2f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
