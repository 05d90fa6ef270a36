"""The privacy budget: what every DP release has spent, per unit and period, and the caps.

``reports/released/budget.jsonl`` lies beside the release ledger and is the same kind of file
(``privstats.gate.ledger``): append-only, one JSON line per release, each line holding the
SHA-256 of the one before, written with one ``write`` and ``fsync`` under the release area's
lock, so that a killed process leaves at most a torn last line, which readers ignore and
report. A line records, for each DP table of the release: the unit, the periods charged, ρ (and
δ), the sensitivity, the bounds, the noise scale, the library's version, the draw and a
commitment to its numbers (OpenDP is not seeded: there is no seed to commit to, and none is
ever written).

What a budget is (``Charge.budget``):

* ``visitor-day/2026-10-01``: every visitor-day of that UTC day. A table over October charges
  its ρ to each of the 31 days (a visitor-day lives in one day, so the days do not add up);
  the cap is ``[dp] rho_per_day``;
* ``person/2026``: every CRM person, over a year. A person is the same unit every month, so the
  tables of all months add up; the cap is ``[dp] rho_per_year``.

A draw is charged once: releasing the same numbers again (the same query on the same data: a
re-run, the same table in another partner's report) costs nothing. Changed data is a new draw,
and charged. :func:`charge` refuses, before anything is written, a release that would take any
budget over its cap (it fails closed: a ledger that cannot be read refuses too).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from privstats.config import DPConfig
from privstats.dp import mechanisms
from privstats.dp.tables import PERSON, VISITOR_DAY
from privstats.exceptions import GateError
from privstats.gate.ledger import LedgerEntry, ReleaseLedger

BUDGET_FILE = "budget.jsonl"
# Rounding of sums of floats: a release exactly at the cap is allowed.
_SLACK = 1e-12


class BudgetLedger(ReleaseLedger):
    """The privacy-budget ledger of one release area (``root`` is ``reports/released``)."""

    FILE = BUDGET_FILE
    FORMAT = "privstats.budget"
    NAME = "privacy-budget ledger"


class BudgetExceeded(GateError):
    """A release would spend more than a budget's cap: nothing was released or charged."""


@dataclass(frozen=True)
class Charge:
    budget: str
    rho: float
    delta: float


def charges(noise: Mapping[str, Any]) -> list[Charge]:
    """What one DP table (its record's ``protection["dp"]``) costs, budget by budget."""
    unit = noise.get("unit")
    periods = [str(p) for p in noise.get("periods") or ()]
    rho, delta = float(noise["rho"]), float(noise.get("delta") or 0.0)
    if unit == VISITOR_DAY:
        return [Charge(f"{VISITOR_DAY}/{day}", rho, delta) for day in periods]
    if unit == PERSON:
        return [Charge(f"{PERSON}/{year}", rho, delta) for year in sorted({p[:4] for p in periods})]
    raise GateError("a DP table's record names no privacy unit the budget knows")


def cap(settings: DPConfig, budget: str) -> float:
    return settings.rho_per_day if budget.startswith(VISITOR_DAY) else settings.rho_per_year


@dataclass
class Account:
    """One budget: spent ρ and δ, its cap, and what remains."""

    budget: str
    cap: float
    rho: float = 0.0
    delta: float = 0.0
    releases: list[str] = field(default_factory=list)

    @property
    def remaining(self) -> float:
        return max(self.cap - self.rho, 0.0)

    def epsilon(self, delta: float) -> float:
        """The spent budget as ε at ``delta`` (selection's δ taken out of it first)."""
        left = delta - self.delta
        return mechanisms.epsilon(self.rho, left) if left > 0 else math.inf


@dataclass(frozen=True)
class Spending:
    """Every budget's account, and the draws charged already."""

    accounts: dict[str, Account]
    draws: frozenset[str]

    def account(self, budget: str, settings: DPConfig) -> Account:
        return self.accounts.get(budget) or Account(budget, cap(settings, budget))


def spending(ledger: BudgetLedger, settings: DPConfig) -> Spending:
    """What the ledger's releases have spent (fails closed on a broken chain)."""
    state = ledger.read()
    if state.chain_broken:
        raise GateError(f"the {ledger.NAME} {ledger.path} was edited; repair it first")
    accounts: dict[str, Account] = {}
    draws: set[str] = set()
    for entry in state.entries:
        for item in entry.data.get("charges") or ():
            budget = str(item["budget"])
            account = accounts.setdefault(budget, Account(budget, cap(settings, budget)))
            account.rho += float(item["rho"])
            account.delta += float(item.get("delta") or 0.0)
            account.releases.append(entry.release_id)
        for table in entry.data.get("tables") or ():
            if table.get("draw"):
                draws.add(str(table["draw"]))
    return Spending(accounts, frozenset(draws))


@dataclass(frozen=True)
class Plan:
    """What releasing some DP tables would charge, and which budgets it would take over."""

    tables: tuple[dict[str, Any], ...]
    charges: tuple[Charge, ...]
    over: tuple[Account, ...]
    after: tuple[Account, ...]

    @property
    def allowed(self) -> bool:
        return not self.over

    def refusal(self) -> str:
        first = self.over[0]
        more = f" and {len(self.over) - 1} more" if len(self.over) > 1 else ""
        return (
            f"releasing these DP tables would spend ρ = {first.rho:.6g} of {first.budget}"
            f"{more}, over its cap of {first.cap:.6g}: nothing was released or charged"
        )


def plan(
    tables: Sequence[tuple[str, Mapping[str, Any]]], ledger: BudgetLedger, settings: DPConfig
) -> Plan:
    """The charges of ``tables`` ((name, ``protection["dp"]``) pairs) on top of the ledger's."""
    spent = spending(ledger, settings)
    charged = set(spent.draws)
    rows: list[dict[str, Any]] = []
    new: list[Charge] = []
    for name, noise in tables:
        draw = str(noise.get("draw") or "")
        fresh = bool(draw) and draw not in charged
        rows.append({"name": name, "charged": fresh, **_described(noise)})
        if fresh:
            charged.add(draw)
            new.extend(charges(noise))
    totals: dict[str, Account] = {}
    for charge in new:
        if charge.budget not in totals:
            before = spent.account(charge.budget, settings)
            totals[charge.budget] = Account(charge.budget, before.cap, before.rho, before.delta)
        totals[charge.budget].rho += charge.rho
        totals[charge.budget].delta += charge.delta
    over = tuple(a for a in totals.values() if a.rho > a.cap * (1 + _SLACK))
    merged = _merge(new)
    return Plan(tuple(rows), merged, over, tuple(sorted(totals.values(), key=lambda a: a.budget)))


def charge(
    ledger: BudgetLedger,
    release_id: str,
    about: Mapping[str, Any],
    tables: Sequence[tuple[str, Mapping[str, Any]]],
    settings: DPConfig,
) -> LedgerEntry | None:
    """Charge a release's DP tables, or raise ``BudgetExceeded`` with nothing written. The
    caller holds the release area's lock (``ledger.locked()``). None when there is no DP table."""
    if not tables:
        return None
    planned = plan(tables, ledger, settings)
    if not planned.allowed:
        raise BudgetExceeded(planned.refusal())
    return ledger.append(
        {
            "release_id": release_id,
            **{k: about.get(k) for k in ("report", "partner", "period")},
            "tables": list(planned.tables),
            "charges": [
                {"budget": c.budget, "rho": c.rho, "delta": c.delta} for c in planned.charges
            ],
        }
    )


def statement(
    ledger: BudgetLedger, settings: DPConfig, budgets: Iterable[str] | None = None
) -> list[Account]:
    """The accounts of ``budgets`` (default: every budget charged so far), sorted."""
    spent = spending(ledger, settings)
    names = sorted(set(budgets) if budgets is not None else set(spent.accounts))
    return [spent.account(name, settings) for name in names]


def budgets_of(tables: Iterable[Mapping[str, Any]]) -> list[str]:
    """The budgets some DP tables would charge."""
    return sorted({c.budget for noise in tables for c in charges(noise)})


def _merge(items: Iterable[Charge]) -> tuple[Charge, ...]:
    totals: dict[str, list[float]] = {}
    for item in items:
        pair = totals.setdefault(item.budget, [0.0, 0.0])
        pair[0] += item.rho
        pair[1] += item.delta
    return tuple(Charge(b, r, d) for b, (r, d) in sorted(totals.items()))


def _described(noise: Mapping[str, Any]) -> dict[str, Any]:
    keys = ("draw", "commitment", "unit", "periods", "rho", "delta", "sensitivity", "bounds",
            "scale", "threshold", "mechanism", "library", "keys")  # fmt: skip
    return {k: noise.get(k) for k in keys}
