"""Atoms: every cell of every linked table is exactly the sum of the atoms it holds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from test_tabulate import PHONE, line, store_with

from privstats.config import Config
from privstats.key import SecretKey
from privstats.store import Store
from privstats.tabulate import _engine
from privstats.tabulate.populations import build_atoms, family_of
from privstats.tabulate.query import Query


@pytest.fixture
def store(tmp_path: Path, config: Config, key: SecretKey) -> Store:
    lines = []
    for i in range(40):
        day = 1 + i % 3
        lines.append(line(f"198.51.100.{i}", day, path="/pricing", size=100 + i))
        if i % 4 == 0:  # some visitors read two pages: counted in both
            lines.append(line(f"198.51.100.{i}", day, path="/blog"))
    lines += [line(f"203.0.113.{i}", 2, path="/blog", agent=PHONE) for i in range(7)]
    return store_with(tmp_path, config, key, lines)


def _members(store: Store, *queries: Query) -> list:
    return [(q, _engine.true_table(q, store).grid) for q in queries]


PERIOD = {"start": "2026-10-01", "end": "2026-10-31"}


def test_distinct_visitors_of_several_tables_add_up_exactly_through_atoms(store: Store) -> None:
    members = _members(
        store,
        Query.build("day", aggfunc="visitors", margins=True, **PERIOD),
        Query.build("path", aggfunc="visitors", margins=True, **PERIOD),
        Query.build("device", "path", aggfunc="visitors", margins=True, **PERIOD),
        Query.build(
            "device", aggfunc="visitors", margins=True, start="2026-10-02", end="2026-10-02"
        ),
    )
    atoms = build_atoms(store, members)
    for (_, table), cells in zip(members, atoms.cells, strict=True):
        assert np.allclose(cells @ atoms.value, table.values)
    # A visitor reading /pricing and /blog is counted in both, and once in the day's total.
    assert atoms.value.sum() == members[0][1].values[-1]


def test_requests_and_sums_add_up_exactly_through_atoms_of_rows(store: Store) -> None:
    for measure in ({}, {"values": "bytes", "aggfunc": "sum"}):
        members = _members(
            store,
            Query.build("hour", margins=True, **measure, **PERIOD),
            Query.build("path", "device", margins=True, **measure, **PERIOD),
        )
        atoms = build_atoms(store, members)
        for (_, table), cells in zip(members, atoms.cells, strict=True):
            assert np.allclose(cells @ atoms.value, table.values)


def test_leaves_no_published_cell_tells_apart_are_one_atom(store: Store) -> None:
    top = Query.build("path", aggfunc="visitors", **PERIOD)
    days = Query.build("day", aggfunc="visitors", margins=True, **PERIOD)
    members = _members(store, Query.build("path", aggfunc="visitors", margins=True, **PERIOD),
                       days)  # fmt: skip
    table = members[0][1]
    only_total = (table.keys["path"] == "Total").to_numpy()
    fine = build_atoms(store, members)
    coarse = build_atoms(store, members, [only_total, None])
    assert coarse.n < fine.n
    assert np.allclose(coarse.cells[0][only_total] @ coarse.value, table.values[only_total])
    assert family_of(top) == family_of(days) == ("units", "access")


def test_families_link_what_counts_the_same_thing_and_nothing_else() -> None:
    visitors = Query.build("day", aggfunc="visitors")
    assert family_of(Query.build("path", aggfunc="visitors", tz="Europe/Warsaw")) == family_of(
        visitors
    )
    assert family_of(Query.build("day")) == ("rows", "access")
    assert family_of(Query.build("day", values="bytes", aggfunc="mean")) == (
        "sum", "access", "bytes",
    )  # fmt: skip
    assert family_of(Query.build("day", values="bytes", aggfunc="median")) is None
    assert family_of(Query.build("day", cap=5)) is None  # a cap that clips is not a sum
    assert family_of(Query.build("day", cap=5), cap_binds=False) == ("rows", "access")
