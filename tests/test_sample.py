"""The committed synthetic sample, ingested for real and checked against its ground truth."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import polars as pl
import pytest
from canaries import leaks, texts_in

from privstats.demo import demo_config, ingest_generated
from privstats.ingest import IngestResult
from privstats.key import SecretKey
from privstats.store import Store
from privstats.synth import load_manifest

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"


@pytest.fixture(scope="module")
def ingested(tmp_path_factory: pytest.TempPathFactory) -> tuple[Store, list[IngestResult]]:
    root = tmp_path_factory.mktemp("sample")
    inputs = root / "inputs"
    shutil.copytree(SAMPLE, inputs)
    config = demo_config(root / "store")
    results = ingest_generated(config, SecretKey(b"s" * 32), inputs)
    return Store(config.store_path), results


@pytest.fixture(scope="module")
def truth() -> dict:
    return json.loads((SAMPLE / "truth.json").read_text(encoding="utf-8"))


def test_every_file_yields_its_valid_lines_and_quarantines_its_malformed_ones(
    ingested: tuple[Store, list[IngestResult]],
) -> None:
    _, results = ingested
    by_path = {r.label.split("inputs/")[1]: r for r in results}
    for entry in load_manifest(SAMPLE).access:
        result = by_path[entry.path]
        assert result.status == "ingested", entry.path
        assert (result.rows, result.quarantine.total) == (entry.valid, entry.malformed), entry.path
        assert result.quarantine.non_utf8 == entry.non_utf8, entry.path


def test_daily_hits_and_distinct_visitors_match_the_ground_truth(
    ingested: tuple[Store, list[IngestResult]], truth: dict
) -> None:
    store, _ = ingested
    per_day = (
        store.scan("access")
        .group_by(day=pl.col("ts").dt.date().cast(pl.String))
        .agg(hits=pl.len(), visitors=pl.col("visitor").n_unique())
        .collect()
    )
    assert dict(per_day.select("day", "hits").iter_rows()) == truth["daily_hits"]["total"]
    assert (
        dict(per_day.select("day", "visitors").iter_rows())
        == (truth["distinct_client_agents_per_day"])
    )


def test_no_planted_identifier_reaches_the_store(
    ingested: tuple[Store, list[IngestResult]], truth: dict
) -> None:
    store, results = ingested
    planted = [v for kind, values in truth["planted"].items() for v in values]
    assert len(planted) > 900
    texts = texts_in(store.root) | {"results": "\n".join(r.summary() for r in results)}
    assert leaks(texts, planted) == []
