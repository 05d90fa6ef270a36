"""The command-line glue the CLI wires as ``privstats audit`` and ``privstats release``."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import pytest
from gate.conftest import Rendered, rehash, shown_row, tables_of

from privstats.config import Config
from privstats.exceptions import GateError, NoDataError
from privstats.gate import AuditFailed
from privstats.gate.command import (
    add_audit_arguments,
    add_release_arguments,
    run_audit_command,
    run_release_command,
)
from privstats.key import load_key
from privstats.leaks import CanarySet


def _audit(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_audit_arguments(parser)
    return parser.parse_args(argv)


def _release(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_release_arguments(parser)
    return parser.parse_args(argv)


@pytest.fixture
def report(traffic: Rendered, tmp_path: Path) -> Path:
    return traffic.copy_to(tmp_path)


@pytest.fixture
def settings(config: Config, traffic: Rendered) -> Config:
    return config.with_store(traffic.store)


def test_audit_exits_0_on_a_clean_report(report: Path, settings: Config, capsys) -> None:
    assert run_audit_command(_audit([str(report)]), config=settings) == 0
    out = capsys.readouterr().out
    assert out.startswith("PASS: traffic_report/all/2026-10/en — 0 failures")
    assert f"{tables_of(report)} recomputed from the store" in out


def test_audit_exits_1_and_names_each_finding_without_its_value(
    report: Path, settings: Config, capsys
) -> None:
    page = report / "report.html"
    page.write_text(page.read_text(encoding="utf-8").replace(
        "</main>", "<p>jan.kowalski@example.com</p></main>"), encoding="utf-8")  # fmt: skip
    assert run_audit_command(_audit([str(report)]), config=settings) == 1
    captured = capsys.readouterr()
    assert captured.out.startswith("FAIL: traffic_report/all/2026-10/en — 2 failures")
    assert "report.html: manifest wrong-sha256" in captured.err
    assert re.search(r"report\.html:\d+:\d+: leak email — ja…\(24 chars, #\w{6}\)", captured.err)
    assert "kowalski" not in captured.out + captured.err


def test_audit_with_a_canary_file_finds_a_canary(
    report: Path, settings: Config, tmp_path: Path, capsys
) -> None:
    key = load_key(settings.key_path)
    canaries = CanarySet.build(["Zofia Kanarek"], key.derive("canary")).save(tmp_path / "c.json")
    page = report / "report.html"
    page.write_text(page.read_text(encoding="utf-8").replace(
        "</main>", "<p>Zofia Kanarek</p></main>"), encoding="utf-8")  # fmt: skip
    rehash(report)
    args = _audit([str(report), "--canaries", str(canaries), "--no-store"])
    assert run_audit_command(args, config=settings) == 1
    assert " leak canary " in capsys.readouterr().err


def test_audit_json_is_machine_readable(report: Path, settings: Config, capsys) -> None:
    assert run_audit_command(_audit([str(report), "--json", "--no-store"]), config=settings) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["passed"] is True and document["store_checked"] is False
    assert len(document["tables"]) == tables_of(report)
    assert {n["kind"] for n in document["findings"]} == {"no-store"}


def test_release_exits_0_then_refuses_the_same_report(
    report: Path, settings: Config, capsys
) -> None:
    args = _release([str(report), "--reviewer", "anna"])
    assert run_release_command(args, config=settings) == 0
    assert capsys.readouterr().out.startswith("released traffic_report/all/2026-10 as ")
    with pytest.raises(GateError, match="released already"):
        run_release_command(args, config=settings)


def test_release_of_a_failing_report_prints_the_audit_and_raises(
    report: Path, settings: Config, capsys
) -> None:
    csv = report / "browsers.csv"
    row = shown_row(report, csv.name)
    browser = row.strip().rsplit(b",", 1)[0]
    csv.write_bytes(csv.read_bytes().replace(row, b"\r\n" + browser + b",3\r\n"))
    rehash(report)
    with pytest.raises(AuditFailed):
        run_release_command(_release([str(report), "--reviewer", "anna"]), config=settings)
    captured = capsys.readouterr()
    assert captured.out.startswith("FAIL:") and "claims below-threshold" in captured.err
    assert not (report.parents[2] / "released").exists()


def test_release_without_a_store_is_refused(report: Path, config: Config) -> None:
    with pytest.raises(NoDataError, match="no store") as refused:
        run_release_command(_release([str(report), "--reviewer", "anna"]), config=config)
    assert refused.value.exit_code == 2


def test_audit_without_a_store_is_refused_unless_the_folder_alone_is_asked_for(
    report: Path, config: Config, capsys
) -> None:
    with pytest.raises(NoDataError, match="no store") as refused:
        run_audit_command(_audit([str(report)]), config=config)
    assert refused.value.exit_code == 2
    assert run_audit_command(_audit([str(report), "--no-store"]), config=config) == 0
    assert capsys.readouterr().out.startswith("NOT VERIFIED: traffic_report/all/2026-10/en")


def test_audit_json_stays_parseable_in_a_fresh_process(probe, tmp_path: Path) -> None:
    """The solver's banner, printed at its first model in a process, must not reach stdout."""
    import subprocess
    import sys

    folder = probe.october.copy_to(tmp_path)
    script = f"""
import argparse, sys
from privstats.config import load_config
from privstats.gate.command import add_audit_arguments, run_audit_command
parser = argparse.ArgumentParser()
add_audit_arguments(parser)
args = parser.parse_args([{str(folder)!r}, "--json"])
sys.exit(run_audit_command(args, config=load_config(None).with_store({str(probe.store)!r})))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parents[2])  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    document = json.loads(done.stdout)
    assert document["passed"] is True
    assert any(t["lp_cells_audited"] > 0 for t in document["tables"])
