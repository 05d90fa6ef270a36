"""Client address -> a coarse network (never the address); host names -> nothing."""

from __future__ import annotations

import ipaddress
from functools import lru_cache

import pyarrow as pa
import pyarrow.compute as pc

_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = rf"^(?P<a>{_OCTET})\.(?P<b>{_OCTET})\.(?P<c>{_OCTET})\.(?P<d>{_OCTET})$"


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


def coarse_networks(clients: pa.Array, ipv4_prefix: int, ipv6_prefix: int) -> pa.Array:
    """``coarse_network`` of every client, IPv4 dotted quads read in bulk (an ingest meets
    a hundred thousand distinct clients per two million lines); the rest one by one."""
    texts = clients.cast(pa.string())
    out: pa.Array = pa.nulls(len(texts), pa.string())
    if ipv4_prefix % 8 == 0:
        parts = pc.extract_regex(texts, _IPV4)
        kept = ipv4_prefix // 8
        octets = [pc.struct_field(parts, name) if i < kept else pa.scalar("0")
                  for i, name in enumerate("abcd")]  # fmt: skip
        out = pc.binary_join_element_wise(*octets, ".")
        out = pc.binary_join_element_wise(out, pa.scalar(str(ipv4_prefix)), "/")
    missing = pc.and_(pc.is_null(out), pc.is_valid(texts))
    rest = pc.indices_nonzero(missing).to_numpy()
    if len(rest):
        values = out.to_pylist()
        for i, text in zip(rest.tolist(), texts.take(pa.array(rest)).to_pylist(), strict=True):
            values[i] = coarse_network(text, ipv4_prefix, ipv6_prefix)
        out = pa.array(values, pa.string())
    return out


def learning_networks(clients: pa.Array) -> pa.Array:
    """``learning_network`` of every client (in bulk for addresses)."""
    networks = coarse_networks(clients, 16, 32)
    missing = pc.indices_nonzero(pc.is_null(networks)).to_numpy()
    if not len(missing):
        return networks
    values = networks.to_pylist()
    texts = clients.cast(pa.string()).to_pylist()
    for i in missing.tolist():
        values[i] = learning_network(texts[i]) if texts[i] is not None else ""
    return pa.array(values, pa.string())
