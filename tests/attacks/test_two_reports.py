"""Two reports to one partner: ``partner_summary`` and ``crm_activity_report`` for acme.

The summary shows acme's persons per module (beside the other partners' and the whole
service); the CRM report shows acme's persons per module and action, whose row totals are the
same populations. A cell one report hides as the partner of a small one may be a row total
the other shows.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from attacks.conftest import (
    MODULES,
    Attacker,
    Expr,
    World,
    persons_by_module,
    plus,
    protected,
    three_partners,
)

PARTNERS = tuple(MODULES)
TRUTH = persons_by_module()
ALL_MODULES = tuple(TRUTH["acme"])
ACTIONS = ("create", "view")
REPORTS = ("partner_summary", "crm_activity_report")


@pytest.fixture(scope="module")
def crm_world(tmp_path_factory: pytest.TempPathFactory) -> World:
    world = World(tmp_path_factory.mktemp("two-reports") / "world")
    world.ingest_crm(three_partners())
    return world


def actions_truth() -> dict[tuple[str, str], int]:
    """Acme's persons per module and action: persons alternate create, view, create, ...;
    importers all create."""
    out = {}
    for module, count in TRUTH["acme"].items():
        if module == "imports":
            out[(module, "create")], out[(module, "view")] = count, 0
        else:
            out[(module, "create")], out[(module, "view")] = (count + 1) // 2, count // 2
    return out


@pytest.mark.parametrize("order", [REPORTS, REPORTS[::-1]], ids=["summary-first", "crm-first"])
def test_the_summary_and_the_crm_report_do_not_give_a_small_group_away(
    crm_world: World, tmp_path: Path, order: tuple[str, str]
) -> None:
    world = crm_world.clone(tmp_path / "world")
    for report in order:
        assert world.report(report, partner="acme", period="2026-10") == 0, world.outputs[-1]
        world.release(world.folder(report, "acme", "2026-10"))

    attacker = Attacker()
    x = {p: {m: attacker.unknown(f"{p}:{m}") for m in ALL_MODULES} for p in PARTNERS}
    y = {(m, a): attacker.unknown(f"acme:{m}:{a}") for m in ALL_MODULES for a in ACTIONS}
    others = [p for p in PARTNERS if p != "acme"]
    if (summary := world.latest("partner_summary", "persons-by-module", "acme")) is not None:
        for module in ALL_MODULES:
            groups: list[tuple[str, list[str]]] = [
                ("acme", ["acme"]), ("others", others), ("Total", list(PARTNERS))
            ]  # fmt: skip
            for column, group in groups:
                attacker.same(attacker.cell(summary, module, column),
                              plus(*(x[p][module] for p in group)))  # fmt: skip
    if (crm := world.latest("crm_activity_report", "active-persons", "acme")) is not None:
        for module in ALL_MODULES:
            row: list[Expr] = []
            for action in ACTIONS:
                attacker.same(attacker.cell(crm, module, action), y[(module, action)])
                row.append(y[(module, action)])
            attacker.same(attacker.cell(crm, module, "Total"), plus(*row))
            attacker.same(attacker.cell(crm, module, "Total"), x["acme"][module])
        for action in ACTIONS:
            attacker.same(attacker.cell(crm, "Total", action),
                          plus(*(y[(m, action)] for m in ALL_MODULES)))  # fmt: skip

    for module, count in TRUTH["acme"].items():
        if 0 < count < 10:
            assert protected(attacker.interval(x["acme"][module])), (order, module)
    for (module, action), count in actions_truth().items():
        if 0 < count < 10:
            assert protected(attacker.interval(y[(module, action)])), (order, module, action)
