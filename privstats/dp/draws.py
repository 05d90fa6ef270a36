"""Stored draws: the noisy numbers of a DP table, kept so that the same question on the same
data is answered with the same numbers, however often it is asked.

Fresh noise for every run of a report would let anyone who sees several runs average the noise
away; LinkedIn's audience API seeds its noise for that reason. OpenDP cannot be seeded, so the
first draw is stored and served again: a draw is found by its id, a digest of the query, the
mechanism's parameters and the bounded data (``bounding.Bounded.digest``). Changed data (late
logs, an erasure) has another digest, so it gets a new draw, which the budget charges.

Draws live in the store's folder (``<store>/dp/draws/<id>.json``): whoever asks the store
(an analyst, the report runner, the reviewer's gate) finds the same ones. A draw holds noisy
numbers only, never a true one. It is written to a temporary file, synced, and linked into
place only if no draw of that id exists yet: of two processes drawing at once, the first one
wins and the second serves the first one's numbers.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from privstats.exceptions import DisclosureError, StoreError
from privstats.store import fsync_path

FOLDER = Path("dp") / "draws"
FORMAT = "privstats.dp.draw"


def draw_id(query: Mapping[str, Any], mechanism: Mapping[str, Any], digest: str) -> str:
    """The id of a draw: the same for the same query, mechanism and bounded data only."""
    text = json.dumps([dict(query), dict(mechanism), digest], sort_keys=True, default=str)
    # The whole SHA-256: the gate's leak scanner takes a 64-digit hex token for a checksum.
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Draw:
    """One DP table's noisy cells (keys as codes), as drawn."""

    id: str
    cells: tuple[tuple[tuple[str, ...], int], ...]
    mechanism: Mapping[str, Any]

    def values(self) -> dict[tuple[str, ...], int]:
        return dict(self.cells)

    def commitment(self) -> str:
        """SHA-256 of the drawn numbers: what the budget ledger records of a draw (the numbers
        themselves are the report's; no seed exists to commit to)."""
        text = json.dumps([self.id, [[list(k), v] for k, v in self.cells]], separators=(",", ":"))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "id": self.id,
            "mechanism": dict(self.mechanism),
            "cells": [[list(k), v] for k, v in self.cells],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Draw:
        if data.get("format") != FORMAT:
            raise DisclosureError("not a stored DP draw")
        cells = tuple((tuple(str(c) for c in k), int(v)) for k, v in data["cells"])
        return cls(str(data["id"]), cells, dict(data.get("mechanism") or {}))

    @classmethod
    def of(
        cls, ident: str, cells: Sequence[tuple[tuple[str, ...], int]], mechanism: Mapping[str, Any]
    ) -> Draw:
        return cls(ident, tuple(sorted((tuple(k), int(v)) for k, v in cells)), dict(mechanism))


class DrawStore:
    """The draws of one store (see the module's notes)."""

    def __init__(self, store_root: Path | str) -> None:
        self.root = Path(store_root) / FOLDER

    def path(self, ident: str) -> Path:
        if not ident.isalnum():
            raise DisclosureError("a draw id is a hexadecimal digest")
        return self.root / f"{ident}.json"

    def get(self, ident: str) -> Draw | None:
        path = self.path(ident)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError:
            raise StoreError(f"the stored DP draw {path.name} cannot be read") from None
        try:
            return Draw.from_dict(json.loads(text))
        except (ValueError, KeyError, TypeError):
            raise StoreError(f"the stored DP draw {path.name} is damaged") from None

    def put(self, draw: Draw) -> Draw:
        """Store ``draw`` unless one of its id exists; return the one stored."""
        self.root.mkdir(parents=True, exist_ok=True)
        final = self.path(draw.id)
        temporary = self.root / f".{draw.id}.{secrets.token_hex(4)}.tmp"
        data = json.dumps(draw.to_dict(), sort_keys=True).encode("utf-8")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        with os.fdopen(fd, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        try:
            os.link(temporary, final)  # fails if a draw of this id is there: the first one wins
        except FileExistsError:
            pass
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
        fsync_path(self.root)
        stored = self.get(draw.id)
        assert stored is not None
        return stored
