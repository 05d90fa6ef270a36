"""Host -> registrable domain, by the public-suffix list tldextract bundles (nothing is
fetched at run time).

Light on purpose: the look-up worker process (``lookups``) imports it, and tldextract, which
brings requests with it (a sixth of a second), loads at the first look-up.
"""

from __future__ import annotations

import ipaddress
from functools import cache, lru_cache
from typing import Any


@cache
def _extractor() -> Any:
    import tldextract

    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


@lru_cache(maxsize=100_000)
def registrable_domain(host: str) -> str | None:
    """'www.google.co.uk' -> 'google.co.uk'; IP literals and bare names -> None."""
    try:
        ipaddress.ip_address(host)
        return None
    except ValueError:
        pass
    domain = _extractor()(host).top_domain_under_public_suffix
    return domain or None
