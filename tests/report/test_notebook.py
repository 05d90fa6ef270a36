"""The report notebooks' helpers: words, period, rules, and charts drawn from shown cells only."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import math
import re
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from privstats.config import Config, DisclosureConfig, RuleSet
from privstats.exceptions import ParameterError
from privstats.protect import TOTAL, Table, protect
from privstats.report.i18n import MESSAGES
from privstats.report.notebook import (
    Words,
    bar_chart,
    grouped_bar_chart,
    has_cells,
    has_code,
    report_period,
    report_rules,
    series,
    shares,
)

REPO = Path(__file__).resolve().parents[2]
WORD_CALL = re.compile(r"""\bw(?:\.codes|\.categories|\.order)?\(\s*f?["']([a-z0-9_.{}-]+)["']""")


def modules_by_group() -> object:
    """A protected module × group table with margins; 'campaigns' of 'acme' is small."""
    counts = {
        ("contacts", "acme"): 40, ("contacts", "others"): 60,
        ("deals", "acme"): 25, ("deals", "others"): 35,
        ("campaigns", "acme"): 3, ("campaigns", "others"): 30,
    }  # fmt: skip
    rows = [(m, g, v) for (m, g), v in counts.items()]
    for module in ("contacts", "deals", "campaigns"):
        rows.append((module, TOTAL, sum(v for (m, _), v in counts.items() if m == module)))
    for group in ("acme", "others"):
        rows.append((TOTAL, group, sum(v for (_, g), v in counts.items() if g == group)))
    rows.append((TOTAL, TOTAL, sum(counts.values())))
    frame = pd.DataFrame(rows, columns=["module", "partner", "value"])
    return protect(Table.from_frame(frame, ["module", "partner"], kind="count"), RuleSet())


def test_words_come_from_the_catalogue_in_the_report_language() -> None:
    assert Words("pl")("crm.title") == "Aktywność w systemie CRM"
    assert Words("en")("partner.title", partner="acme") == "Summary for partner acme"
    assert Words("pl").codes("module")["campaigns"] == "kampanie e-mail"
    assert "import" not in Words("en").codes("source")  # a template, not a code's name
    assert list(Words("en").order("size_band")["size_band"]) == ["1-9", "10-49", "50-249", "250+"]
    assert Words("pl").period(dt.date(2026, 10, 1), dt.date(2026, 10, 31)) == "październik 2026"
    assert Words("en").period(dt.date(2026, 10, 1), dt.date(2026, 10, 3)) == (
        "2026-10-01 – 2026-10-03"
    )


@pytest.mark.parametrize("path", sorted((REPO / "notebooks").glob("*.ipynb")), ids=lambda p: p.stem)
def test_every_word_a_notebook_asks_for_is_in_the_catalogue(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    source = "\n".join(c.source for c in notebook.cells if c.cell_type == "code")
    for key in WORD_CALL.findall(source):
        if "{" in key:  # w(f"dim.{dim}"): every dimension the notebook passes is checked below
            continue
        if key in ("module", "action", "topic", "source", "size_band", "signup_channel",
                   "is_bot", "industry"):  # fmt: skip
            continue  # w.codes("module"): a dimension, not a key
        assert key in MESSAGES, f"{path.name} asks for '{key}', which the catalogue lacks"
    for dim in re.findall(r'with_dim\("([a-z_]+)"\)|share_chart\(\w+, "([a-z_]+)"', source):
        name = next(part for part in dim if part)
        assert f"dim.{name}" in MESSAGES, f"{path.name}: no label for dimension '{name}'"


def test_a_period_is_a_month_or_two_days() -> None:
    assert report_period("2026-02") == (dt.date(2026, 2, 1), dt.date(2026, 2, 28))
    assert report_period(None, "2026-10-01", "2026-10-15") == (
        dt.date(2026, 10, 1),
        dt.date(2026, 10, 15),
    )
    assert report_period(None, required=False) == (None, None)
    for args, message in [
        (("2026-10", "2026-10-01", "2026-10-02"), "not both"),
        ((None, "2026-10-01", None), "both start and end"),
        ((None, "2026-10-05", "2026-10-01"), "must not come after"),
        ((None, None, None), "needs a period"),
    ]:
        with pytest.raises(ParameterError, match=message):
            report_period(*args)


def test_a_rules_profile_may_only_tighten_the_partners_rules() -> None:
    config = dataclasses.replace(
        Config(),
        disclosure=DisclosureConfig(
            partners={"acme": RuleSet(threshold=20), "strict": RuleSet(threshold=30)}
        ),
    )
    assert report_rules(None, config=config).threshold == 10
    assert report_rules("acme", config=config).threshold == 20
    assert report_rules("nordic", "strict", config=config).threshold == 30
    assert report_rules("acme", "strict", config=config).threshold == 30
    with pytest.raises(ParameterError, match="names no"):
        report_rules("acme", "lenient", config=config)
    loose = dataclasses.replace(
        config,
        disclosure=DisclosureConfig(
            partners={"acme": RuleSet(threshold=30), "strict": RuleSet(threshold=20)}
        ),
    )
    with pytest.raises(ParameterError, match="looser than the partner's own"):
        report_rules("acme", "strict", config=loose)


def test_series_and_shares_read_shown_cells_only() -> None:
    table = modules_by_group()  # suppression hides campaigns and deals of both groups
    assert has_cells(table)
    acme = series(table, "module", at={"partner": "acme"}, order=["contacts", "deals"])
    assert acme.labels == ("contacts", "deals", "campaigns")
    assert acme.values[0] == 40.0
    assert math.isnan(acme.values[1]) and math.isnan(acme.values[2]), "hidden cells stay hidden"
    parts = shares(table, "module", "partner", groups=["acme", "others", TOTAL])
    assert set(parts) == {"acme", "others", TOTAL}
    everyone = dict(zip(parts[TOTAL].labels, parts[TOTAL].values, strict=True))
    assert everyone["contacts"] == pytest.approx(100 * 100 / 193)
    assert everyone["campaigns"] == pytest.approx(100 * 33 / 193)
    own = dict(zip(parts["acme"].labels, parts["acme"].values, strict=True))
    assert own["contacts"] == pytest.approx(100 * 40 / 68)
    assert math.isnan(own["deals"]) and math.isnan(own["campaigns"])
    with pytest.raises(ParameterError, match="each other dimension"):
        series(table, "module")
    assert has_code(table, "partner", "acme") and not has_code(table, "partner", "nordic")
    assert set(shares(table, "module", "partner", groups=["nordic", "acme"])) == {"acme"}


def test_a_chart_marks_hidden_cells_and_never_draws_them_as_numbers() -> None:
    table = modules_by_group()
    data = series(table, "module", at={"partner": "acme"})
    figure = bar_chart(data, xlabel="module", ylabel="persons")
    texts = [t.get_text() for t in figure.axes[0].texts]
    assert texts == ["x", "x"]  # campaigns and deals, drawn as gaps
    heights = [bar.get_height() for bar in figure.axes[0].patches]
    assert sorted(heights) == [0.0, 0.0, 40.0]
    svg = io.StringIO()
    figure.savefig(svg, format="svg")
    assert "campaigns" in svg.getvalue()
    grouped = grouped_bar_chart(
        shares(table, "module", "partner", groups=["acme", "others"]),
        xlabel="module",
        ylabel="share (%)",
    )
    assert [t.get_text() for t in grouped.axes[0].texts].count("x") == 4
    with pytest.raises(ParameterError, match="at least one group"):
        grouped_bar_chart({}, xlabel="a", ylabel="b")
