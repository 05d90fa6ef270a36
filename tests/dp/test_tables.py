"""DP tables through the analyst's API: ``crosstab(..., method="dp")``."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import privstats
from privstats.dp.draws import DrawStore
from privstats.exceptions import DisclosureError, NoDataError
from privstats.protect import TOTAL, Method, Status
from privstats.store import Store
from privstats.tabulate import OTHERS

OCTOBER = {"start": "2026-10-01", "end": "2026-10-03"}


def dp(store: Store, *args: object, **options: object):
    return privstats.crosstab(*args, store=store, method="dp", **{**OCTOBER, **options})


def test_every_key_of_a_public_key_space_is_published_with_noise(fresh_store: Store) -> None:
    table = dp(fresh_store, "hour", "device", aggfunc="visitors")
    assert table.status is Status.PASS and table.record.method is Method.DP
    # 24 hours x 5 device classes, the empty ones included, nothing hidden.
    assert len(table.shown) == 24 * 5
    assert (table.shown["marker"] == "").all()
    values = table.shown["value"].to_numpy()
    assert (values >= 0).all() and np.array_equal(values, np.rint(values))
    noise = table.record.protection["dp"]
    assert noise["keys"] == "public" and noise["unit"] == "visitor-day"
    assert noise["periods"] == ["2026-10-01", "2026-10-02", "2026-10-03"]
    # σ = Δ₂/√(2ρ), and the record states the sensitivity it was scaled to.
    assert noise["scale"] == pytest.approx(noise["sensitivity"]["l2"] / math.sqrt(2 * noise["rho"]))


def test_asking_again_serves_the_stored_draw(fresh_store: Store) -> None:
    first = dp(fresh_store, "day", aggfunc="visitors", margins=True)
    again = dp(fresh_store, "day", aggfunc="visitors", margins=True)
    assert first.shown.equals(again.shown)
    assert first.record.protection["dp"]["draw"] == again.record.protection["dp"]["draw"]
    assert len(list(DrawStore(fresh_store.root).root.glob("*.json"))) == 1
    # Totals are the sums of the published days (a visitor-day is in one day).
    days = first.shown[first.shown["day"] != TOTAL]["value"].sum()
    assert first.shown[first.shown["day"] == TOTAL]["value"].item() == days


def test_a_draw_holds_noisy_numbers_and_no_seed(fresh_store: Store) -> None:
    table = dp(fresh_store, "device", aggfunc="visitors")
    draw = DrawStore(fresh_store.root).get(table.record.protection["dp"]["draw"])
    assert draw is not None
    text = json.dumps(draw.to_dict())
    assert "seed" not in text and draw.commitment() == table.record.protection["dp"]["commitment"]


def test_keys_the_data_brings_pass_dp_partition_selection(fresh_store: Store) -> None:
    table = dp(fresh_store, "path", aggfunc="visitors")
    noise = table.record.protection["dp"]
    assert noise["keys"] == "selected" and 0 < noise["delta"] <= 1e-8
    # Only keys whose noisy count reached the threshold are shown (OpenDP keeps a noisy
    # count equal to it: the noise is whole numbers, so one in a few runs lands on it).
    assert (table.shown["value"] >= noise["threshold"]).all()
    truth = privstats.crosstab("path", aggfunc="visitors", store=fresh_store, **OCTOBER)
    assert len(table.shown) < len(truth.shown)


def test_dp_mode_refuses_what_it_cannot_answer(fresh_store: Store) -> None:
    with pytest.raises(DisclosureError, match="quantile"):
        privstats.pivot_table("response_us", index="day", aggfunc="median", store=fresh_store,
                              method="dp", **OCTOBER)  # fmt: skip
    with pytest.raises(DisclosureError, match="needs a period"):
        privstats.crosstab("device", aggfunc="visitors", store=fresh_store, method="dp")
    with pytest.raises(NoDataError):
        dp(fresh_store, "device", aggfunc="visitors", start="2027-01-01", end="2027-01-31")


def test_crm_tables_count_persons_charged_per_month(fresh_store: Store) -> None:
    table = dp(fresh_store, "module", "partner", aggfunc="visitors", margins=True,
               table="crm_activity", versus={"partner": "acme"}, start="2026-10-01",
               end="2026-10-31")  # fmt: skip
    noise = table.record.protection["dp"]
    assert noise["unit"] == "person" and noise["periods"] == ["2026-10"]
    assert set(table.shown["partner"]) == {"acme", OTHERS, TOTAL}
