"""Differential privacy: noisy tables and a privacy budget that holds across every release.

Suppression protects each release against the attacks its authors thought of; differential
privacy bounds what *any* combination of releases can reveal, as long as every release is
charged to one budget. ``crosstab(..., method="dp")`` (and ``-p method=dp`` for a report) makes
a DP table; ``privstats release`` charges it; the budget ledger beside the release ledger keeps
what each unit and period has spent across runs.

::

    tables.py       a DP table: rows bounded, keys chosen, noise drawn (or served), recorded
    bounding.py     each privacy unit's contribution bounded in the data; the sensitivity
    keys.py         public key spaces, and which dimensions need DP partition selection
    mechanisms.py   OpenDP's discrete Gaussian (zCDP) and Gaussian threshold; ε at δ
    draws.py        stored draws: the same question on the same data gets the same numbers
    postprocess.py  totals from parts, whole non-negative numbers, a release threshold
    budget.py       the budget ledger: charges per unit and period, the cap checked

The privacy unit is a visitor-day on the web (the visitor pseudonym changes every day) and a
person in the CRM, whose budget is charged per month against a yearly cap.
"""

from __future__ import annotations

from privstats.dp.tables import PERSON, VISITOR_DAY, dp_table

__all__ = ["PERSON", "VISITOR_DAY", "dp_table"]
