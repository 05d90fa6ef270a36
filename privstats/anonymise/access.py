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

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from privstats.anonymise.columns import dictionary_column, label_ids
from privstats.anonymise.lookups import Answers, LookupWorker, LookupWorkerError, look_up
from privstats.anonymise.networks import coarse_network
from privstats.anonymise.pseudonyms import (
    period_format,
    person_pseudonyms,
)
from privstats.anonymise.referers import RefererKind, referer_hosts, referer_ids
from privstats.anonymise.urls import BlockGroups, PathTemplater, members_own
from privstats.anonymise.useragents import AgentClass
from privstats.anonymise.visitors import VisitorPseudonyms
from privstats.config import Config, LoginPolicy
from privstats.key import SecretKey
from privstats.schema import ACCESS
from privstats.sources.parsed import Coded, ParsedBlock

__all__ = ["AccessAnonymiser", "Prepared", "warm_up"]

log = logging.getLogger(__name__)

_US_PER_DAY = 86_400_000_000
_EPOCH = dt.date(1970, 1, 1)
# Distinct user agents and referer hosts remembered per ingest; beyond, the memory starts
# afresh (once no block waits to be finished).
_AGENT_CACHE = 200_000
_HOST_CACHE = 200_000


@dataclass(frozen=True)
class Prepared:
    """``AccessAnonymiser.prepare``: per row of a block, its key period and its visitor
    pseudonym (one keyed HMAC per distinct (period, client, user agent)); and the block's
    request lines or targets grouped for templating."""

    period: Coded
    visitor: np.ndarray
    groups: BlockGroups


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
        lookups: LookupWorker | None = None,
    ) -> None:
        """``lookups``: a worker process that classifies user agents and finds referer
        domains (else this process does)."""
        self.config = config
        self.key = key
        self.paths = PathTemplater(config.anonymise, learned_words)
        self.erased = erased_persons
        self.visitors = VisitorPseudonyms(key)
        self._worker = lookups
        if lookups is not None:
            try:
                lookups.drain()
            except LookupWorkerError as exc:
                self._lose_worker(exc)
        self._agents_known = _KnownAgents()
        self._host_domains: dict[str, str | None] = {}
        self._unfinished = 0  # blocks begun and not finished
        self._classes: dict[AgentClass, int] = {}
        self._class_labels: dict[str, tuple[np.ndarray, pa.Array]] = {}
        self._labelled = -1  # how many classes ``_class_labels`` was made for
        self._bots = np.zeros(0, dtype=bool)
        self._site_domains = frozenset(d.lower() for d in config.anonymise.site_domains)
        self._period_format = period_format(config.key.rotation)

    def prepare(self, parsed: ParsedBlock) -> Prepared:
        """The key period and visitor pseudonym of each row of a block, and its request lines
        (or targets) grouped for templating.

        Separate from ``apply`` because it is nearly all C and Arrow that run without the GIL:
        ingest calls it in its parser thread, a block ahead of ``apply`` in the caller's.
        Blocks must come here in file order too (the pseudonyms computed are remembered
        across blocks).
        """
        period = self._periods(parsed.ts)
        agent = parsed.user_agent
        if agent is None:
            agent = Coded.constant(None, len(parsed.client))
        lines = parsed.request if parsed.request is not None else parsed.target
        groups = self.paths.groups(
            lines.values,  # type: ignore[union-attr]
            lines.codes,  # type: ignore[union-attr]
            requests=parsed.request is not None,
        )
        return Prepared(period, self.visitors(period, parsed.client, agent), groups)

    def apply(
        self, parsed: ParsedBlock | pl.DataFrame, prepared: Prepared | None = None
    ) -> tuple[pa.Table, list[int]]:
        """Store rows for ``parsed``, and the line numbers dropped because a person was erased.

        ``prepared``: the block's ``prepare``, where it was called already.
        """
        if isinstance(parsed, pl.DataFrame):
            parsed = ParsedBlock.from_frame(parsed)
        if not len(parsed):
            return ACCESS.empty_table(), []
        return self.finish(self.begin(parsed, prepared))

    def begin(self, parsed: ParsedBlock, prepared: Prepared | None = None) -> Begun:
        """``apply``'s first part: everything but what waits for the look-up worker, which is
        asked about the block's new user agents and referer hosts first.

        Blocks are begun, and then finished, in file order. Ingest begins the next blocks
        while the worker has not answered for the oldest one begun (as it loads its rules at
        the start); ``ready`` tells.
        """
        if prepared is None:
            prepared = self.prepare(parsed)
        period = prepared.period
        asked = self._ask(parsed)
        person = self._persons(parsed.login, len(parsed))
        columns: dict[str, pa.Array] = {
            "ts": pa.array(parsed.ts, pa.timestamp("us", tz="UTC")),
            "key_period": _dictionary(period.values, period),
            "visitor": pa.array(prepared.visitor),
            "person": person,
            "site": _text_column(parsed.site, len(parsed)),
            **self._requests(parsed, prepared.groups),
            "status": pa.array(parsed.status, pa.int16()),
            "bytes": parsed.bytes,
            "response_us": parsed.response_us,
            "network": self._networks(parsed.client),
        }
        self._unfinished += 1
        return Begun(columns, asked, parsed.referer, parsed.line)

    def ready(self, begun: Begun) -> bool:
        """Whether ``finish`` can run without waiting for the worker (the oldest block begun
        and not finished only)."""
        return not begun.asked.worker or self._worker is None or self._worker.ready()

    def finish(self, begun: Begun) -> tuple[pa.Table, list[int]]:
        """``apply``'s second part, for the oldest block begun and not finished."""
        asked = begun.asked
        self._answered(asked)
        self._unfinished -= 1
        columns = begun.columns | self._agents(asked)
        columns |= self._referers(begun.referer, asked, len(asked.agent))
        table = pa.Table.from_arrays([columns[name] for name in ACCESS.names], schema=ACCESS)
        if not self.erased:
            return table, []
        erased = pc.is_in(columns["person"], pa.array(sorted(self.erased), pa.int64()))
        erased = erased.fill_null(False).to_numpy(zero_copy_only=False)
        return table.filter(pa.array(~erased)), begun.line[erased].tolist()

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

    def _ask(self, parsed: ParsedBlock) -> _Asked:
        """The block's user agents and referer hosts, and those new to the ingest, handed to
        the worker.

        Those asked about are remembered at once, with a placeholder that the block's
        ``finish`` replaces: a block begun before then does not ask again, and finishes after.
        """
        agent = parsed.user_agent
        agent = agent if agent is not None else Coded.constant(None, len(parsed))
        used = _used(agent)
        known = self._agents_known
        domains = self._host_domains
        if not self._unfinished and (len(known) > _AGENT_CACHE or len(domains) > _HOST_CACHE):
            self._agents_known = known = _KnownAgents()
            domains.clear()
        values = agent.values.cast(pa.string())
        position = known.find(values)
        missing = np.flatnonzero(used & (position < 0))
        new_agents = values.take(pa.array(missing)).to_pylist()
        position[missing] = known.add(values.take(pa.array(missing)))
        if parsed.referer is None:
            host_of_value, hosts = np.zeros(0, dtype=np.int64), []
        else:
            host_of_value, hosts = referer_hosts(parsed.referer.values)
        new_hosts = [host for host in hosts if host not in domains]
        domains.update(dict.fromkeys(new_hosts))
        asked = _Asked(
            agent, used, position, position[missing], new_agents, host_of_value, hosts, new_hosts
        )
        if (new_agents or new_hosts) and self._worker is not None:
            try:
                self._worker.ask(new_agents, new_hosts)
                asked.worker = True
            except LookupWorkerError as exc:
                self._lose_worker(exc)
        return asked

    def _answered(self, asked: _Asked) -> None:
        """Remember the classes of the block's new agents and the domains of its new hosts,
        from the worker where it was asked."""
        found = None
        if asked.worker and self._worker is not None:
            try:
                found = self._worker.answers()
                if len(found.agents) != len(asked.new_agents) or len(found.domains) != len(
                    asked.new_hosts
                ):
                    raise LookupWorkerError("the look-up worker answered out of turn")
            except LookupWorkerError as exc:
                self._lose_worker(exc)
                found = None
        if found is None:
            found = look_up(asked.new_agents, asked.new_hosts)
        self._remember(asked, found)

    def _remember(self, asked: _Asked, found: Answers) -> None:
        classes = self._classes
        self._agents_known.classes[asked.new_positions] = [
            classes.setdefault(agent_class, len(classes)) for agent_class in found.agents
        ]
        self._host_domains.update(zip(asked.new_hosts, found.domains, strict=True))

    def _agents(self, asked: _Asked) -> dict[str, pa.Array]:
        """User-agent families, classified once per distinct string of the whole ingest."""
        agent, used = asked.agent, asked.used
        classes = self._classes
        index = np.where(used, self._agents_known.classes[asked.position], 0)
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

    def _requests(self, parsed: ParsedBlock, groups: BlockGroups) -> dict[str, pa.Array]:
        """Method, path template and protocol, once per group of requests of one shape."""
        requests = parsed.request is not None
        lines: Coded = parsed.request if requests else parsed.target  # type: ignore[assignment]
        found = self.paths.requests(
            lines.values, lines.codes, parsed.client, requests=requests, grouped=groups
        )
        used = groups.used
        path = _per_group(found.template, found.templates, found.group, lines, used)
        if not requests:
            method = _dictionary(parsed.method.values, parsed.method)  # type: ignore[union-attr]
            protocol = _dictionary(parsed.protocol.values, parsed.protocol)  # type: ignore[union-attr]
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

    def _referers(self, referer: Coded | None, asked: _Asked, rows: int) -> dict[str, pa.Array]:
        if referer is None:
            return {
                "referer_domain": pa.DictionaryArray.from_arrays(
                    pa.nulls(rows, pa.int32()), pa.array([], pa.string())
                ),
                "referer_kind": pa.DictionaryArray.from_arrays(
                    pa.array(np.zeros(rows, dtype=np.int32)), pa.array([RefererKind.NONE])
                ),
            }
        found = [self._host_domains[host] for host in asked.hosts]
        domain, domains, kind, kinds = referer_ids(
            referer.values, asked.host_of_value, found, self._site_domains
        )
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
        nets = [
            coarse_network(c, settings.ipv4_prefix, settings.ipv6_prefix) if u and c else None
            for c, u in zip(client.values.to_pylist(), used.tolist(), strict=True)
        ]
        return _dictionary(pa.array(nets, pa.string()), client)

    def _lose_worker(self, exc: LookupWorkerError) -> None:
        log.warning("%s; this process looks up user agents and referers from here on", exc)
        worker, self._worker = self._worker, None
        if worker is not None:
            worker.close()


@dataclass(frozen=True)
class Begun:
    """A block between ``begin`` and ``finish``: the store's columns made so far, what the
    worker was asked, and what finishing reads of the parsed block."""

    columns: dict[str, pa.Array]
    asked: _Asked
    referer: Coded | None
    line: np.ndarray


@dataclass
class _Asked:
    """A block's user agents (values, which rows use, each value's place among the known
    agents, -1 for one no row uses) and referer hosts (each value's host id, -1 for none,
    into the distinct hosts), those new to the ingest (agents also by place), and whether the
    worker was asked about them."""

    agent: Coded
    used: np.ndarray
    position: np.ndarray
    new_positions: np.ndarray
    new_agents: list[str | None]
    host_of_value: np.ndarray
    hosts: list[str]
    new_hosts: list[str]
    worker: bool = False


class _KnownAgents:
    """The distinct user agents of the ingest so far, each with its class id (-1 until the
    answer for the block that brought it is read). A block's agents are found among them by
    Arrow's hash look-up, without a Python string made per agent."""

    def __init__(self) -> None:
        self.texts = pa.array([], pa.string())
        self.classes = np.zeros(0, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.texts)

    def find(self, values: pa.Array) -> np.ndarray:
        """Each value's place (-1: not known); a null is a value like the others."""
        found = pc.index_in(values, value_set=self.texts)
        return np.asarray(found.fill_null(-1).to_numpy(zero_copy_only=False), dtype=np.int64)

    def add(self, values: pa.Array) -> np.ndarray:
        """Know these (none known yet) as awaiting their classes; their places."""
        start = len(self.texts)
        self.texts = pa.concat_arrays([self.texts, values])
        self.classes = np.concatenate([self.classes, np.full(len(values), -1, dtype=np.int64)])
        return np.arange(start, len(self.texts))


def warm_up(lookups: bool = True) -> None:
    """Load the rules the anonymiser's look-ups read from data files (the user-agent matcher,
    a quarter of a second; tldextract and the bundled public-suffix list), so that the first
    block does not wait for them; ingest calls it while the first block is read. Nothing to
    do (``lookups`` false) where a worker process looks up."""
    if lookups:
        look_up(["Mozilla/5.0"], ["example.com"])


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
