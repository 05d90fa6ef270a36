"""The record: complete for the reviewer, and never a hidden value."""

from __future__ import annotations

import hashlib
import json

import numpy as np

from privstats.config import RuleSet
from privstats.protect import Method, Status, SuppressionOptions, protect

CANARY = 7919  # a prime no other cell, total or bound of the table can equal


def test_the_record_says_what_was_asked_how_and_what_came_out(count_grid):
    table = count_grid([[3, 40, 22], [50, 60, 31]])
    query = {
        "table": "access",
        "dims": ["browser", "device"],
        "period": "2026-10",
        "measure": "visitors",
    }
    result = protect(table, RuleSet(threshold=5), query=query)
    data = json.loads(result.record.to_json(public=False))

    assert data["query"] == query
    assert data["method"] == "suppress"
    assert data["rules"]["threshold"] == 5
    assert data["status"] == "suppressed"
    assert data["audit"] == {"passed": True, "cells_audited": 4, "cells_unsafe": 0}
    assert {tuple(c["reasons"]) for c in data["cells"]} == {("threshold",), ("secondary",)}
    assert all(len(c["interval"]) == 2 for c in data["cells"])
    assert data["code_version"]
    csv = result.to_frame().to_csv(index=False, float_format="%.17g", lineterminator="\n")
    assert data["checksum_sha256"] == hashlib.sha256(csv.encode()).hexdigest()


def test_no_hidden_value_reaches_the_record_or_the_shown_table(count_grid):
    table = count_grid([[CANARY, 40_000, 52_000], [3, 60_000, 31_000], [55_000, 47_000, 38_000]])
    # A partner's strict threshold hides the canary cell and the 3 below it.
    result = protect(table, RuleSet(threshold=10_000))
    hidden = result.shown["marker"].eq("x")
    assert hidden.sum() >= 4
    record = result.record
    for text in (record.to_json(public=False), record.to_json(), result.to_frame().to_csv()):
        assert str(CANARY) not in text


def test_the_public_view_leaves_out_which_rule_hid_which_cell(count_grid):
    result = protect(count_grid([[3, 40], [50, 60]]))
    public = json.loads(result.record.to_json(public=True))
    assert "cells" not in public and "rule_counts" not in public
    assert public["cells_protected"] == 4
    assert "search" not in public  # how many were secondary tells how many were sensitive
    assert json.loads(result.record.to_json(public=False))["search"]["secondary_cells"] == 3
    assert "threshold" not in json.dumps(public["audit"])


def test_a_failed_table_shows_nothing_and_keeps_no_interval(count_grid):
    result = protect(count_grid([[3, 40], [50, 60]]), options=SuppressionOptions(time_limit=1e-6))
    data = json.loads(result.record.to_json(public=False))

    assert result.status is Status.FAIL
    assert result.shown["value"].isna().all()
    assert all("interval" not in c for c in data["cells"])
    assert data["message"]


def test_a_table_with_nothing_to_hide_passes(count_grid):
    result = protect(count_grid([[30, 40], [50, 60]]), method=Method.SUPPRESS)
    assert result.status is Status.PASS
    assert result.record.cells == []
    assert not np.isnan(result.shown["value"]).any()
