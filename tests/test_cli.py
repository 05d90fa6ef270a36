from __future__ import annotations

import gc
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from canaries import canary_log_lines, leaks

from privstats import cli
from privstats.anonymise import useragents
from privstats.cli import main


def run(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "privstats.cli", *args],
        cwd=cwd,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_init_ingest_and_info_from_the_shell(tmp_path: Path) -> None:
    env = {"PRIVSTATS_KEY_FILE": str(tmp_path / "keys" / "key")}
    log = tmp_path / "canary.log"
    log.write_text("\n".join(canary_log_lines()) + "\n")

    first = run("init", cwd=tmp_path, env=env)
    assert first.returncode == 0, first.stderr
    assert (tmp_path / "privstats.toml").is_file()
    assert stat.S_IMODE((tmp_path / "keys" / "key").stat().st_mode) == 0o600

    ingested = run("ingest", "access", str(log), cwd=tmp_path, env=env)
    assert ingested.returncode == 0, ingested.stderr
    assert "12 of 14 lines ingested" in ingested.stdout
    assert "quarantined: 1 wrong field count, 1 bad timestamp" in ingested.stdout

    info = run("store", "info", cwd=tmp_path, env=env)
    assert info.returncode == 0
    assert "table access: 12 rows over 1 day" in info.stdout
    assert leaks(ingested.stdout + ingested.stderr + info.stdout + info.stderr) == []


def test_without_a_key_the_error_is_one_line_with_the_remedy(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    log.write_text("x\n")
    result = run(
        "ingest",
        "access",
        str(log),
        cwd=tmp_path,
        env={"PRIVSTATS_KEY_FILE": str(tmp_path / "none")},
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "run 'privstats init'" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_missing_file_or_folder_among_good_inputs_fails_alone(
    tmp_path: Path, key_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "good.log"
    good.write_text("\n".join(canary_log_lines()) + "\n")
    nope = tmp_path / "nope.log"
    code = main(
        ["--store", str(tmp_path / "s"), "ingest", "access", str(nope), str(tmp_path), str(good)]
    )
    captured = capsys.readouterr()
    assert code == 1
    assert captured.out == "" or "good.log: 12 of 14 lines ingested" in captured.out
    assert captured.err.splitlines() == [
        f"{nope}: failed: no such file; nothing was written for it",
        f"{tmp_path}: failed: it is a folder; name the log files in it (globs work); "
        "nothing was written for it",
        "privstats: error: 2 of 3 inputs failed; see above",
    ]
    assert "good.log: 12 of 14 lines ingested" in captured.out


def test_a_failed_input_makes_the_command_fail_after_the_others(
    tmp_path: Path, key_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "good.log"
    good.write_text("\n".join(canary_log_lines()) + "\n")
    bad = tmp_path / "bad.log"
    bad.write_text("not a log line\n" * 10)
    code = main(["--store", str(tmp_path / "s"), "ingest", "access", str(good), str(bad)])
    captured = capsys.readouterr()
    assert code == 1
    assert "good.log: 12 of 14 lines ingested" in captured.out
    assert "0 of 10 lines matched format combined" in captured.err
    assert "not a log line" not in captured.err


def test_unexpected_errors_show_only_their_type(
    tmp_path: Path,
    key_file: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def explode(*args: object, **kwargs: object) -> None:
        raise ValueError("could not parse 198.51.100.77")

    monkeypatch.setattr("privstats.ingest.ingest_access", explode)
    log = tmp_path / "a.log"
    log.write_text("x\n")
    code = main(["--store", str(tmp_path / "s"), "ingest", "access", str(log)])
    err = capsys.readouterr().err
    assert code == 70
    assert err == "privstats: internal error (ValueError); run with --debug for details\n"


def test_store_info_without_a_store_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--store", str(tmp_path / "none"), "store", "info"]) == 2
    assert "no store at" in capsys.readouterr().err


def test_engine_is_set_for_the_command_and_the_kernels_it_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("PRIVSTATS_ENGINE", raising=False)
    assert main(["--engine", "duckdb", "--store", str(tmp_path / "none"), "store", "info"]) == 2
    assert os.environ["PRIVSTATS_ENGINE"] == "duckdb"
    with pytest.raises(SystemExit):
        main(["--engine", "oracle", "store", "info"])
    assert "invalid choice: 'oracle'" in capsys.readouterr().err


def test_synth_writes_a_world_or_one_big_log(tmp_path: Path) -> None:
    assert main(["synth", "--out", str(tmp_path / "w"), "--days", "1", "--no-huge-line"]) == 0
    assert (tmp_path / "w" / "manifest.json").is_file()
    assert main(["synth", "--out", str(tmp_path / "big.log"), "--lines", "2000"]) == 0
    assert (tmp_path / "big.log").read_text().count("\n") == 2000


def test_crm_ingest_and_erasure_from_the_command_line(
    tmp_path: Path, key_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sample = Path(__file__).resolve().parents[1] / "data" / "sample" / "crm"
    store = ["--store", str(tmp_path / "s")]
    assert main([*store, "ingest", "crm", "--from", str(sample), "--format", "csv"]) == 0
    assert "CRM snapshot ingested" in capsys.readouterr().out
    requests = sample / "erasure_requests.csv"
    assert main([*store, "erase", "--from", str(requests)]) == 0
    out = capsys.readouterr().out
    assert "tombstones recorded" in out
    assert "@" not in out, "the erasure summary names no address"


def test_audit_of_a_folder_with_a_planted_address_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "loose"
    folder.mkdir()
    (folder / "table.csv").write_text("client,requests\n203.0.113.216,12\n")
    assert main(["audit", str(folder), "--no-store"]) == 1
    captured = capsys.readouterr()
    assert captured.out.startswith("FAIL: loose")
    assert "table.csv:row 2, col 1: leak ipv4" in captured.err
    assert "203.0.113.216" not in captured.out + captured.err


def test_an_access_ingest_spares_itself_pandas_and_polars_yet_both_still_work(
    tmp_path: Path, key_file: Path
) -> None:
    # Run in a fresh interpreter: this test process has imported both long ago. polars types
    # only fields the compiled pass cannot read; a line it hands over for a quote escaped in
    # its agent still has a time, status and size it reads.
    log = tmp_path / "access.log"
    line = (
        '203.0.113.7 - - [01/Oct/2026:12:00:03 +0200] "GET /pricing HTTP/1.1" 200 512 "-" '
        '"Mozilla/5.0 (X11; Linux x86_64) Firefox/118.0{}"\n'
    )
    log.write_text(line.format("") * 20 + line.format(' \\"quoted\\"'))
    script = (
        "import sys\n"
        "from privstats.cli import main\n"
        f"code = main(['--store', {str(tmp_path / 'store')!r}, 'ingest', 'access',\n"
        f"             {str(log)!r}])\n"
        "print(code, 'pandas' in sys.modules, 'polars' in sys.modules)\n"
        "import pyarrow as pa\n"
        "print(type(pa.table({'a': [1, 2]}).to_pandas()).__name__)\n"
        "from privstats.store import Store\n"
        f"print(Store({str(tmp_path / 'store')!r}).scan('access').collect().height > 0)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, "PRIVSTATS_KEY_FILE": str(key_file)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-3:] == ["0 False False", "DataFrame", "True"]


def test_the_command_line_parses_before_loading_pyarrow_and_polars() -> None:
    # An ingest starts its user-agent worker first, so that it gets ready while these load.
    script = (
        "import sys\n"
        "from privstats.cli import _parser\n"
        "_parser().parse_args(['ingest', 'access', 'x.log'])\n"
        "from privstats.anonymise.useragents import AgentWorker\n"
        "print(sorted({'numpy', 'pyarrow', 'polars', 'ua_parser'} & set(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_an_ingest_that_cannot_start_its_worker_classifies_here(
    tmp_path: Path, key_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_process(self: object) -> None:
        raise OSError("Resource temporarily unavailable")

    monkeypatch.setattr(useragents.AgentWorker, "__init__", no_process)
    sample = Path(__file__).resolve().parents[1] / "data" / "sample" / "access" / "www"
    store = tmp_path / "store"
    assert main(["--store", str(store), "ingest", "access", str(sample / "access.log.1")]) == 0
    assert list(store.glob("access/*/*.parquet"))


def test_the_command_exits_with_mains_status_and_leaves_its_objects_to_the_exit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(cli, "main", lambda: 3)
    try:
        with pytest.raises(SystemExit) as exited:
            cli.script()
        assert exited.value.code == 3
        assert gc.get_freeze_count() > 0  # the teardown has no cycles to look for
    finally:
        gc.unfreeze()


# -- one rule, one exit code, for every command ---------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["report", "traffic_report", "--period", "2026-10"],
        ["report", "partner_summary", "--all-partners", "--period", "2026-10"],
        ["store", "info"],
        ["audit", "reports"],
        ["release", "reports", "--reviewer", "anna"],
        ["review", "reports"],
    ],
    ids=lambda argv: " ".join(argv[:2]),
)
def test_a_folder_without_configuration_or_store_is_exit_2_for_every_command(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
) -> None:
    monkeypatch.delenv("PRIVSTATS_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    report = tmp_path / "reports"
    report.mkdir()
    (report / "manifest.json").write_text("{}", encoding="utf-8")
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"privstats: error: no store at {tmp_path / 'store'}: there is no ")
    assert err.count("\n") == 1
    assert not (tmp_path / "reports" / "traffic_report").exists()


def test_an_empty_path_is_a_usage_error_not_the_working_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exited:
        main(["audit", "", "--no-store"])
    assert exited.value.code == 2
    assert "an empty path names nothing" in capsys.readouterr().err


def test_global_options_stand_before_or_after_the_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    for argv in (
        ["--store", str(tmp_path / "elsewhere"), "store", "info"],
        ["store", "--store", str(tmp_path / "elsewhere"), "info"],
        ["store", "info", "--store", str(tmp_path / "elsewhere"), "-q"],
    ):
        assert main(argv) == 2
        assert f"no store at {tmp_path / 'elsewhere'}" in capsys.readouterr().err


def test_version_help_and_completion(capsys: pytest.CaptureFixture[str]) -> None:
    from privstats import __version__

    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0 and capsys.readouterr().out == f"privstats {__version__}\n"
    with pytest.raises(SystemExit):
        main(["report", "--help"])
    help_text = capsys.readouterr().out
    for name in ("crm_activity_report", "partner_summary", "traffic_report", "explore"):
        assert f"  {name} " in help_text
    assert "examples:" in help_text and "--skip-existing" in help_text
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "exit codes" in capsys.readouterr().out
    assert main(["completion", "bash"]) == 0
    script = capsys.readouterr().out
    assert "complete" in script and "partner_summary" not in script
    assert "--skip-existing" in script and "audit" in script


def test_every_command_has_a_description_examples_and_help_on_every_option() -> None:
    import argparse

    def commands(parser: argparse.ArgumentParser):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    yield name, sub
                    yield from commands(sub)

    for name, sub in commands(cli._parser()):
        if any(isinstance(a, argparse._SubParsersAction) for a in sub._actions):
            continue  # a group of commands: its commands have the examples
        assert sub.description and "examples:" in sub.format_help(), name
        for action in sub._actions:
            assert action.help, f"{name} {action.dest}"


def test_quiet_prints_only_errors(
    tmp_path: Path, key_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "good.log"
    good.write_text("\n".join(canary_log_lines()) + "\n")
    assert main(["ingest", "access", str(good), "--store", str(tmp_path / "s"), "-q"]) == 0
    assert capsys.readouterr() == ("", "")
    assert main(["-q", "--store", str(tmp_path / "s"), "store", "info", "--json"]) == 0
    assert capsys.readouterr().out.startswith("{"), "what was asked for is still printed"


def test_report_out_naming_a_file_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "reports"
    out.write_text("a file, not a folder")
    code = main(["--store", str(tmp_path / "s"), "report", "traffic_report", "--period",
                 "2026-10", "--out", str(out)])  # fmt: skip
    assert code == 2
    assert capsys.readouterr().err == (
        f"privstats: error: --out {out} is a file; name the folder reports go into\n"
    )
    assert out.read_text() == "a file, not a folder"
