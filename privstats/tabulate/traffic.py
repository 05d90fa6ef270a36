"""What web analytics calls a request: a page view, a static file or an API call; which channel
brought its visitor; whether it opened the visitor's day (an entry page).

These are derived dimensions of the access table, computed from stored columns when a query
asks for them, so that a store ingested before a setting changed is classified by today's
settings. Channels come from the referer's registrable domain only: query strings and campaign
tags (``utm_*``) never reach the store, so a campaign view is impossible by design.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from privstats.config import Config

# Resource kinds and channels, as the engine codes them (a report translates them).
PAGE, ASSET, API = "page", "asset", "api"
DIRECT, INTERNAL, SEARCH, SOCIAL, REFERRAL, UNKNOWN = (
    "direct", "internal", "search", "social", "referral", "unknown",
)  # fmt: skip
CHANNELS = (DIRECT, SEARCH, SOCIAL, REFERRAL, INTERNAL, UNKNOWN)
RESOURCES = (PAGE, API, ASSET)

# Registrable domains' first label of search engines and social networks (google.pl and
# google.com alike). A short fixed list: a site that is neither is a referral, never guessed.
SEARCH_LABELS = ("google", "bing", "duckduckgo", "yahoo", "yandex", "baidu", "ecosia", "qwant",
           "seznam", "naver", "startpage", "brave", "onet", "wp")  # fmt: skip
SOCIAL_LABELS = ("facebook", "fb", "instagram", "linkedin", "lnkd", "twitter", "t", "x", "reddit",
           "youtube", "pinterest", "tiktok", "wykop", "mastodon", "threads", "vk", "telegram",
           "whatsapp", "bsky")  # fmt: skip


@dataclass(frozen=True)
class Settings:
    """What classifies requests and referers: ``[report]`` patterns, ``[anonymise]`` domains."""

    asset_patterns: tuple[str, ...] = ()
    api_patterns: tuple[str, ...] = ()
    site_domains: tuple[str, ...] = ()

    @classmethod
    def of(cls, config: Config) -> Settings:
        report = config.report
        return cls(report.asset_patterns, report.api_patterns, config.anonymise.site_domains)

    def resource_rules(self) -> list[tuple[str, str]]:
        """(anchored regular expression, kind) in the order they apply: API patterns first,
        since "/api/v1/export.json" is a call, not a static file."""
        kinds = [(self.api_patterns, API), (self.asset_patterns, ASSET)]
        return [(glob(patterns), kind) for patterns, kind in kinds if patterns]


def glob(patterns: Sequence[str]) -> str:
    """One anchored regular expression matching any of the shell-style ``patterns``."""
    alternatives = (re.escape(p).replace(r"\*", ".*") for p in patterns)
    return "^(?:" + "|".join(alternatives) + ")$"


def resource(settings: Settings) -> pl.Expr:
    """``page``, ``asset`` or ``api`` from the path template (a missing path is a page)."""
    path = pl.col("path").cast(pl.String)
    expression = pl.lit(PAGE)
    for pattern, kind in reversed(settings.resource_rules()):
        expression = pl.when(path.str.contains(pattern)).then(pl.lit(kind)).otherwise(expression)
    return pl.when(path.is_null()).then(pl.lit(PAGE)).otherwise(expression)


def channel(settings: Settings) -> pl.Expr:
    """How the visitor came: ``direct`` (no referer), ``internal`` (the service's own domains:
    the referer kind stored at ingest, or ``[anonymise] site_domains`` as configured today),
    ``search``, ``social``, ``referral`` (any other site) or ``unknown`` (a referer without a
    readable domain)."""
    kind = pl.col("referer_kind").cast(pl.String)
    domain = pl.col("referer_domain").cast(pl.String)
    label = domain.str.split(".").list.first()
    own = domain.is_in(list(settings.site_domains))
    return (
        pl.when(kind == "none").then(pl.lit(DIRECT))
        .when((kind == "internal") | own).then(pl.lit(INTERNAL))
        .when(domain.is_null()).then(pl.lit(UNKNOWN))
        .when(label.is_in(list(SEARCH_LABELS))).then(pl.lit(SEARCH))
        .when(label.is_in(list(SOCIAL_LABELS))).then(pl.lit(SOCIAL))
        .otherwise(pl.lit(REFERRAL))
    )  # fmt: skip


def entry(settings: Settings, day: pl.Expr) -> pl.Expr:
    """True on the first page view of each visitor's (local) day: its entry page."""
    page = resource(settings) == PAGE
    first = pl.col("ts").filter(page).min().over("key_period", "visitor", day)
    return page & (pl.col("ts") == first)
