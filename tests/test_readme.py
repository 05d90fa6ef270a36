"""Every command of the README, run as a new user would: in the folder the demo leaves, and in a
project folder made from it. A command the README gains without a way to run it here fails the
first test, so the README cannot drift from what works."""

from __future__ import annotations

import gzip
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
SAMPLE_CRM = REPO / "data" / "sample" / "crm"

# Commands run elsewhere, and where: installing is what CI's script does on a fresh clone, a
# database needs the PostgreSQL server of the CRM tests, and the benchmarks are measurements of
# minutes that print their figures (two need the '.[bench]' extras).
ELSEWHERE = {
    "python3 -m venv .venv && .venv/bin/pip install -e . && .venv/bin/privstats demo": (
        ".ci/run", ".venv/bin/pip install -q -e '.[test,spark]'"),
    "python3 -m venv .venv && .venv/bin/pip install -e '.[test]' && .venv/bin/python -m pytest": (
        ".ci/run", ".venv/bin/python -m pytest"),
    "privstats ingest crm --dsn postgresql://stats@db.internal/crm": (
        "tests/crm/test_crm_cli.py", '"ingest", "crm", "--dsn"'),
}  # fmt: skip
BENCHMARKS = re.compile(r"^\.venv/bin/python benchmarks/\w+\.py")


def readme_commands() -> list[str]:
    """Each command line of the README's ``sh`` blocks, its trailing comment left out."""
    blocks = re.findall(r"```sh\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    commands = []
    for block in blocks:
        for line in block.splitlines():
            command = re.sub(r"\s+#\s.*$", "", line).strip()
            if command and not command.startswith("#"):
                commands.append(command)
    return commands


def readme_python() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


def privstats_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRIVSTATS_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return {**env, "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config")}


def shell(command: str, cwd: Path, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, shell=True, cwd=cwd, env=privstats_env(home), capture_output=True, text=True,
        timeout=300, executable="/bin/bash",
    )  # fmt: skip


@pytest.fixture(scope="module")
def places(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The demo's folder, and a project made from it: its configuration and store, no reports."""
    root = tmp_path_factory.mktemp("readme")
    home = root / "home"
    home.mkdir()
    done = shell("privstats demo", root, home)
    assert done.returncode == 0, done.stderr
    demo = root / "privstats-demo"
    project = root / "project"
    project.mkdir()
    shutil.copy(demo / "privstats.toml", project / "privstats.toml")
    shutil.copytree(demo / "store", project / "store")
    logs = root / "var" / "log"
    (logs / "apache2").mkdir(parents=True)
    (logs / "nginx").mkdir()
    for name, fmt, days in (("access.log.2", "combined", 1), ("access.log.3", "combined", 2)):
        plain = root / name
        assert shell(f"privstats synth --out {plain} --lines 300 --format {fmt} --seed {days}",
                     root, home).returncode == 0  # fmt: skip
        (logs / "apache2" / f"{name}.gz").write_bytes(gzip.compress(plain.read_bytes()))
    assert shell(f"privstats synth --out {logs / 'nginx' / 'access.log.1'} --lines 200 "
                 "--format nginx_timed --seed 5", root, home).returncode == 0  # fmt: skip
    assert shell(f"privstats synth --out {root / 'old.log'} --lines 100 --format combined "
                 "--seed 9 && gzip -k old.log", root, home).returncode == 0  # fmt: skip
    shutil.copytree(SAMPLE_CRM, project / "exports")
    return {"root": root, "home": home, "demo": demo, "project": project, "logs": logs}


def where_to_run(command: str, places: dict[str, Path]) -> tuple[Path, str]:
    """The folder a README command runs in, and the command with this machine's paths."""
    if command in ("cd privstats-demo",):
        return places["root"], command
    if command.startswith(("privstats store info", "privstats review")) or (
        command.startswith("privstats report crm_activity_report --period 2026-10 --language")
    ):
        return places["demo"], command
    if command == "privstats init":
        return places["home"], command
    if command.startswith("zcat old.log.gz"):
        return places["project"], command.replace("old.log.gz", str(places["root"] / "old.log.gz"))
    return places["project"], command.replace("/var/log/", f"{places['logs']}/")


# The order in which the README's commands are run: the Reports section's before the gate's,
# which audits, reviews and releases one of them; the rest as they stand.
def run_order(commands: list[str]) -> list[str]:
    def rank(command: str) -> int:
        for number, start in enumerate(("privstats audit", "privstats review report",
                                        "privstats release", "privstats erase")):  # fmt: skip
            if command.startswith(start):
                return number + 1
        return 0

    return sorted(commands, key=rank)


def test_every_readme_command_is_run_here_or_named_elsewhere() -> None:
    commands = readme_commands()
    assert len(commands) > 20
    for command, (file, text) in ELSEWHERE.items():
        assert command in commands, f"the README no longer says: {command}"
        assert text in (REPO / file).read_text(encoding="utf-8"), (command, file)
    benchmarks = [c for c in commands if BENCHMARKS.match(c)]
    assert len(benchmarks) == 8 and all((REPO / c.split()[1]).is_file() for c in benchmarks)


def test_the_readme_commands_work_in_the_demo_and_in_a_project(places: dict[str, Path]) -> None:
    commands = [c for c in readme_commands() if c not in ELSEWHERE and not BENCHMARKS.match(c)]
    failed = []
    for command in run_order(commands):
        cwd, runnable = where_to_run(command, places)
        done = shell(runnable, cwd, places["home"])
        if done.returncode != 0 or "Traceback" in done.stderr:
            failed.append(f"{command}: exit {done.returncode}: {done.stderr.strip()[-300:]}")
    assert failed == []
    project = places["project"]
    assert (
        project / "reports" / "traffic_report" / "all" / "2026-10-01_2026-10-15" / "pl"
    ).is_dir()
    assert len(list((project / "reports" / "partner_summary").glob("*/2026-10/en"))) >= 2
    assert (project / "reports" / "released" / "ledger.jsonl").is_file()
    assert (places["home"] / "privstats.toml").is_file()


def test_the_readme_python_runs_in_the_project(places: dict[str, Path]) -> None:
    [analyst] = [block for block in readme_python() if "privstats.crosstab" in block]
    script = places["project"] / "readme_analyst.py"
    script.write_text(analyst, encoding="utf-8")
    done = shell(f"{sys.executable} {script.name}", places["project"], places["home"])
    assert done.returncode == 0, done.stderr
    assert done.stdout == "", "no solver banner, nothing printed"
