"""Quarantine: bad input counted by reason and line number, never kept as content."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

# Enough line numbers to find a problem in the file; the count stays exact beyond it.
MAX_LINE_NUMBERS = 100


class Reason(enum.StrEnum):
    FIELD_COUNT = "wrong field count"
    UNTERMINATED_QUOTE = "unterminated quote"
    BAD_TIMESTAMP = "bad timestamp"
    IMPLAUSIBLE_TIME = "implausible time"
    BAD_STATUS = "non-numeric or impossible status"
    BAD_SIZE = "non-numeric size"
    BAD_RESPONSE_TIME = "non-numeric response time"
    MISSING_CLIENT = "missing client address"
    LINE_TOO_LONG = "line too long"
    EMPTY_LINE = "empty line"
    NUL_BYTE = "binary data (a NUL byte)"
    BAD_JSON = "not a JSON object"
    BAD_ROW = "invalid record"
    ERASED = "person erased"
    OBJECTED = "person objected to statistics"


@dataclass
class Quarantine:
    """Counts by reason plus the first line numbers of each, for one input."""

    counts: dict[str, int] = field(default_factory=dict)
    lines: dict[str, list[int]] = field(default_factory=dict)
    # Lines kept but decoded with replacement characters (invalid UTF-8, Latin-1 agents).
    non_utf8: int = 0

    def add(self, reason: enum.StrEnum, line_numbers: list[int]) -> None:
        if not line_numbers:
            return
        key = reason.value
        self.counts[key] = self.counts.get(key, 0) + len(line_numbers)
        kept = self.lines.setdefault(key, [])
        kept.extend(line_numbers[: max(0, MAX_LINE_NUMBERS - len(kept))])

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def to_dict(self) -> dict[str, object]:
        return {"counts": dict(self.counts), "lines": dict(self.lines), "non_utf8": self.non_utf8}

    def summary(self) -> str:
        if not self.counts:
            return "no lines quarantined"
        parts = [f"{n} {reason}" for reason, n in sorted(self.counts.items(), key=lambda x: -x[1])]
        return "quarantined: " + ", ".join(parts)
