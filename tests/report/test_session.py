"""The notebook's publish API: protected tables, labelled charts and plain text, nothing else."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field

import pandas as pd
import pytest
from matplotlib.figure import Figure

from privstats.exceptions import DisclosureError, ReportError
from privstats.report import publish, publish_figure, publish_text, session, set_title
from privstats.report.table import ReportTable


@dataclass(frozen=True)
class Protected:
    shown: pd.DataFrame
    record: dict = field(default_factory=lambda: {"status": "pass", "rules": {"threshold": 10}})


@pytest.fixture
def staging(tmp_path, monkeypatch):
    monkeypatch.setitem(session._state, "staging", None)
    monkeypatch.delenv(session.STAGING_ENV, raising=False)
    folder = tmp_path / "staging"
    folder.mkdir()
    session.begin(folder, expected_prefix=sys.prefix)
    return folder


@pytest.fixture
def unbound(monkeypatch):
    monkeypatch.setitem(session._state, "staging", None)
    monkeypatch.delenv(session.STAGING_ENV, raising=False)


def _figure(xlabel: str = "hour of day", ylabel: str = "requests per hour") -> Figure:
    figure = Figure(figsize=(3, 2))
    axes = figure.add_subplot()
    axes.plot([0, 1, 2], [5, 7, 3])
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    return figure


def test_outside_the_runner_publish_previews_and_stages_nothing(unbound, tmp_path) -> None:
    table = publish(Protected(pd.DataFrame({"n": [12]})), name="t", title="T")
    assert isinstance(table, ReportTable)
    assert "<table" in table._repr_html_()
    assert list(tmp_path.iterdir()) == []


def test_published_items_are_staged_in_order(staging) -> None:
    publish_text("Intro <b>", heading=True)
    publish(Protected(pd.DataFrame({"n": [12, 30]})), name="counts", title="Counts")
    publish_figure(_figure(), name="hours", title="Hours", tables=["counts"])
    set_title("My report")
    names = sorted(p.name for p in staging.iterdir() if not p.name.startswith("."))
    assert names == [
        "0000-text-heading0.json",
        "0001-table-counts.json",
        "0002-figure-hours.json",
        "0002-figure-hours.svg",
    ]
    table = json.loads((staging / "0001-table-counts.json").read_text())
    assert table["table"]["rules"] == {"threshold": 10}
    assert json.loads((staging / ".title.json").read_text()) == {"title": "My report"}


def test_a_plain_dataframe_is_refused(staging) -> None:
    with pytest.raises(DisclosureError, match="plain DataFrame"):
        publish(pd.DataFrame({"n": [1]}), name="raw", title="Raw")
    with pytest.raises(DisclosureError, match=r"\.shown and \.record"):
        publish(object(), name="raw", title="Raw")
    assert list(staging.iterdir()) == []


def test_a_table_that_failed_its_checks_is_withheld(staging) -> None:
    failed = Protected(pd.DataFrame({"n": [1]}), {"status": "fail"})
    assert publish(failed, name="t", title="T") is None
    [staged] = list(staging.iterdir())
    assert json.loads(staged.read_text()) == {
        "kind": "withheld",
        "name": "t",
        "title": "T",
        "reason": "it could not be protected",
    }


def test_names_are_slugs_and_unique(staging) -> None:
    table = Protected(pd.DataFrame({"n": [12]}))
    with pytest.raises(ReportError, match="name of a table"):
        publish(table, name="../t", title="T")
    publish(table, name="t", title="T")
    with pytest.raises(ReportError, match="already published"):
        publish(table, name="t", title="T again")


def test_a_chart_without_axis_labels_is_refused(staging) -> None:
    with pytest.raises(ReportError, match="axes 1 needs both axis labels"):
        publish_figure(_figure(ylabel=""), name="f", title="F")


def test_a_chart_keeps_its_text_as_text(staging) -> None:
    staged = publish_figure(_figure().axes[0], name="f", title="F")  # an Axes is accepted
    assert "<text" in staged.svg and "requests per hour" in staged.svg
    assert "<dc:date>" not in staged.svg


def test_the_same_chart_gives_the_same_bytes(unbound) -> None:
    # No timestamp and ids salted by the chart's name: a re-run changes no hash in the manifest.
    first = publish_figure(_figure(), name="f", title="F")
    second = publish_figure(_figure(), name="f", title="F")
    assert first.svg == second.svg


def test_text_must_not_be_empty(staging) -> None:
    with pytest.raises(ReportError):
        publish_text("   ")


def test_a_kernel_of_another_environment_is_refused(tmp_path, monkeypatch) -> None:
    monkeypatch.setitem(session._state, "staging", None)
    with pytest.raises(ReportError, match="ipykernel install --sys-prefix --name python3"):
        session.begin(tmp_path, expected_prefix=str(tmp_path / "other-venv"))
    assert session.staging_folder() is None
