"""The noise: OpenDP's discrete Gaussian under zero-concentrated DP, and its partition selection.

Every random number of a DP table comes from OpenDP (MIT; a Rust core with exact samplers
drawing from the operating system's secure generator; no JVM), never from a sampler written
here: floating-point noise samplers leak through their low bits (Mironov 2012), and OpenDP's
integer samplers are proven not to. Counts and clipped sums are integers, so the noise is the
discrete Gaussian of Canonne, Kamath and Steinke (2020), the one the US Census Bureau used for
the 2020 census, and the privacy loss is measured in zCDP's ρ, which adds up over releases.

* :func:`gaussian_scale` gives the noise scale (standard deviation σ) that spends ``rho`` on a
  query of L2 sensitivity ``l2``; OpenDP's own privacy map checks it.
* :func:`add_noise` adds that noise to a vector of integer counts (a public key space: every
  key, empty ones included).
* :func:`select_and_noise` is OpenDP's Gaussian threshold (Rogers 2023): noise on the counts of
  keys the data itself brings, and only keys whose noisy count passes a threshold are kept, so
  that a key seen in the data of one person is published with probability at most δ.
* :func:`epsilon` states a ρ as (ε, δ)-DP with OpenDP's conversion; :func:`margin_of_error` is
  the half-width of the interval that holds the noise with a given probability.

OpenDP cannot be seeded (by design: a seed would let anyone holding it subtract the noise), so a
repeated question is answered by the stored draw (``privstats.dp.draws``), not by drawing the
same numbers again.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from importlib.metadata import version

import numpy as np
import opendp.prelude as dp

from privstats.exceptions import DisclosureError

# OpenDP's integer Gaussian and its threshold measurement are "contrib": proven, but the
# library asks each program to opt in to them.
dp.enable_features("contrib")

LIBRARY = "opendp"
LIBRARY_VERSION = version("opendp")
# The measure every table is charged in.
MEASURE = "zCDP"


def gaussian_scale(rho: float, l2: float) -> float:
    """σ of the discrete Gaussian that spends ``rho`` (zCDP) on a query of L2 sensitivity ``l2``.

    σ = Δ₂ / √(2ρ) (Bun and Steinke 2016, Canonne et al. 2020), then checked with OpenDP's
    privacy map, which is what the budget relies on.
    """
    if not rho > 0 or not math.isfinite(rho):
        raise DisclosureError("a DP table needs a positive ρ")
    if not l2 > 0:
        raise DisclosureError("a DP table needs a positive sensitivity")
    scale = l2 / math.sqrt(2.0 * rho)
    spent = spent_rho(scale, l2)
    if spent > rho * (1 + 1e-9):  # pragma: no cover - OpenDP and the formula disagree
        raise DisclosureError("OpenDP's privacy map spends more than the ρ asked for")
    return scale


def spent_rho(scale: float, l2: float) -> float:
    """ρ that OpenDP's privacy map charges for noise of ``scale`` on sensitivity ``l2``."""
    return float(_vector_mechanism(float(scale)).map(float(l2)))


@functools.lru_cache(maxsize=64)
def _vector_mechanism(scale: float) -> dp.Measurement:
    space = dp.vector_domain(dp.atom_domain(T=dp.i64)), dp.l2_distance(T=float)
    return dp.m.make_gaussian(*space, scale=scale)


def add_noise(values: np.ndarray, scale: float) -> np.ndarray:
    """``values`` (integers) each with discrete Gaussian noise of standard deviation ``scale``."""
    counts = np.asarray(values)
    if counts.size == 0:
        return np.zeros(0, dtype=np.int64)
    if not np.issubdtype(counts.dtype, np.integer):
        raise DisclosureError("the discrete Gaussian adds noise to whole numbers only")
    noisy = _vector_mechanism(float(scale))(counts.astype(np.int64).tolist())
    return np.asarray(noisy, dtype=np.int64)


@functools.lru_cache(maxsize=64)
def _threshold_mechanism(scale: float, threshold: int) -> dp.Measurement:
    domain = dp.map_domain(dp.atom_domain(T=str), dp.atom_domain(T=dp.i64))
    metric = dp.l02inf_distance(dp.absolute_distance(T=float))
    return dp.m.make_gaussian_threshold(domain, metric, scale=scale, threshold=threshold)


def selection_threshold(scale: float, l0: int, l2: float, linf: float, delta: float) -> int:
    """The smallest threshold at which OpenDP's Gaussian threshold spends at most ``delta``
    when one unit touches ``l0`` keys, by ``linf`` at most in each and ``l2`` in all."""
    if not 0 < delta < 1:
        raise DisclosureError("the δ of partition selection lies between 0 and 1")
    d_in = (int(l0), float(l2), float(linf))

    def enough(threshold: int) -> bool:
        return _threshold_mechanism(float(scale), threshold).map(d_in)[1] <= delta

    upper = max(int(linf) + 1, 2)
    while not enough(upper):
        upper *= 2
        if upper > 2**52:  # pragma: no cover - δ absurdly small
            raise DisclosureError("no threshold reaches so small a δ")
    # opendp types the predicate as taking a float; with int bounds it is given ints.
    return int(dp.binary_search(enough, bounds=(int(linf), upper)))  # type: ignore[arg-type]


def selection_cost(
    scale: float, threshold: int, l0: int, l2: float, linf: float
) -> tuple[float, float]:
    """(ρ, δ) OpenDP charges for the Gaussian threshold at these bounds."""
    rho, delta = _threshold_mechanism(float(scale), int(threshold)).map(
        (int(l0), float(l2), float(linf))
    )
    return float(rho), float(delta)


def select_and_noise(counts: Mapping[str, int], scale: float, threshold: int) -> dict[str, int]:
    """Noisy counts of the keys whose noisy count passes ``threshold``; the others are dropped
    (their presence in the data is not told)."""
    if not counts:
        return {}
    released = _threshold_mechanism(float(scale), int(threshold))(
        {str(k): int(v) for k, v in counts.items()}
    )
    return {str(k): int(v) for k, v in released.items()}


def epsilon(rho: float, delta: float) -> float:
    """ε of ``rho``-zCDP stated as (ε, δ)-DP, by OpenDP's conversion (tighter than
    ρ + 2√(ρ ln 1/δ), which bounds it)."""
    if rho <= 0:
        return 0.0
    if not 0 < delta < 1:
        raise DisclosureError("δ lies between 0 and 1")
    # A Gaussian measurement whose map gives exactly ρ at sensitivity 1 carries the profile.
    converted = dp.c.make_zCDP_to_approxDP(_vector_mechanism(1.0 / math.sqrt(2.0 * rho)))
    return float(converted.map(1.0).epsilon(delta))


def margin_of_error(scale: float, confidence: float = 0.95) -> int:
    """Half-width of the interval around a noisy count that holds its true value with
    ``confidence`` (before post-processing), by OpenDP's accuracy of the discrete Gaussian."""
    if scale <= 0:
        return 0
    alpha = 1.0 - confidence
    if scale > _DISCRETE_ACCURACY_UP_TO:
        # OpenDP sums the discrete distribution's mass term by term; this far out the discrete
        # and the continuous Gaussian agree to far below one unit.
        return math.ceil(dp.gaussian_scale_to_accuracy(float(scale), alpha))
    return math.ceil(dp.discrete_gaussian_scale_to_accuracy(float(scale), alpha))


_DISCRETE_ACCURACY_UP_TO = 1000.0
