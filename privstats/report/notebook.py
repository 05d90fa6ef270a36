"""What report notebooks share, so that a notebook holds presentation only.

A report notebook asks the analyst API for protected tables and publishes them; everything
else it needs lives here: its words in the report's language (from the catalogue of
:mod:`privstats.report.i18n`), the days its period covers, the disclosure rules it must apply,
and the numbers and charts it may draw from a protected table. Every chart helper reads
``table.shown`` only (the values a reader may see); a hidden cell is drawn as a gap labelled
with the hidden-cell marker, never as a zero.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from privstats.config import IMPORT_PREFIX, Config, RuleSet, load_config
from privstats.exceptions import ParameterError
from privstats.report.i18n import (
    MESSAGES,
    Language,
    format_number,
    format_period,
    message,
    placeholders,
)
from privstats.report.parameters import period_days
from privstats.report.table import HIDDEN_MARKER, TOTAL_CODE

__all__ = [
    "Series",
    "Words",
    "bar_chart",
    "grouped_bar_chart",
    "has_cells",
    "has_code",
    "import_sources",
    "report_period",
    "report_rules",
    "series",
    "shares",
]


class Words:
    """The catalogue's texts in one language: ``w("crm.title")``, ``w("x.count", n=3)``."""

    def __init__(self, language: Language | str) -> None:
        self.language = Language.parse(language)

    def __call__(self, key: str, /, **values: object) -> str:
        return message(key, self.language, **values)

    def codes(self, dim: str) -> dict[str, str]:
        """The catalogue's names of a dimension's codes (for ``publish(categories=...)``)."""
        prefix = f"code.{dim}."
        return {
            key[len(prefix) :]: message(key, self.language)
            for key, texts in MESSAGES.items()
            if key.startswith(prefix) and not placeholders(texts[self.language])
        }

    def categories(self, *dims: str) -> dict[str, dict[str, str]]:
        """``publish(categories=...)`` for ``dims``: each code's name in this language."""
        return {dim: self.codes(dim) for dim in dims}

    def order(self, *dims: str) -> dict[str, list[str]]:
        """``publish(order=...)`` for ``dims``: the catalogue's order of their codes."""
        return {dim: list(self.codes(dim)) for dim in dims}

    def number(self, value: float, decimals: int = 0) -> str:
        return format_number(value, self.language, decimals)

    def period(self, start: dt.date | None, end: dt.date | None) -> str:
        """ "październik 2026" for a whole month, "2026-10-01 – 2026-10-15" for other days."""
        if start is None or end is None:
            return message("common.period.all", self.language)
        if start.day == 1 and period_days(start.strftime("%Y-%m"))[1] == end:
            return format_period(start.strftime("%Y-%m"), self.language)
        return format_period(f"{start.isoformat()}_{end.isoformat()}", self.language)


def report_period(
    period: str | None,
    start: str | None = None,
    end: str | None = None,
    *,
    required: bool = True,
) -> tuple[dt.date | None, dt.date | None]:
    """The first and last day a report covers: a month (``period``) or ``start`` to ``end``.

    Without any of them: ``(None, None)`` (every day in the store), when not ``required``.
    """
    if start or end:
        if period:
            raise ParameterError("give either a period or start and end, not both")
        if not (start and end):
            raise ParameterError("give both start and end (or a period)")
        try:
            first, last = dt.date.fromisoformat(start), dt.date.fromisoformat(end)
        except ValueError:
            raise ParameterError("start and end are dates written YYYY-MM-DD") from None
        if first > last:
            raise ParameterError("parameter 'start' must not come after 'end'")
        return first, last
    if period:
        return period_days(period)
    if required:
        raise ParameterError("a report needs a period (or start and end)")
    return None, None


def report_rules(
    partner: str | None, profile: str | None = None, config: Config | None = None
) -> RuleSet:
    """The disclosure rules of a report: ``partner``'s own, or a named stricter profile.

    A profile is a ``[disclosure.partners.NAME]`` section of the configuration. It may only
    tighten what applies to the partner: a profile looser than the partner's rules is refused.
    """
    config = config or load_config()
    own = config.disclosure.rules(partner)
    if not profile:
        return own
    profiles = config.disclosure.partners
    if profile not in profiles:
        raise ParameterError(
            "parameter 'rules_profile' names no [disclosure.partners.*] section of the "
            "configuration"
        )
    chosen = profiles[profile]
    if not chosen.is_at_least_as_strict_as(own):
        raise ParameterError(
            "parameter 'rules_profile' names rules looser than the partner's own; "
            "a profile may only tighten them"
        )
    return chosen


def import_sources(words: Words, config: Config | None = None) -> dict[str, str]:
    """Activity sources that are imports (``import:<system>``), with their shown names."""
    systems = (config or load_config()).crm.external_systems
    return {
        IMPORT_PREFIX + system: words("code.source.import", system=system) for system in systems
    }


def has_cells(table: Any) -> bool:
    """Whether a protected table has any cell (a period without any record has none)."""
    return len(table.shown) > 0


def has_code(table: Any, dim: str, code: Hashable) -> bool:
    """Whether ``dim`` of the table has the code (e.g. a partner with records in the period)."""
    return bool((table.shown[dim].astype(str) == str(code)).any())


@dataclass(frozen=True)
class Series:
    """One dimension's codes and their shown values (NaN where hidden), margins left out."""

    labels: tuple[str, ...]
    values: tuple[float, ...]

    @property
    def any_shown(self) -> bool:
        return any(not math.isnan(v) for v in self.values)


def _natural(code: Hashable) -> tuple[int, float, str]:
    text = str(code)
    try:
        return (0, float(text), "")
    except ValueError:
        return (1, 0.0, text.casefold())


def _natural_then(order: Sequence[Hashable] | None) -> Any:
    rank = {str(code): i for i, code in enumerate(order or ())}

    def key(code: str) -> tuple[int, float, str]:
        if code in rank:
            return (-1, float(rank[code]), "")
        return _natural(code)

    return key


def _select(table: Any, at: Mapping[str, Hashable]) -> Any:
    shown = table.shown
    for name, code in at.items():
        shown = shown[shown[name].astype(str) == str(code)]
    return shown


def series(
    table: Any,
    dim: str,
    *,
    at: Mapping[str, Hashable] | None = None,
    order: Sequence[Hashable] | None = None,
    labels: Mapping[Hashable, str] | None = None,
) -> Series:
    """The shown values along ``dim`` (its total left out), the other dimensions fixed by ``at``.

    A table of several dimensions needs each other dimension in ``at`` (``{"partner": TOTAL}``
    reads the totals' column). Codes listed in ``order`` come first, in that order, the others
    follow in natural order ("2" before "10"); ``labels`` renames codes for display.
    """
    others = [d for d in table.dims if d != dim]
    at = dict(at or {})
    if sorted(at) != sorted(others):
        raise ParameterError(f"series() needs a code for each other dimension: {others}")
    shown = _select(table, at)
    shown = shown[shown[dim].astype(str) != TOTAL_CODE]
    pairs = zip(shown[dim], shown["value"], strict=True)
    found = {str(code): float(value) for code, value in pairs}
    codes = sorted(found, key=_natural_then(order))
    names = {str(k): v for k, v in (labels or {}).items()}
    return Series(
        labels=tuple(names.get(code, code) for code in codes),
        values=tuple(found[code] for code in codes),
    )


def shares(
    table: Any,
    dim: str,
    group: str,
    *,
    groups: Sequence[Hashable],
    order: Sequence[Hashable] | None = None,
    labels: Mapping[Hashable, str] | None = None,
) -> dict[str, Series]:
    """Per code of ``group``: each ``dim`` code's share of the group's total, in per cent.

    Computed from shown cells only: a share is shown where both the cell and its total are;
    otherwise it is NaN (a gap in a chart). The table needs margins (its ``Total`` row). A
    group the table does not have (a partner without any record in the period) is left out.
    """
    out: dict[str, Series] = {}
    for code in groups:
        if not has_code(table, group, code):
            continue
        parts = series(table, dim, at={group: code}, order=order, labels=labels)
        total_row = _select(table, {dim: TOTAL_CODE, group: code})
        total = float(total_row["value"].iloc[0]) if len(total_row) else math.nan
        known = total > 0 and not math.isnan(total)
        values = tuple(
            100.0 * v / total if known and not math.isnan(v) else math.nan for v in parts.values
        )
        out[str(code)] = Series(parts.labels, values)
    return out


def _mark_hidden(
    axes: Any, positions: Sequence[float], values: Sequence[float], horizontal: bool
) -> None:
    for position, value in zip(positions, values, strict=True):
        if math.isnan(value):
            if horizontal:
                axes.text(0, position, f" {HIDDEN_MARKER}", va="center", ha="left", color="#555")
            else:
                axes.text(position, 0, HIDDEN_MARKER, va="bottom", ha="center", color="#555")


def _rotation(labels: Sequence[str]) -> int:
    """Slanted tick labels when straight ones would run into each other."""
    return 30 if sum(len(label) for label in labels) > 60 or len(labels) > 8 else 0


@functools.cache
def _chart_class() -> type:
    """A matplotlib ``Figure`` that Jupyter shows as a picture: a figure made without pyplot
    has no inline backend to draw it, and a notebook cell would show its ``repr`` alone."""
    from matplotlib.figure import Figure

    class Chart(Figure):
        def _repr_svg_(self) -> str:
            buffer = io.StringIO()
            self.savefig(buffer, format="svg", bbox_inches="tight")
            return buffer.getvalue()

    return Chart


def bar_chart(
    data: Series,
    *,
    xlabel: str,
    ylabel: str,
    horizontal: bool = False,
    size: tuple[float, float] = (7.0, 3.2),
) -> Any:
    """A bar per code; a hidden value is a gap marked with the hidden-cell marker."""
    figure = _chart_class()(figsize=size)
    axes = figure.add_subplot()
    positions = list(range(len(data.labels)))
    heights = [0.0 if math.isnan(v) else v for v in data.values]
    if horizontal:
        axes.barh(positions, heights)
        axes.set_yticks(positions, data.labels)
        axes.invert_yaxis()
    else:
        axes.bar(positions, heights)
        axes.set_xticks(
            positions,
            data.labels,
            rotation=_rotation(data.labels),
            ha="right" if _rotation(data.labels) else "center",
        )
    _mark_hidden(axes, positions, data.values, horizontal)
    # Counts start at zero; a chart of zeros still gets a readable scale.
    top = max(heights, default=0.0) or 1.0
    (axes.set_xlim if horizontal else axes.set_ylim)(0, top * 1.05)
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    return figure


def grouped_bar_chart(
    groups: Mapping[str, Series],
    *,
    xlabel: str,
    ylabel: str,
    size: tuple[float, float] = (7.5, 3.4),
) -> Any:
    """Bars of several groups side by side per code (e.g. a partner and the rest, in %)."""
    if not groups:
        raise ParameterError("grouped_bar_chart() needs at least one group")
    labels = next(iter(groups.values())).labels
    if any(s.labels != labels for s in groups.values()):
        raise ParameterError("every group of a grouped bar chart needs the same codes")
    figure = _chart_class()(figsize=size)
    axes = figure.add_subplot()
    width = 0.8 / len(groups)
    for number, (name, data) in enumerate(groups.items()):
        positions = [i - 0.4 + width * (number + 0.5) for i in range(len(labels))]
        heights = [0.0 if math.isnan(v) else v for v in data.values]
        axes.bar(positions, heights, width=width, label=name)
        _mark_hidden(axes, positions, data.values, horizontal=False)
    axes.set_ylim(bottom=0)
    axes.set_xticks(
        range(len(labels)),
        labels,
        rotation=_rotation(labels),
        ha="right" if _rotation(labels) else "center",
    )
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.legend(frameon=False, fontsize="small")
    return figure
