"""Declared schemas of the store's tables.

Nothing identifying has a column here: the visitor is a keyed pseudonym, the client address at
most a coarse network, the URL a path template, the referer a registrable domain, the user agent
a handful of families.
"""

from __future__ import annotations

import pyarrow as pa

from privstats.sources import crm_schema

_dict = pa.dictionary(pa.int32(), pa.string())

ACCESS = pa.schema(
    [
        pa.field("ts", pa.timestamp("us", tz="UTC"), nullable=False),
        # Label of the key period the visitor pseudonym belongs to ("2026-10-01", "2026-10",
        # "-"): a person count across periods must not add pseudonyms of different periods.
        pa.field("key_period", _dict, nullable=False),
        pa.field("visitor", pa.int64(), nullable=False),
        pa.field("person", pa.int64()),
        pa.field("site", _dict),
        pa.field("method", _dict),
        pa.field("path", _dict),
        pa.field("protocol", _dict),
        pa.field("status", pa.int16(), nullable=False),
        pa.field("bytes", pa.int64()),
        pa.field("response_us", pa.int64()),
        pa.field("browser", _dict, nullable=False),
        pa.field("browser_major", _dict),
        pa.field("os", _dict, nullable=False),
        pa.field("device", _dict, nullable=False),
        pa.field("is_bot", pa.bool_(), nullable=False),
        pa.field("referer_domain", _dict),
        pa.field("referer_kind", _dict, nullable=False),
        pa.field("network", _dict),
    ],
    metadata={"privstats.table": "access", "privstats.schema_version": "1"},
)

TABLES: dict[str, pa.Schema] = {"access": ACCESS, **crm_schema.STORE_TABLES}

# The columns a person-level threshold counts distinct values of, per table: a key period and
# the pseudonym within it. CRM person pseudonyms never rotate: one period for all time.
PERSON_KEYS: dict[str, tuple[str, ...]] = {
    "access": ("key_period", "visitor"),
    **{table: ("-", *keys) for table, keys in crm_schema.PERSON_KEYS.items()},
}
