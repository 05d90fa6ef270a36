"""Anonymisation at the door: identifiers in, pseudonyms and generalised values out.

``access`` turns parsed access-log blocks into store rows; the other modules each handle one
kind of value (user agents, URLs, referers, networks, pseudonyms). The names below load on
first use: the command line imports ``useragents`` before numpy and pyarrow, to start its
user-agent worker while they load.
"""

import typing as _typing

from privstats._lazy import attach as _attach

if _typing.TYPE_CHECKING:
    from privstats.anonymise.access import AccessAnonymiser, BlockVisitors, warm_up
    from privstats.anonymise.pseudonyms import person_pseudonyms, visitor_pseudonyms

__getattr__, __dir__ = _attach(
    __name__,
    dict.fromkeys(("AccessAnonymiser", "BlockVisitors", "warm_up"), "privstats.anonymise.access")
    | dict.fromkeys(("person_pseudonyms", "visitor_pseudonyms"), "privstats.anonymise.pseudonyms"),
)

__all__ = [
    "AccessAnonymiser",
    "BlockVisitors",
    "person_pseudonyms",
    "visitor_pseudonyms",
    "warm_up",
]
