"""The generated valid lines fit the ingest's own format definitions, by name."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

from privstats.sources.logformat import resolve_format
from privstats.synth import SynthManifest


def test_the_ingest_formats_match_every_valid_line(
    synth_out: tuple[Path, SynthManifest], logs: SimpleNamespace
) -> None:
    out, manifest = synth_out
    checked = 0
    for entry in manifest.access:
        if entry.format == "nginx_json":
            continue  # read as JSON by the ingest; its keys are checked in test_generate
        fmt = resolve_format(entry.format)
        fast = re.compile(fmt.fast_pattern)
        for line in logs.raw_lines(out / entry.path):
            if logs.parse(entry.format, line) is None:
                continue  # the ingest's typed checks, not its regexes, reject the bad lines
            body = logs.text(line)
            assert fast.match(body) or fmt.strict_pattern.match(body), entry.path
            checked += 1
    assert checked > 1_000
