"""DP fixtures: the committed sample in a store (built once per session)."""

from __future__ import annotations

from pathlib import Path

import pytest
from report.samples import build_sample_store

from privstats.store import Store


@pytest.fixture(scope="session")
def dp_store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    return Store(build_sample_store(tmp_path_factory.mktemp("dp-sample") / "store"))


@pytest.fixture
def fresh_store(dp_store: Store, tmp_path: Path) -> Store:
    """The sample store's data with no stored draws (a copy: draws are written beside it)."""
    import shutil

    copy = tmp_path / "store"
    shutil.copytree(dp_store.root, copy, ignore=shutil.ignore_patterns("dp"))
    return Store(copy)
