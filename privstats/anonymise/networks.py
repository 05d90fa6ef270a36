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


def learning_network(client: str) -> str:
    """The network a client counts in when path words are learned: an address's coarse
    network (IPv4 /16, IPv6 /32, as stored by default), a host name's last two labels, any
    other text itself. Ten clients of one network teach no word: padding from one cloud
    account or one provider's range is cheap."""
    network = coarse_network(client, 16, 32)
    if network is not None:
        return network
    labels = client.rstrip(".").split(".")
    return ".".join(labels[-2:]) if len(labels) > 1 else client
