"""CPU seconds of each ingest stage, run one after the other in one thread, on a big log.

    .venv/bin/python benchmarks/ingest_stages.py [--lines 2000000] [--blocks N]

``ingest_speed.py`` times the whole command, whose stages overlap in four threads; this
script tells which stage the time goes to: reading and hashing, parsing (tokenising,
validating, typing, dictionary-encoding), anonymising (pseudonyms, user agents, path
templates, referers) and, in other threads, writing Parquet row groups (the store's writer)
and whatever native libraries run in their own pools. Figures are CPU time
(``time.thread_time``), so a busy machine changes them less than wall time; the cost per line
is printed next to them. The log is ``ingest_speed.py``'s cached ``combined_D`` log of that
many lines.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ingest_speed import FORMAT, _input

from privstats.anonymise import AccessAnonymiser
from privstats.config import Config
from privstats.key import SecretKey
from privstats.sources.access import BlockParser, BlockReader, Input
from privstats.sources.logformat import resolve_format
from privstats.store import Store


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=2_000_000, help="lines of the log")
    parser.add_argument("--blocks", type=int, default=0, help="stop after N blocks (0: all)")
    args = parser.parse_args(argv)
    log = _input(args.lines, 0)
    config = Config()
    key = SecretKey(bytes(range(32)))
    fmt = resolve_format(FORMAT, config.ingest.formats)
    spent = dict.fromkeys(("read+hash", "parse", "anonymise", "write", "elsewhere"), 0.0)
    lines = 0
    process_start = time.process_time()
    with tempfile.TemporaryDirectory(prefix="privstats-stages-") as tmp:
        store = Store(Path(tmp) / "store")
        transaction = store.transaction()
        reader = BlockReader(Input(log, log.name), reuse=True)
        blocks = BlockParser(fmt, config.ingest.max_line_bytes)
        anonymiser = AccessAnonymiser(config, key)
        items = iter(reader)
        count = 0
        while True:
            start = time.thread_time()
            item = next(items, None)
            spent["read+hash"] += time.thread_time() - start
            if item is None:
                break
            start = time.thread_time()
            parsed, tally = blocks.parse(item[1], lines + 1)
            spent["parse"] += time.thread_time() - start
            lines += tally.line_count
            start = time.thread_time()
            table, _ = anonymiser.apply(parsed)
            spent["anonymise"] += time.thread_time() - start
            start = time.thread_time()
            transaction.write("access", table)
            spent["write"] += time.thread_time() - start
            count += 1
            if args.blocks and count >= args.blocks:
                break
        start = time.thread_time()
        transaction.finish()
        spent["write"] += time.thread_time() - start
        transaction.discard()
    # The store's writer thread and native thread pools: what this thread did not use itself.
    spent["elsewhere"] = time.process_time() - process_start - sum(spent.values())
    print(f"{lines:,} lines of {log.name}, {count} blocks")
    for stage, seconds in spent.items():
        print(f"  {stage:<10} {seconds:7.2f} s CPU  {seconds / lines * 1e6:6.2f} µs/line")
    total = sum(spent.values())
    print(f"  {'total':<10} {total:7.2f} s CPU  {total / lines * 1e6:6.2f} µs/line")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
