from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from privstats.config import (
    Config,
    LoginPolicy,
    Rotation,
    default_config_text,
    load_config,
)
from privstats.exceptions import ConfigError


def test_the_packaged_file_documents_exactly_the_defaults(tmp_path: Path) -> None:
    path = tmp_path / "privstats.toml"
    path.write_text(default_config_text())
    loaded = load_config(path)
    assert loaded == Config()
    assert loaded.root == tmp_path


def test_every_group_of_settings_in_the_packaged_file_opens_with_a_comment() -> None:
    text = default_config_text()
    previous = ""
    for line in text.splitlines():
        if line.startswith((" ", "]")):
            continue  # the rest of a multi-line list belongs to its setting
        is_setting = "=" in line and not line.startswith(("#", " ", "]", '"'))
        if is_setting:
            opens_group = not ("=" in previous and not previous.startswith("#"))
            assert not opens_group or previous.startswith("#"), f"uncommented: {line}"
        previous = line if line.strip() else previous if previous.startswith("#") else ""
    assert tomllib.loads(text)["disclosure"]["threshold"] == 10


def test_values_become_typed(tmp_path: Path) -> None:
    path = tmp_path / "privstats.toml"
    path.write_text('[key]\nrotation = "month"\n[anonymise]\nlogin = "person"\nnetwork = true\n')
    config = load_config(path)
    assert config.key.rotation is Rotation.MONTH
    assert config.anonymise.login is LoginPolicy.PERSON
    assert config.anonymise.network is True


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[ingest]\nformt = "combined"\n', "unknown setting 'ingest.formt'"),
        ('[key]\nrotation = "weekly"\n', "key.rotation' must be one of day, month, never"),
        ("[disclosure]\nthreshold = 'ten'\n", "disclosure.threshold' must be of type int"),
        ("[disclosure]\nthreshold = 0\n", "disclosure.threshold must be at least 1"),
        ("[ingest]\nmax_bad_ratio = 2\n", "max_bad_ratio must lie between 0 and 1"),
        ("[anonymise]\nroutes = ['u/x']\n", "anonymise.routes entries look like"),
        ("[key\n", "is not valid TOML"),
        ('[engine]\nbackend = "spark2"\n', "unknown backend 'spark2'; backends: polars, duckdb"),
        ('[engine]\nduckdb_memory = "lots"\n', "engine.duckdb_memory looks like '4GB'"),
    ],
)
def test_bad_settings_are_one_line_errors(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "privstats.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message) as caught:
        load_config(path)
    assert "\n" not in str(caught.value)


def test_partner_rules_inherit_and_may_only_tighten(tmp_path: Path) -> None:
    path = tmp_path / "privstats.toml"
    path.write_text("[disclosure]\nnk_k = 85.0\n[disclosure.partners.acme]\nthreshold = 20\n")
    config = load_config(path)
    acme = config.disclosure.rules("acme")
    assert (acme.threshold, acme.nk_k) == (20, 85.0)
    assert config.disclosure.rules("other").threshold == 10

    path.write_text("[disclosure.partners.acme]\nthreshold = 5\n")
    with pytest.raises(ConfigError, match="relaxes the default rules"):
        load_config(path)


def test_key_path_comes_from_the_environment_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PRIVSTATS_KEY_FILE", str(tmp_path / "k"))
    assert Config().key_path == tmp_path / "k"


def test_the_backend_comes_from_the_command_line_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "privstats.toml"
    path.write_text('[engine]\nbackend = "duckdb"\n')
    monkeypatch.delenv("PRIVSTATS_ENGINE", raising=False)
    assert load_config(path).backend == "duckdb"
    monkeypatch.setenv("PRIVSTATS_ENGINE", "polars")  # what --engine polars sets
    assert load_config(path).backend == "polars"
    monkeypatch.setenv("PRIVSTATS_ENGINE", "oracle")
    with pytest.raises(ConfigError, match="unknown backend 'oracle'"):
        _ = load_config(path).backend


def test_the_command_line_names_the_configuration_file_as_the_package_does() -> None:
    from privstats import cli, config

    assert cli.CONFIG_FILE == config.CONFIG_FILE
    assert (cli.BACKENDS, cli.ENGINE_ENV) == (config.BACKENDS, config.ENGINE_ENV)
