"""Planted identifying values, and a search for them in every form they could take."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote, quote_plus

import pyarrow.parquet as pq

IPS = ["198.51.100.77", "2001:db8:cafe::4242"]
HOSTS = ["host-77-100-51-198.dsl.kanarek.example"]
EMAILS = ["zofia.kanarek@example.pl", "jan.kowalski.canary@example.com"]
NAMES = ["Zofia Kanarek", "Kanarek"]
LOGINS = ["zkanarek77"]
AGENT_TOKENS = ["CanaryBrowser/9.9.9-zk", "KanarekToolbar"]
SLUGS = ["zofia-kanarek"]
TOKENS = ["b4ee1c9d3f7a44e8a9d0c6b1f2e3d4c5b6a7"]

ALL = [*IPS, *HOSTS, *EMAILS, *NAMES, *LOGINS, *AGENT_TOKENS, *SLUGS, *TOKENS]


def forms(value: str) -> set[str]:
    """The value as it could leak: as is, lowercase, URL-encoded, hex."""
    return {
        value,
        value.lower(),
        quote(value, safe=""),
        quote_plus(value),
        value.encode().hex(),
    }


def canary_log_lines() -> list[str]:
    """Combined-format lines carrying every canary where real logs carry identifiers."""
    ua = f"Mozilla/5.0 (X11; Linux x86_64) {AGENT_TOKENS[0]} ({AGENT_TOKENS[1]})"
    email = quote(EMAILS[0], safe="")
    lines = []
    for i, client in enumerate([*IPS, *HOSTS]):
        ts = f"01/Oct/2026:1{i}:00:00 +0200"
        lines += [
            f'{client} - {LOGINS[0]} [{ts}] "GET /u/{SLUGS[0]} HTTP/1.1" 200 10 "-" "{ua}"',
            f'{client} - - [{ts}] "GET /crm/contacts/{SLUGS[0]}/edit?name={quote_plus(NAMES[0])} '
            f'HTTP/1.1" 200 10 "https://www.google.com/search?q={email}" "{ua}"',
            f'{client} - {EMAILS[1]} [{ts}] "GET /reset/{TOKENS[0]} HTTP/1.1" 302 0 '
            f'"https://mail.example.org/?to={EMAILS[1]}" "{ua}"',
            f'{client} - - [{ts}] "GET /register?email={email} HTTP/1.1" 200 10 "-" "{ua}"',
        ]
    # Malformed lines that still carry identifiers: quarantine must not keep them.
    lines.append(f'{IPS[0]} - - [01/Oct/2026:10:00:00 +0200] "GET /?e={EMAILS[0]} HTTP/1.1" OK 1')
    lines.append(f'{HOSTS[0]} - - [bad time] "GET /{NAMES[1]} HTTP/1.1" 200 1 "-" "{ua}"')
    return lines


def texts_in(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` as text: raw bytes, and Parquet decoded cell by cell."""
    found = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        raw = path.read_bytes()
        text = raw.decode("utf-8", errors="replace")
        if path.suffix == ".parquet":
            table = pq.read_table(path)
            # Distinct values per column hold everything a row dump would, far shorter.
            for column in table.columns:
                text += json.dumps(column.unique().to_pylist(), default=str)
            text += str(pq.read_metadata(path).schema) + str(table.schema.metadata)
        found[str(path)] = text
    return found


def leaks(texts: dict[str, str] | str, values: list[str] = ALL) -> list[str]:
    """Which canaries (in any form) appear in the given texts."""
    if isinstance(texts, str):
        texts = {"text": texts}
    hits = []
    for value in values:
        for form in forms(value):
            for name, text in texts.items():
                if form in text:
                    hits.append(f"{value!r} as {form!r} in {name}")
    return hits
