"""URL -> path template: the query string goes, identifying segments become placeholders.

Numbers, UUIDs, hex or random tokens and e-mail addresses are recognised by shape. Names are
not recognisable by shape (``/u/jan-kowalski``), so a segment is kept only when it is a known
route word, or once enough distinct clients asked for it to be public vocabulary (a blog post
read by many); anything rarer becomes ``:slug``. Configured routes (``/u/:user``) replace their
segment whoever asked.
"""

from __future__ import annotations

import re

import polars as pl

from privstats.config import AnonymiseConfig

SLUG = ":slug"
# Marks placeholders while templating; a raw URL cannot contain it, so a raw ":x" segment is
# still treated as a candidate slug rather than trusted as a placeholder.
_MARK = "\x01"
_UUID = r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$"
# Tracks candidate segments below the client threshold; beyond it, new candidates stay :slug.
_MAX_TRACKED = 2_000_000


def strip_target(targets: pl.Expr) -> pl.Expr:
    """Request target -> path: drop scheme and host of absolute forms, query and fragment."""
    return targets.str.replace(r"^[A-Za-z][A-Za-z0-9+.\-]*://[^/]*", "").str.replace(r"[?#].*$", "")


class PathTemplater:
    """Turns request paths into templates; remembers vocabulary across batches of one ingest."""

    def __init__(self, config: AnonymiseConfig, learned: set[str] | frozenset[str] = frozenset()):
        self.min_clients = config.min_segment_clients
        self.words: set[str] = set(config.route_words) | set(learned)
        self.learned: set[str] = set()
        self._pending: dict[str, set[int]] = {}
        self._routes = [_route_regex(route) for route in config.routes]

    def template(self, paths: pl.Series, clients: pl.Series) -> pl.Series:
        """Per row, the template of ``paths[i]`` requested by ``clients[i]``."""
        frame = pl.DataFrame({"path": paths, "client": clients.hash(seed=7)})
        distinct = frame.select(pl.col("path").unique()).with_row_index("pid")
        routed = pl.col("path")
        for pattern, replacement in self._routes:
            routed = routed.str.replace(pattern, replacement)
        segments = (
            distinct.with_columns(seg=routed.str.split("/"))
            .explode("seg")
            .with_columns(seg=_shape(pl.col("seg")))
        )
        candidate = ~(pl.col("seg").str.starts_with(_MARK) | (pl.col("seg") == ""))
        self._learn(
            segments.filter(candidate & ~pl.col("seg").is_in(list(self.words))),
            frame.unique().join(distinct, on="path"),
        )
        words = list(self.words)
        templated = (
            segments.with_columns(
                seg=pl.when(candidate & ~pl.col("seg").is_in(words))
                .then(pl.lit(SLUG))
                .otherwise(pl.col("seg").str.replace(_MARK, ":", literal=True))
            )
            .group_by("pid", maintain_order=True)
            .agg(pl.col("seg").str.join("/").alias("template"))
        )
        mapping = distinct.join(templated, on="pid").select("path", "template")
        out = frame.select("path").join(mapping, on="path", how="left", maintain_order="left")
        return out["template"].fill_null("/")

    def _learn(self, candidates: pl.DataFrame, path_clients: pl.DataFrame) -> None:
        if candidates.is_empty():
            return
        seen = (
            candidates.select("pid", "seg")
            .unique()
            .join(path_clients.select("pid", "client"), on="pid")
            .select("seg", "client")
            .unique()
            .group_by("seg")
            .agg(pl.col("client"))
        )
        for seg, new_clients in seen.iter_rows():
            clients = self._pending.get(seg)
            if clients is None:
                if len(self._pending) >= _MAX_TRACKED:
                    continue
                clients = self._pending[seg] = set()
            clients.update(new_clients[: self.min_clients])
            if len(clients) >= self.min_clients:
                self.words.add(seg)
                self.learned.add(seg)
                del self._pending[seg]


def _shape(seg: pl.Expr) -> pl.Expr:
    """Replace segments whose shape alone marks them as identifiers."""
    # Random tokens switch between letters and digits often; words-with-a-year do not.
    switches = seg.str.count_matches(r"[A-Za-z][0-9]|[0-9][A-Za-z]")
    return (
        pl.when(seg.str.contains(r"(?i)@|%40"))
        .then(pl.lit(_MARK + "email"))
        .when(seg.str.contains(_UUID))
        .then(pl.lit(_MARK + "uuid"))
        .when(seg.str.contains(r"^[0-9]+$"))
        .then(pl.lit(_MARK + "id"))
        .when(seg.str.contains(r"^[0-9a-fA-F]{16,}$"))
        .then(pl.lit(_MARK + "token"))
        .when(seg.str.contains(r"^[A-Za-z0-9_\-]{16,}$") & (switches >= 4))
        .then(pl.lit(_MARK + "token"))
        .otherwise(seg)
    )


def _route_regex(route: str) -> tuple[str, str]:
    """'/u/:user' -> (regex matching '/u/<anything>', replacement '/u/<mark>user')."""
    pattern, replacement = ["^"], []
    for i, part in enumerate(route.strip("/").split("/")):
        group = f"(?P<g{i}>/)"
        if part.startswith(":"):
            pattern.append(group + "[^/]+")
            replacement.append(f"${{g{i}}}" + _MARK + part[1:])
        else:
            pattern.append(group + re.escape(part))
            replacement.append(f"${{g{i}}}" + part)
    return "".join(pattern) + "(?P<end>/|$)", "".join(replacement) + "${end}"
