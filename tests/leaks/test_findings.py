"""Findings: readable, sortable into categories, and never the found value itself."""

from __future__ import annotations

import pytest

import privstats.leaks
from privstats.leaks import Category, Finding, Kind, redact, summarise


@pytest.mark.parametrize(
    "value", ["203.0.113.216", "zofia.kanarek@example.pl", "44051401359", "Jan", "Jo", "x"]
)
def test_a_preview_never_shows_the_value(value: str) -> None:
    preview = redact(value)
    assert value not in preview
    assert f"({len(value)} chars, #" in preview


def test_equal_values_share_a_tag_and_different_ones_do_not() -> None:
    assert redact("203.0.113.216") == redact("203.0.113.216")
    assert redact("203.0.113.216") != redact("203.0.113.217")


def test_a_preview_shows_no_control_characters() -> None:
    assert redact("\n\x1b[31mred").startswith("??…")


def test_a_finding_reads_as_one_line() -> None:
    finding = Finding.of("report.html", "12:5", Kind.IPV4, "203.0.113.216", "private address")
    assert str(finding).startswith("report.html:12:5: ipv4 20…(13 chars, #")
    assert str(finding).endswith(" — private address")
    assert "\n" not in str(finding)


def test_a_finding_of_structure_has_no_preview() -> None:
    finding = Finding.of("a.js", "file", Kind.SCRIPT, "", "a script file")
    assert str(finding) == "a.js:file: script — a script file"
    assert finding.to_dict() == {
        "file": "a.js", "location": "file", "kind": "script",
        "category": "self-containment", "redacted": "", "note": "a script file",
    }  # fmt: skip


def test_every_kind_has_a_category() -> None:
    assert {kind.category for kind in Kind} == set(Category)
    assert Kind.EXTERNAL_LINK.category is Category.SELF_CONTAINMENT
    assert Kind.CANARY.category is Category.IDENTIFIER


def test_the_public_names_are_what_all_says() -> None:
    public = {name for name in vars(privstats.leaks) if not name.startswith("_")}
    modules = {"canaries", "detectors", "files", "findings", "images", "markup", "pieces",
               "scan", "workbooks", "annotations"}  # fmt: skip
    assert public - modules == set(privstats.leaks.__all__)


def test_a_summary_counts_findings_by_kind_and_file() -> None:
    findings = [
        Finding.of("a.html", "1:1", Kind.IPV4, "203.0.113.216"),
        Finding.of("a.html", "2:1", Kind.IPV4, "203.0.113.217"),
        Finding.of("b.csv", "row 2, col 1", Kind.SCRIPT, ""),
    ]
    assert summarise(findings) == "3 findings in 2 files: 2 ipv4, 1 script"
    assert summarise(findings[:1]) == "1 finding in 1 file: 1 ipv4"
    assert summarise([]) == "no findings"
