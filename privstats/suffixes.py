"""The public-suffix list: where a registrable domain starts ('google.co.uk', not 'co.uk').

The list is the copy bundled in the ``publicsuffixlist`` package (updated with each of its
releases), ICANN section only: privately run suffixes such as 'blogspot.com' or
'github.io' stay domains, so a referer from one counts under its owner's name. Nothing is
fetched at run time, and a name under a suffix the list does not know has no registrable
domain (an internal name like 'intranet.local').
"""

from __future__ import annotations

from functools import cache

from publicsuffixlist import PublicSuffixList


@cache
def _suffix_list() -> PublicSuffixList:
    # Built on first use (a twentieth of a second), not at import.
    return PublicSuffixList(only_icann=True, accept_unknown=False)


def split_domain(name: str) -> tuple[str, str, str]:
    """A lower-case host name as (subdomain, registrable domain, public suffix); the parts
    not found are ''. 'a.b.example.co.uk' -> ('a.b', 'example.co.uk', 'co.uk')."""
    suffixes = _suffix_list()
    suffix = suffixes.publicsuffix(name) or ""
    domain = suffixes.privatesuffix(name) or ""
    subdomain = name[: -len(domain) - 1] if domain and name.endswith("." + domain) else ""
    return subdomain, domain, suffix
