"""A stand-in for a protected table, for the report tests only (the real one is privstats.protect).

It has what the report machinery relies on: ``.shown`` (a DataFrame of already protected
values), ``.record`` (with ``to_dict()``), ``.status`` and an optional ``.hidden`` mask.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

RULES = {"threshold": 10, "nk_n": 2, "nk_k": 90.0, "p_ratio": 10.0, "round_base": 5}


@dataclass(frozen=True)
class StandInRecord:
    query: dict[str, Any]
    status: str
    rules: dict[str, Any] = field(default_factory=lambda: dict(RULES))
    hidden_cells: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class StandInTable:
    shown: pd.DataFrame
    record: StandInRecord
    hidden: pd.DataFrame | None = None

    @property
    def status(self) -> str:
        return self.record.status
