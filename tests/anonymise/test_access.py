from __future__ import annotations

from pathlib import Path

import pytest

from privstats.anonymise import access
from privstats.anonymise.access import AccessAnonymiser
from privstats.anonymise.lookups import LookupWorker
from privstats.config import Config
from privstats.key import SecretKey
from privstats.sources.access import BlockParser
from privstats.sources.logformat import resolve_format
from privstats.sources.parsed import ParsedBlock
from privstats.synth import generate


def parsed_blocks(tmp_path: Path, parts: int) -> list[ParsedBlock]:
    """A day of the synthetic web site's combined log, parsed in ``parts`` blocks."""
    generate(tmp_path / "synth", days=2, visitors=120, seed=11, bad_ratio=0.0, crm=False)
    lines = (tmp_path / "synth/access/www/access.log").read_bytes().splitlines(keepends=True)
    parser = BlockParser(resolve_format("combined"), 8192)
    size = len(lines) // parts + 1
    return [
        parser.parse(b"".join(lines[start : start + size]), start + 1)[0]
        for start in range(0, len(lines), size)
    ]


def test_blocks_begun_before_the_worker_answers_give_the_rows_of_one_at_a_time(
    tmp_path: Path, key: SecretKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocks = parsed_blocks(tmp_path, 4)
    assert len(blocks) == 4 and all(len(block) > 100 for block in blocks)
    alone = AccessAnonymiser(Config(), key)
    want = [alone.apply(block)[0] for block in blocks]
    # Agents and hosts forgotten whenever there are more than one, but never while a block
    # waits to be finished.
    monkeypatch.setattr(access, "_AGENT_CACHE", 1)
    monkeypatch.setattr(access, "_HOST_CACHE", 1)
    with LookupWorker() as lookups:
        ahead = AccessAnonymiser(Config(), key, lookups=lookups)
        begun = [ahead.begin(block) for block in blocks]  # before any answer is read
        asked = [agent for b in begun for agent in b.asked.new_agents]
        assert asked and len(asked) == len(set(asked))  # none asked twice
        assert [ahead.finish(b)[0] for b in begun] == want
        again = AccessAnonymiser(Config(), key, lookups=lookups)
        assert [again.apply(block)[0] for block in blocks] == want  # forgotten before each
