"""Inputs that repeat lines of one ingested before: a log that grew, a re-saved copy.

A live ``access.log`` picked up by a daily job holds yesterday's content as its beginning; a
copy converted to CRLF, or cut short, holds the same lines in other bytes. Taken for a new
input either would count every row again. So each access input's catalog entry records a keyed
hash of its first line (an HMAC under a key derived from the secret key: one log line could
otherwise be guessed, address by address, and confirmed), and the length, line count and
SHA-256 of its whole lines (a log read while it was written may end inside a line). An input
whose first line is that of an ingested input

- is that input again when its content hashes the same (nothing is added);
- continues it when it is longer and its first bytes hash to that input's whole lines: only
  the lines after them are read, the way a reader tailing the log would (the longest such
  input is the one continued); the line the earlier input ended inside is read again, whole,
  unless it made a row then (it is not counted twice);
- is refused otherwise, nothing written: its lines were counted already, in other bytes.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from typing import Any

from privstats.exceptions import InputError
from privstats.key import SecretKey
from privstats.sources.access import BlockReader

_PURPOSE = "first-line"


class Overlap:
    """What one input's first line says about the access inputs ingested before it."""

    def __init__(self, key: SecretKey, inputs: Sequence[dict[str, Any]], size: int | None):
        """``size``: the input's content length when known before reading (a plain file)."""
        self._key = key.derive(_PURPOSE)
        self._inputs = [e for e in inputs if e.get("kind") == "access" and e.get("first_line")]
        self._size = size
        self.mark: str | None = None  # this input's first-line hash, for its catalog entry
        self.candidates: list[dict[str, Any]] = []  # ingested inputs with the same first line
        self.base: dict[str, Any] | None = None  # the one this input would continue

    def start(self, first_line: bytes) -> tuple[int, int]:
        """For ``BlockReader``: the bytes and lines of the input this one may continue."""
        if not first_line.strip():
            return 0, 0
        self.mark = hmac.new(self._key, first_line, hashlib.sha256).hexdigest()[:32]
        self.candidates = [e for e in self._inputs if e["first_line"] == self.mark]
        usable = [
            e
            for e in self.candidates
            if isinstance(e.get("complete_sha256"), str)
            and _count(e.get("bytes")) > 0
            and _count(e.get("complete_lines")) > 0
            and (self._size is None or e["bytes"] < self._size)
        ]
        if not usable:
            return 0, 0
        self.base = max(usable, key=lambda e: e["bytes"])
        return self.base["bytes"], self.base["complete_lines"]

    @property
    def counted_through(self) -> int:
        """The last line of this input counted already, as the base's: its whole lines, and
        the line it ended inside if that made a row."""
        if self.base is None:
            return 0
        kept = self.base.get("tail_kept") is True
        return _count(self.base.get("lines")) if kept else self.base["complete_lines"]

    def refuse_repeats(self, prefix_sha256: str | None) -> None:
        """An ``InputError`` unless the input continues its base or repeats no input's lines
        (call it once the input is known to be no ingested input itself)."""
        if self.base is not None:
            if prefix_sha256 == self.base["complete_sha256"]:
                return
            raise InputError(
                f"it begins as the input {_name(self.base)} does, but its first "
                f"{self.base['bytes']} bytes are not that input's (an edited or re-saved copy?); "
                "nothing was written for it, so that no line is counted twice"
            )
        if self.candidates:
            raise InputError(
                f"it begins with the first line of the input {_name(self.candidates[0])}, "
                "yet it neither is that input nor continues it (a copy re-saved, converted to "
                "CRLF or cut short?); nothing was written for it, so that no line is counted "
                "twice"
            )

    def entry(self, reader: BlockReader, tail_kept: bool) -> dict[str, Any]:
        """The fields of this input's catalog entry that later inputs are compared with."""
        fields: dict[str, Any] = {
            "first_line": self.mark,
            "bytes": reader.complete_size,
            "complete_lines": reader.lines_read - reader.tail,
            "complete_sha256": reader.complete_sha256,
            "tail_kept": tail_kept,
        }
        if self.base is not None:
            fields["continues"] = self.base["id"]
        return fields


def _count(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _name(entry: dict[str, Any]) -> str:
    return f"{str(entry.get('id'))[:12]} (ingested {entry.get('ingested_at', 'before')})"
