"""A small generated world shared by the synth tests, and an independent reading of its files."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from privstats.synth import SynthManifest, generate

_TIME = (
    r"\d{2}/(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}"
)
_HEAD = (
    r"(?P<client>[0-9A-Za-z.:-]+) - (?P<login>\S+) \[(?P<time>" + _TIME + r")\] "
    r'"(?P<method>GET|POST|PATCH|PUT|DELETE|HEAD) (?P<target>/\S*) (?P<protocol>HTTP/[12]\.[01])" '
    r"(?P<status>[1-5]\d\d) "
)
_AGENT = r' "(?P<referer>[^"]*)" "(?P<agent>[^"]*)"'
# The layouts written by hand from the format definitions, not from the generator's code.
LAYOUTS: dict[str, re.Pattern[str]] = {
    "common": re.compile(_HEAD + r"(?P<size>\d+|-)"),
    "combined": re.compile(_HEAD + r"(?P<size>\d+|-)" + _AGENT),
    "combined_D": re.compile(_HEAD + r"(?P<size>\d+|-)" + _AGENT + r" (?P<us>\d+)"),
    "combined_T": re.compile(_HEAD + r"(?P<size>\d+|-)" + _AGENT + r" (?P<seconds>\d+)"),
    "vhost_combined": re.compile(r"(?P<vhost>[a-z.]+):443 " + _HEAD + r"(?P<size>\d+)" + _AGENT),
    "nginx_timed": re.compile(_HEAD + r"(?P<size>\d+)" + _AGENT + r" (?P<rt>\d+\.\d{3})"),
}
JSON_KEYS = (
    "time_iso8601",
    "remote_addr",
    "remote_user",
    "request",
    "status",
    "body_bytes_sent",
    "http_referer",
    "http_user_agent",
    "request_time",
    "host",
)
_ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d")
MAX_LINE = 65_536  # longer lines are malformed whatever their layout
_REQUEST = re.compile(r"(GET|POST|PATCH|PUT|DELETE|HEAD) /\S* HTTP/[12]\.[01]")


def read_raw(path: Path) -> bytes:
    data = path.read_bytes()
    return gzip.decompress(data) if path.name.endswith(".gz") else data


def raw_lines(path: Path) -> list[bytes]:
    """Lines with their ends, as bytes."""
    return read_raw(path).splitlines(keepends=True)


def text(line: bytes) -> str:
    return line.rstrip(b"\r\n").decode("utf-8", errors="surrogateescape")


def parse_line(fmt: str, line: bytes) -> dict[str, Any] | None:
    """The fields of a valid line of ``fmt``, or None: an independent check of the layout."""
    if len(line) > MAX_LINE:
        return None
    body = text(line)
    if fmt == "nginx_json":
        try:
            record = json.loads(body)
        except ValueError:
            return None
        ok = (
            isinstance(record, dict)
            and tuple(record) == JSON_KEYS
            and _ISO.fullmatch(str(record["time_iso8601"])) is not None
            and _REQUEST.fullmatch(str(record["request"])) is not None
            and type(record["status"]) is int
            and type(record["body_bytes_sent"]) is int
            and isinstance(record["request_time"], float | int)
        )
        return record if ok else None
    match = LAYOUTS[fmt].fullmatch(body)
    return match.groupdict() if match else None


@pytest.fixture(scope="session")
def synth_out(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SynthManifest]:
    """Two days, 80 visitors, with the 1 MB line: small, and every kind of line is in it."""
    out = tmp_path_factory.mktemp("synth") / "out"
    return out, generate(out, days=2, visitors=80, seed=11)


@pytest.fixture(scope="session")
def truth(synth_out: tuple[Path, SynthManifest]) -> dict[str, Any]:
    return json.loads((synth_out[0] / "truth.json").read_text("utf-8"))


@pytest.fixture(scope="session")
def all_text(synth_out: tuple[Path, SynthManifest]) -> str:
    """Every input file's content, decoded, in one string (for presence checks)."""
    out, _ = synth_out
    parts = [
        read_raw(p).decode("utf-8", errors="replace")
        for p in sorted(out.rglob("*"))
        if p.is_file() and p.name not in ("truth.json", "manifest.json")
    ]
    return "\n".join(parts)


@pytest.fixture(scope="session")
def logs() -> SimpleNamespace:
    """The helpers above, for test modules (conftest is not importable under importlib mode)."""
    return SimpleNamespace(read_raw=read_raw, raw_lines=raw_lines, text=text, parse=parse_line)
