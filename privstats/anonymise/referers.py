"""Referer -> registrable domain and whether it is internal, external or absent.

Everything after the host (path, query string, the search terms and e-mail addresses
people paste into them) is dropped. The public-suffix data is the one bundled with the package
(``privstats.suffixes``): nothing is fetched at run time.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from privstats._lazy import LazyModule
from privstats.anonymise import _kernels
from privstats.anonymise.columns import label_ids
from privstats.anonymise.escapes import normal_host
from privstats.anonymise.shapes import arrow_strings
from privstats.suffixes import split_domain

if TYPE_CHECKING:
    import polars as pl
else:
    pl = LazyModule("polars")


class RefererKind:
    NONE = "none"
    INTERNAL = "internal"
    EXTERNAL = "external"
    UNKNOWN = "unknown"


_HOST = r"^(?i:https?)://(?:[^@/?#]*@)?([^/:?#\[\]]+)"


@lru_cache(maxsize=100_000)
def registrable_domain(host: str) -> str | None:
    """'www.google.co.uk' -> 'google.co.uk'; IP literals and bare names -> None. A host
    spelt in IDNA's ASCII labels or with escapes names the domain in letters ('gęś.pl')."""
    host = normal_host(host)
    try:
        ipaddress.ip_address(host)
        return None
    except ValueError:
        pass
    return split_domain(host)[1] or None


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


_KINDS = (RefererKind.NONE, RefererKind.UNKNOWN, RefererKind.INTERNAL, RefererKind.EXTERNAL)


def classify_referer_ids(
    referers: pa.Array, site_domains: frozenset[str]
) -> tuple[np.ndarray, pa.Array, np.ndarray, pa.Array]:
    """``classify_referer_values`` as ids: each value's registrable domain (-1: null) into
    distinct domains, and its kind into the kinds.

    Hosts are found by a pass in C (``_kernels.host_kernel``) over the values it can vouch for
    (printable ASCII up to the host's end, where ``_HOST`` reads byte by byte: a search term
    after it may be Polish); the others go through the regex.
    Each distinct host is then looked up once.
    """
    texts = referers.cast(pa.string())
    hosts = _hosts(texts)
    encoded = pc.dictionary_encode(hosts)
    host_of_value = np.asarray(
        encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False), dtype=np.int64
    )
    domains = pa.array([registrable_domain(h) for h in encoded.dictionary.to_pylist()], pa.string())
    domain_of_host, distinct = label_ids(domains)
    sites = np.array([d in site_domains for d in distinct.to_pylist()], dtype=bool)
    # -1 (a host without a domain, a value without a host) reads the appended: no domain, an
    # unknown kind.
    kind_of_host = np.append(np.where(sites, 2, 3), 1)[domain_of_host]
    domain = np.append(domain_of_host, -1)[host_of_value]
    kind = np.append(kind_of_host, 1)[host_of_value]
    absent = pc.or_(pc.is_null(texts), pc.fill_null(pc.is_in(texts, pa.array(["-", ""])), False))
    kind[np.asarray(absent.to_numpy(zero_copy_only=False), dtype=bool)] = 0
    return domain, distinct, kind, pa.array(_KINDS, pa.string())


def _hosts(texts: pa.Array) -> pa.Array:
    """Each referer's host as ``_HOST`` finds it, lower-cased (null where it finds none)."""
    offsets, data, valid = arrow_strings(texts)
    n = len(valid)
    # Hosts of referers printable ASCII up to the host's end, lower-cased; a host is part of
    # its text, so the texts' bytes bound the hosts'.
    host_offsets = np.empty(n + 1, dtype=np.int64)
    host_bytes = np.empty(max(int(offsets[n] - offsets[0]), 1), dtype=np.uint8)
    found = np.empty(n, dtype=bool)
    vouched = np.empty(n, dtype=bool)
    size = _kernels.host_kernel(offsets, data, valid, host_offsets, host_bytes, found, vouched)
    hosts = pa.Array.from_buffers(
        pa.string(),
        len(texts),
        [
            pa.py_buffer(np.packbits(found, bitorder="little")),
            pa.py_buffer(host_offsets.astype(np.int32)),
            pa.py_buffer(host_bytes[:size]),
        ],
    )
    if vouched.all():
        return hosts
    rest = np.flatnonzero(~vouched)
    # pyarrow is untyped: polars cannot tell from_arrow's Series overload from its frame one.
    slow = pl.from_arrow(texts.take(pa.array(rest))).str.extract(_HOST, 1).str.to_lowercase()  # type: ignore[union-attr]
    return pl.from_arrow(hosts).scatter(rest, slow).to_arrow()  # type: ignore[union-attr]
