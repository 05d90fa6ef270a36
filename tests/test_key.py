from __future__ import annotations

import stat
from pathlib import Path

import pytest

from privstats.exceptions import ConfigError, KeyMissingError
from privstats.key import create_key, load_key


def test_a_new_key_is_private_and_loads(tmp_path: Path) -> None:
    path = create_key(tmp_path / "cfg" / "key")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    key = load_key(path)
    assert "hidden" in repr(key)
    assert path.read_text().strip() not in repr(key)
    assert key.derive("visitor", "2026-10-01") != key.derive("visitor", "2026-10-02")


def test_an_existing_key_is_never_overwritten(tmp_path: Path) -> None:
    path = create_key(tmp_path / "key")
    before = path.read_text()
    with pytest.raises(ConfigError, match="already exists"):
        create_key(path)
    assert path.read_text() == before


def test_the_key_may_not_live_in_a_repository(tmp_path: Path) -> None:
    (tmp_path / "repo" / ".git").mkdir(parents=True)
    with pytest.raises(ConfigError, match="inside the repository"):
        create_key(tmp_path / "repo" / "conf" / "key")


def test_a_missing_key_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(KeyMissingError, match="run 'privstats init'") as caught:
        load_key(tmp_path / "nope")
    assert "\n" not in str(caught.value)


def test_a_key_readable_by_others_is_refused(tmp_path: Path) -> None:
    path = create_key(tmp_path / "key")
    path.chmod(0o644)
    with pytest.raises(KeyMissingError, match="chmod 600"):
        load_key(path)


def test_a_damaged_key_does_not_echo_its_content(tmp_path: Path) -> None:
    path = tmp_path / "key"
    path.write_text("not-hex-SECRETVALUE\n")
    path.chmod(0o600)
    with pytest.raises(KeyMissingError) as caught:
        load_key(path)
    assert "SECRETVALUE" not in str(caught.value)
