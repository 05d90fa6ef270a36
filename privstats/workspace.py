"""The data a question needs, found or refused: the store, its partners, the days it holds.

One rule for the analyst API, the report runner and the reviewer's gate: a question without data
to answer it is a ``NoDataError`` that names what is missing (no store where one was looked for,
a partner neither the store nor the configuration knows, a period the store holds nothing of),
never an empty table marked PASS::

    store = open_store()                     # the configuration's store, found from here up
    check_partner("acme_", config, store)    # NoDataError: ... did you mean 'acme'?
    require_rows(store, ["access"], start, end)
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Iterable, Sequence
from pathlib import Path

from privstats.config import CONFIG_FILE, Config, load_config
from privstats.exceptions import NoDataError
from privstats.schema import TABLES
from privstats.store import Store

__all__ = [
    "check_partner",
    "existing_store",
    "known_partners",
    "open_store",
    "require_rows",
    "store_partners",
]


def open_store(store: Store | Path | str | None = None, config: Config | None = None) -> Store:
    """``store`` (a ``Store`` or its folder), else the store of ``config``, else of the
    configuration found from the working folder up; a ``NoDataError`` if it holds no store."""
    if store is not None:
        found = store if isinstance(store, Store) else Store(Path(store))
        if not found.exists():
            raise NoDataError(f"no store at {found.root}: nothing was ingested there")
        return found
    config = config or load_config()
    found = Store(config.store_path)
    if found.exists():
        return found
    if config.path is None:
        raise NoDataError(
            f"no store at {found.root}: there is no {CONFIG_FILE} in {Path.cwd()} or a folder "
            "above it; work where it is, name it (PRIVSTATS_CONFIG, --config), or give the store"
        )
    raise NoDataError(
        f"no store at {found.root} (the store of {config.path}); ingest something first"
    )


def existing_store(store: Store | Path | str | None = None) -> Store | None:
    """:func:`open_store`'s store when there is one, else None (for a reviewer's notebook,
    whose verdict then says that nothing was recomputed)."""
    try:
        return open_store(store)
    except NoDataError:
        if store:
            raise
        return None


def store_partners(store: Store) -> list[str]:
    """The partner keys of the store's CRM accounts, sorted.

    Partners are businesses that receive reports, not persons: their keys may be listed.
    """
    frame = store.scan("crm_accounts").select("partner").unique().collect()
    return sorted(str(p) for p in frame["partner"].drop_nulls().to_list())


def known_partners(config: Config, store: Store) -> list[str]:
    """Partners of the store's CRM accounts, and those with their own rules in the config."""
    return sorted(set(config.disclosure.partners) | set(store_partners(store)))


def check_partner(partner: str, config: Config, store: Store) -> str:
    """``partner`` when the store or the configuration knows it; else a ``NoDataError`` with
    the closest known partner (a misspelt partner must not get the whole service's figures)."""
    known = known_partners(config, store)
    if partner in known:
        return partner
    raise NoDataError(f"partner '{partner}' is in neither the store nor the configuration; "
                      + _closest(partner, known, "partners"))  # fmt: skip


def _closest(word: str, known: Sequence[str], what: str) -> str:
    close = difflib.get_close_matches(word, known, n=1, cutoff=0.6)
    if close:
        return f"did you mean '{close[0]}'?"
    if not known:
        return f"there are no {what}"
    listed = ", ".join(known[:12]) + (", ..." if len(known) > 12 else "")
    return f"{what}: {listed}"


# What one kind of input brings: a period is covered when its source has rows in it, whichever
# table is asked (a month without sign-ups is a zero, not missing CRM data).
_SOURCES = {
    "access logs": ("access",),
    "CRM records": tuple(t for t in TABLES if t.startswith("crm_")),
}


def require_rows(
    store: Store, tables: Iterable[str], start: dt.date | None, end: dt.date | None
) -> None:
    """A ``NoDataError`` unless the source of one of ``tables`` (access logs, CRM records) holds
    rows on a day from ``start`` to ``end`` (either may be None), naming the days it holds."""
    wanted = set(tables)
    held = store.info()["rows"]
    missing = []
    for source, members in _SOURCES.items():
        if not wanted & set(members):
            continue
        days = {d for t in members for d, rows in held.get(t, {}).items() if rows > 0}
        if any(d == "-" or _within(dt.date.fromisoformat(d), start, end) for d in days):
            return
        dated = sorted(d for d in days if d != "-")
        holds = f"it holds {dated[0]} to {dated[-1]}" if dated else "it holds none"
        missing.append(f"{source} {_span(start, end)} ({holds})")
    if missing:
        raise NoDataError(f"the store at {store.root} holds no " + "; no ".join(missing))


def _within(day: dt.date, start: dt.date | None, end: dt.date | None) -> bool:
    return (start is None or day >= start) and (end is None or day <= end)


def _span(start: dt.date | None, end: dt.date | None) -> str:
    if start and end:
        return f"from {start.isoformat()} to {end.isoformat()}"
    if start:
        return f"from {start.isoformat()} on"
    if end:
        return f"up to {end.isoformat()}"
    return "at all"
