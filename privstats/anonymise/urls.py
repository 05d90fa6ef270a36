"""URL -> path template: the query string goes, identifying segments become placeholders.

Numbers, UUIDs, hex or random tokens and e-mail addresses are recognised by shape. Names are
not recognisable by shape (``/u/jan-kowalski``), so a segment is kept only when it is a known
route word, or once enough distinct clients asked for it to be public vocabulary (a blog post
read by many); anything rarer becomes ``:slug``. Configured routes (``/u/:user``) replace their
segment whoever asked. Paths under a private prefix (the application's own pages, ``/crm/``)
teach nothing: a contact's page is opened by many staff, and its name stays a name.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from privstats._lazy import LazyModule
from privstats.anonymise.escapes import normal_path
from privstats.anonymise.networks import learning_network, learning_networks
from privstats.anonymise.shapes import shape_keys, text_hashes
from privstats.config import AnonymiseConfig
from privstats.exceptions import ConfigError
from privstats.sources.parsed import REQUEST, WHITE, Coded

if TYPE_CHECKING:
    import polars as pl
else:
    pl = LazyModule("polars")

SLUG = ":slug"
# Marks placeholders while templating; a raw URL cannot contain it, so a raw ":x" segment is
# still treated as a candidate slug rather than trusted as a placeholder.
_MARK = "\x01"
_UUID = r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$"
# Tracks candidate segments below the client threshold; beyond it, new candidates stay :slug.
_MAX_TRACKED = 2_000_000
# Path shapes whose segments are remembered; beyond, the memory starts afresh.
_SKELETONS = 100_000


_SCHEME_HOST = r"^[A-Za-z][A-Za-z0-9+.\-]*://[^/]*"
_QUERY_TAIL = r"[?#].*$"
_SCHEME_HOST_RE = re.compile(_SCHEME_HOST)
_QUERY_TAIL_RE = re.compile(_QUERY_TAIL)


def strip_target(targets: pl.Expr) -> pl.Expr:
    """Request target -> path: drop scheme and host of absolute forms, query and fragment,
    and spell what is left one way (``escapes.normal_path``)."""
    stripped = targets.str.replace(_SCHEME_HOST, "").str.replace(_QUERY_TAIL, "")
    return stripped.map_elements(normal_path, return_dtype=pl.String)


def _strip_target(target: str | None) -> str | None:
    """``strip_target`` of one text, in Python: what ingest runs, once per group's head.

    Both regexes read alike in Python and polars on a line's text, which holds no newline
    (the only character where ``.`` and ``$`` of the two differ).
    """
    if target is None:
        return None
    # Each regex matches only where its fixed characters are, which most targets lack.
    if "://" in target:
        target = _SCHEME_HOST_RE.sub("", target, count=1)
    if "?" in target or "#" in target:
        target = _QUERY_TAIL_RE.sub("", target, count=1)
    return normal_path(target)


class PathTemplater:
    """Turns request paths into templates; remembers vocabulary across batches of one ingest."""

    def __init__(self, config: AnonymiseConfig, learned: set[str] | frozenset[str] = frozenset()):
        self.min_clients = config.min_segment_clients
        # Never more networks than clients are asked for.
        self.min_networks = min(config.min_segment_networks, config.min_segment_clients)
        self.words: set[str] = set(config.route_words) | set(learned)
        self.learned: set[str] = set()
        # Per word still learning: the clients and the networks that asked for it.
        self._pending: dict[str, tuple[set[int], set[int]]] = {}
        self.routes = tuple(config.routes)
        self._routes = [_route_regex(route) for route in config.routes]
        self._routes_re = [_route_re(route) for route in config.routes]
        self.private = tuple(config.private_prefixes)
        # Paths that differ only in shaped segments share their shape: a prefix naming such a
        # segment would tell them apart.
        if _routes_name_shapes(self.private):
            raise ConfigError(
                "anonymise.private_prefixes: a prefix holds a segment shaped like an identifier "
                "(a number, UUID, token or e-mail); name prefixes by their words"
            )
        # Path shapes, numbered: each one's skeleton (segments after routes and _shape, each
        # with whether it is a candidate word), its candidate words not (yet) vocabulary, and
        # the vocabulary size it was templated with. Flat lists of plain values (tuples of
        # strings the garbage collector stops walking), not an object per shape.
        self._skeleton: list[tuple[tuple[str, bool], ...]] = []
        self._waiting: list[tuple[str, ...]] = []
        self._seen: list[int] = []
        self._teaches: list[bool] = []  # not under a private prefix
        self._skeletons: dict[str, int] = {}  # path shape key -> shape
        # Per shape, as arrays ``requests`` indexes per group: its template's id in
        # ``_templates``, and whether it has waiting words.
        self._templates = _Labels()
        self._template_id = _Grown(np.int64)
        self._unsure = _Grown(np.bool_)
        # The group heads' keys, for request lines (True) and targets (False); per entry, its
        # shape (-1: no path) and its method's and protocol's ids in ``_tokens`` (-1: none).
        self._known = {True: _Known(), False: _Known()}
        self._tokens = _Labels()
        self._shapes_safe = not _routes_name_shapes(self.routes)

    def template(self, paths: pl.Series, clients: pl.Series) -> pl.Series:
        """Per row, the template of ``paths[i]`` requested by ``clients[i]``."""
        networks = clients.map_elements(learning_network, return_dtype=pl.String)
        frame = pl.DataFrame(
            {"path": paths, "client": clients.hash(seed=7), "network": networks.hash(seed=11)}
        )
        distinct = frame.select(pl.col("path").unique()).with_row_index("pid")
        pairs = frame.unique().join(distinct, on="path").select("pid", "client", "network")
        templates = self.template_distinct(distinct["path"], pairs)
        mapping = distinct.with_columns(template=templates).select("path", "template")
        out = frame.select("path").join(mapping, on="path", how="left", maintain_order="left")
        return out["template"].fill_null("/")

    def template_distinct(
        self, paths: pl.Series, pairs: pl.DataFrame | Callable[[np.ndarray], pl.DataFrame]
    ) -> pl.Series:
        """Templates of distinct ``paths``, learning from who asked for them first.

        ``pairs`` holds the distinct (``pid``: index into ``paths``, ``client`` and ``network``:
        hashes of the client and its network) pairs of this batch, or gives them for the pids
        asked (only paths holding a candidate word are asked about); a segment becomes
        vocabulary once enough distinct clients, from enough networks, asked for paths
        containing it, and the batch is templated with what was learned.
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
        candidates = segments.filter(candidate & ~pl.col("seg").is_in(list(self.words)))
        if self.private:
            private = pl.any_horizontal([pl.col("path").str.starts_with(p) for p in self.private])
            candidates = candidates.filter(~private)
        if not candidates.is_empty():
            if callable(pairs):
                pairs = pairs(candidates["pid"].unique().to_numpy())
            self._learn(candidates, pairs.with_columns(pl.col("pid").cast(pl.get_index_type())))
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

    def requests(
        self, texts: pa.Array, codes: np.ndarray, clients: Coded, *, requests: bool
    ) -> RequestTemplates:
        """Templates (and methods, protocols) of a block's request lines or targets, per group.

        The groups are ``path_groups``'s. What a group's head gives (method, protocol, path
        skeleton) is the same for every line of the group's key, so it is remembered by the
        key across the blocks of the ingest, and heads are read only for keys not seen before.
        Learning runs per group, from the clients of the rows (``codes`` into ``texts``,
        ``clients`` one per row) in it: the candidate words of a group are those of each
        member's path, so the vocabulary learned is the one paths would teach.
        """
        self._bound()
        texts = texts.cast(pa.string())
        used = np.zeros(len(texts), dtype=bool)
        used[codes] = True
        take = np.flatnonzero(used)
        keys = _group_keys(texts, take, self.routes, requests=requests)
        encoded = pc.dictionary_encode(keys)
        members = np.asarray(encoded.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
        groups = len(encoded.dictionary)
        group = np.full(len(texts), -1, dtype=np.int64)
        group[take] = members
        known = self._known[requests]
        found, hashes = known.find(encoded.dictionary)
        # Per group: its shape, method and protocol ids, read from the entries of known keys.
        columns = [np.full(groups, -1, dtype=np.int64) for _ in range(3)]
        hit = np.flatnonzero(found >= 0)
        for column, remembered in zip(columns, known.entries, strict=True):
            column[hit] = remembered.array[found[hit]]
        shape, method, protocol = columns
        varied = np.zeros(groups, dtype=bool)
        missing = np.flatnonzero(found < 0)
        if len(missing):
            first = _first_members(members, groups)[missing]
            heads = _read_heads(
                texts.take(pa.array(take[first])), keys.take(pa.array(first)), requests=requests
            )
            present = [j for j, path in enumerate(heads.paths) if path is not None]
            fresh = np.full(len(missing), -1, dtype=np.int64)
            fresh[present] = self._shapes(pa.array([heads.paths[j] for j in present], pa.string()))
            shape[missing] = fresh
            if requests:
                token = self._tokens.id
                method[missing] = [token(text) for text in heads.method.to_pylist()]
                protocol[missing] = [token(text) for text in heads.protocol.to_pylist()]
            # Its members' methods or protocols differ: not kept.
            varied[missing] = heads.varied
            keep = missing[~heads.varied]
            known.add(encoded.dictionary, hashes, keep, [column[keep] for column in columns])
        row_group = group[codes]

        def pairs(asked: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            """Distinct (group, client code) pairs of the rows in these groups, as groups,
            client hashes (two clients of one hash then count once, as in a set of hashes) and
            the hashes of the clients' networks."""
            wanted = np.zeros(groups, dtype=bool)
            wanted[asked] = True
            rows = np.flatnonzero(wanted[row_group])  # every row has a group
            width = max(len(clients.values), 1)
            pair = np.unique(row_group[rows] * width + clients.codes[rows])
            of_group, code = np.divmod(pair, width)
            asking, which = np.unique(code, return_inverse=True)
            texts = clients.values.take(pa.array(asking))
            hashes = _client_hashes(texts)
            networks = _network_hashes(texts)
            return of_group, hashes[which.ravel()], networks[which.ravel()]

        self._learn_groups(shape, pairs)
        with_path = shape >= 0
        template = np.full(groups, -1, dtype=np.int64)
        template[with_path] = self._template_id.array[shape[with_path]]
        return RequestTemplates(
            group=group,
            template=template,
            templates=self._templates.array(),
            method=method,
            protocol=protocol,
            tokens=self._tokens.array(),
            varied=varied,
        )

    def _bound(self) -> None:
        """Forget the shapes and group heads past a size limit (memory stays flat)."""
        if len(self._skeleton) > _SKELETONS or any(
            len(known) > _SKELETONS for known in self._known.values()
        ):
            self._skeleton, self._waiting, self._seen, self._teaches = [], [], [], []
            self._skeletons.clear()
            self._templates = _Labels()
            self._template_id, self._unsure = _Grown(np.int64), _Grown(np.bool_)
            self._known = {True: _Known(), False: _Known()}
            self._tokens = _Labels()

    def _shapes(self, texts: pa.Array) -> list[int]:
        """The remembered shape of each path (its skeleton and template), made where new."""
        keys = self._keys(texts)
        shapes = [self._skeletons.get(k, -1) if k is not None else -1 for k in keys]
        missing = [i for i, shape in enumerate(shapes) if shape < 0]
        if missing:
            paths = texts.take(pa.array(missing)).to_pylist()
            fresh = self._skeletons_of(paths)
            self._template_id.extend(np.full(len(missing), -1))
            self._unsure.extend(np.zeros(len(missing), dtype=bool))
            for i, path, skeleton in zip(missing, paths, fresh, strict=True):
                self._skeleton.append(skeleton)
                self._teaches.append(not path.startswith(self.private))
                self._waiting.append(())
                self._seen.append(-1)
                shape = shapes[i] = len(self._skeleton) - 1
                self._refresh(shape)
                key = keys[i]
                if key is not None:
                    self._skeletons[key] = shape
        return shapes

    def _refresh(self, shape: int) -> None:
        """Template a shape again, unless the vocabulary is the one it saw last (it only ever
        grows, so its size tells) or none of the shape's waiting words joined it."""
        words = self.words
        seen = self._seen[shape]
        if len(words) == seen:
            return
        self._seen[shape] = len(words)
        if seen >= 0 and not any(seg in words for seg in self._waiting[shape]):
            return
        skeleton = self._skeleton[shape]
        self._waiting[shape] = tuple(
            seg for seg, candidate in skeleton if candidate and seg not in words
        )
        text = "/".join(
            SLUG if candidate and seg not in words else seg.replace(_MARK, ":", 1)
            for seg, candidate in skeleton
        )
        self._template_id.array[shape] = self._templates.id(text)
        self._unsure.array[shape] = bool(self._waiting[shape])

    def _learn_groups(
        self,
        shape: np.ndarray,
        pairs: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray]],
    ) -> None:
        """Learn from who asked for the groups' candidate words, then template their shapes
        again. ``shape``: each group's (-1: no path); ``pairs`` gives, for the groups asked, who
        asked for them (groups and client hashes, one per pair)."""
        with_path = np.flatnonzero(shape >= 0)
        unsure = with_path[self._unsure.array[shape[with_path]]]
        if not len(unsure):
            return
        shapes = shape[unsure].tolist()
        words = self.words
        waiting = self._waiting
        teaches = self._teaches
        asked_groups: list[int] = []
        asked_segs: list[str] = []
        for g, one in zip(unsure.tolist(), shapes, strict=True):
            if not teaches[one]:
                continue  # still templated again below: a public page may teach its words
            for seg in waiting[one]:
                if seg not in words:
                    asked_groups.append(g)
                    asked_segs.append(seg)
        if asked_groups:
            of_group, client, network = pairs(np.unique(asked_groups))
            self._count(
                asked_groups, asked_segs, of_group.tolist(), client.tolist(), network.tolist()
            )
        for one in shapes:
            self._refresh(one)  # returns at once for a shape that saw the vocabulary as it is

    def _keys(self, paths: pa.Array) -> list[str | None]:
        """Each path's shape key (``_shape_keys``), None for a path not to remember by it."""
        if not self._shapes_safe:
            return [None] * len(paths)
        keys, vouched, _ = shape_keys(paths, np.arange(len(paths)), requests=False)
        found: list[str | None] = keys.to_pylist()
        if not vouched.all():
            rest = np.flatnonzero(~vouched)
            texts = paths.take(pa.array(rest)).to_pylist()
            slow = _shape_keys(pl.Series(texts, dtype=pl.String), requests=False).to_list()
            for i, text, key in zip(rest.tolist(), texts, slow, strict=True):
                found[i] = key if text is not None and not _has_mark(text) else None
        return found

    def _skeletons_of(self, paths: list[str]) -> list[tuple[tuple[str, bool], ...]]:
        """Each path's segments after routes and ``_shape``, with whether it is a candidate
        word, as ``template_distinct`` reads them (in Python: a block brings a few new shapes,
        and their distinct segments are shaped once)."""
        for route in self._routes_re:
            paths = [route.apply(path) for path in paths]
        parts = [path.split("/") for path in paths]
        skeleton_of: dict[str, tuple[str, bool]] = {}
        for segs in parts:
            for seg in segs:
                if seg not in skeleton_of:
                    out = _shape_text(seg)
                    skeleton_of[seg] = (out, not (out == "" or out.startswith(_MARK)))
        return [tuple(skeleton_of[seg] for seg in segs) for segs in parts]

    def _learn(self, candidates: pl.DataFrame, path_clients: pl.DataFrame) -> None:
        """Count, per candidate word, the distinct clients that asked for a path holding it.

        A block brings at most ``min_clients`` new clients per word: a word either reaches the
        threshold with them, whichever they are, or all of them are kept.
        """
        if candidates.is_empty():
            return
        self._count(
            candidates["pid"].to_list(),
            candidates["seg"].to_list(),
            path_clients["pid"].to_list(),
            path_clients["client"].to_list(),
            path_clients["network"].to_list(),
        )

    def _count(
        self,
        pids: list[int],
        segs: list[str],
        pair_pids: list[int],
        pair_clients: list[int],
        pair_networks: list[int],
    ) -> None:
        """``_learn`` from its frames' columns: candidate (pid, seg) and (pid, client,
        network) triples."""
        asked: dict[int, list[tuple[int, int]]] = {}
        for pid, client, network in zip(pair_pids, pair_clients, pair_networks, strict=True):
            asked.setdefault(pid, []).append((client, network))
        seen: dict[str, set[tuple[int, int]]] = {}
        for pid, seg in zip(pids, segs, strict=True):
            who = asked.get(pid)
            if who:
                seen.setdefault(seg, set()).update(who)
        for seg, new in seen.items():
            pending = self._pending.get(seg)
            if pending is None:
                if len(self._pending) >= _MAX_TRACKED:
                    continue
                pending = self._pending[seg] = (set(), set())
            clients, networks = pending
            # A word keeps at most what reaches its thresholds: memory stays bounded.
            if len(clients) < self.min_clients:
                clients.update(list({c for c, _ in new})[: self.min_clients - len(clients)])
            if len(networks) < self.min_networks:
                networks.update(list({n for _, n in new})[: self.min_networks - len(networks)])
            if len(clients) >= self.min_clients and len(networks) >= self.min_networks:
                self.words.add(seg)
                self.learned.add(seg)
                del self._pending[seg]


@dataclass(frozen=True)
class RequestTemplates:
    """A block's request lines (or targets) grouped, with each group's results."""

    group: np.ndarray  # group of each value, -1 for a value no row uses
    template: np.ndarray  # per group, id into ``templates`` (-1: none)
    templates: pa.Array  # distinct
    method: np.ndarray  # per group, id into ``tokens`` (-1: none; request lines only)
    protocol: np.ndarray
    tokens: pa.Array  # distinct
    varied: np.ndarray  # per group: members' methods or protocols may differ from the head's


class _Labels:
    """Distinct texts numbered as first met, and (made as it grows) their Arrow array."""

    def __init__(self) -> None:
        self._ids: dict[str, int] = {}
        self._texts: list[str] = []
        self._array = pa.array([], pa.string())

    def id(self, text: str | None) -> int:
        if text is None:
            return -1
        found = self._ids.get(text)
        if found is None:
            found = self._ids[text] = len(self._texts)
            self._texts.append(text)
        return found

    def array(self) -> pa.Array:
        # Only the new tail is converted: the table outlives blocks, and grows by a few.
        if len(self._array) < len(self._texts):
            tail = pa.array(self._texts[len(self._array) :], pa.string())
            self._array = pa.concat_arrays([self._array, tail])
        return self._array


class _Known:
    """Texts (group keys), each with an entry of integer columns, found by a 64-bit hash of
    the text: no Python string is made for a text looked up. A text whose hash another one
    holds already is not kept (it is read afresh whenever met)."""

    def __init__(self) -> None:
        self._texts = pa.array([], pa.string())  # per entry
        self._hashes = np.zeros(0, dtype=np.uint64)  # sorted
        self._entry = np.zeros(0, dtype=np.int64)  # of each of ``_hashes``
        self.entries = (_Grown(np.int64), _Grown(np.int64), _Grown(np.int64))

    def __len__(self) -> int:
        return len(self._texts)

    def find(self, texts: pa.Array) -> tuple[np.ndarray, np.ndarray]:
        """Each text's entry (-1: none), and the texts' hashes (for ``add``)."""
        hashes = _hashes(texts)
        entry = np.full(len(texts), -1, dtype=np.int64)
        if not len(self._hashes):
            return entry, hashes
        at = np.minimum(np.searchsorted(self._hashes, hashes), len(self._hashes) - 1)
        hit = np.flatnonzero(self._hashes[at] == hashes)
        entry[hit] = self._entry[at[hit]]
        same = pc.equal(texts.take(pa.array(hit)), self._texts.take(pa.array(entry[hit])))
        entry[hit[~same.to_numpy(zero_copy_only=False)]] = -1
        return entry, hashes

    def add(
        self, texts: pa.Array, hashes: np.ndarray, which: np.ndarray, columns: list[np.ndarray]
    ) -> None:
        """Keep ``texts[which]`` (distinct, none kept yet), with their entries' ``columns``."""
        new = hashes[which]
        _, first = np.unique(new, return_index=True)
        fresh = np.zeros(len(which), dtype=bool)
        fresh[first] = True
        if len(self._hashes):
            at = np.minimum(np.searchsorted(self._hashes, new), len(self._hashes) - 1)
            fresh &= self._hashes[at] != new
        kept = np.flatnonzero(fresh)
        if not len(kept):
            return
        order = kept[np.argsort(new[kept], kind="stable")]
        entries = np.arange(len(self._texts), len(self._texts) + len(kept))
        position = np.empty(len(which), dtype=np.int64)
        position[kept] = entries
        at = np.searchsorted(self._hashes, new[order])
        self._hashes = np.insert(self._hashes, at, new[order])
        self._entry = np.insert(self._entry, at, position[order])
        self._texts = pa.concat_arrays([self._texts, texts.take(pa.array(which[kept]))])
        for remembered, column in zip(self.entries, columns, strict=True):
            remembered.extend(column[kept])


class _Grown:
    """A numpy array that grows at its end (in place, amortised)."""

    def __init__(self, dtype: type) -> None:
        self._data: np.ndarray = np.zeros(64, dtype=dtype)
        self._size = 0

    def __len__(self) -> int:
        return self._size

    @property
    def array(self) -> np.ndarray:
        return self._data[: self._size]

    def extend(self, values: np.ndarray) -> None:
        size = self._size + len(values)
        if size > len(self._data):
            data = np.zeros(max(size, 2 * len(self._data)), dtype=self._data.dtype)
            data[: self._size] = self.array
            self._data = data
        self._data[self._size : size] = values
        self._size = size


def _shape(seg: pl.Expr) -> pl.Expr:
    """Replace segments whose shape alone marks them as identifiers."""
    # Random tokens switch between letters and digits often; words-with-a-year do not.
    switches = seg.str.count_matches(_SWITCH)
    return (
        pl.when(seg.str.contains(r"(?i)@|%40"))
        .then(pl.lit(_MARK + "email"))
        .when(seg.str.contains(_UUID))
        .then(pl.lit(_MARK + "uuid"))
        .when(seg.str.contains(f"^{_DIGITS}$"))
        .then(pl.lit(_MARK + "id"))
        .when(seg.str.contains(f"^{_HEX}$"))
        .then(pl.lit(_MARK + "token"))
        .when(seg.str.contains(f"^{_TOKEN}$") & (switches >= 4))
        .then(pl.lit(_MARK + "token"))
        .otherwise(seg)
    )


# The shape rules' regexes, whole-segment (``_shape`` anchors them, ``_shape_text`` fullmatches).
_DIGITS = r"[0-9]+"
_HEX = r"[0-9a-fA-F]{16,}"
_TOKEN = r"[A-Za-z0-9_\-]{16,}"
_SWITCH = r"[A-Za-z][0-9]|[0-9][A-Za-z]"
_UUID_RE = re.compile(_UUID[1:-1])
_DIGITS_RE = re.compile(_DIGITS)
_HEX_RE = re.compile(_HEX)
_TOKEN_RE = re.compile(_TOKEN)
_SWITCH_RE = re.compile(_SWITCH)


def _shape_text(seg: str) -> str:
    """``_shape`` of one segment, in Python, rule for rule (``fullmatch`` for the anchored
    regexes: polars' ``$`` is the end of the text only)."""
    if "@" in seg or "%40" in seg:
        return _MARK + "email"
    if _UUID_RE.fullmatch(seg):
        return _MARK + "uuid"
    if _DIGITS_RE.fullmatch(seg):
        return _MARK + "id"
    if _HEX_RE.fullmatch(seg):
        return _MARK + "token"
    if _TOKEN_RE.fullmatch(seg) and len(_SWITCH_RE.findall(seg)) >= 4:
        return _MARK + "token"
    return seg


def _route_regex(route: str) -> tuple[str, str]:
    """'/u/:user' -> (regex matching '/u/<anything>', replacement '/u/<mark>user'), in polars'
    syntax: a group is ``${name}`` in the replacement, where a ``$`` is ``$$``."""
    pattern, pieces = _route_pieces(route)
    return pattern, "".join(
        f"${{{text}}}" if is_group else text.replace("$", "$$") for is_group, text in pieces
    )


@dataclass(frozen=True)
class _Route:
    """A route for Python's ``re``: its regex, its replacement, and the text every path it
    matches opens with (most paths are passed over on that alone)."""

    pattern: re.Pattern[str]
    replacement: str
    prefix: str

    def apply(self, path: str) -> str:
        if not path.startswith(self.prefix):
            return path
        return self.pattern.sub(self.replacement, path, count=1)


def _route_re(route: str) -> _Route:
    """``_route_regex`` for Python's ``re``: a group is ``\\g<name>``, a backslash ``\\\\``."""
    pattern, pieces = _route_pieces(route)
    replacement = "".join(
        f"\\g<{text}>" if is_group else text.replace("\\", "\\\\") for is_group, text in pieces
    )
    # The route's words up to its first placeholder, each after its slash, and the slash
    # that opens the placeholder.
    prefix = ""
    for part in route.strip("/").split("/"):
        prefix += "/"
        if part.startswith(":"):
            break
        prefix += part
    return _Route(re.compile(pattern), replacement, prefix)


def _route_pieces(route: str) -> tuple[str, list[tuple[bool, str]]]:
    """A route's regex, and its replacement as pieces: (True, a group's name) or (False, text)."""
    pattern, pieces = ["^"], []
    for i, part in enumerate(route.strip("/").split("/")):
        pieces.append((True, f"g{i}"))
        if part.startswith(":"):
            pattern.append(f"(?P<g{i}>/)[^/]+")
            pieces.append((False, _MARK + part[1:]))
        else:
            pattern.append(f"(?P<g{i}>/)" + re.escape(part))
            pieces.append((False, part))
    pieces.append((True, "end"))
    return "".join(pattern) + "(?P<end>/|$)", pieces


# The shapes that make a segment a placeholder whatever its text, in the order ``_shape``
# tries them, each with a byte that stands for it in a grouping key. Random tokens (the last
# rule, which counts letter-digit switches) are left as they are: paths holding one group only
# with paths holding the same one, which costs a little speed and nothing else.
_SHAPED = (
    (r"[^/ ?#]*(?:@|%40)[^/ ?#]*", "\x01"),
    (_UUID[1:-1], "\x02"),
    (r"(?:[0-9]{1,31}|[0-9]{33,})", "\x03"),  # 32 digits are a UUID
    (_HEX, "\x04"),
)
_MARKS = "[\x01-\x04]"
_VARIED_RE = re.compile(f"^[^ ]*{_MARKS}|{_MARKS}[^ ]*$")
_REQUEST_RE = re.compile(REQUEST)
# The query and fragment of an origin-form target ('/path?query'), in a request line or alone.
_QUERY_IN_REQUEST = rf"^([^{WHITE}]+ +/[^?#{WHITE}]*)[?#][^{WHITE}]*"
_QUERY = r"^(/[^?#]*)[?#].*"


@dataclass(frozen=True)
class PathGroups:
    """Distinct request lines (or targets) grouped so that members template alike."""

    group: np.ndarray  # group of each value, -1 for a value no row uses
    paths: list[str | None]  # each group's path (target without host, query, fragment)
    method: pa.Array  # per value (request lines only; else empty)
    protocol: pa.Array


def path_groups(
    texts: pa.Array, used: np.ndarray, routes: tuple[str, ...] = (), *, requests: bool
) -> PathGroups:
    """Group request lines (``requests``) or request targets whose paths differ only inside
    segments ``_shape`` replaces whatever they hold (numbers, UUIDs, hex tokens, e-mails), or in
    the query string.

    Members of a group get the same template and teach the same vocabulary: every segment
    that survives ``_shape`` is the same in all of them, and so are the places routes mark. A
    block's 30,000 distinct request lines become about 4,000 groups, keyed by one compiled
    pass over their bytes (``shapes``; ``_shape_keys`` is the definition and keys what the
    pass cannot vouch for), and everything else runs once per group. A group's method and
    protocol are its members' too, unless a shaped-looking span sat in them (then they are read
    per member). No grouping when a route names a segment that has a shape, or a text holds a
    byte used as a mark.
    """
    texts = texts.cast(pa.string())
    take = np.flatnonzero(used)
    keys = _group_keys(texts, take, routes, requests=requests)
    encoded = pc.dictionary_encode(keys)
    members = np.asarray(encoded.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
    group = np.full(len(texts), -1, dtype=np.int64)
    group[take] = members
    first = _first_members(members, len(encoded.dictionary))
    heads = _read_heads(
        texts.take(pa.array(take[first])), keys.take(pa.array(first)), requests=requests
    )
    if not requests:
        return PathGroups(group, heads.paths, heads.method, heads.protocol)
    method = heads.method.take(pa.array(np.maximum(group, 0)))
    protocol = heads.protocol.take(pa.array(np.maximum(group, 0)))
    if heads.varied.any():
        method, protocol = members_own(texts, group, heads.varied, method, protocol)
    return PathGroups(group, heads.paths, method, protocol)


def members_own(
    texts: pa.Array, group: np.ndarray, varied: np.ndarray, method: pa.Array, protocol: pa.Array
) -> tuple[pa.Array, pa.Array]:
    """Methods and protocols per value, those of the ``varied`` groups' members read one by
    one (a shaped-looking span sat in a method or protocol)."""
    own = np.flatnonzero(np.isin(group, np.flatnonzero(varied)))
    # pyarrow is untyped: polars cannot tell from_arrow's Series overload from its frame one.
    split = pl.from_arrow(texts.take(pa.array(own))).str.extract_groups(REQUEST)  # type: ignore[union-attr]
    mask = _mask(own, len(texts))
    # polars hands back large strings; the heads' texts may be plain ones (``requests``).
    return (
        pc.replace_with_mask(method, mask, split.struct.field("1").to_arrow().cast(method.type)),
        pc.replace_with_mask(
            protocol, mask, split.struct.field("3").to_arrow().cast(protocol.type)
        ),
    )


@dataclass(frozen=True)
class _Heads:
    paths: list[str | None]
    method: pa.Array  # empty for targets
    protocol: pa.Array
    varied: np.ndarray


def _read_heads(texts: pa.Array, keys: pa.Array, *, requests: bool) -> _Heads:
    """Path (and, of a request line, method and protocol) of groups' heads, and whether a
    group's members may differ from its head in method or protocol (a mark in the first or
    last token of the key).

    In Python, a text at a time: a block has a few hundred heads not met before, too few for
    a columnar pass to pay for its set-up. The regexes read alike in polars (``split_requests``,
    ``strip_target``) on texts of a line, which hold no newline.
    """
    if not requests:
        stripped = [_strip_target(text) for text in texts.to_pylist()]
        empty = pa.array([], pa.string())
        return _Heads(stripped, empty, empty, np.zeros(len(stripped), dtype=bool))
    paths: list[str | None] = []
    methods: list[str | None] = []
    protocols: list[str | None] = []
    for text in texts.to_pylist():
        found = _REQUEST_RE.match(text) if text is not None else None
        method, target, protocol = found.groups() if found else (None, None, None)
        paths.append(_strip_target(target))
        methods.append(method)
        protocols.append(protocol)
    varied = [key is not None and bool(_VARIED_RE.search(key)) for key in keys.to_pylist()]
    return _Heads(
        paths,
        pa.array(methods, pa.string()),
        pa.array(protocols, pa.string()),
        np.array(varied, dtype=bool),
    )


def _group_keys(
    texts: pa.Array, take: np.ndarray, routes: tuple[str, ...], *, requests: bool
) -> pa.Array:
    """The grouping key of each of ``texts[take]``: its ``_shape_keys`` key, or the text itself
    when grouping is off (a route names a shaped segment, or a text holds a mark byte).

    The compiled kernel keys the texts it vouches for; the rest go through ``_shape_keys``.
    """
    keys, vouched, marked = shape_keys(texts, take, requests=requests)
    if marked or _routes_name_shapes(routes):
        return texts.take(pa.array(take))
    if vouched.all():
        return keys
    rest = np.flatnonzero(~vouched)
    # pyarrow is untyped: polars cannot tell from_arrow's Series overload from its frame one.
    slow = _shape_keys(pl.from_arrow(texts.take(pa.array(take[rest]))), requests=requests)  # type: ignore[arg-type]
    # polars hands back large strings; the keys stay plain ones, like the kernel's.
    return pl.from_arrow(keys).scatter(rest, slow).to_arrow().cast(keys.type)  # type: ignore[union-attr]


def _first_members(members: np.ndarray, groups: int) -> np.ndarray:
    """Index of each group's first member (dictionary codes number values as they appear)."""
    if len(members):
        seen = np.maximum.accumulate(members)
        first = np.flatnonzero(np.concatenate(([True], seen[1:] > seen[:-1])))
        if len(first) == groups and np.array_equal(members[first], np.arange(groups)):
            return first
    first = np.full(groups, len(members), dtype=np.int64)
    np.minimum.at(first, members, np.arange(len(members)))
    return first


@functools.lru_cache(maxsize=64)
def _routes_name_shapes(routes: tuple[str, ...]) -> bool:
    """Whether a configured route names a segment ``_shape`` would replace anyway."""
    return any(_segment_class(part) for route in routes for part in route.strip("/").split("/"))


def _shape_keys(texts: pl.Series, *, requests: bool) -> pl.Series:
    """Each slash-led span shaped like a placeholder segment replaced by its class byte.

    In a request line a segment ends at a space, slash, ? or #, never at the end of the line
    (there the protocol, 'HTTP/2', could end in digits). The rarer shapes are only looked for
    in texts that can hold them. The passes may run in this order because each keeps the
    precedence of ``_shape``: e-mails hold no run of 16 hex digits, UUIDs go before hex
    tokens, and numbers of 32 digits are left to the UUID pass.
    """
    end = "([ /?#])" if requests else "([/?#]|$)"

    def shaped(text: pl.Series, which: int) -> pl.Series:
        pattern, mark = _SHAPED[which]
        return text.str.replace_all("/" + pattern + end, "/" + mark + "${1}")

    keys = texts.clone()
    # Query strings go first: they are not part of the path, and hold most of the variety.
    query = texts.str.contains("?", literal=True) | texts.str.contains("#", literal=True)
    _where(keys, query, lambda k: k.str.replace(_QUERY_IN_REQUEST if requests else _QUERY, "${1}"))
    email = keys.str.contains("@", literal=True) | keys.str.contains("%40", literal=True)
    _where(keys, email, lambda k: shaped(k, 0))
    # A UUID opens with 8 hex digits, a hex token holds 16.
    _where(keys, keys.str.contains("[0-9a-fA-F]{8}"), lambda k: shaped(shaped(k, 1), 3))
    _where(keys, keys.str.contains("/[0-9]"), lambda k: shaped(k, 2))
    return keys


def _where(texts: pl.Series, chosen: pl.Series, change: Callable[[pl.Series], pl.Series]) -> None:
    """Apply ``change`` to the ``chosen`` texts only, in place."""
    where = np.flatnonzero(chosen.fill_null(False).to_numpy())
    if len(where):
        texts.scatter(where, change(texts.gather(where)))


def _hashes(texts: pa.Array) -> np.ndarray:
    return text_hashes(texts, 11)


def _client_hashes(clients: pa.Array) -> np.ndarray:
    """The hash by which learning counts distinct clients. It is not ``template``'s (polars'),
    but 64 bits too: two clients count as one only where it collides, about 2**-64 a pair."""
    return text_hashes(clients.cast(pa.string()), 7)


def _network_hashes(clients: pa.Array) -> np.ndarray:
    """The hash by which learning counts distinct networks of clients (``learning_network``)."""
    return text_hashes(learning_networks(clients), 11)


def _has_mark(text: str) -> bool:
    return any(mark in text for mark in "\x01\x02\x03\x04")


def _mask(where: np.ndarray, size: int) -> pa.Array:
    mask = np.zeros(size, dtype=bool)
    mask[where] = True
    return pa.array(mask)


def _segment_class(segment: str) -> int:
    """Whether ``_shape`` gives this one segment a placeholder (0: it does not)."""
    return 1 if _shape_text(segment).startswith(_MARK) else 0
