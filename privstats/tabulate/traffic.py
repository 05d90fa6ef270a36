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
_SEARCH = ("google", "bing", "duckduckgo", "yahoo", "yandex", "baidu", "ecosia", "qwant",
           "seznam", "naver", "startpage", "brave", "onet", "wp")  # fmt: skip
_SOCIAL = ("facebook", "fb", "instagram", "linkedin", "lnkd", "twitter", "t", "x", "reddit",
           "youtube", "pinterest", "tiktok", "wykop", "mastodon", "threads", "vk", "telegram",
           "whatsapp", "bsky")  # fmt: skip


def _glob(patterns: Sequence[str]) -> str:
    """One anchored regular expression matching any of the shell-style ``patterns``."""
    alternatives = (re.escape(p).replace(r"\*", ".*") for p in patterns)
    return "^(?:" + "|".join(alternatives) + ")$"


def resource(config: Config) -> pl.Expr:
    """``page``, ``asset`` or ``api`` from the path template (a missing path is a page)."""
    path = pl.col("path").cast(pl.String)
    settings = config.report
    # API patterns first: "/api/v1/export.json" is a call, not a static file.
    kinds = [(settings.api_patterns, API), (settings.asset_patterns, ASSET)]
    expression = pl.lit(PAGE)
    for patterns, kind in reversed([(p, k) for p, k in kinds if p]):
        expression = (
            pl.when(path.str.contains(_glob(patterns))).then(pl.lit(kind)).otherwise(expression)
        )
    return pl.when(path.is_null()).then(pl.lit(PAGE)).otherwise(expression)


def channel(config: Config) -> pl.Expr:
    """How the visitor came: ``direct`` (no referer), ``internal`` (the service's own domains:
    the referer kind stored at ingest, or ``[anonymise] site_domains`` as configured today),
    ``search``, ``social``, ``referral`` (any other site) or ``unknown`` (a referer without a
    readable domain)."""
    kind = pl.col("referer_kind").cast(pl.String)
    domain = pl.col("referer_domain").cast(pl.String)
    label = domain.str.split(".").list.first()
    own = domain.is_in(list(config.anonymise.site_domains))
    return (
        pl.when(kind == "none").then(pl.lit(DIRECT))
        .when((kind == "internal") | own).then(pl.lit(INTERNAL))
        .when(domain.is_null()).then(pl.lit(UNKNOWN))
        .when(label.is_in(list(_SEARCH))).then(pl.lit(SEARCH))
        .when(label.is_in(list(_SOCIAL))).then(pl.lit(SOCIAL))
        .otherwise(pl.lit(REFERRAL))
    )  # fmt: skip


def entry(config: Config, day: pl.Expr) -> pl.Expr:
    """True on the first page view of each visitor's (local) day: its entry page."""
    page = resource(config) == PAGE
    first = pl.col("ts").filter(page).min().over("key_period", "visitor", day)
    return page & (pl.col("ts") == first)
