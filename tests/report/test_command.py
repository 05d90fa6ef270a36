"""``privstats report`` as the command line will call it."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from privstats.config import Config, DisclosureConfig, RuleSet
from privstats.exceptions import ParameterError
from privstats.report import runner
from privstats.report.command import add_report_arguments, run_report_command

NOTEBOOKS = Path(__file__).parent / "notebooks"
CONFIG = Config(disclosure=DisclosureConfig(partners={"alpha": RuleSet(threshold=20)}))


def _args(*argv: str, out: Path) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="privstats report")
    add_report_arguments(parser)
    return parser.parse_args([*argv, "--out", str(out), "--notebooks", str(NOTEBOOKS)])


def test_one_report_with_options_and_parameters(tmp_path, capsys) -> None:
    args = _args("typed", "--partner", "alpha", "--period", "2026-11", "-p", "top=7", out=tmp_path)
    assert run_report_command(args, config=CONFIG, catalog_ids=["c-1"]) == 0
    folder = tmp_path / "typed" / "alpha" / "2026-11" / "en"
    assert capsys.readouterr().out.startswith(f"wrote {folder} in ")
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["parameters"]["top"] == 7
    assert manifest["rules"]["threshold"] == 20  # the partner's own, tighter rules
    assert manifest["input_catalog_ids"] == ["c-1"]


def test_all_partners_exit_non_zero_when_one_fails(tmp_path, capsys) -> None:
    args = _args("typed", "--all-partners", "--period", "2026-10", out=tmp_path)
    code = run_report_command(args, config=CONFIG, partners=lambda: ["alpha", "Bad Id"])
    assert code == 1
    out = capsys.readouterr().err  # a batch with a failure says so on standard error
    assert "1 written, 1 failed" in out
    assert "FAILED  Bad Id" in out
    manifest = json.loads(
        (tmp_path / "typed" / "alpha" / "2026-10" / "en" / "manifest.json").read_text(
            encoding="utf-8"
        )
    )
    assert manifest["rules"]["threshold"] == 20


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("typed", "-p", "partnr=x"), "did you mean 'partner'"),
        (("typed", "--partner", "a", "-p", "partner=b"), "given twice"),
        (("typed", "-p", "top=many"), "must be an integer"),
        (("typed", "--all-partners", "-p", "partner=a"), "do not name one"),
    ],
)
def test_bad_parameters_fail_before_anything_runs(tmp_path, monkeypatch, argv, message) -> None:
    monkeypatch.setattr(runner, "_execute", lambda *a, **k: pytest.fail("must not run"))
    with pytest.raises(ParameterError, match=message) as caught:
        run_report_command(_args(*argv, out=tmp_path), config=CONFIG, partners=lambda: ["a"])
    assert caught.value.exit_code == 2
