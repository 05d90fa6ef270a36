"""find_small: the small groups shown cells pin exactly, whichever combination pins them."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from privstats.protect.derived import find_small


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
