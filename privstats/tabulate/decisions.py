"""Decisions: how a report run's tables are protected, decided over the whole linked set.

A report notebook computes its tables one by one, and draws each as it goes; yet its tables,
the other reports of the run and everything released before must be protected together. So
the runner executes a notebook twice:

1. **plan**: ``crosstab`` protects each table alone, as an analyst's would be, and writes its
   query, rules and method to ``plan.jsonl`` in the run's private folder; the output is
   thrown away;
2. the runner protects every planned table of every report of the run, in order, against
   the release ledger (``privstats.tabulate.linking``) and writes one decision per table;
3. **final**: ``crosstab`` computes nothing; it returns the decided table for its query, and
   a query the plan did not hold is an error (a notebook must ask the same in both passes).

Outside a run (JupyterLab), nothing is bound and ``crosstab`` protects each table alone.
The decisions hold only protected tables: what a notebook may see anyway.
"""

from __future__ import annotations

import enum
import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from privstats.config import RuleSet
from privstats.exceptions import DisclosureError
from privstats.protect import Method, ProtectedTable, ProtectionRecord, Status
from privstats.tabulate.query import Query

PLAN = "plan.jsonl"
MODE_ENV = "PRIVSTATS_PROTECTION_MODE"
FOLDER_ENV = "PRIVSTATS_PROTECTION_FOLDER"


class Mode(enum.StrEnum):
    PLAN = "plan"
    FINAL = "final"


_bound: dict[str, Any] = {"mode": None, "folder": None}


def bind(mode: Mode | str | None, folder: os.PathLike[str] | str | None) -> None:
    """Bind this process's ``crosstab`` calls to a run's pass (the runner's setup cell does)."""
    _bound["mode"] = Mode(mode) if mode else None
    _bound["folder"] = Path(folder) if folder else None


def current() -> tuple[Mode | None, Path | None]:
    if _bound["mode"] is not None:
        return _bound["mode"], _bound["folder"]
    mode = os.environ.get(MODE_ENV)
    folder = os.environ.get(FOLDER_ENV)
    return (Mode(mode), Path(folder)) if mode and folder else (None, None)


@dataclass(frozen=True)
class Planned:
    """One table a notebook asked for."""

    query: Query
    rules: RuleSet
    method: Method

    def key(self) -> str:
        text = json.dumps(
            [self.query.to_dict(), asdict(self.rules), self.method.value], sort_keys=True
        )
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]

    def to_json(self) -> str:
        data = {"query": self.query.to_dict(), "rules": asdict(self.rules), "method": self.method}
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Planned:
        data = json.loads(text)
        return cls(Query.from_dict(data["query"]), RuleSet(**data["rules"]), Method(data["method"]))


def record(planned: Planned) -> None:
    """Plan pass: note a table the notebook asked for."""
    _, folder = current()
    assert folder is not None
    with (folder / PLAN).open("a", encoding="utf-8") as stream:
        stream.write(planned.to_json() + "\n")


def read_plan(folder: Path) -> list[Planned]:
    """The tables a plan pass asked for, in order, each once."""
    path = folder / PLAN
    if not path.is_file():
        return []
    seen: dict[str, Planned] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            planned = Planned.from_json(line)
            seen.setdefault(planned.key(), planned)
    return list(seen.values())


def save(folder: Path, planned: Planned, table: ProtectedTable) -> None:
    """Runner: the decided table for a planned query."""
    (folder / f"{planned.key()}.json").write_text(
        json.dumps(_to_dict(table), allow_nan=False), encoding="utf-8"
    )


def decided(planned: Planned) -> ProtectedTable:
    """Final pass: the table decided for this query."""
    _, folder = current()
    assert folder is not None
    path = folder / f"{planned.key()}.json"
    if not path.is_file():
        raise DisclosureError(
            "this table was not asked for when the report's tables were planned: a report "
            "notebook must ask for the same tables every time it runs"
        )
    return _from_dict(json.loads(path.read_text(encoding="utf-8")))


def _to_dict(table: ProtectedTable) -> dict[str, Any]:
    shown = table.shown
    return {
        "dims": list(table.dims),
        "status": table.status.value,
        "record": table.record.review_dict(),
        "rows": [
            [*(str(row[d]) for d in table.dims),
             None if pd.isna(row["value"]) else float(row["value"]), str(row["marker"])]
            for row in shown.to_dict("records")
        ],
    }  # fmt: skip


def _from_dict(data: dict[str, Any]) -> ProtectedTable:
    dims = tuple(data["dims"])
    rows = data["rows"]
    shown = pd.DataFrame(
        {
            **{d: pd.Series([r[i] for r in rows], dtype=object) for i, d in enumerate(dims)},
            "value": np.array([np.nan if r[-2] is None else r[-2] for r in rows], dtype=float),
            "marker": pd.Series([r[-1] for r in rows], dtype=object),
        }
    )
    return ProtectedTable(
        dims=dims,
        shown=shown,
        status=Status(data["status"]),
        record=ProtectionRecord.from_dict(data["record"]),
        audit=None,
    )
