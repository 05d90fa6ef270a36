"""URL -> path template: the query string goes, identifying segments become placeholders.

Numbers, UUIDs, hex or random tokens and e-mail addresses are recognised by shape. Names are
not recognisable by shape (``/u/jan-kowalski``), so a segment is kept only when it is a known
route word, or once enough distinct clients asked for it to be public vocabulary (a blog post
read by many); anything rarer becomes ``:slug``. Configured routes (``/u/:user``) replace their
segment whoever asked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

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
        self.routes = tuple(config.routes)
        self._routes = [_route_regex(route) for route in config.routes]

    def template(self, paths: pl.Series, clients: pl.Series) -> pl.Series:
        """Per row, the template of ``paths[i]`` requested by ``clients[i]``."""
        frame = pl.DataFrame({"path": paths, "client": clients.hash(seed=7)})
        distinct = frame.select(pl.col("path").unique()).with_row_index("pid")
        pairs = frame.unique().join(distinct, on="path").select("pid", "client")
        templates = self.template_distinct(distinct["path"], pairs)
        mapping = distinct.with_columns(template=templates).select("path", "template")
        out = frame.select("path").join(mapping, on="path", how="left", maintain_order="left")
        return out["template"].fill_null("/")

    def template_distinct(self, paths: pl.Series, pairs: pl.DataFrame) -> pl.Series:
        """Templates of distinct ``paths``, learning from who asked for them first.

        ``pairs`` holds the distinct (``pid``: index into ``paths``, ``client``: a hash of the
        client) pairs of this batch; a segment becomes vocabulary once enough distinct clients
        asked for paths containing it, and the batch is templated with what was learned.
        """
        distinct = pl.DataFrame({"path": paths}).with_row_index("pid")
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
            pairs.with_columns(pl.col("pid").cast(pl.get_index_type())),
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
        out = distinct.select("pid").join(templated, on="pid", how="left", maintain_order="left")
        return out["template"]

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


# Shape classes of a segment, in the order ``_shape`` tries them; 0 is "no shape".
_EMAIL, _UUID_CLASS, _ID, _HEX, _TOKEN = 1, 2, 3, 4, 5
_SWITCH = re.compile(r"[A-Za-z][0-9]|[0-9][A-Za-z]")
# Per byte, four 16-bit counters packed in one integer: digit, hex digit, [A-Za-z0-9_-], hyphen.
# One running sum then counts all four in every segment (a segment is shorter than 2**16).
_DIGIT, _HEXDIGIT, _WORDISH, _HYPHEN = 0, 16, 32, 48
_COUNTERS = np.zeros(256, dtype=np.uint64)
for _byte in range(256):
    _char = chr(_byte)
    _bits = 0
    if _char.isascii() and _char.isdigit():
        _bits |= 1 << _DIGIT
    if _char in "0123456789abcdefABCDEF":
        _bits |= 1 << _HEXDIGIT
    if (_char.isascii() and _char.isalnum()) or _char in "_-":
        _bits |= 1 << _WORDISH
    if _char == "-":
        _bits |= 1 << _HYPHEN
    _COUNTERS[_byte] = _bits


@dataclass(frozen=True)
class PathShapes:
    """Distinct request targets grouped by shape: members of a group template alike."""

    group: np.ndarray  # group of each target value, -1 for a null or unused one
    paths: list[str]  # one member's path (target without host, query, fragment) per group


def path_shapes(
    targets: pa.Array, used: np.ndarray, routes: tuple[str, ...] = ()
) -> PathShapes | None:
    """Group targets whose paths differ only inside segments ``_shape`` replaces.

    Two such paths get the same template and teach the same vocabulary: every segment that
    survives ``_shape`` is the same in both, and so are the places routes mark. A block's
    50,000 distinct paths with ids in them become a few thousand groups, and the segment rules
    run once per group. Shapes are found with numpy over the paths' bytes. None when grouping
    cannot be used: a route names a segment that has a shape, or a path holds control bytes
    that could be mistaken for the class marks.
    """
    if any(_segment_class(part) for route in routes for part in route.strip("/").split("/")):
        return None
    frame = pl.DataFrame({"target": pl.from_arrow(targets.cast(pa.string()))})
    paths = frame.select(strip_target(pl.col("target"))).to_series().to_arrow()
    paths = paths.cast(pa.large_string())
    present = used & ~np.asarray(paths.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    group = np.full(len(paths), -1, dtype=np.int64)
    if not present.any():
        return PathShapes(group, [])
    offsets = np.frombuffer(paths.buffers()[1], dtype=np.int64)[
        paths.offset : paths.offset + len(paths) + 1
    ]
    data = np.frombuffer(paths.buffers()[2], dtype=np.uint8)[offsets[0] : offsets[-1]]
    keys = _collapsed(data, offsets - offsets[0])
    if keys is None:
        return None
    take = np.flatnonzero(present)
    encoded = pc.dictionary_encode(keys.take(pa.array(take)))
    members = np.asarray(encoded.indices.to_numpy(), dtype=np.int64)
    group[take] = members
    first = np.full(len(encoded.dictionary), len(take), dtype=np.int64)
    np.minimum.at(first, members, np.arange(len(take)))
    return PathShapes(group, paths.take(pa.array(take[first])).to_pylist())


def _collapsed(data: np.ndarray, offsets: np.ndarray) -> pa.Array | None:
    """Each path with every shaped segment replaced by one byte naming its class."""
    size_all = len(data)
    starts = offsets[:-1][np.diff(offsets) > 0]
    slash = data == 47
    opens = np.zeros(size_all, dtype=bool)  # a segment may start here
    opens[1:] = slash[:-1]
    opens[starts] = True
    closes = np.zeros(size_all, dtype=bool)  # a segment may end here
    closes[:-1] = slash[1:]
    closes[starts[starts > 0] - 1] = True
    if size_all:
        opens[0] = closes[-1] = True
    first = np.flatnonzero(opens & ~slash)
    last = np.flatnonzero(closes & ~slash)
    size = last - first + 1
    if len(size) and size.max() >= 1 << 16:
        return None
    packed = np.take(_COUNTERS, data)
    running = np.cumsum(packed)
    counts = running[last] - running[first] + packed[first]

    def counter(shift: int) -> np.ndarray:
        return ((counts >> np.uint64(shift)) & np.uint64(0xFFFF)).astype(np.int64)

    n_hex, n_hyphen = counter(_HEXDIGIT), counter(_HYPHEN)
    email = np.zeros(len(first), dtype=bool)
    at = np.flatnonzero(data == 64)
    percent = np.flatnonzero(data[:-2] == 37) if size_all > 2 else np.zeros(0, dtype=np.int64)
    percent = percent[(data[percent + 1] == 52) & (data[percent + 2] == 48)]
    for found, width in ((at, 1), (percent, 3)):
        segment = np.searchsorted(first, found, side="right") - 1
        inside = (segment >= 0) & (found + width - 1 <= last[np.maximum(segment, 0)])
        email[segment[inside]] = True
    uuid = (n_hex == 32) & (n_hex + n_hyphen == size)
    if uuid.any():
        # Hyphens only after the 8th, 12th, 16th and 20th hex digit, never two in a row.
        hyphens = np.flatnonzero(data == 45)
        segment = np.searchsorted(first, hyphens, side="right") - 1
        chosen = (segment >= 0) & uuid[np.maximum(segment, 0)]
        hyphens, segment = hyphens[chosen], segment[chosen]
        base = running[first[segment]] - packed[first[segment]]
        before = ((running[hyphens] - base) >> np.uint64(_HEXDIGIT)) & np.uint64(0xFFFF)
        wrong = ~np.isin(before.astype(np.int64), (8, 12, 16, 20))
        wrong[1:] |= (hyphens[1:] == hyphens[:-1] + 1) & (segment[1:] == segment[:-1])
        uuid[segment[wrong]] = False
    ident = counter(_DIGIT) == size
    hexlike = (n_hex == size) & (size >= 16)
    shape = np.select([email, uuid, ident, hexlike], [_EMAIL, _UUID_CLASS, _ID, _HEX], 0)
    maybe_token = (shape == 0) & (size >= 16) & (counter(_WORDISH) == size)
    for i in np.flatnonzero(maybe_token):
        text = data[first[i] : last[i] + 1].tobytes().decode("ascii")
        if len(_SWITCH.findall(text)) >= 4:
            shape[i] = _TOKEN
    shaped = np.flatnonzero(shape)
    # Drop each shaped segment but its first byte, which becomes the class mark. Ranges of
    # different segments are disjoint, so the start and end marks never collide.
    longer = shaped[size[shaped] > 1]
    change = np.zeros(size_all + 1, dtype=np.int32)
    change[first[longer] + 1] = 1
    change[last[longer] + 1] = -1
    keep = np.cumsum(change[:-1], dtype=np.int32) == 0
    if (data[keep] < 8).any():
        return None  # a raw control byte could pass for a class mark
    marked = data.copy()
    marked[first[shaped]] = shape[shaped]
    kept = np.zeros(size_all + 1, dtype=np.int32)
    np.cumsum(keep, dtype=np.int32, out=kept[1:])
    return _binary(marked[keep], kept[offsets].astype(np.int64))


def _binary(data: np.ndarray, offsets: np.ndarray) -> pa.Array:
    return pa.LargeBinaryArray.from_buffers(
        pa.large_binary(),
        len(offsets) - 1,
        [None, pa.py_buffer(np.ascontiguousarray(offsets)), pa.py_buffer(data)],
    )


def _segment_class(segment: str) -> int:
    """Whether ``_shape`` gives this one segment a placeholder (0: it does not)."""
    shaped = pl.select(_shape(pl.lit(segment, pl.String))).item()
    return 1 if shaped.startswith(_MARK) else 0
