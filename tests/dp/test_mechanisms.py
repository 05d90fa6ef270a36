"""The noise OpenDP adds has the scale the budget pays for.

OpenDP draws from the operating system's secure generator and cannot be seeded (by design), so
these tests cannot fix the random numbers; instead each tolerance is set many standard errors
wide, so that a false alarm has a probability below 1e-12, while the wrong scale (a factor of
√2 from confusing ε with ρ, or Δ² with Δ) still fails every time.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from privstats.dp import mechanisms
from privstats.exceptions import DisclosureError

DRAWS = 20_000


def within(k: float, scale: float) -> float:
    """P(|X| <= k) for the discrete Gaussian of parameter ``scale``, from its mass function."""
    support = np.arange(-50 * int(scale), 50 * int(scale) + 1)
    mass = np.exp(-(support**2) / (2 * scale**2))
    return float(mass[np.abs(support) <= k].sum() / mass.sum())


def test_the_scale_spends_exactly_the_rho_asked_for() -> None:
    scale = mechanisms.gaussian_scale(0.015, 1.0)
    assert scale == pytest.approx(1 / math.sqrt(2 * 0.015))
    # OpenDP's own privacy map charges ρ = Δ² / (2σ²): the same ρ at that scale.
    assert mechanisms.spent_rho(scale, 1.0) == pytest.approx(0.015)
    # Twice the sensitivity needs twice the scale for the same ρ.
    assert mechanisms.gaussian_scale(0.015, 2.0) == pytest.approx(2 * scale)


def test_the_empirical_spread_of_the_noise_matches_the_configured_scale() -> None:
    scale = mechanisms.gaussian_scale(0.005, 1.0)  # 10
    noise = mechanisms.add_noise(np.zeros(DRAWS, dtype=np.int64), scale)
    assert noise.dtype == np.int64 and len(np.unique(noise)) > 30
    # The sample standard deviation's relative standard error is 1/√(2n) = 0.5 %: 4 % is
    # eight of them. A scale off by √2 (ρ taken for ε) is 41 % off.
    assert abs(noise.std() / scale - 1) < 0.04
    assert abs(noise.mean()) < 8 * scale / math.sqrt(DRAWS)
    # The discrete Gaussian's shape (on whole numbers, so one σ holds 70 %, not 68 %). A share's
    # standard error is at most 0.35 %; 2.5 % is seven of them.
    for k in (scale / 2, scale, 2 * scale):
        assert abs(np.mean(np.abs(noise) <= k) - within(k, scale)) < 0.025


def test_the_margin_of_error_holds_95_percent_of_the_noise() -> None:
    scale = 10.0
    margin = mechanisms.margin_of_error(scale)
    assert margin == 20 or margin == 21  # 1.96 σ, rounded up to a whole number
    noise = mechanisms.add_noise(np.zeros(DRAWS, dtype=np.int64), scale)
    # OpenDP's accuracy is whole and conservative: at least 95 % (here 96.8 %) lie within it.
    assert within(margin, scale) >= 0.95
    assert abs(np.mean(np.abs(noise) <= margin) - within(margin, scale)) < 0.012
    # Large scales (sums of microseconds) are answered in closed form.
    assert mechanisms.margin_of_error(1e8) == pytest.approx(1.96e8, rel=1e-3)


def test_partition_selection_publishes_a_key_one_unit_brings_only_with_probability_delta() -> None:
    scale = 10.0
    threshold = mechanisms.selection_threshold(scale, l0=1, l2=1.0, linf=1.0, delta=1e-8)
    rho, delta = mechanisms.selection_cost(scale, threshold, 1, 1.0, 1.0)
    assert delta <= 1e-8 and rho == pytest.approx(1 / 200)
    # One below the threshold spends more than δ: the threshold is the smallest that works.
    assert mechanisms.selection_cost(scale, threshold - 1, 1, 1.0, 1.0)[1] > 1e-8
    # A key of one unit is never published in 2,000 tries; a key of many units always is.
    counts = {f"rare-{i}": 1 for i in range(2000)} | {"common": threshold + 20 * int(scale)}
    released = mechanisms.select_and_noise(counts, scale, threshold)
    assert list(released) == ["common"]


def test_epsilon_of_a_rho_uses_opendps_conversion() -> None:
    # Below the classic bound ρ + 2√(ρ ln 1/δ), and above ρ.
    eps = mechanisms.epsilon(0.05, 1e-5)
    assert 0.05 < eps < 0.05 + 2 * math.sqrt(0.05 * math.log(1e5))
    assert mechanisms.epsilon(0.0, 1e-5) == 0.0


def test_noise_is_for_whole_numbers_and_positive_budgets_only() -> None:
    with pytest.raises(DisclosureError, match="whole numbers"):
        mechanisms.add_noise(np.array([1.5]), 1.0)
    with pytest.raises(DisclosureError, match="positive"):
        mechanisms.gaussian_scale(0.0, 1.0)
