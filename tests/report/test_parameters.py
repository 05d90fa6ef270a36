"""Report parameters are checked against the notebook's parameters cell before anything runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from privstats.exceptions import ParameterError, ReportError
from privstats.report import runner
from privstats.report.parameters import (
    ParameterKind,
    convert_texts,
    declared_parameters,
    parse_assignments,
    period_days,
    read_parameters,
    validate,
)

NOTEBOOKS = Path(__file__).parent / "notebooks"

CELL = """from typing import Literal

partner: str | None = None  # the partner id
period = "2026-10"
language = "pl"
top: int = 10
share = 0.25
include_bots = False
mode: Literal["fast", "full"] = "fast"
start = "2026-10-01"
marker = "#"  # a hash inside a string is not a comment
"""


@pytest.fixture(scope="module")
def declared():
    return declared_parameters(CELL, notebook="example")


def test_types_come_from_annotations_and_defaults(declared) -> None:
    kinds = {name: p.kind for name, p in declared.items()}
    assert kinds == {
        "partner": ParameterKind.STR,
        "period": ParameterKind.PERIOD,
        "language": ParameterKind.STR,
        "top": ParameterKind.INT,
        "share": ParameterKind.FLOAT,
        "include_bots": ParameterKind.BOOL,
        "mode": ParameterKind.STR,
        "start": ParameterKind.DATE,
        "marker": ParameterKind.STR,
    }
    assert declared["partner"].nullable
    assert declared["partner"].help == "the partner id"
    assert declared["marker"].default == "#"
    assert declared["mode"].choices == ("fast", "full")
    assert declared["language"].choices == ("pl", "en")


def test_defaults_fill_what_is_not_given(declared) -> None:
    values = validate(declared, {"top": 3}, notebook="example")
    assert values["top"] == 3
    assert values["period"] == "2026-10"
    assert values["partner"] is None


def test_a_misspelt_name_suggests_the_declared_one(declared) -> None:
    with pytest.raises(ParameterError, match=r"no parameter 'partnr'; did you mean 'partner'\?"):
        validate(declared, {"partnr": "acme"}, notebook="example")


def test_an_unrelated_name_lists_the_declared_ones(declared) -> None:
    with pytest.raises(ParameterError, match=r"it declares: .*include_bots.*top"):
        validate(declared, {"colour": "red"}, notebook="example")


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("top", "10", "an integer"),
        ("top", True, "an integer"),
        ("top", 2.5, "an integer"),
        ("share", "0.5", "a number"),
        ("include_bots", 1, "true or false"),
        ("period", "2026-13", "a month written YYYY-MM"),
        ("period", "October", "a month written YYYY-MM"),
        ("start", "2026-02-30", "a date written YYYY-MM-DD"),
        ("language", "de", "one of pl, en"),
        ("mode", "slow", "one of fast, full"),
        ("marker", None, "a text, not None"),
    ],
)
def test_a_value_of_the_wrong_type_is_refused(declared, name, value, expected) -> None:
    with pytest.raises(ParameterError, match=expected):
        validate(declared, {name: value}, notebook="example")


def test_an_int_is_accepted_where_a_number_is_declared(declared) -> None:
    assert validate(declared, {"share": 1}, notebook="example")["share"] == 1.0


def test_the_refused_value_is_never_echoed(declared) -> None:
    with pytest.raises(ParameterError) as caught:
        validate(declared, {"top": "203.0.113.7"}, notebook="example")
    assert "203.0.113.7" not in str(caught.value)


def test_command_line_texts_are_converted_to_the_declared_types(declared) -> None:
    texts = parse_assignments(
        ["top=7", "share=0.5", "include_bots=yes", "partner=none", "period=2026-11", "mode=full"]
    )
    values = convert_texts(declared, texts, notebook="example")
    assert values == {
        "top": 7,
        "share": 0.5,
        "include_bots": True,
        "partner": None,
        "period": "2026-11",
        "mode": "full",
    }
    assert type(values["top"]) is int
    assert type(values["share"]) is float


@pytest.mark.parametrize(
    "assignment", ["top=seven", "share=half", "include_bots=maybe", "period=2026-1"]
)
def test_a_text_that_does_not_convert_is_refused(declared, assignment) -> None:
    with pytest.raises(ParameterError):
        convert_texts(declared, parse_assignments([assignment]), notebook="example")


def test_a_misspelt_command_line_name_fails_before_conversion(declared) -> None:
    with pytest.raises(ParameterError, match="did you mean 'period'"):
        convert_texts(declared, {"perod": "2026-10"}, notebook="example")


@pytest.mark.parametrize(
    ("assignments", "message"),
    [(["top"], "-p name=value"), (["=5"], "-p name=value"), (["top=1", "top=2"], "twice")],
)
def test_malformed_assignments_are_refused(assignments, message) -> None:
    with pytest.raises(ParameterError, match=message):
        parse_assignments(assignments)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("x = compute()", "is not a literal"),
        ("x: list[int] = []", "annotation privstats cannot check"),
        ("x = [1, 2]", "a type reports do not take"),
        ("print('hello')", "only assignments of literals"),
        ("x: int = 'ten'", "does not fit its type"),
        ("x = (", "not valid Python"),
    ],
)
def test_a_parameters_cell_that_cannot_be_checked_is_a_report_error(source, message) -> None:
    with pytest.raises(ReportError, match=message):
        declared_parameters(source, notebook="broken")


def test_the_test_notebooks_declare_their_parameters() -> None:
    typed = read_parameters(NOTEBOOKS / "typed.ipynb")
    assert typed["top"].kind is ParameterKind.INT
    assert typed["mode"].choices == ("fast", "full")
    assert read_parameters(NOTEBOOKS / "tiny.ipynb")["rows"].default == 4


def test_a_misspelt_parameter_fails_before_any_kernel_starts(tmp_path, monkeypatch) -> None:
    def no_kernel(*args, **kwargs):
        raise AssertionError("the notebook must not run")

    monkeypatch.setattr(runner, "_execute", no_kernel)
    with pytest.raises(ParameterError, match="did you mean 'partner'"):
        runner.run_report(
            "tiny", params={"partnr": "acme"}, out_root=tmp_path, notebooks_dir=NOTEBOOKS
        )
    with pytest.raises(ParameterError, match="parameter 'rows' must be an integer"):
        runner.run_report(
            "tiny", text_params={"rows": "many"}, out_root=tmp_path, notebooks_dir=NOTEBOOKS
        )
    assert list(tmp_path.iterdir()) == []  # no work folder, no output folder


def test_a_partner_id_that_is_not_a_slug_is_refused(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(runner, "_execute", lambda *a, **k: pytest.fail("must not run"))
    for partner in ("../etc", "ACME Sp. z o.o.", "all"):
        with pytest.raises(ParameterError, match="partner id"):
            runner.run_report(
                "tiny", params={"partner": partner}, out_root=tmp_path, notebooks_dir=NOTEBOOKS
            )


def test_an_unknown_report_lists_the_known_ones(tmp_path) -> None:
    with pytest.raises(ReportError, match=r"no report notebook 'tiy' \(reports: .*tiny"):
        runner.run_report("tiy", out_root=tmp_path, notebooks_dir=NOTEBOOKS)


def test_a_period_spans_its_month() -> None:
    import datetime as dt

    assert period_days("2026-10") == (dt.date(2026, 10, 1), dt.date(2026, 10, 31))
    assert period_days("2028-02") == (dt.date(2028, 2, 1), dt.date(2028, 2, 29))
    assert period_days("2026-12") == (dt.date(2026, 12, 1), dt.date(2026, 12, 31))
    with pytest.raises(ParameterError):
        period_days("2026-13")


def test_a_required_parameter_must_be_given() -> None:
    declared = declared_parameters(
        "from typing import Required\n\npartner: Required[str] = None  # the partner\n"
        "period: str | None = None\nstart: str | None = None\n",
        notebook="partner_summary",
    )
    assert declared["partner"].required and not declared["partner"].nullable
    assert declared["period"].kind is ParameterKind.PERIOD and declared["period"].nullable
    assert declared["start"].kind is ParameterKind.DATE
    with pytest.raises(ParameterError, match="report 'partner_summary' needs parameter 'partner'"):
        validate(declared, {"period": "2026-10"}, notebook="partner_summary")
    with pytest.raises(ParameterError, match="must be a text, not None"):
        validate(declared, {"partner": None}, notebook="partner_summary")
    with pytest.raises(ParameterError, match="a month written YYYY-MM"):
        validate(declared, {"partner": "acme", "period": "2026/10"}, notebook="partner_summary")
    assert validate(declared, {"partner": "acme"}, notebook="partner_summary")["partner"] == "acme"
    with pytest.raises(ReportError, match="must be None"):
        declared_parameters("from typing import Required\np: Required[str] = 'acme'\n")


def test_the_kernel_reads_the_runners_configuration(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("PRIVSTATS_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    assert runner._config_lines() == []
    (tmp_path / "privstats.toml").write_text("[disclosure]\nthreshold = 20\n", encoding="utf-8")
    lines = "\n".join(runner._config_lines())
    assert f"'PRIVSTATS_CONFIG'] = {str(tmp_path / 'privstats.toml')!r}" in lines
    # From a folder below it too, as git finds its repository (a kernel works in notebooks/).
    (tmp_path / "notebooks" / "drafts").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "notebooks" / "drafts")
    assert "\n".join(runner._config_lines()) == lines
    monkeypatch.setenv("PRIVSTATS_CONFIG", str(tmp_path / "elsewhere.toml"))
    assert str(tmp_path / "elsewhere.toml") in "\n".join(runner._config_lines())
