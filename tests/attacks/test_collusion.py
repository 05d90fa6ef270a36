"""Partners collude: what two partners receive, put together, against the third's cells.

Three partners, four modules; each partner's ``partner_summary`` shows its own persons per
module beside the other partners' together and the whole service. Acme's "others" minus
Nordic's own is Baltic's own. The whole-service CRM report minus two partners' CRM reports is
the third partner's, too.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from attacks.conftest import (
    MODULES,
    Attacker,
    Expr,
    Released,
    World,
    persons_by_module,
    plus,
    protected,
    three_partners,
)

PARTNERS = tuple(MODULES)
TRUTH = persons_by_module()
ALL_MODULES = tuple(TRUTH["acme"])


@pytest.fixture(scope="module")
def crm_world(tmp_path_factory: pytest.TempPathFactory) -> World:
    world = World(tmp_path_factory.mktemp("collusion") / "world")
    world.ingest_crm(three_partners())
    return world


@pytest.fixture(scope="module")
def batch(crm_world: World, tmp_path_factory: pytest.TempPathFactory) -> World:
    """``--all-partners``: the three summaries made in one run, then each released."""
    world = crm_world.clone(tmp_path_factory.mktemp("batch") / "world")
    assert world.report("partner_summary", all_partners=True, period="2026-10") == 0
    for partner in PARTNERS:
        world.release(world.folder("partner_summary", partner, "2026-10"))
    return world


@pytest.fixture(scope="module")
def one_by_one(crm_world: World, tmp_path_factory: pytest.TempPathFactory) -> World:
    """Each summary made and released before the next one is made."""
    world = crm_world.clone(tmp_path_factory.mktemp("one-by-one") / "world")
    for partner in PARTNERS:
        assert world.report("partner_summary", partner=partner, period="2026-10") == 0
        world.release(world.folder("partner_summary", partner, "2026-10"))
    return world


def persons(attacker: Attacker) -> dict[str, dict[str, Expr]]:
    """The attacker's unknowns: persons of each partner in each module."""
    return {p: {m: attacker.unknown(f"{p}:{m}") for m in ALL_MODULES} for p in PARTNERS}


def summary(attacker: Attacker, table: Released, own: str, x: dict[str, dict[str, Expr]]) -> None:
    """A partner's persons-by-module: its own column, the others', the whole service."""
    others = [p for p in PARTNERS if p != own]
    for module in ALL_MODULES:
        attacker.same(attacker.cell(table, module, own), x[own][module])
        attacker.same(attacker.cell(table, module, "others"),
                      plus(*(x[p][module] for p in others)))  # fmt: skip
        attacker.same(attacker.cell(table, module, "Total"),
                      plus(*(x[p][module] for p in PARTNERS)))  # fmt: skip
    for column, group in ((own, [own]), ("others", others), ("Total", list(PARTNERS))):
        attacker.same(attacker.cell(table, "Total", column),
                      plus(*(x[p][m] for p in group for m in ALL_MODULES)))  # fmt: skip


@pytest.mark.parametrize("how", ["batch", "one_by_one"])
@pytest.mark.parametrize("victim", PARTNERS)
def test_two_partners_summaries_do_not_give_the_thirds_small_groups_away(
    how: str, victim: str, request: pytest.FixtureRequest
) -> None:
    world: World = request.getfixturevalue(how)
    attacker = Attacker()
    x = persons(attacker)
    for partner in PARTNERS:
        if partner == victim:
            continue  # the colluders hold their own reports only
        table = world.latest("partner_summary", "persons-by-module", partner)
        if table is not None:
            summary(attacker, table, partner, x)
    for module, count in TRUTH[victim].items():
        if 0 < count < 10:
            assert protected(attacker.interval(x[victim][module])), (how, victim, module)


def test_the_whole_service_minus_two_partners_does_not_give_the_third_away(
    crm_world: World, tmp_path: Path
) -> None:
    world = crm_world.clone(tmp_path / "world")
    assert world.report("crm_activity_report", period="2026-10") == 0, world.outputs[-1]
    world.release(world.folder("crm_activity_report", None, "2026-10"))
    for partner in ("acme", "nordic"):
        assert world.report("crm_activity_report", partner=partner, period="2026-10") == 0
        world.release(world.folder("crm_activity_report", partner, "2026-10"))

    attacker = Attacker()
    x = persons(attacker)
    for partner, partners in (("all", PARTNERS), ("acme", ("acme",)), ("nordic", ("nordic",))):
        table = world.latest("crm_activity_report", "active-persons", partner)
        if table is None:
            continue
        for module in ALL_MODULES:
            attacker.same(attacker.cell(table, module, "Total"),
                          plus(*(x[p][module] for p in partners)))  # fmt: skip
    for module, count in TRUTH["baltic"].items():
        if 0 < count < 10:
            assert protected(attacker.interval(x["baltic"][module])), module
