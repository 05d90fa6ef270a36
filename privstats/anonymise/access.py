"""Access-log blocks in, rows of the store's ``access`` table out, no identifier across.

Every identifying column of a parsed block is replaced here, each distinct value once:
client and user agent -> keyed visitor pseudonym (plus, if configured, a coarse network);
user agent -> families; URL -> path template; referer -> registrable domain; login ->
dropped or a person pseudonym. The raw columns are not in the output schema at all.

A parsed block carries its identifying columns as integer codes into their distinct values
(``privstats.sources.parsed.Coded``), so each rule runs on those values and the rows only
gather the results; the store's columns come out dictionary-encoded, as they are written.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from privstats._lazy import LazyModule
from privstats.anonymise.columns import dictionary_column, label_ids
from privstats.anonymise.networks import coarse_networks
from privstats.anonymise.pseudonyms import (
    period_format,
    person_pseudonyms,
)
from privstats.anonymise.referers import (
    RefererKind,
    classify_referer_ids,
    registrable_domain,
)
from privstats.anonymise.urls import PathTemplater, members_own
from privstats.anonymise.useragents import AgentClass, AgentWorker, AgentWorkerError, classify
from privstats.anonymise.visitors import VisitorPseudonyms
from privstats.config import Config, LoginPolicy
from privstats.key import SecretKey
from privstats.schema import ACCESS
from privstats.sources.parsed import Coded, ParsedBlock

if TYPE_CHECKING:
    import polars as pl
else:
    pl = LazyModule("polars")

__all__ = ["AccessAnonymiser", "BlockVisitors", "warm_up"]

log = logging.getLogger(__name__)

_US_PER_DAY = 86_400_000_000
_EPOCH = dt.date(1970, 1, 1)
# Distinct user agents remembered per ingest; beyond, the memory starts afresh.
_AGENT_CACHE = 200_000


@dataclass(frozen=True)
class BlockVisitors:
    """Per row of a block: its key period, and its visitor pseudonym, one keyed HMAC per
    distinct (period, client, user agent)."""

    period: Coded
    visitor: np.ndarray


class AccessAnonymiser:
    """Turns parsed access-log blocks into rows of the store's ``access`` table.

    Blocks must be applied in file order: path vocabulary is learned as the file goes.
    """

    def __init__(
        self,
        config: Config,
        key: SecretKey,
        learned_words: frozenset[str] = frozenset(),
        erased_persons: frozenset[int] = frozenset(),
        agents: AgentWorker | None = None,
        erased_visitors: frozenset[tuple[str, int]] = frozenset(),
    ) -> None:
        """``agents``: a worker process that classifies user agents (else this process does).
        ``erased_visitors``: (key period, visitor) pairs of erased persons' browsers, whose
        rows are dropped like the persons' own."""
        self.config = config
        self.key = key
        self.paths = PathTemplater(config.anonymise, learned_words)
        self.erased = erased_persons
        by_period: dict[str, list[int]] = {}
        for period, visitor in erased_visitors:
            by_period.setdefault(period, []).append(visitor)
        self._erased_visitors = {p: np.array(v, dtype=np.int64) for p, v in by_period.items()}
        self.visitors = VisitorPseudonyms(key)
        self._worker = agents
        self._agent_classes: dict[str | None, int] = {}
        self._classes: dict[AgentClass, int] = {}
        self._class_labels: dict[str, tuple[np.ndarray, pa.Array]] = {}
        self._labelled = -1  # how many classes ``_class_labels`` was made for
        self._bots = np.zeros(0, dtype=bool)
        self._site_domains = frozenset(d.lower() for d in config.anonymise.site_domains)
        self._period_format = period_format(config.key.rotation)

    def visitors_of(self, parsed: ParsedBlock) -> BlockVisitors:
        """The key period and visitor pseudonym of each row of a block.

        Separate from ``apply`` because it is nearly all C that runs without the GIL: ingest
        calls it in a thread of its own, a block ahead of ``apply`` in the caller's. Blocks must
        come here in file order too (the pseudonyms computed are remembered across blocks).
        """
        period = self._periods(parsed.ts)
        agent = parsed.user_agent
        if agent is None:
            agent = Coded.constant(None, len(parsed.client))
        return BlockVisitors(period, self.visitors(period, parsed.client, agent))

    def apply(
        self, parsed: ParsedBlock | pl.DataFrame, visitors: BlockVisitors | None = None
    ) -> tuple[pa.Table, list[int]]:
        """Store rows for ``parsed``, and the line numbers dropped because a person was erased.

        ``visitors``: the block's ``visitors_of``, where it was called already.
        """
        if not isinstance(parsed, ParsedBlock):  # a polars frame
            parsed = ParsedBlock.from_frame(parsed)
        if not len(parsed):
            return ACCESS.empty_table(), []
        if visitors is None:
            visitors = self.visitors_of(parsed)
        period = visitors.period
        # The worker classifies the block's new user agents while the rest is done here.
        agents = self._ask_agents(parsed.user_agent, len(parsed))
        person = self._persons(parsed.login, len(parsed))
        columns: dict[str, pa.Array] = {
            "ts": pa.array(parsed.ts, pa.timestamp("us", tz="UTC")),
            "key_period": _dictionary(period.values, period),
            "visitor": pa.array(visitors.visitor),
            "person": person,
            "site": _text_column(parsed.site, len(parsed)),
            **self._requests(parsed),
            "status": pa.array(parsed.status, pa.int16()),
            "bytes": parsed.bytes,
            "response_us": parsed.response_us,
            **self._agents(agents),
            **self._referers(parsed.referer, len(parsed)),
            "network": self._networks(parsed.client),
        }
        table = pa.Table.from_arrays([columns[name] for name in ACCESS.names], schema=ACCESS)
        if not self.erased and not self._erased_visitors:
            return table, []
        erased = pc.is_in(person, pa.array(sorted(self.erased), pa.int64()))
        erased = np.array(erased.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)
        for code, label in enumerate(period.values.to_pylist()):
            if label in self._erased_visitors:
                rows = np.flatnonzero(period.codes == code)
                erased[rows] |= np.isin(visitors.visitor[rows], self._erased_visitors[label])
        return table.filter(pa.array(~erased)), parsed.line[erased].tolist()

    def _periods(self, ts: np.ndarray) -> Coded:
        """The key period of each row, labelled like '2026-10-01', '2026-10' or '-'."""
        if self._period_format is None:
            return Coded.constant("-", len(ts))
        days = ts // _US_PER_DAY
        distinct, codes = _distinct_days(days)
        labels = [
            (_EPOCH + dt.timedelta(days=int(day))).strftime(self._period_format) for day in distinct
        ]
        return Coded(codes.astype(np.int32).ravel(), pa.array(labels, pa.string()))

    def _persons(self, login: Coded | None, rows: int) -> pa.Array:
        if self.config.anonymise.login is not LoginPolicy.PERSON or login is None:
            return pa.nulls(rows, pa.int64())
        ids = person_pseudonyms(self.key, login.values.to_pylist())
        return pa.array(ids, pa.int64()).take(pa.array(login.codes))

    def _ask_agents(self, agent: Coded | None, rows: int) -> _AgentsAsked:
        """The block's user agents, and those not classified yet, handed to the worker."""
        agent = agent if agent is not None else Coded.constant(None, rows)
        used = _used(agent)
        known = self._agent_classes
        if len(known) > _AGENT_CACHE:
            known.clear()
        texts = agent.values.to_pylist()
        new = list(
            dict.fromkeys(t for t in (texts[i] for i in np.flatnonzero(used)) if t not in known)
        )
        asked = _AgentsAsked(agent, used, texts, new, worker=False)
        if new and self._worker is not None:
            try:
                self._worker.ask(new)
                asked.worker = True
            except AgentWorkerError as exc:
                self._lose_worker(exc)
        return asked

    def _agents(self, asked: _AgentsAsked) -> dict[str, pa.Array]:
        """User-agent families, classified once per distinct string of the whole ingest."""
        agent, used, texts = asked.agent, asked.used, asked.texts
        known = self._agent_classes
        classes = self._classes
        for text, agent_class in zip(asked.new, self._answers(asked), strict=True):
            known[text] = classes.setdefault(agent_class, len(classes))
        index = np.zeros(len(texts), dtype=np.int64)
        for i in np.flatnonzero(used).tolist():
            index[i] = known[texts[i]]
        if self._labelled != len(classes):
            self._labelled = len(classes)
            # Per label column, each class's label id and the distinct labels; and who is a bot.
            table = list(classes)
            self._class_labels = {
                name: label_ids(pa.array([getattr(c, name) for c in table], pa.string()))
                for name in ("browser", "browser_major", "os", "device")
            }
            self._bots = np.array([c.is_bot for c in table], dtype=bool)
        columns: dict[str, pa.Array] = {}
        for name in ("browser", "browser_major", "os", "device"):
            of_class, distinct = self._class_labels[name]
            columns[name] = dictionary_column(of_class[index], distinct, agent.codes, used)
        bots = self._bots[index]
        return columns | {"is_bot": pa.array(agent.per_row(bots))}

    def _requests(self, parsed: ParsedBlock) -> dict[str, pa.Array]:
        """Method, path template and protocol, once per group of requests of one shape."""
        requests = parsed.request is not None
        # Without a request line, parts() is the format's own method, target and protocol.
        lines = parsed.request if parsed.request is not None else parsed.parts()[1]
        found = self.paths.requests(lines.values, lines.codes, parsed.client, requests=requests)
        used = _used(lines)
        path = _per_group(found.template, found.templates, found.group, lines, used)
        if not requests:
            given_method, _, given_protocol = parsed.parts()
            method = _dictionary(given_method.values, given_method)
            protocol = _dictionary(given_protocol.values, given_protocol)
        elif not found.varied.any():
            method = _per_group(found.method, found.tokens, found.group, lines, used)
            protocol = _per_group(found.protocol, found.tokens, found.group, lines, used)
        else:
            spread = np.maximum(found.group, 0)
            method_ids, protocol_ids = found.method[spread], found.protocol[spread]
            methods, protocols = members_own(
                lines.values.cast(pa.string()),
                found.group,
                found.varied,
                found.tokens.take(pa.array(method_ids, mask=method_ids < 0)),
                found.tokens.take(pa.array(protocol_ids, mask=protocol_ids < 0)),
            )
            method = _dictionary(methods, lines, used)
            protocol = _dictionary(protocols, lines, used)
        return {"method": method, "path": path, "protocol": protocol}

    def _referers(self, referer: Coded | None, rows: int) -> dict[str, pa.Array]:
        if referer is None:
            return {
                "referer_domain": pa.DictionaryArray.from_arrays(
                    pa.nulls(rows, pa.int32()), pa.array([], pa.string())
                ),
                "referer_kind": pa.DictionaryArray.from_arrays(
                    pa.array(np.zeros(rows, dtype=np.int32)), pa.array([RefererKind.NONE])
                ),
            }
        domain, domains, kind, kinds = classify_referer_ids(referer.values, self._site_domains)
        used = _used(referer)
        return {
            "referer_domain": dictionary_column(domain, domains, referer.codes, used),
            "referer_kind": dictionary_column(kind, kinds, referer.codes, used),
        }

    def _networks(self, client: Coded) -> pa.DictionaryArray:
        settings = self.config.anonymise
        if not settings.network:
            return pa.DictionaryArray.from_arrays(
                pa.nulls(len(client), pa.int32()), pa.array([], pa.string())
            )
        used = _used(client)
        values = client.values.filter(pa.array(used))
        nets = coarse_networks(values, settings.ipv4_prefix, settings.ipv6_prefix).to_numpy(
            zero_copy_only=False
        )
        out = np.full(len(client.values), None, dtype=object)
        out[np.flatnonzero(used)] = nets
        return _dictionary(pa.array(out, pa.string()), client)

    def _answers(self, asked: _AgentsAsked) -> list[AgentClass]:
        """The classes of the block's new user agents, from the worker where it was asked."""
        if asked.worker and self._worker is not None:
            try:
                found = self._worker.answers()
                if len(found) == len(asked.new):
                    return found
                raise AgentWorkerError("the user-agent worker answered out of turn")
            except AgentWorkerError as exc:
                self._lose_worker(exc)
        return [classify(text) for text in asked.new]

    def _lose_worker(self, exc: AgentWorkerError) -> None:
        log.warning("%s; user agents are classified in this process from here on", exc)
        worker, self._worker = self._worker, None
        if worker is not None:
            worker.close()


@dataclass
class _AgentsAsked:
    """A block's user agents (values, which rows use, as texts), those new to the ingest, and
    whether the worker was asked about them."""

    agent: Coded
    used: np.ndarray
    texts: list[str | None]
    new: list[str | None]
    worker: bool


def warm_up(user_agents: bool = True) -> None:
    """Load the rules the anonymiser reads from data files (the user-agent matcher, a quarter
    of a second, unless a worker process classifies; the bundled public-suffix list), so that
    the first block does not wait for them: ingest calls it while the first block is read."""
    if user_agents:
        classify("Mozilla/5.0")
    registrable_domain("example.com")


def _distinct_days(days: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(days, return_inverse=True)``, by counting when the days span little (a
    block of a log covers a day or two), without sorting."""
    if not len(days):
        return np.unique(days, return_inverse=True)
    first = int(days.min())
    span = int(days.max()) - first + 1
    if span > 4 * len(days) + 1024:
        return np.unique(days, return_inverse=True)
    offset = days - first
    present = np.bincount(offset, minlength=span) > 0
    number = np.cumsum(present) - 1
    return np.flatnonzero(present) + first, number[offset]


def _per_group(
    of_group: np.ndarray, labels: pa.Array, group: np.ndarray, coded: Coded, used: np.ndarray
) -> pa.DictionaryArray:
    """A dictionary column from one label id per group into the distinct ``labels`` (-1:
    null; ``group``: each value's, -1 unused)."""
    # -1 (a value no row uses) reads the -1 appended.
    return dictionary_column(np.append(of_group, -1)[group], labels, coded.codes, used)


def _used(coded: Coded) -> np.ndarray:
    """Which values some row uses (a block's value table can hold values of dropped lines)."""
    used = np.zeros(len(coded.values), dtype=bool)
    used[coded.codes] = True
    return used


def _dictionary(
    labels: pa.Array, coded: Coded, used: np.ndarray | None = None
) -> pa.DictionaryArray:
    """Rows' labels as a dictionary column: ``labels`` holds one label per value of ``coded``.

    The dictionary holds each label once, and only labels some row carries (``used``: which
    values rows use, when the caller knows it already).
    """
    used = _used(coded) if used is None else used
    if not used.all():
        labels = pc.if_else(pa.array(used), labels, pa.scalar(None, labels.type))
    encoded = pc.dictionary_encode(labels)
    indices = encoded.indices.take(pa.array(coded.codes))
    return pa.DictionaryArray.from_arrays(indices, encoded.dictionary.cast(pa.string()))


def _text_column(coded: Coded | None, rows: int) -> pa.DictionaryArray:
    if coded is None:
        return pa.DictionaryArray.from_arrays(pa.nulls(rows, pa.int32()), pa.array([], pa.string()))
    return _dictionary(coded.values, coded)
