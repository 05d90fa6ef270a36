"""Primary rules: persons not rows, dominance on per-person contributions, ACRO's verdicts."""

from __future__ import annotations

import dataclasses
import logging

import numpy as np
import pandas as pd
import pytest

from privstats.config import RuleSet
from privstats.exceptions import DisclosureError
from privstats.protect import Rule, Table, assess


def magnitude_cells(contributions: dict[str, list[float]]) -> pd.DataFrame:
    """One cell per key from its per-person contributions (no margins)."""
    rows = []
    for key, values in contributions.items():
        ordered = [*sorted(values, reverse=True), 0.0, 0.0]
        rows.append(
            {
                "page": key,
                "value": float(sum(values)),
                "persons": len(values),
                "top1": ordered[0],
                "top2": ordered[1],
            }
        )
    return pd.DataFrame(rows)


def test_a_busy_visitor_is_one_person_and_dominates_the_cell():
    # 5,000 requests from one visitor and a few from eleven others: enough persons, but
    # the busy one makes up nearly all of the cell.
    cells = magnitude_cells(
        {
            "/busy": [5000.0] + [3.0] * 11,
            "/balanced": [40.0, 35.0] + [30.0] * 10,
            "/lonely": [5000.0],
        }
    )
    table = Table.from_frame(cells, ["page"], kind="magnitude", margins=False)
    flags = assess(table, RuleSet()).flags.set_index(table.cells["page"])

    assert flags.loc["/busy", Rule.DOMINANCE.value]
    assert flags.loc["/busy", Rule.P_PERCENT.value]
    assert not flags.loc["/busy", Rule.THRESHOLD.value]
    assert not flags.loc["/balanced"].any()
    assert flags.loc["/lonely", Rule.THRESHOLD.value]


def test_the_rules_follow_their_parameters():
    cells = magnitude_cells({"a": [50.0, 30.0] + [2.0] * 10, "b": [10.0] * 12})
    table = Table.from_frame(cells, ["page"], kind="magnitude", margins=False)

    # a: top two = 80 of 100; b: 20 of 120.
    assert not assess(table, RuleSet()).primary.any()
    strict = RuleSet(nk_k=75.0)
    assert assess(table, strict).flags[Rule.DOMINANCE.value].tolist() == [True, False]
    # a: remainder 20 < 50% of the top contribution 50.
    assert assess(table, RuleSet(p_ratio=50.0)).flags[Rule.P_PERCENT.value].tolist() == [
        True,
        False,
    ]
    assert assess(table, RuleSet(threshold=13)).flags[Rule.THRESHOLD.value].tolist() == [True, True]


def test_zeros_negative_and_missing_are_flagged_as_configured():
    cells = pd.DataFrame(
        {
            "page": ["empty", "refund", "gaps", "fine"],
            "value": [0.0, -5.0, 40.0, 120.0],
            "persons": [0, 12, 12, 12],
            "top1": [0.0, 10.0, 5.0, 15.0],
            "top2": [0.0, 10.0, 5.0, 15.0],
            "negatives": [0, 3, 0, 0],
            "missing": [0, 0, 4, 0],
        }
    )
    table = Table.from_frame(
        cells, ["page"], kind="magnitude", margins=False, negatives="negatives", missing="missing"
    )

    def fired(rules: RuleSet, rule: Rule) -> set[str]:
        flags = assess(table, rules).flags
        return set(table.cells["page"][flags[rule.value]])

    assert fired(RuleSet(), Rule.ZEROS) == set()
    assert fired(RuleSet(), Rule.NEGATIVE) == {"refund"}
    assert fired(RuleSet(), Rule.MISSING) == {"gaps"}

    relaxed = RuleSet(check_zeros=True, check_negative=False, check_missing=False)
    assert fired(relaxed, Rule.ZEROS) == {"empty"}
    assert fired(relaxed, Rule.NEGATIVE) == set()
    assert fired(relaxed, Rule.MISSING) == set()


def test_means_pass_the_threshold_on_their_own_cell():
    cells = pd.DataFrame({"hour": [1, 2], "value": [0.31, 0.12], "persons": [4, 40]})
    table = Table.from_frame(cells, ["hour"], kind="statistic", margins=True)
    flags = assess(table, RuleSet()).flags

    assert flags[Rule.THRESHOLD.value].tolist()[:2] == [True, False]
    assert len(table.relations) == 0  # a mean is not the sum of its parts


def test_an_nk_rule_beyond_two_contributors_needs_their_sum():
    cells = magnitude_cells({"a": [50.0, 30.0, 15.0] + [1.0] * 10})
    table = Table.from_frame(cells, ["page"], kind="magnitude", margins=False)
    with pytest.raises(DisclosureError, match="topn"):
        assess(table, RuleSet(nk_n=3))

    cells["topn"] = 95.0
    table = Table.from_frame(cells, ["page"], kind="magnitude", margins=False, topn="topn")
    assert assess(table, RuleSet(nk_n=3, nk_k=90.0)).flags[Rule.DOMINANCE.value].tolist() == [True]


# -- parity with ACRO 1.0.2 -------------------------------------------------------------------


def _microdata(seed: int) -> pd.DataFrame:
    """One row per person (ACRO counts rows, we count persons), skewed contributions."""
    rng = np.random.default_rng(seed)
    n = 900
    frame = pd.DataFrame(
        {
            "browser": rng.choice(
                ["Firefox", "Chrome", "Safari", "Edge", "Opera"], n, p=[0.3, 0.4, 0.2, 0.07, 0.03]
            ),
            "device": rng.choice(["desktop", "mobile", "tablet"], n, p=[0.5, 0.42, 0.08]),
            "bytes": np.round(rng.lognormal(8, 1.2, n)),
        }
    )
    # A few busy persons that dominate their cells, and a cell whose persons are nearly equal.
    frame.loc[rng.choice(n, 6, replace=False), "bytes"] = 3e7
    return frame


def _our_flags(micro: pd.DataFrame, rules: RuleSet) -> pd.DataFrame:
    def top(values: pd.Series, k: int) -> float:
        ordered = values.sort_values(ascending=False).to_numpy()
        return float(ordered[k]) if ordered.size > k else 0.0

    cells = (
        micro.groupby(["browser", "device"])["bytes"]
        .agg(value="sum", persons="size", top1=lambda s: top(s, 0), top2=lambda s: top(s, 1))
        .reset_index()
    )
    table = Table.from_frame(cells, ["browser", "device"], kind="magnitude", margins=False)
    flags = assess(table, rules).flags
    flags.index = pd.MultiIndex.from_frame(table.keys)
    return flags


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("rules", [RuleSet(), RuleSet(threshold=25, nk_k=70.0, p_ratio=30.0)])
def test_primary_verdicts_match_acro(seed, rules, tmp_path, monkeypatch):
    acro_module = pytest.importorskip("acro", reason="ACRO 1.0.2 is in the test extra")
    monkeypatch.chdir(tmp_path)  # ACRO may write its outputs folder here
    logging.getLogger("acro").setLevel(logging.WARNING)
    micro = _microdata(seed)
    session = acro_module.ACRO(suppress=False)
    session.config.update(
        {
            "safe_threshold": rules.threshold,
            "safe_nk_n": rules.nk_n,
            "safe_nk_k": rules.nk_k / 100,
            "safe_pratio_p": rules.p_ratio / 100,
        }
    )
    table = session.crosstab(micro.browser, micro.device, values=micro.bytes, aggfunc="sum")
    (output,) = session.results.results.values()
    cells = output.sdc["cells"]

    ours = _our_flags(micro, rules)
    names = {
        "MinimumThresholdCheck": Rule.THRESHOLD.value,
        "NKCheck": Rule.DOMINANCE.value,
        "PPercentCheck": Rule.P_PERCENT.value,
    }
    compared = 0
    for acro_name, our_name in names.items():
        theirs = {(table.index[i], table.columns[j]) for i, j in cells[acro_name]}
        mine = set(ours.index[ours[our_name]])
        assert mine == theirs, acro_name
        compared += len(mine)
    assert compared > 0, "the data must make some rules fire"


def test_the_parity_test_speaks_to_acros_configuration():
    # The keys the parity test sets are ACRO's own; a rename there must fail here, loudly.
    acro_module = pytest.importorskip("acro", reason="ACRO 1.0.2 is in the test extra")
    config = acro_module.ACRO(suppress=False).config
    assert {"safe_threshold", "safe_nk_n", "safe_nk_k", "safe_pratio_p"} <= set(config)
    assert dataclasses.asdict(RuleSet())["threshold"] == config["safe_threshold"]
