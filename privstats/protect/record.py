"""The machine-readable record every protected table carries, for the reviewer.

It says what was asked (the query, as the caller describes it), under which rules and
protection parameters, what came out (status, the cells hidden and why, the audit), with the
code version and a SHA-256 checksum of the data as shown. It never holds a hidden value or a
protection level (which would give the value back).

Two views: ``review_dict()`` is the reviewer's, with per-cell reasons and how the pattern was
found; ``to_dict()`` (also ``public_dict()``) is what an analyst sees and what travels with a
released table. It leaves out which rule hid which cell, because "hidden by the threshold rule"
tells a reader that the cell counts fewer persons than the threshold, which the audit's
intervals do not account for. ``from_dict`` reads either back.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import pandas as pd

SECONDARY = "secondary"


class Status(enum.StrEnum):
    # Nothing needed protecting: every cell is shown as it is.
    PASS = "pass"
    # Cells are hidden, rounded or shown as "<N", and the audit proves the table safe.
    SUPPRESSED = "suppressed"
    # No safe table could be made or the audit refused it: nothing may be shown.
    FAIL = "fail"


class Method(enum.StrEnum):
    SUPPRESS = "suppress"
    ROUND = "round"
    LESS_THAN = "less_than"
    # Noise with a privacy budget (privstats.dp): nothing is hidden, every release is charged.
    DP = "dp"


def code_version() -> str:
    try:
        return version("privstats")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0+unknown"


def checksum(shown: pd.DataFrame) -> str:
    """SHA-256 of the shown table, serialised canonically (CSV, fixed float format)."""
    text = shown.to_csv(index=False, float_format="%.17g", lineterminator="\n")
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class CellNote:
    """A cell not shown as it is: its key and why (primary rule names, or ``secondary``)."""

    key: Mapping[str, Any]
    reasons: tuple[str, ...]
    # The attacker's interval from everything published (released tables only).
    interval: tuple[float, float] | None = None


@dataclass(frozen=True)
class ProtectionRecord:
    query: Mapping[str, Any]
    method: Method
    rules: Mapping[str, Any]
    protection: Mapping[str, Any]
    status: Status
    cells: Sequence[CellNote]
    rule_counts: Mapping[str, int]
    audit: Mapping[str, Any]
    checksum: str
    code_version: str = field(default_factory=code_version)
    message: str | None = None
    # How the pattern was found: secondary cells, rounds, whether proven cheapest.
    search: Mapping[str, Any] = field(default_factory=dict)

    def review_dict(self) -> dict[str, Any]:
        """The reviewer's view, JSON-serialisable: which rule hid which cell."""
        out = self._base()
        out["cells"] = [
            {
                "key": _jsonable(dict(note.key)),
                "reasons": list(note.reasons),
                **({"interval": _interval(note.interval)} if note.interval is not None else {}),
            }
            for note in self.cells
        ]
        out["rule_counts"] = dict(self.rule_counts)
        # Reviewer only: secondary cells counted apart would tell how many were sensitive.
        if self.search:
            out["search"] = _jsonable(dict(self.search))
        return out

    def public_dict(self) -> dict[str, Any]:
        """What an analyst sees and what may travel with a released table: no per-cell
        reasons (the reviewer's view is ``review_dict()``)."""
        out = self._base()
        out["cells_protected"] = len(self.cells)
        # How many hidden cells the audit had to protect tells how many are sensitive.
        out["audit"] = {"passed": bool(self.audit.get("passed"))}
        return out

    to_dict = public_dict

    def to_json(self, *, public: bool = True) -> str:
        data = self.public_dict() if public else self.review_dict()
        return json.dumps(data, indent=2, sort_keys=True, allow_nan=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ProtectionRecord:
        """A record from ``review_dict()`` (or, without per-cell reasons, ``to_dict()``)."""
        cells = tuple(
            CellNote(
                key=dict(c["key"]),
                reasons=tuple(c.get("reasons", ())),
                # A stored interval is two numbers; tuple() of them is typed of any length.
                interval=tuple(_float(x) for x in c["interval"]) if "interval" in c else None,  # type: ignore[arg-type]
            )
            for c in data.get("cells", ())
        )
        return cls(
            query=dict(data.get("query") or {}),
            method=Method(data.get("method", Method.SUPPRESS)),
            rules=dict(data.get("rules") or {}),
            protection=dict(data.get("protection") or {}),
            status=Status(data["status"]),
            cells=cells,
            rule_counts=dict(data.get("rule_counts") or {}),
            audit=dict(data.get("audit") or {}),
            checksum=str(data.get("checksum_sha256", "")),
            code_version=str(data.get("code_version") or code_version()),
            message=data.get("message"),
            search=dict(data.get("search") or {}),
        )

    def _base(self) -> dict[str, Any]:
        return {
            "query": _jsonable(dict(self.query)),
            "method": self.method.value,
            "rules": _jsonable(dict(self.rules)),
            "protection": _jsonable(dict(self.protection)),
            "status": self.status.value,
            "audit": _jsonable(dict(self.audit)),
            "checksum_sha256": self.checksum,
            "code_version": self.code_version,
            **({"message": self.message} if self.message else {}),
        }


def rules_dict(rules: Any) -> dict[str, Any]:
    is_instance = dataclasses.is_dataclass(rules) and not isinstance(rules, type)
    return dataclasses.asdict(rules) if is_instance else dict(rules)


def _interval(bounds: tuple[float, float]) -> list[float | str]:
    return [_number(bounds[0]), _number(bounds[1])]


def _number(x: float) -> float | str:
    # JSON has no infinity; an unbounded side is written as a word.
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return float(x)


def _float(x: float | str) -> float:
    return float(x) if not isinstance(x, str) else (math.inf if x == "inf" else -math.inf)


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    if isinstance(value, enum.Enum):
        return value.value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        return value.item()
    if isinstance(value, float) and math.isinf(value):
        return _number(value)
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)
