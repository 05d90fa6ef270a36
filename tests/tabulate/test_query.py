"""Query: typed, canonical, versioned; what a record keeps and the gate reads back."""

from __future__ import annotations

import datetime as dt

import pytest

from privstats.exceptions import DisclosureError
from privstats.tabulate.query import Between, Filter, Measure, Not, Query, canonical_tz


def test_two_spellings_of_one_question_are_one_query() -> None:
    a = Query.build("day", aggfunc="nunique", where={"browser": ["Firefox", "Chrome"]},
                    tz="Etc/UTC", start="2026-10-01")  # fmt: skip
    b = Query.build(["day"], aggfunc="visitors", where={"browser": ("Chrome", "Firefox")},
                    tz="UTC", start=dt.date(2026, 10, 1))  # fmt: skip
    assert a == b and a.key() == b.key()
    assert a.measure is Measure.VISITORS and a.tz == "UTC"


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (False, Filter("is_bot", values=(False,))),
        (range(500, 600), Filter("is_bot", between=(500, 599))),
        (Between("a", "m"), Filter("is_bot", between=("a", "m"))),
        (Not(["x", "y"]), Filter("is_bot", values=("x", "y"), negate=True)),
        (Not(Not(3)), Filter("is_bot", values=(3,))),
    ],
)
def test_where_values_are_typed_filters(spec: object, expected: Filter) -> None:
    assert Filter.parse("is_bot", spec) == expected


def test_a_function_in_where_cannot_be_recorded_and_is_an_error() -> None:
    with pytest.raises(DisclosureError, match="cannot be recorded"):
        Query.build("day", where={"status": lambda s: s > 499})


def test_the_record_s_form_reads_back_to_the_same_query() -> None:
    query = Query.build(
        "day", "device", aggfunc="visitors", margins=True, start="2026-10-01", end="2026-10-31",
        where={"is_bot": Not(True), "status": range(200, 300)}, hierarchies={"day": "calendar"},
        tz="Europe/Warsaw", versus={"device": "mobile"},
    )  # fmt: skip
    data = query.to_dict()
    assert data["version"] == Query.VERSION
    assert Query.from_dict(data) == query


def test_a_first_version_record_is_read_too() -> None:
    old = {"table": "access", "index": ["device"], "columns": [], "values": None,
           "measure": "visitors", "margins": False, "start": "2026-10-01", "end": None,
           "where": {"is_bot": "False", "browser": ["Chrome"]}, "hierarchies": {}, "cap": None,
           "tz": "UTC"}  # fmt: skip
    query = Query.from_dict(old)
    assert Filter("is_bot", values=("False",)) in query.where  # typed against the store later
    assert query.dims == ("device",)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"index": "day", "tz": "Mars/Olympus"}, "unknown time zone"),
        ({"index": "day", "top": 0}, "top is a whole number"),
        ({"index": ["day", "hour"], "top": 5}, "one-dimensional"),
        ({"index": "day", "margins": True, "top": 5}, "without margins"),
        ({"index": "day", "hierarchies": {"hour": "calendar"}}, "not a dimension"),
        ({"index": "day", "start": "2026-10-31", "end": "2026-10-01"}, "after its end"),
    ],
)
def test_bad_queries_are_one_line_errors(arguments: dict, message: str) -> None:
    index = arguments.pop("index")
    with pytest.raises(DisclosureError, match=message):
        Query.build(index, **arguments)


def test_unknown_options_in_a_recorded_query_are_refused() -> None:
    with pytest.raises(DisclosureError, match="unknown options"):
        Query.from_dict({"index": ["day"], "measure": "visitors", "invented": 1})


def test_every_name_of_utc_is_utc_and_others_keep_their_name() -> None:
    assert {canonical_tz(n) for n in ("UTC", "Etc/UTC", "Zulu", "GMT", "Etc/Greenwich")} == {"UTC"}
    assert canonical_tz("Europe/Warsaw") == "Europe/Warsaw"
