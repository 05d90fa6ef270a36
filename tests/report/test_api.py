"""The public names of privstats.report are what __all__ says."""

from __future__ import annotations

import privstats.report as report


def test_every_public_name_resolves() -> None:
    for name in report.__all__:
        assert getattr(report, name) is not None


def test_an_unknown_name_is_an_attribute_error() -> None:
    assert not hasattr(report, "no_such_name")
