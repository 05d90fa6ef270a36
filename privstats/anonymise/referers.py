"""Referer -> registrable domain and whether it is internal, external or absent.

Everything after the host (path, query string, the search terms and e-mail addresses
people paste into them) is dropped. The public-suffix data is tldextract's bundled snapshot:
nothing is fetched at run time.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

import polars as pl
import tldextract


class RefererKind:
    NONE = "none"
    INTERNAL = "internal"
    EXTERNAL = "external"
    UNKNOWN = "unknown"


_EXTRACT = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)
_HOST = r"^(?i:https?)://(?:[^@/?#]*@)?([^/:?#\[\]]+)"


@lru_cache(maxsize=100_000)
def registrable_domain(host: str) -> str | None:
    """'www.google.co.uk' -> 'google.co.uk'; IP literals and bare names -> None."""
    try:
        ipaddress.ip_address(host)
        return None
    except ValueError:
        pass
    domain = _EXTRACT(host).top_domain_under_public_suffix
    return domain or None


def classify_referers(
    referers: pl.Series, site_domains: frozenset[str]
) -> tuple[pl.Series, pl.Series]:
    """Per row: (registrable domain or null, kind)."""
    frame = pl.DataFrame({"referer": referers})
    distinct = frame.select(pl.col("referer").unique())
    domain, kind = classify_referer_values(distinct["referer"], site_domains)
    mapping = distinct.with_columns(domain=domain, kind=kind)
    out = frame.join(mapping, on="referer", how="left", maintain_order="left", nulls_equal=True)
    return out["domain"], out["kind"]


def classify_referer_values(
    referers: pl.Series, site_domains: frozenset[str]
) -> tuple[pl.Series, pl.Series]:
    """(registrable domain or null, kind) of each value; call it with distinct values."""
    frame = pl.DataFrame({"referer": referers}).with_columns(
        host=pl.col("referer").str.extract(_HOST, 1).str.to_lowercase()
    )
    hosts = frame["host"].unique().drop_nulls().to_list()
    domains = pl.DataFrame(
        {"host": hosts, "domain": [registrable_domain(h) for h in hosts]},
        schema={"host": pl.String, "domain": pl.String},
    )
    absent = pl.col("referer").is_null() | pl.col("referer").is_in(["-", ""])
    mapping = frame.join(domains, on="host", how="left", maintain_order="left").with_columns(
        kind=pl.when(absent)
        .then(pl.lit(RefererKind.NONE))
        .when(pl.col("domain").is_null())
        .then(pl.lit(RefererKind.UNKNOWN))
        .when(pl.col("domain").is_in(list(site_domains)))
        .then(pl.lit(RefererKind.INTERNAL))
        .otherwise(pl.lit(RefererKind.EXTERNAL))
    )
    return mapping["domain"], mapping["kind"]
