"""What the leak scanner reports: a kind, a place, and a preview that never shows the value.

A finding is read by a reviewer, printed by the gate, maybe pasted into a ticket: so it must be
as safe to share as the report should have been. The found text is shown only as its first
characters, its length and a short keyed tag (HMAC under a key drawn afresh in every process),
which tells two findings of the same value apart from two of different values without letting
anyone test a guess against it.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import secrets
from dataclasses import dataclass

# Drawn per process on purpose: a tag links findings within one scan, never across runs.
_TAG_KEY = secrets.token_bytes(32)


class Category(enum.StrEnum):
    """Why a kind of finding fails a report."""

    IDENTIFIER = "identifier"  # identifying data is in the file
    SELF_CONTAINMENT = "self-containment"  # the file would load or run something
    UNSCANNABLE = "unscannable"  # the file could not be proven clean


class Kind(enum.StrEnum):
    """Every kind of finding, one detector or check each."""

    IPV4 = "ipv4"
    IPV6 = "ipv6"
    EMAIL = "email"
    PHONE = "phone"
    PESEL = "pesel"
    NIP = "nip"
    REGON = "regon"
    IBAN = "iban"
    URL_QUERY = "url-query"
    USER_AGENT = "user-agent"
    HOSTNAME = "hostname"
    PSEUDONYM = "pseudonym"
    TRACEBACK = "traceback"
    CANARY = "canary"
    SCRIPT = "script"
    EXTERNAL_RESOURCE = "external-resource"
    EXTERNAL_LINK = "external-link"
    UNSCANNABLE = "unscannable"

    @property
    def category(self) -> Category:
        if self in (Kind.SCRIPT, Kind.EXTERNAL_RESOURCE, Kind.EXTERNAL_LINK):
            return Category.SELF_CONTAINMENT
        if self is Kind.UNSCANNABLE:
            return Category.UNSCANNABLE
        return Category.IDENTIFIER


def value_tag(value: str) -> str:
    """A short tag equal for equal values within this process, meaningless outside it."""
    digest = hmac.new(_TAG_KEY, value.encode("utf-8", "surrogatepass"), hashlib.sha256)
    return digest.hexdigest()[:6]


def redact(value: str) -> str:
    """``'20…(13 chars, #a0cd2b)'``: a preview that cannot give the value back.

    Values of six characters or fewer show only their first character, and of two or fewer
    none, so that no short value is ever shown in full or nearly.
    """
    shown = value[:2] if len(value) > 6 else value[:1] if len(value) > 2 else ""
    shown = "".join(ch if ch.isprintable() and not ch.isspace() else "?" for ch in shown)
    return f"{shown}…({len(value)} chars, #{value_tag(value)})"


@dataclass(frozen=True, slots=True)
class Finding:
    """One reason a file cannot be released.

    ``file`` is relative to the scanned folder; ``location`` says where in it (``line:col``,
    ``row R, col C``, a JSON pointer, ``Sheet!B3``, a PNG chunk, with `` > `` between the levels
    of embedded content); ``redacted`` is the preview made by :func:`redact`; ``note`` is a fixed
    explanation that never holds found text.
    """

    file: str
    location: str
    kind: Kind
    redacted: str
    note: str = ""

    @classmethod
    def of(cls, file: str, location: str, kind: Kind, value: str, note: str = "") -> Finding:
        """A finding of ``value`` (redacted here); an empty value for a finding of structure."""
        return cls(file, location, kind, redact(value) if value else "", note)

    @property
    def category(self) -> Category:
        return self.kind.category

    def __str__(self) -> str:
        line = f"{self.file}:{self.location}: {self.kind.value}"
        line = f"{line} {self.redacted}" if self.redacted else line
        return f"{line} — {self.note}" if self.note else line

    def to_dict(self) -> dict[str, str]:
        """A JSON-ready form for a machine-readable gate report."""
        return {
            "file": self.file,
            "location": self.location,
            "kind": self.kind.value,
            "category": self.category.value,
            "redacted": self.redacted,
            "note": self.note,
        }


def summarise(findings: list[Finding]) -> str:
    """One line for the end of a gate's output: how many findings of which kind, in how many
    files (``"3 findings in 2 files: 2 ipv4, 1 script"``, or ``"no findings"``)."""
    if not findings:
        return "no findings"
    counts: dict[str, int] = {}
    for finding in findings:
        counts[finding.kind.value] = counts.get(finding.kind.value, 0) + 1
    files = len({finding.file for finding in findings})
    kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items(), key=lambda i: -i[1]))
    noun = "finding" if len(findings) == 1 else "findings"
    return f"{len(findings)} {noun} in {files} file{'s' if files != 1 else ''}: {kinds}"
