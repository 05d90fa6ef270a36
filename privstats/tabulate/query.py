"""``Query``: what a table asks of the store, typed, canonical and versioned.

``crosstab`` builds one from pandas-like arguments; the protection record keeps it
(``Query.to_dict()``), the reviewer's gate reads it back (``Query.from_dict``) and replays it on
the store. Two spellings of the same question give equal queries (``tz="Etc/UTC"`` is ``"UTC"``,
a list of filter values is sorted), but the gate never relies on that: it compares the
populations a query selects, not its text.

Filters (``where``) are typed values, not strings::

    where={"is_bot": False}                       # equality (booleans stay booleans)
    where={"browser": ["Chrome", "Firefox"]}      # any of several values
    where={"status": range(500, 600)}             # a range of numbers (end excluded, as range)
    where={"day": Between("2026-10-01", "2026-10-07")}   # an inclusive range
    where={"partner": Not("acme")}                # negation of any of the above

The engine checks each value against the column's type and, for a column of codes, that the
store knows the code (an unknown one is an error listing the valid ones).
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import json
import zoneinfo
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, ClassVar

from privstats.exceptions import DisclosureError

Scalar = bool | int | float | str


class Measure(enum.StrEnum):
    REQUESTS = "requests"  # rows, summed per person: a magnitude
    VISITORS = "visitors"  # distinct persons: a count
    ORGANISATIONS = "organisations"  # distinct organisations (CRM tables): a count
    SUM = "sum"
    MEAN = "mean"
    MEDIAN = "median"
    P90 = "p90"
    P99 = "p99"


QUANTILES: dict[Measure, float] = {Measure.MEDIAN: 0.5, Measure.P90: 0.9, Measure.P99: 0.99}
STATISTICS = frozenset({Measure.MEAN, *QUANTILES})
COUNTS = frozenset({Measure.VISITORS, Measure.ORGANISATIONS})

_ALIASES: dict[Any, Measure] = {
    None: Measure.REQUESTS, "count": Measure.REQUESTS, "size": Measure.REQUESTS,
    "nunique": Measure.VISITORS, "persons": Measure.VISITORS, "orgs": Measure.ORGANISATIONS,
    "p50": Measure.MEDIAN,
}  # fmt: skip

# ``values=PERSONS`` with ``per="org"``: distinct persons per organisation.
PERSONS = "persons"
# Units ``per=`` can measure: organisations, or persons (the table's own pseudonym).
UNITS = ("org", "person")
# Named hierarchies a query may ask for, by dimension.
HIERARCHIES = {"day": ("calendar",)}

# Every name of the zone without offset or daylight saving time, as the tz database has them.
_UTC_NAMES = frozenset(
    {"UTC", "Etc/UTC", "Etc/UCT", "UCT", "Etc/Universal", "Universal", "Etc/Zulu", "Zulu",
     "GMT", "Etc/GMT", "Etc/GMT+0", "Etc/GMT-0", "Etc/GMT0", "GMT0", "GMT+0", "GMT-0",
     "Greenwich", "Etc/Greenwich"}
)  # fmt: skip


@dataclass(frozen=True)
class Between:
    """An inclusive range of values for ``where``: ``Between(500, 599)``."""

    low: Scalar
    high: Scalar


@dataclass(frozen=True)
class Not:
    """The negation of a ``where`` value, list, range or ``Between``: ``Not("acme")``."""

    inner: Any


@dataclass(frozen=True)
class Filter:
    """Rows whose ``column`` is one of ``values`` (or within ``between``), or, negated, not."""

    column: str
    values: tuple[Scalar, ...] = ()
    between: tuple[Scalar, Scalar] | None = None
    negate: bool = False

    def __post_init__(self) -> None:
        if (self.between is None) == (not self.values):
            raise DisclosureError(f"a filter on '{self.column}' needs values or a range")

    @classmethod
    def parse(cls, column: str, spec: Any) -> Filter:
        negate = False
        while isinstance(spec, Not):
            negate, spec = not negate, spec.inner
        if isinstance(spec, Between):
            return cls(column, between=(_scalar(spec.low), _scalar(spec.high)), negate=negate)
        if isinstance(spec, range):
            if spec.step != 1 or len(spec) == 0:
                raise DisclosureError(f"where: the range for '{column}' must be non-empty, step 1")
            return cls(column, between=(spec.start, spec.stop - 1), negate=negate)
        if callable(spec) or isinstance(spec, Mapping):
            raise DisclosureError(
                f"where: '{column}' takes a value, a list, range(...), Between(...) or Not(...); "
                "a function cannot be recorded and replayed"
            )
        if isinstance(spec, list | tuple | set | frozenset):
            if not spec:
                raise DisclosureError(f"where: the list for '{column}' is empty")
            values = tuple(sorted({_scalar(v) for v in spec}, key=_order))
            return cls(column, values=values, negate=negate)
        return cls(column, values=(_scalar(spec),), negate=negate)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"column": self.column}
        if self.between is not None:
            out["between"] = list(self.between)
        else:
            out["in"] = list(self.values)
        if self.negate:
            out["not"] = True
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Filter:
        between = data.get("between")
        return cls(
            str(data["column"]),
            values=tuple(data.get("in") or ()),
            between=(between[0], between[1]) if between is not None else None,
            negate=bool(data.get("not")),
        )

    def describe(self) -> str:
        """The filter in words, without its values (a value may be a partner's name)."""
        what = "a range" if self.between else f"{len(self.values)} value(s)"
        return f"{self.column} {'not ' if self.negate else ''}in {what}"


def _scalar(value: Any) -> Scalar:
    if isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, dt.date):
        return value.isoformat()
    if hasattr(value, "item") and not isinstance(value, bytes):  # numpy scalars
        return _scalar(value.item())
    raise DisclosureError(f"where: a {type(value).__name__} is not a value a filter can hold")


def _order(value: Scalar) -> tuple[str, Any]:
    return (type(value).__name__, value)


def canonical_tz(name: str) -> str:
    """The time zone's canonical name (every name of UTC is ``"UTC"``); unknown is an error."""
    if not isinstance(name, str) or not name:
        raise DisclosureError("tz is the name of a time zone, e.g. 'Europe/Warsaw'")
    if name in _UTC_NAMES:
        return "UTC"
    try:
        zone = zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise DisclosureError(f"unknown time zone '{name}'") from None
    return zone.key


def _day(value: dt.date | str | None) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value.date() if isinstance(value, dt.datetime) else value
    try:
        return dt.date.fromisoformat(value)
    except (TypeError, ValueError):
        raise DisclosureError(f"'{value}' is not a date like 2026-10-01") from None


def _names(names: str | Sequence[str] | None) -> tuple[str, ...]:
    if names is None:
        return ()
    return (names,) if isinstance(names, str) else tuple(str(n) for n in names)


def resolve_measure(values: str | None, aggfunc: Any, per: str | None) -> Measure:
    """The measure ``aggfunc`` names, checked against ``values`` and ``per`` as pandas would."""
    try:
        measure = _ALIASES[aggfunc] if aggfunc in _ALIASES else Measure(aggfunc)
    except (ValueError, TypeError):
        choices = ", ".join(m.value for m in Measure)
        raise DisclosureError(f"unknown aggfunc '{aggfunc}'; choose one of {choices}") from None
    if per is not None:
        if per not in UNITS:
            raise DisclosureError(f"per= is one of {', '.join(UNITS)}")
        if measure not in STATISTICS:
            raise DisclosureError("per= goes with a mean or a quantile (median, p90, p99)")
        if values == PERSONS and per != "org":
            raise DisclosureError("values='persons' with per= counts persons per organisation")
        return measure
    if values == PERSONS:
        raise DisclosureError("values='persons' needs per='org'")
    if measure is Measure.REQUESTS and values is not None and aggfunc is None:
        return Measure.SUM
    needs_values = measure not in (Measure.REQUESTS, *COUNTS)
    if needs_values and values is None:
        raise DisclosureError(f"aggfunc '{measure.value}' needs values=")
    if not needs_values and values is not None:
        raise DisclosureError(f"aggfunc '{measure.value}' takes no values=")
    return measure


@dataclass(frozen=True)
class Query:
    """One table's question to the store. Build it with :meth:`build` (checks and aliases)."""

    VERSION: ClassVar[int] = 2

    table: str = "access"
    index: tuple[str, ...] = ()
    columns: tuple[str, ...] = ()
    measure: Measure = Measure.REQUESTS
    values: str | None = None
    margins: bool = False
    start: dt.date | None = None
    end: dt.date | None = None
    where: tuple[Filter, ...] = ()
    hierarchies: tuple[tuple[str, str], ...] = ()
    cap: int | None = None
    tz: str = "UTC"
    versus: tuple[tuple[str, str], ...] = ()
    per: str | None = None

    def __post_init__(self) -> None:
        dims = self.dims
        if not dims:
            raise DisclosureError("a table needs at least one dimension")
        if len(set(dims)) != len(dims):
            raise DisclosureError("a dimension may appear only once")
        if self.cap is not None and (not isinstance(self.cap, int) or self.cap < 1):
            raise DisclosureError("a contribution cap must be a whole number of at least 1")
        if self.start and self.end and self.start > self.end:
            raise DisclosureError("the period's start lies after its end")
        for name, _ in self.versus:
            if name not in dims:
                raise DisclosureError(f"versus names '{name}', which is not a dimension")
        for name, kind in self.hierarchies:
            if name not in dims:
                raise DisclosureError(
                    f"a hierarchy is given for '{name}', which is not a dimension"
                )
            if kind not in HIERARCHIES.get(name, ()):
                raise DisclosureError("the one hierarchy a query can name is 'calendar' for 'day'")
        seen = [f.column for f in self.where]
        if len(set(seen)) != len(seen):
            raise DisclosureError("where names a column twice")

    @property
    def dims(self) -> tuple[str, ...]:
        return (*self.index, *self.columns)

    @property
    def kind(self) -> str:
        """How a cell aggregates: ``count`` (distinct units), ``magnitude`` (a sum of
        per-person contributions) or ``statistic`` (mean or quantile)."""
        if self.measure in COUNTS:
            return "count"
        return "statistic" if self.measure in STATISTICS else "magnitude"

    @classmethod
    def build(
        cls,
        index: str | Sequence[str],
        columns: str | Sequence[str] | None = None,
        values: str | None = None,
        aggfunc: Any = None,
        margins: bool = False,
        *,
        table: str = "access",
        start: dt.date | str | None = None,
        end: dt.date | str | None = None,
        where: Mapping[str, Any] | None = None,
        hierarchies: Mapping[str, str] | None = None,
        cap: int | None = None,
        tz: str = "UTC",
        versus: Mapping[str, Any] | None = None,
        per: str | None = None,
    ) -> Query:
        """A query from ``crosstab``'s arguments."""
        for name, spec in (hierarchies or {}).items():
            if not isinstance(spec, str):
                raise DisclosureError(
                    f"the hierarchy of '{name}' must be named (e.g. 'calendar'), so that the "
                    "gate can replay the query"
                )
        return cls(
            table=str(table),
            index=_names(index),
            columns=_names(columns),
            measure=resolve_measure(values, aggfunc, per),
            values=values,
            margins=bool(margins),
            start=_day(start),
            end=_day(end),
            where=tuple(Filter.parse(str(k), v) for k, v in sorted((where or {}).items())),
            hierarchies=tuple(sorted((str(k), str(v)) for k, v in (hierarchies or {}).items())),
            cap=cap,
            tz=canonical_tz(tz),
            versus=tuple(sorted((str(k), str(v)) for k, v in (versus or {}).items())),
            per=per,
        )

    def with_period(self, start: dt.date | None, end: dt.date | None) -> Query:
        return replace(self, start=start, end=end)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form a record keeps and the gate reads back."""
        return {
            "version": self.VERSION,
            "table": self.table,
            "index": list(self.index),
            "columns": list(self.columns),
            "values": self.values,
            "measure": self.measure.value,
            "margins": self.margins,
            "start": self.start.isoformat() if self.start else None,
            "end": self.end.isoformat() if self.end else None,
            "where": [f.to_dict() for f in self.where],
            "hierarchies": dict(self.hierarchies),
            "cap": self.cap,
            "tz": self.tz,
            "versus": dict(self.versus),
            "per": self.per,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Query:
        """A query from its recorded form, this version's or the first's (a plain dict whose
        ``where`` maps columns to a value text or a list of texts)."""
        try:
            version = data.get("version", 1)
            if version not in (1, cls.VERSION):
                raise DisclosureError(f"a query of version {version} is not known here")
            where_data = data.get("where") or ([] if version != 1 else {})
            if version == 1:
                where = tuple(
                    Filter.parse(str(k), list(v) if isinstance(v, list) else v)
                    for k, v in sorted(dict(where_data).items())
                )
            else:
                where = tuple(Filter.from_dict(f) for f in where_data)
            known = {
                "version", "table", "index", "columns", "values", "measure", "margins", "start",
                "end", "where", "hierarchies", "cap", "tz", "versus", "per",
            }  # fmt: skip
            if unknown := sorted(set(data) - known):
                raise DisclosureError(f"the recorded query has unknown options: {unknown[0]}")
            return cls(
                table=str(data.get("table") or "access"),
                index=_names(data.get("index")),
                columns=_names(data.get("columns")),
                measure=Measure(data.get("measure") or Measure.REQUESTS),
                values=data.get("values"),
                margins=bool(data.get("margins")),
                start=_day(data.get("start")),
                end=_day(data.get("end")),
                where=where,
                hierarchies=tuple(sorted((data.get("hierarchies") or {}).items())),
                cap=data.get("cap"),
                tz=canonical_tz(str(data.get("tz") or "UTC")),
                versus=tuple(
                    sorted((str(k), str(v)) for k, v in (data.get("versus") or {}).items())
                ),
                per=data.get("per"),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise DisclosureError(
                f"the recorded query is malformed ({type(error).__name__})"
            ) from None

    def key(self) -> str:
        """A short stable digest of the query, to find it again (e.g. in a run's decisions)."""
        text = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]
