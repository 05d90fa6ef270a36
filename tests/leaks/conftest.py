"""Leak-scanner fixtures: real matplotlib charts, a clean report folder, a canary set."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from leaks.planted import CANARIES, write_report

from privstats.key import SecretKey
from privstats.leaks import CanarySet


@pytest.fixture(scope="session")
def chart_svg() -> str:
    """A real matplotlib chart, text kept as text, as the report runner embeds it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with matplotlib.rc_context({"svg.fonttype": "none"}):
        figure, axes = plt.subplots(figsize=(6, 3))
        axes.bar(["Chrome", "Firefox", "Safari", "Other"], [1200, 450, 330, 95])
        axes.plot([0, 1, 2, 3], [1100, 500, 300, 120], marker="o")
        axes.set_title("Visitors by browser, October 2026")
        axes.set_ylabel("persons")
        buffer = io.StringIO()
        figure.savefig(buffer, format="svg")
        plt.close(figure)
    return buffer.getvalue()


@pytest.fixture(scope="session")
def chart_png() -> bytes:
    """A real matplotlib PNG, with the Software text chunk matplotlib writes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(2, 2))
    axes.bar(["a", "b"], [3, 4])
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Title": "Browsers"})
    plt.close(figure)
    return buffer.getvalue()


@pytest.fixture
def clean_report(tmp_path: Path, chart_svg: str, chart_png: bytes) -> Path:
    return write_report(tmp_path / "report", chart_svg, chart_png)


@pytest.fixture
def canary_key(throwaway_key: SecretKey) -> bytes:
    return throwaway_key.derive("canary")


@pytest.fixture
def canaries(canary_key: bytes) -> CanarySet:
    return CanarySet.build(CANARIES, canary_key)
