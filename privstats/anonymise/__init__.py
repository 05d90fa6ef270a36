"""Anonymisation at the door: parsed log rows in, store rows out, no identifier across.

Every identifying column of a parsed block is replaced here, each distinct value once:
client and user agent -> keyed visitor pseudonym (plus, if configured, a coarse network);
user agent -> families; URL -> path template; referer -> registrable domain; login ->
dropped or a person pseudonym. The raw columns are not in the output schema at all.
"""

from __future__ import annotations

import polars as pl
import pyarrow as pa

from privstats.anonymise.networks import coarse_network
from privstats.anonymise.pseudonyms import (
    period_format,
    person_pseudonyms,
    visitor_pseudonyms,
)
from privstats.anonymise.referers import classify_referers
from privstats.anonymise.urls import PathTemplater, strip_target
from privstats.anonymise.useragents import classify
from privstats.config import Config, LoginPolicy
from privstats.key import SecretKey
from privstats.schema import ACCESS

__all__ = ["AccessAnonymiser", "person_pseudonyms", "visitor_pseudonyms"]


class AccessAnonymiser:
    """Turns parsed access-log blocks into rows of the store's ``access`` table."""

    def __init__(
        self,
        config: Config,
        key: SecretKey,
        learned_words: frozenset[str] = frozenset(),
        erased_persons: frozenset[int] = frozenset(),
    ) -> None:
        self.config = config
        self.key = key
        self.paths = PathTemplater(config.anonymise, learned_words)
        self.erased = erased_persons
        self._site_domains = frozenset(d.lower() for d in config.anonymise.site_domains)

    def apply(self, parsed: pl.DataFrame) -> tuple[pa.Table, list[int]]:
        """Store rows for ``parsed``, and the line numbers dropped because a person was erased."""
        fmt = period_format(self.config.key.rotation)
        periods = pl.col("ts").dt.strftime(fmt) if fmt else pl.lit("-")
        frame = parsed.with_columns(key_period=periods)
        frame = frame.with_columns(
            visitor=self._visitors(frame),
            person=self._persons(frame),
            **self._agents(frame),
            path=self.paths.template(
                frame.select(strip_target(pl.col("target")))["target"], frame["client"]
            ),
            network=self._networks(frame),
        )
        frame = frame.with_columns(
            path=pl.when(pl.col("target").is_null()).then(None).otherwise(pl.col("path"))
        )
        domain, kind = classify_referers(frame["referer"], self._site_domains)
        frame = frame.with_columns(referer_domain=domain, referer_kind=kind)
        dropped: list[int] = []
        if self.erased:
            erased = pl.col("person").is_in(list(self.erased))
            dropped = frame.filter(erased)["line"].to_list()
            frame = frame.filter(~erased.fill_null(False))
        table = frame.select(ACCESS.names).to_arrow()
        return table.cast(ACCESS), dropped

    def _visitors(self, frame: pl.DataFrame) -> pl.Series:
        triples = frame.select("key_period", "client", "user_agent").unique()
        ids = visitor_pseudonyms(
            self.key,
            triples["key_period"].to_list(),
            triples["client"].to_list(),
            triples["user_agent"].to_list(),
        )
        mapping = triples.with_columns(visitor=pl.Series(ids, dtype=pl.Int64))
        joined = frame.select("key_period", "client", "user_agent").join(
            mapping,
            on=["key_period", "client", "user_agent"],
            how="left",
            maintain_order="left",
            nulls_equal=True,
        )
        return joined["visitor"]

    def _persons(self, frame: pl.DataFrame) -> pl.Series:
        if self.config.anonymise.login is not LoginPolicy.PERSON:
            return pl.Series("person", [None] * frame.height, dtype=pl.Int64)
        logins = frame["login"].unique().drop_nulls()
        mapping = pl.DataFrame(
            {"login": logins, "person": person_pseudonyms(self.key, logins.to_list())},
            schema={"login": pl.String, "person": pl.Int64},
        )
        return frame.select("login").join(mapping, on="login", how="left", maintain_order="left")[
            "person"
        ]

    def _agents(self, frame: pl.DataFrame) -> dict[str, pl.Series]:
        agents = frame["user_agent"].unique()
        classes = [classify(agent) for agent in agents.to_list()]
        mapping = pl.DataFrame(
            {
                "user_agent": agents,
                "browser": [c.browser for c in classes],
                "browser_major": [c.browser_major for c in classes],
                "os": [c.os for c in classes],
                "device": [c.device for c in classes],
                "is_bot": [c.is_bot for c in classes],
            },
            schema_overrides={"browser_major": pl.String},
        )
        joined = frame.select("user_agent").join(
            mapping, on="user_agent", how="left", maintain_order="left", nulls_equal=True
        )
        return {name: joined[name] for name in mapping.columns[1:]}

    def _networks(self, frame: pl.DataFrame) -> pl.Series:
        settings = self.config.anonymise
        if not settings.network:
            return pl.Series("network", [None] * frame.height, dtype=pl.String)
        clients = frame["client"].unique()
        nets = [coarse_network(c, settings.ipv4_prefix, settings.ipv6_prefix) for c in clients]
        mapping = pl.DataFrame(
            {"client": clients, "network": nets}, schema={"client": pl.String, "network": pl.String}
        )
        return frame.select("client").join(mapping, on="client", how="left", maintain_order="left")[
            "network"
        ]
