"""One line at a time: what a log line means, stated as plainly as possible.

This is the definition every faster path reproduces exactly. A line is the bytes between two
``\\n``; an over-long one is quarantined unread; the rest is decoded as UTF-8 (invalid bytes
become U+FFFD and the line is counted), trailing ``\\r`` are dropped, an empty line or one
holding a NUL byte (binary data) is quarantined, and the rest is matched against
the format's fast regex (quoted fields hold no quote), then its strict regex (backslash-escaped
quotes, unescaped afterwards). A line neither accepts is quarantined with the reason found by
looking at its quotes. The compiled tokeniser (``tokens``) sends here only the lines it cannot
prove it reads the same way.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from privstats.quarantine import Reason
from privstats.sources.logformat import Field, LogFormat


class Rejects(Protocol):
    """Where rejected lines are counted: a ``Quarantine``, or a block's ``BlockTally``."""

    non_utf8: int

    def add(self, reason: Reason, lines: list[int], /) -> None: ...


@dataclass(frozen=True)
class FieldRows:
    """Accepted lines: their numbers and, per canonical field, their text (None if absent)."""

    numbers: list[int]
    fields: dict[Field, list[str | None]]

    def __len__(self) -> int:
        return len(self.numbers)


@dataclass(frozen=True)
class LineParser:
    """Parses single lines of one format; counts what it rejects into a quarantine."""

    fmt: LogFormat
    max_line_bytes: int
    _fast: re.Pattern[str] = field(init=False, repr=False, compare=False)
    _wanted: tuple[tuple[int, Field], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_fast", re.compile(self.fmt.fast_pattern))
        object.__setattr__(self, "_wanted", _wanted_groups(self.fmt))

    @property
    def fields(self) -> tuple[Field, ...]:
        if self.fmt.is_json:
            return tuple(f for _, f in self.fmt.json_keys if f is not Field.IGNORED)
        return tuple(f for _, f in self._wanted)

    def parse(
        self, numbers: Sequence[int], raws: Sequence[bytes], quarantine: Rejects
    ) -> FieldRows:
        """Parse raw lines (without their ``\\n``); bad ones go to ``quarantine``."""
        accepted: list[int] = []
        values: list[tuple[str | None, ...]] = []
        bad: dict[Reason, list[int]] = {}
        for number, raw in zip(numbers, raws, strict=True):
            if len(raw) > self.max_line_bytes:
                bad.setdefault(Reason.LINE_TOO_LONG, []).append(number)
                continue
            text = decode(raw, quarantine).rstrip("\r")
            if not text:
                bad.setdefault(Reason.EMPTY_LINE, []).append(number)
                continue
            if "\0" in text:
                bad.setdefault(Reason.NUL_BYTE, []).append(number)
                continue
            groups = self._json(text) if self.fmt.is_json else self._groups(text)
            if isinstance(groups, Reason):
                bad.setdefault(groups, []).append(number)
                continue
            accepted.append(number)
            values.append(groups)
        for reason, lines in bad.items():
            quarantine.add(reason, lines)
        columns = list(zip(*values, strict=True)) if values else [()] * len(self.fields)
        return FieldRows(accepted, {f: list(c) for f, c in zip(self.fields, columns, strict=True)})

    def _groups(self, text: str) -> tuple[str | None, ...] | Reason:
        match = self._fast.match(text)
        if match:
            return tuple(match.group(i) for i, _ in self._wanted)
        match = self.fmt.strict_pattern.match(text)
        if match:
            return tuple(_unescape(match.group(i)) for i, _ in self._wanted)
        return diagnose(text)

    def _json(self, text: str) -> tuple[str | None, ...] | Reason:
        try:
            obj = json.loads(text)
        except ValueError:
            return Reason.BAD_JSON
        if not isinstance(obj, dict):
            return Reason.BAD_JSON
        return tuple(
            json_text(obj.get(key)) for key, f in self.fmt.json_keys if f is not Field.IGNORED
        )


def decode(raw: bytes, quarantine: Rejects) -> str:
    """UTF-8 text of a line; invalid bytes become U+FFFD and the line is counted."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        quarantine.non_utf8 += 1
        return raw.decode("utf-8", errors="replace")


def diagnose(text: str) -> Reason:
    """Why a line failed the format (only the reason leaves this function, never the text)."""
    unescaped_quotes = text.count('"') - text.count('\\"')
    if unescaped_quotes % 2:
        return Reason.UNTERMINATED_QUOTE
    return Reason.FIELD_COUNT


def json_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return json.dumps(value)


def _unescape(group: str | None) -> str | None:
    if group is None:
        return None
    return group.replace('\\"', '"').replace("\\\\", "\\")


def _wanted_groups(fmt: LogFormat) -> tuple[tuple[int, Field], ...]:
    """Regex group number of each canonical field (the first group wins a repeated field)."""
    wanted: dict[Field, int] = {}
    for i, f in enumerate(fmt.fields):
        if f is not Field.IGNORED and f not in wanted:
            wanted[f] = i + 1
    return tuple((i, f) for f, i in wanted.items())
