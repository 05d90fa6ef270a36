"""Ingest: the only stage that sees identifiers. Read, parse, anonymise, commit atomically.

Each input is its own transaction: it is committed whole or not at all, so a failed input
(damaged gzip, wrong format, too many bad lines) writes nothing and leaves the others alone.

An input streams through four threads, each one block (16 MiB) ahead of the next, so memory
stays flat whatever the input's size: one reads, hashes and parses (``sources.access``), one
makes the visitor pseudonyms, the caller's thread anonymises the rest (``anonymise``), one
writes Parquet row groups (``store``). Most of the work is native code that runs outside
the GIL, so the stages share both cores.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from privstats.anonymise import AccessAnonymiser, BlockVisitors, warm_up
from privstats.anonymise.useragents import AgentWorker
from privstats.config import Config
from privstats.exceptions import (
    FormatMismatchError,
    InputError,
    PrivstatsError,
    TooManyBadLinesError,
)
from privstats.integrity import Restoration
from privstats.key import SecretKey
from privstats.overlap import Overlap
from privstats.quarantine import Quarantine, Reason
from privstats.sources.access import (
    BlockParser,
    BlockReader,
    Input,
    content_size,
    expand_inputs,
    quick_fingerprint,
    raw_digest,
)
from privstats.sources.logformat import LogFormat, resolve_format
from privstats.sources.parsed import BlockTally, ParsedBlock
from privstats.sources.plausible import PlausibleTimes
from privstats.store import Store, Transaction, utc_now

log = logging.getLogger(__name__)


@dataclass
class IngestResult:
    """What happened to one input; safe to print (no identifier, no file content)."""

    label: str
    status: str  # ingested | already ingested | empty | failed
    lines: int = 0
    rows: int = 0
    quarantine: Quarantine = field(default_factory=Quarantine)
    days: dict[str, int] = field(default_factory=dict)
    error: str | None = None
    skipped: int = 0  # lines of an earlier input this one continues, not read again
    internal: bool = False  # failed by a fault of privstats, not of the input

    @property
    def ok(self) -> bool:
        return self.status != "failed"

    def summary(self) -> str:
        if self.status == "failed":
            return f"{self.label}: failed: {self.error}"
        days = f"{len(self.days)} day" + ("" if len(self.days) == 1 else "s")
        if self.status == "restored":
            return f"{self.label}: {self.rows} rows restored over {days}"
        if self.status != "ingested":
            return f"{self.label}: {self.status}, nothing added"
        text = f"{self.label}: {self.rows} of {self.lines} lines ingested over {days}"
        if self.skipped:
            text += f" (the first {self.skipped} lines were ingested before, as another input)"
        if self.quarantine.total:
            text += f"; {self.quarantine.summary()}"
        if self.quarantine.non_utf8:
            text += f"; {self.quarantine.non_utf8} lines not valid UTF-8 (decoded with replacement)"
        return text


def ingest_access(
    config: Config,
    key: SecretKey,
    patterns: list[str],
    *,
    log_format: str | None = None,
    max_bad_ratio: float | None = None,
    agents: AgentWorker | None = None,
    wait: float = 0,
    contain: bool = True,
) -> list[IngestResult]:
    """Ingest access logs (paths, globs or ``-``) into the configured store.

    ``agents``: a worker process that classifies user agents (the command line starts one
    before its imports); without it, this process classifies them. ``wait``: seconds to wait
    for another writer's lock. ``contain``: an unexpected error fails its input only (else it
    is raised, for a traceback).
    """
    fmt = resolve_format(log_format or config.ingest.format, config.ingest.formats)
    ratio = config.ingest.max_bad_ratio if max_bad_ratio is None else max_bad_ratio
    inputs = expand_inputs(patterns)
    store = Store(config.store_path)
    results = []
    with store.locked(wait):
        for source in inputs:
            try:
                results.append(_ingest_one(config, key, store, source, fmt, ratio, agents))
            except PrivstatsError as exc:
                # Debug only: the result says it, and the command line prints it once.
                log.debug("%s: %s", source.label, exc)
                results.append(IngestResult(source.label, "failed", error=str(exc)))
            except Exception as exc:
                # A fault of privstats itself, not of the input: the input's transaction is
                # discarded and the others still go in. Only the type is said (a library's
                # message may quote the input).
                if not contain:
                    raise
                error = f"internal error ({type(exc).__name__}); nothing was written for it"
                results.append(IngestResult(source.label, "failed", error=error, internal=True))
    return results


def _ingest_one(
    config: Config,
    key: SecretKey,
    store: Store,
    source: Input,
    fmt: LogFormat,
    ratio: float,
    agents: AgentWorker | None,
) -> IngestResult:
    if source.problem:
        raise InputError(f"{source.problem}; nothing was written for it")
    catalog = store.catalog()
    quick = quick_fingerprint(source)
    known = [e for e in catalog.inputs if quick and e.get("quick") == quick]
    restoring: Restoration | None = None
    if known:
        raw = raw_digest(source)
        same = next((e for e in known if e.get("raw_sha256") == raw), None)
        if same is not None:
            restoring = Restoration(same, catalog.inputs)
            if not restoring.days:
                return IngestResult(source.label, "already ingested")
    anonymiser = AccessAnonymiser(
        config,
        key,
        learned_words=frozenset(catalog.vocabulary),
        erased_persons=frozenset(catalog.tombstones),
        agents=agents,
        erased_visitors=frozenset((str(p), int(v)) for p, v in catalog.erased_visitors),
    )
    quarantine = Quarantine()
    overlap = Overlap(key, catalog.inputs, content_size(source))
    reader = BlockReader(
        source,
        reuse=True,
        max_line_bytes=config.ingest.max_line_bytes,
        # Restoring, every line is read: those of inputs this one continues may be wanted.
        continuing=overlap.start if restoring is None else None,
    )
    parser = BlockParser(fmt, config.ingest.max_line_bytes)

    times = PlausibleTimes(config.ingest.plausible_years)
    last_row = 0  # the last line that made a row

    def parse(item: tuple[int, Any, int]) -> tuple[ParsedBlock, BlockTally]:
        # Runs in the parser thread, which also reads: the block's buffer is reused for the
        # next block once this returns, and the parser counts the lines.
        nonlocal last_row
        parsed, tally = parser.parse(item[1], reader.lines_read + 1)
        reader.lines_read += tally.line_count
        parsed = times.keep(parsed, tally)
        if overlap.counted_through > reader.skipped_lines:  # the line the base ended inside
            parsed = parsed.filter(parsed.line > overlap.counted_through)
        if len(parsed):
            last_row = max(last_row, int(parsed.line.max()))
        return (parsed if restoring is None else restoring.keep(parsed)), tally

    def visit(
        item: tuple[ParsedBlock, BlockTally],
    ) -> tuple[ParsedBlock, BlockTally, BlockVisitors | None]:
        # In a thread of their own, C without the GIL: in the parser's thread they made it the
        # longest stage (a 2-million-line ingest took 0.18 s less this way, standard error
        # 0.05 s, 16 alternating pairs). Reading and hashing stay with parsing: hashed in
        # another thread, the blocks cost more CPU time than they saved.
        parsed, tally = item
        return parsed, tally, anonymiser.visitors_of(parsed) if len(parsed) else None

    transaction = store.transaction()
    rows = 0
    try:
        # Stages one block apart: a thread reads, hashes and parses a block (mostly native
        # code, outside the GIL), the next makes the visitor pseudonyms of the one before,
        # while the one before that is anonymised and written here. Only one raw block is in
        # memory at a time.
        warmed = functools.partial(warm_up, agents is None)  # a no-op once done in the process
        parsed_blocks = _ahead(
            _ahead(iter(reader), parse, "privstats-parser"),
            visit,
            "privstats-visitors",
            meanwhile=warmed,
        )
        for parsed, tally, visitors in parsed_blocks:
            tally.into(quarantine)
            if not len(parsed):
                continue
            table, erased_lines = anonymiser.apply(parsed, visitors)
            quarantine.add(Reason.ERASED, erased_lines)
            transaction.write("access", table)
            rows += table.num_rows
        lines = reader.lines_read - reader.skipped_lines
        content = reader.content.hexdigest()
        existing = store.catalog().input_with(content)
        if existing is not None:
            if restoring is None:  # known only now (standard input): its own lines were read
                restoring = Restoration(existing, [])
                if not restoring.days:
                    transaction.discard()
                    return IngestResult(source.label, "already ingested", lines=lines)
            return _restore(store, transaction, restoring, source.label, lines, quarantine)
        overlap.refuse_repeats(reader.prefix_sha256)
        if lines == 0:
            transaction.discard()
            return IngestResult(source.label, "empty")
        if reader.skipped_lines and quarantine.counts.get(Reason.EMPTY_LINE.value) == lines:
            transaction.discard()  # a log grown by blank lines only
            return IngestResult(source.label, "nothing new", skipped=reader.skipped_lines)
        matched = lines - quarantine.total + quarantine.counts.get(Reason.ERASED.value, 0)
        binary = quarantine.counts.get(Reason.NUL_BYTE.value, 0)
        if binary * 2 > lines:
            raise InputError(
                f"it looks binary ({binary} of {lines} lines hold NUL bytes), not a log; "
                "nothing was written for it"
            )
        if matched == 0:
            raise FormatMismatchError(
                f"0 of {lines} lines matched format {fmt.name}; choose another with --format"
            )
        if quarantine.total / lines > ratio:
            raise TooManyBadLinesError(
                f"{quarantine.total} of {lines} lines are bad, over the allowed ratio {ratio:g}; "
                f"nothing was written ({quarantine.summary()})"
            )
        staged = transaction.finish()
        entry: dict[str, Any] = {
            "id": content,
            "raw_sha256": reader.raw_sha256,
            "quick": quick,
            "kind": "access",
            "format": fmt.name,
            "lines": reader.lines_read,
            "rows": rows,
            "quarantine": quarantine.to_dict(),
            "days": transaction.rows_by_day(),
            "rotation": config.key.rotation.value,
            "ingested_at": utc_now(),
            **overlap.entry(reader, reader.tail and last_row == reader.lines_read),
        }
        store.commit(
            staged=staged,
            staging=transaction.staging,
            add_inputs=[entry],
            vocabulary=anonymiser.paths.learned,
            key_fingerprint=key.fingerprint(),
        )
    except BaseException:
        transaction.discard()
        raise
    return IngestResult(
        source.label,
        "ingested",
        lines,
        rows,
        quarantine,
        transaction.rows_by_day(),
        skipped=reader.skipped_lines,
    )


def _restore(
    store: Store,
    transaction: Transaction,
    restoring: Restoration,
    label: str,
    lines: int,
    quarantine: Quarantine,
) -> IngestResult:
    """An input read again after ``store check --repair`` moved days of it aside: its rows of
    those days go back, the others are in the store already."""
    days = restoring.days
    kept = [e for e in transaction.finish() if e["day"] in days]
    restored: dict[str, int] = {}
    for staged_file in kept:
        restored[staged_file["day"]] = restored.get(staged_file["day"], 0) + staged_file["rows"]
    store.commit(staged=kept, staging=transaction.staging, change=restoring.done)
    return IngestResult(
        label, "restored", lines, sum(restored.values()), quarantine, dict(sorted(restored.items()))
    )


def _ahead(
    items: Iterator[Any],
    work: Callable[[Any], Any],
    name: str,
    depth: int = 1,
    meanwhile: Callable[[], Any] | None = None,
) -> Iterator[Any]:
    """``work(item)`` for each item, done in a thread up to ``depth`` items ahead of the caller.

    Bounded, so memory stays flat: the thread waits while ``depth`` results are unclaimed.
    An exception in the thread is raised here, in the caller. ``meanwhile`` runs in the caller
    once the thread has started, before the first result is awaited. Once this stops, for
    whatever reason, the thread closes ``items``: when ``items`` is an earlier stage, that
    stops its thread too, before this returns.
    """
    slots: queue.Queue[Any] = queue.Queue(maxsize=depth)
    done = object()
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                if stop.is_set():
                    return
                result = work(item)
                del item
                slots.put(result)
                del result
            slots.put(done)
        except BaseException as exc:  # handed to the consumer, raised there
            slots.put(exc)
        finally:
            # Left to the garbage collector (which the command line pauses while ingesting, and
            # the exception's traceback holds this frame), an earlier stage's thread would
            # outlive the ingest.
            close = getattr(items, "close", None)
            if close is not None:
                close()

    thread = threading.Thread(target=produce, name=name, daemon=True)
    thread.start()
    try:
        if meanwhile is not None:
            meanwhile()
        while True:
            item = slots.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
            del item
    finally:
        stop.set()
        while thread.is_alive():
            with contextlib.suppress(queue.Empty):
                slots.get(timeout=0.05)
