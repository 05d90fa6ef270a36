"""The parse stage on its own: the compiled tokeniser's cost per line, its compile and start-up.

    .venv/bin/python benchmarks/parse_stage.py [--lines 2000000] [--blocks N]

Prints, for ``ingest_speed.py``'s cached ``combined_D`` log, the CPU time per line of
``tokens.scan`` (the numba kernel, outside the GIL) and of ``BlockParser.parse`` (kernel, then
typing once per distinct value and the line parser for the lines the kernel hands over), the
first block apart (it loads the kernel); then, in fresh processes with an empty numba cache
directory, the kernel's compile time (cold cache) and its start-up once cached (warm).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
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
print(f"{imported - started:.2f} {time.perf_counter() - imported:.2f}")
"""


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=2_000_000, help="lines of the log")
    parser.add_argument("--blocks", type=int, default=0, help="stop after N blocks (0: all)")
    args = parser.parse_args(argv)
    log = _input(args.lines, 0)
    fmt = resolve_format("combined_D")
    blocks = BlockParser(fmt, 65536)
    plan = blocks.plan
    assert plan is not None
    scan_s = parse_s = first_s = 0.0
    lines = kept = count = 0
    for _, block, _ in BlockReader(Input(log, log.name), reuse=True):
        start = time.thread_time()
        found = tokens.scan(block, plan, 65536)
        spent = time.thread_time() - start
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
    print(f"  first block's scan (loads the kernel)  {first_s:6.2f} s")
    print(f"  tokens.scan, other blocks   {scan_s / lines * 1e6:6.3f} µs/line CPU")
    print(f"  BlockParser.parse           {parse_s / lines * 1e6:6.3f} µs/line CPU")
    with tempfile.TemporaryDirectory(prefix="privstats-numba-") as cache:
        env = os.environ | {"NUMBA_CACHE_DIR": cache}
        for label in ("cold cache (compiles)", "warm cache"):
            out = subprocess.run(
                [sys.executable, "-c", _FIRST_SCAN],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            ).stdout.split()
            print(f"  {label:<22} import {out[0]} s, first scan {out[1]} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
