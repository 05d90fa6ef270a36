"""Client networks: read in bulk exactly as one by one, never the address itself."""

from __future__ import annotations

import ipaddress

import pyarrow as pa
from hypothesis import given
from hypothesis import strategies as st

from privstats.anonymise.networks import (
    coarse_network,
    coarse_networks,
    learning_network,
    learning_networks,
)

clients = st.one_of(
    st.ip_addresses(v=4).map(str),
    st.ip_addresses(v=6).map(str),
    st.from_regex(r"\A[0-9]{1,4}(\.[0-9]{1,4}){2,4}\Z"),  # near-misses of a dotted quad
    st.text(max_size=20),
    st.none(),
)


@given(st.lists(clients, max_size=30), st.sampled_from([8, 16, 24, 12]))
def test_networks_in_bulk_are_the_networks_one_by_one(values: list, prefix: int) -> None:
    bulk = coarse_networks(pa.array(values, pa.string()), prefix, 32).to_pylist()
    assert bulk == [coarse_network(v, prefix, 32) if v else None for v in values]
    learned = learning_networks(pa.array(values, pa.string())).to_pylist()
    assert learned == [learning_network(v) if v is not None else "" for v in values]


def test_a_network_keeps_no_more_of_the_address_than_its_prefix() -> None:
    assert coarse_network("203.0.113.216", 16, 32) == "203.0.0.0/16"
    network = ipaddress.ip_network(coarse_network("2001:db8:1234::99", 16, 32))
    assert network.prefixlen == 32 and "1234" not in str(network)
    assert learning_network("crawl-66-249-66-1.googlebot.com") == "googlebot.com"
