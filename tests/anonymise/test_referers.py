from __future__ import annotations

import polars as pl

from privstats.anonymise.referers import RefererKind, classify_referers


def test_referers_keep_only_the_registrable_domain() -> None:
    domains, kinds = classify_referers(
        pl.Series(
            [
                "https://www.google.co.uk/search?q=jan+kowalski",
                "https://l.facebook.com/l.php?u=https%3A%2F%2Fx&h=AT0",
                "https://app.crm.example.com/crm/contacts/4",
                "http://user:pw@83.149.9.216:8080/x",
                "-",
                None,
                "android-app://com.google.android.gm",
            ]
        ),
        frozenset({"example.com"}),
    )
    assert domains.to_list() == [
        "google.co.uk", "facebook.com", "example.com", None, None, None, None,
    ]  # fmt: skip
    assert kinds.to_list() == [
        RefererKind.EXTERNAL, RefererKind.EXTERNAL, RefererKind.INTERNAL, RefererKind.UNKNOWN,
        RefererKind.NONE, RefererKind.NONE, RefererKind.UNKNOWN,
    ]  # fmt: skip
