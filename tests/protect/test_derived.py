"""find_small and find_dominated: small groups and dominated sums that shown cells pin."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from privstats.config import RuleSet
from privstats.protect.derived import find_dominated, find_small


def _cells(*members: list[int], atoms: int) -> sp.csr_matrix:
    """Shown cells as rows of a cells × atoms 0/1 matrix."""
    rows = np.zeros((len(members), atoms))
    for r, held in enumerate(members):
        rows[r, held] = 1.0
    return sp.csr_matrix(rows)


def _one_period(units: list[float]) -> sp.csr_matrix:
    return sp.csr_matrix(np.asarray(units, float)[:, None])


def test_a_month_minus_all_but_its_last_day_pins_the_last_day() -> None:
    # Atoms: the 30 first days' visitors (400), the 31st's (3).
    value = np.array([400.0, 3.0])
    shown = _cells([0, 1], [0], atoms=2)  # 1-31 October, 1-30 October
    found = find_small(shown, value, _one_period([40, 3]), threshold=10)
    assert found is not None and list(found.atoms) == [1] and found.value == 3


def test_two_partners_reports_give_the_third_partner_away() -> None:
    # Atoms: partners A (50), B (60), C (4). A's report: A, others (B+C), all; B's: B, others.
    value = np.array([50.0, 60.0, 4.0])
    shown = _cells([0], [1, 2], [0, 1, 2], [1], [0, 2], atoms=3)
    found = find_small(shown, value, _one_period(list(value)), threshold=10)
    assert found is not None and list(found.atoms) == [2]


def test_a_chain_of_three_tables_pins_what_no_pair_does() -> None:
    # Atoms: a (30), b (30), c (2). Shown: a+b+c, a, b: only all three together pin c.
    value = np.array([30.0, 30.0, 2.0])
    found = find_small(_cells([0, 1, 2], [0], [1], atoms=3), value, _one_period(list(value)), 10)
    assert found is not None and list(found.atoms) == [2]
    assert find_small(_cells([0, 1, 2], [0], atoms=3), value, _one_period(list(value)), 10) is None


def test_those_in_both_of_two_modules_come_from_adding_and_subtracting() -> None:
    # Atoms: only X (40), only Y (45), both (3). Shown: X, Y, X or Y.
    value = np.array([40.0, 45.0, 3.0])
    shown = _cells([0, 2], [1, 2], [0, 1, 2], atoms=3)
    found = find_small(shown, value, _one_period(list(value)), threshold=10)
    assert found is not None and list(found.atoms) == [2]


def test_a_group_spread_over_days_is_small_by_its_busiest_day() -> None:
    # Twelve visitor-days, one per day: one person as far as anyone can tell.
    value = np.array([500.0, 12.0])
    by_period = sp.csr_matrix(np.vstack([np.full(12, 40.0), np.ones(12)]))
    found = find_small(_cells([0, 1], [0], atoms=2), value, by_period, threshold=10)
    assert found is not None and found.persons == 1 and found.value == 12


def test_margins_of_large_groups_pin_nothing_small() -> None:
    # A 2 x 2 table of crossed categories: row and column totals leave every cell free.
    value = np.array([30.0, 4.0, 5.0, 40.0])  # r0c0, r0c1, r1c0, r1c1
    shown = _cells([0, 1], [2, 3], [0, 2], [1, 3], [0, 1, 2, 3], atoms=4)
    assert find_small(shown, value, _one_period(list(value)), threshold=10) is None


def test_a_population_known_already_is_not_found_again() -> None:
    value = np.array([400.0, 3.0])
    shown = _cells([0, 1], [0], atoms=2)
    assert find_small(shown, value, _one_period([40, 3]), 10, exclude=[np.array([1])]) is None


def _units(*atoms: list[float]) -> sp.csr_matrix:
    """atoms × units: each atom's contributions, unit by unit."""
    width = max(len(a) for a in atoms)
    return sp.csr_matrix(np.array([a + [0.0] * (width - len(a)) for a in atoms]))


def test_a_month_minus_its_first_thirty_days_gives_a_dominant_person_away() -> None:
    # Atoms: 1-30 October (twenty persons of 1,000 bytes), the 31st (one of 100,000, three of
    # 500). Two tables: the month, and 1-30 October.
    by_unit = _units([1000.0] * 20, [100_000.0, 500.0, 500.0, 500.0])
    top = np.array([2000.0, 100_500.0])
    shown = _cells([0, 1], [0], atoms=2)
    found = find_dominated(shown, np.array([0, 1]), by_unit, top, RuleSet())
    assert found is not None and list(found.atoms) == [1]
    assert (found.top1, found.top2, found.value) == (100_000.0, 500.0, 101_500.0)
    # Cells of one table are its own primary rules' business; an even 31st is no finding.
    assert find_dominated(shown, np.array([0, 0]), by_unit, top, RuleSet()) is None
    even = _units([1000.0] * 20, [500.0] * 30)
    assert find_dominated(shown, np.array([0, 1]), even, np.array([2000.0, 1000.0]),
                          RuleSet()) is None  # fmt: skip
