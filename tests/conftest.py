"""Shared fixtures: a secret key and a store in tmp_path, the real log from shared/."""

from __future__ import annotations

import dataclasses
import secrets
from pathlib import Path

import pytest

from privstats.config import Config, load_config
from privstats.key import SecretKey, create_key, load_key

REPO = Path(__file__).resolve().parents[1]
REAL_LOG = REPO.parent / "shared" / "realdata" / "apache_combined_10k.log"


@pytest.fixture
def key_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh key outside the repository, found through PRIVSTATS_KEY_FILE."""
    path = create_key(tmp_path / "secret" / "key")
    monkeypatch.setenv("PRIVSTATS_KEY_FILE", str(path))
    return path


@pytest.fixture
def key(key_file: Path) -> SecretKey:
    return load_key(key_file)


@pytest.fixture
def throwaway_key() -> SecretKey:
    return SecretKey(secrets.token_bytes(32))


@pytest.fixture
def config(tmp_path: Path, key_file: Path) -> Config:
    """Default configuration with the store in tmp_path, but no client networks kept and words
    learned from one network: the tests' hand-written logs use the documentation addresses
    (198.51.100.0/24 and its like), one network each, which the networks rules would rightly
    hide. Those rules have their own tests."""
    return without_networks(load_config(None).with_store(tmp_path / "store"))


def without_networks(config: Config) -> Config:
    """No networks kept, and path words learned from clients of one network too."""
    anonymise = dataclasses.replace(config.anonymise, network=False, min_segment_networks=1)
    return dataclasses.replace(config, anonymise=anonymise)


@pytest.fixture
def real_log() -> Path:
    if not REAL_LOG.is_file():
        pytest.skip(f"the shared real log is not at {REAL_LOG}")
    return REAL_LOG
