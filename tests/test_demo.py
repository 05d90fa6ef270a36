"""``privstats demo``: the whole chain on generated data, ending with rendered reports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from canaries import leaks, texts_in

from privstats.config import load_config
from privstats.demo import MARKER, prepare_output
from privstats.exceptions import ConfigError
from privstats.report.manifest import verify_manifest

SAMPLE_TRUTH = Path(__file__).resolve().parents[1] / "data" / "sample" / "truth.json"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess]:
    """One run of ``privstats demo`` from the shell, in an empty working folder."""
    cwd = tmp_path_factory.mktemp("demo")
    result = subprocess.run(
        [sys.executable, "-m", "privstats.cli", "demo"],
        cwd=cwd,
        env=demo_env(cwd),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return cwd, result


def demo_env(cwd: Path) -> dict[str, str]:
    """The environment of a user whose configuration folder is in ``cwd`` (not this one's)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRIVSTATS_")}
    return {**env, "XDG_CONFIG_HOME": str(cwd.parent / f"{cwd.name}-config")}


def privstats(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "privstats.cli", *args],
        cwd=cwd,
        env=demo_env(cwd.parent if cwd.name == "privstats-demo" else cwd),
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_demo_prints_per_day_visitors(demo) -> None:
    _, result = demo
    truth = json.loads(SAMPLE_TRUTH.read_text(encoding="utf-8"))
    # The demo's default world is the committed sample's (seed 7, 3 days, 300 visitors).
    for day, visitors in truth["distinct_client_agents_per_day"].items():
        hits = truth["daily_hits"]["total"][day]
        assert any(
            line.split()[:3] == [day, f"{hits:,}", f"{visitors:,}"]
            for line in result.stdout.splitlines()
        ), day
    assert "CRM snapshot ingested" in result.stdout


def test_the_demo_ends_with_two_partner_reports_and_the_traffic_report(demo) -> None:
    cwd, result = demo
    reports = cwd / "privstats-demo" / "reports"
    printed = [Path(s.strip()) for s in result.stdout.splitlines() if s.endswith("report.html")]
    expected = [
        reports / "partner_summary" / "nordic" / "2026-10" / "pl" / "report.html",
        reports / "partner_summary" / "acme" / "2026-10" / "pl" / "report.html",
        reports / "traffic_report" / "all" / "2026-10" / "pl" / "report.html",
    ]
    assert [p if p.is_absolute() else cwd / p for p in printed] == expected
    for html in expected:
        assert html.is_file()
        assert verify_manifest(html.parent) == []
        manifest = json.loads((html.parent / "manifest.json").read_text(encoding="utf-8"))
        assert manifest["input_catalog_ids"], "the reviewer can tell which store made it"
    assert sorted(p.name for p in cwd.iterdir()) == ["privstats-demo"], "nothing else is left"


def test_the_demo_leaves_a_working_folder_and_its_next_three_commands_work(demo) -> None:
    cwd, result = demo
    folder = cwd / "privstats-demo"
    assert {"privstats.toml", "store", "reports"} <= {p.name for p in folder.iterdir()}
    config = load_config(folder / "privstats.toml")
    assert config.store_path == folder / "store"
    assert not config.key_path.is_relative_to(cwd), "the key lives outside the demo's folder"
    assert config.key_path.is_file()
    steps = result.stdout.split("try:\n", 1)[1].splitlines()
    assert steps[0] == "  cd privstats-demo"
    commands = [line.strip().split() for line in steps[1:4]]
    assert [c[:2] for c in commands] == [
        ["privstats", "store"],
        ["privstats", "report"],
        ["privstats", "review"],
    ]
    for command in commands:
        done = privstats(*command[1:], cwd=folder)
        assert done.returncode == 0, (command, done.stderr)
        assert "error" not in done.stderr
    assert "Verdict" in done.stdout or "Werdykt" in done.stdout
    review = done.stdout.splitlines()[-1].removeprefix("the reviewer's notebook: ")
    assert review.endswith("review.html") and "/reports/.work/" in review
    from privstats.leaks import scan_path

    assert list(scan_path(Path(review))) == [], "self-contained: it loads and runs nothing"
    assert (folder / "reports" / "crm_activity_report" / "all" / "2026-10" / "en").is_dir()


def test_no_planted_identifier_reaches_the_demo_output_or_its_print(demo) -> None:
    cwd, result = demo
    truth = json.loads(SAMPLE_TRUTH.read_text(encoding="utf-8"))
    planted = sorted({v for values in truth["planted"].values() for v in values})
    texts = texts_in(cwd / "privstats-demo")  # reports and the private work folder
    assert leaks(result.stdout + result.stderr + "\n".join(texts.values()), planted) == []


def test_the_demo_replaces_its_own_output_and_refuses_a_foreign_folder(tmp_path) -> None:
    out = tmp_path / "demo-out"
    prepare_output(out)
    (out / "reports").mkdir()
    (out / "reports" / "old.html").write_text("an earlier run", encoding="utf-8")
    prepare_output(out)
    assert sorted(p.name for p in out.iterdir()) == [MARKER], "the earlier run is gone"

    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("not the demo's", encoding="utf-8")
    with pytest.raises(ConfigError, match="not written by the demo"):
        prepare_output(foreign)
    assert (foreign / "thesis.tex").read_text(encoding="utf-8") == "not the demo's"
    afile = tmp_path / "file"
    afile.write_text("x", encoding="utf-8")
    with pytest.raises(ConfigError, match="is a file"):
        prepare_output(afile)
