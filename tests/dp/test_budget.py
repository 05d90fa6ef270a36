"""The privacy budget is never exceeded, survives a killed process, and a re-run costs nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from privstats.config import DPConfig
from privstats.dp.budget import BudgetExceeded, BudgetLedger, charge, plan, spending, statement
from privstats.exceptions import GateError

SETTINGS = DPConfig(rho_per_table=0.005, rho_per_day=0.05, rho_per_year=1.0)


def table(draw: str, days: list[str], rho: float = 0.005) -> dict:
    """A DP table's record of its noise, as ``dp_table`` writes it."""
    return {"draw": draw, "commitment": "c" * 64, "unit": "visitor-day", "periods": days,
            "rho": rho, "delta": 0.0, "scale": 10.0, "sensitivity": {"l2": 1.0},
            "bounds": {"max_cells": 10}, "library": "opendp 0.16.0"}  # fmt: skip


def release(ledger: BudgetLedger, number: int, *tables: dict) -> None:
    with ledger.locked():
        charge(ledger, f"r{number}", {"report": "traffic_report", "period": "2026-10"},
               [(f"t{i}", t) for i, t in enumerate(tables)], SETTINGS)  # fmt: skip


def test_the_release_that_would_overspend_a_day_is_refused_and_nothing_is_written(
    tmp_path: Path,
) -> None:
    ledger = BudgetLedger(tmp_path)
    october_1 = ["2026-10-01"]
    # Ten tables of ρ = 0.005 fill the day's 0.05 exactly: allowed.
    for number in range(10):
        release(ledger, number, table(f"d{number}", october_1))
    before = ledger.path.read_bytes()
    with pytest.raises(BudgetExceeded, match="visitor-day/2026-10-01"):
        release(ledger, 10, table("d10", ["2026-09-30", *october_1]))
    assert ledger.path.read_bytes() == before
    # Another day is untouched: the same table for 2 October goes through.
    release(ledger, 11, table("d11", ["2026-10-02"]))
    accounts = {a.budget: a for a in statement(ledger, SETTINGS)}
    assert accounts["visitor-day/2026-10-01"].rho == pytest.approx(0.05)
    assert accounts["visitor-day/2026-10-01"].remaining == pytest.approx(0.0)
    assert accounts["visitor-day/2026-10-02"].rho == pytest.approx(0.005)
    assert "visitor-day/2026-09-30" not in accounts


def test_the_same_draw_released_again_costs_nothing_and_new_data_is_charged(
    tmp_path: Path,
) -> None:
    ledger = BudgetLedger(tmp_path)
    release(ledger, 1, table("same", ["2026-10-01"]))
    # The same numbers in another report (a re-run, another partner's copy): free.
    again = plan([("t", table("same", ["2026-10-01"]))], ledger, SETTINGS)
    assert again.charges == () and again.tables[0]["charged"] is False
    release(ledger, 2, table("same", ["2026-10-01"]))
    # Late logs changed the data: a new draw, charged.
    release(ledger, 3, table("late-logs", ["2026-10-01"]))
    assert spending(ledger, SETTINGS).accounts["visitor-day/2026-10-01"].rho == pytest.approx(0.01)
    # Two tables of one release with the same draw are charged once too.
    twice = plan([("a", table("x", ["2026-10-05"])), ("b", table("x", ["2026-10-05"]))],
                 ledger, SETTINGS)  # fmt: skip
    assert [c.rho for c in twice.charges] == [0.005]


def test_crm_persons_add_up_over_the_months_of_a_year(tmp_path: Path) -> None:
    ledger = BudgetLedger(tmp_path)
    yearly = DPConfig(rho_per_table=0.3, rho_per_day=0.3, rho_per_year=1.0)
    monthly = {"unit": "person", "rho": 0.3, "delta": 0.0}
    for number, month in enumerate(["2026-01", "2026-02", "2026-03"]):
        with ledger.locked():
            charge(ledger, f"r{number}", {}, [("t", {**monthly, "draw": month,
                                                       "periods": [month]})], yearly)  # fmt: skip
    with ledger.locked(), pytest.raises(BudgetExceeded, match="person/2026"):
        charge(ledger, "r9", {}, [("t", {**monthly, "draw": "apr", "periods": ["2026-04"]})],
               yearly)  # fmt: skip
    # A new year starts a new budget.
    with ledger.locked():
        charge(ledger, "r10", {}, [("t", {**monthly, "draw": "jan27", "periods": ["2027-01"]})],
               yearly)  # fmt: skip


def test_an_edited_budget_ledger_refuses_every_release(tmp_path: Path) -> None:
    ledger = BudgetLedger(tmp_path)
    release(ledger, 1, table("a", ["2026-10-01"]))
    release(ledger, 2, table("b", ["2026-10-01"]))
    lines = ledger.path.read_text().splitlines()
    ledger.path.write_text(
        "\n".join([lines[0].replace('"rho":0.005', '"rho":0.0'), lines[1]]) + "\n"
    )
    with pytest.raises(GateError, match="edited"):
        release(ledger, 3, table("c", ["2026-10-01"]))


WRITER = """
import sys
from privstats.config import DPConfig
from privstats.dp.budget import BudgetLedger, charge
ledger = BudgetLedger(sys.argv[1])
settings = DPConfig(rho_per_table=1e-6, rho_per_day=1.0, rho_per_year=1.0)
noise = {"unit": "visitor-day", "rho": 1e-6, "delta": 0.0, "commitment": "c",
         "periods": ["2026-10-01", "2026-10-02"]}
print("ready", flush=True)
for n in range(1_000_000):
    with ledger.locked():
        charge(ledger, f"r{n}", {}, [("t", {**noise, "draw": f"d{n}"})], settings)
"""


def test_a_killed_writer_leaves_every_complete_charge_and_a_readable_ledger(
    tmp_path: Path,
) -> None:
    process = subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path)],
                               stdout=subprocess.PIPE, text=True)  # fmt: skip
    assert process.stdout is not None and process.stdout.readline().strip() == "ready"
    time.sleep(1.0)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    ledger = BudgetLedger(tmp_path)
    state = ledger.read()
    assert len(state.entries) > 5
    # Whatever line the kill cut short is reported and ignored; the chain is whole.
    assert not state.chain_broken
    assert all(p.kind == "torn" for p in state.problems)
    spent = spending(ledger, DPConfig(rho_per_day=1.0)).accounts
    assert spent["visitor-day/2026-10-01"].rho == pytest.approx(1e-6 * len(state.entries))
    # The next release appends after it.
    release(ledger, 99, table("after-the-crash", ["2026-10-01"]))
    assert len(ledger.read().entries) == len(state.entries) + 1
