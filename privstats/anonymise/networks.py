"""Client address -> a coarse network (never the address); host names -> nothing."""

from __future__ import annotations

import ipaddress
from functools import lru_cache


@lru_cache(maxsize=500_000)
def coarse_network(client: str, ipv4_prefix: int, ipv6_prefix: int) -> str | None:
    """'203.0.113.216' -> '203.0.0.0/16'; a host name or garbage -> None."""
    try:
        address = ipaddress.ip_address(client.strip("[]"))
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    prefix = ipv4_prefix if address.version == 4 else ipv6_prefix
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))
