"""Decisions: the plan pass notes each table, the final pass serves the decided one."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_tabulate import PHONE, line, store_with

from privstats import tabulate
from privstats.config import Config, RuleSet
from privstats.exceptions import DisclosureError
from privstats.key import SecretKey
from privstats.protect import Method
from privstats.tabulate import decisions
from privstats.tabulate.linking import Linker


@pytest.fixture
def bound(tmp_path: Path):
    folder = tmp_path / "decisions"
    folder.mkdir()
    yield folder
    decisions.bind(None, None)


def test_a_run_plans_its_tables_then_gets_the_decided_ones(
    tmp_path: Path, config: Config, key: SecretKey, bound: Path
) -> None:
    lines = [line(f"198.51.100.{i}", 1) for i in range(30)]
    lines += [line(f"203.0.113.{i}", 1, agent=PHONE) for i in range(3)]
    store = store_with(tmp_path, config, key, lines)
    rules = RuleSet()
    decisions.bind("plan", bound)
    alone = tabulate.crosstab("device", aggfunc="visitors", margins=True, store=store, rules=rules)
    [planned] = decisions.read_plan(bound)
    assert planned.query.dims == ("device",) and planned.method is Method.SUPPRESS
    decided = Linker(store).protect(planned.query, planned.rules, planned.method)
    decisions.save(bound, planned, decided)
    decisions.bind("final", bound)
    final = tabulate.crosstab("device", aggfunc="visitors", margins=True, store="/nowhere",
                              rules=rules)  # fmt: skip
    assert final.to_frame().equals(decided.to_frame())
    assert final.record.review_dict() == decided.record.review_dict()
    assert final.status == alone.status
    with pytest.raises(DisclosureError, match="not asked for when the report's tables"):
        tabulate.crosstab("device", store=store, rules=rules)
