"""Access logs: read plain, gzip or stdin input in blocks and parse them column-wise.

A block of complete lines is read by one compiled pass (``tokens``) that proves, line by line,
that it reads the line exactly as the format's regex would, types the time and the numbers,
and dictionary-encodes the text fields; the few lines it cannot vouch for, and formats that
are not space-separated tokens, go through the line-by-line parser (``lines``), which is the
definition. Text fields are then validated and typed once per distinct value (``parsed``).
Bad lines are counted by reason; their content goes nowhere.
"""

from __future__ import annotations

import glob
import gzip
import hashlib
import io
import os
import select
import stat
import sys
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from privstats._lazy import LazyModule
from privstats.exceptions import InputError
from privstats.quarantine import Quarantine
from privstats.sources import tokens
from privstats.sources.lines import LineParser
from privstats.sources.logformat import Field, LogFormat
from privstats.sources.parsed import (
    PLAIN_FIELDS,
    BlockTally,
    Coded,
    ParsedBlock,
    RawFields,
    typed,
)
from privstats.sources.tokens import Action, Scan, TokenPlan

if TYPE_CHECKING:
    import polars as pl
else:
    pl = LazyModule("polars")

# Ingest holds a few blocks at a time. Every block costs the anonymiser a fixed share of Python
# work, so larger blocks are faster (8 MiB -> 16 MiB: 3.4 -> 2.8 s for 2 million lines, when
# it was measured; on 2026-12-02 24 MiB blocks gave -0.13 s, standard error 0.10 s, in 16
# alternating pairs) while a 20-million-line log stays well under 500 MB (394 MiB; 24 MiB
# blocks cost 45 MB more, 32 MiB peak near 480 MiB). Path vocabulary is learned block by
# block, so the block size is part of what templates a path: changing it changes stores.
BLOCK_BYTES = 16 << 20
_GZIP_MAGIC = b"\x1f\x8b"


# How long a named pipe may wait for a process to write to it, the store locked meanwhile.
PIPE_WAIT_SECONDS = 30.0


@dataclass(frozen=True)
class Input:
    """One input to read: a file, or standard input when ``path`` is None. ``problem``: why it
    cannot be read at all (a missing file, a folder), said when its turn comes, so that the
    other inputs of the command still go in."""

    path: Path | None
    label: str
    problem: str | None = None

    @property
    def is_stdin(self) -> bool:
        return self.path is None

    @property
    def is_file(self) -> bool:
        """A regular file (not standard input, a named pipe or a device): it can be re-read."""
        return self.path is not None and self.path.is_file()


def expand_inputs(patterns: list[str]) -> list[Input]:
    """Paths and globs -> inputs, in order; ``-`` is standard input. A pattern matching no
    file, and a folder, are inputs with a problem."""
    inputs: list[Input] = []
    for pattern in patterns:
        if pattern == "-":
            inputs.append(Input(None, "<stdin>"))
            continue
        matches = sorted(glob.glob(pattern)) if glob.has_magic(pattern) else [pattern]
        if not matches:
            inputs.append(Input(Path(pattern), pattern, "no file matches it"))
        for match in matches:
            path = Path(match)
            problem = None
            if path.is_dir():
                problem = "it is a folder; name the log files in it (globs work)"
            elif not path.exists():
                problem = "no such file"
            inputs.append(Input(path, match, problem))
    return inputs


def quick_fingerprint(source: Input) -> str | None:
    """Size plus the first and last MiB, hashed: finds a likely re-ingest without a full read.
    None for what cannot be read twice (standard input, a named pipe)."""
    path = source.path
    if path is None or not source.is_file:
        return None
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            size = handle.seek(0, 2)
            digest.update(str(size).encode())
            handle.seek(0)
            digest.update(handle.read(1 << 20))
            handle.seek(max(0, size - (1 << 20)))
            digest.update(handle.read(1 << 20))
    except OSError as exc:
        raise InputError(f"cannot read {source.label}: {exc.strerror}") from None
    return digest.hexdigest()


def content_size(source: Input) -> int | None:
    """The bytes of content a plain file holds, known before reading it (None for standard
    input, a named pipe, a gzip file)."""
    path = source.path
    if path is None or not source.is_file:
        return None
    try:
        with path.open("rb") as handle:
            if handle.read(2) == _GZIP_MAGIC:
                return None
            return os.fstat(handle.fileno()).st_size
    except OSError as exc:
        raise InputError(f"cannot read {source.label}: {exc.strerror}") from None


def raw_digest(source: Input) -> str:
    """SHA-256 of a file's bytes as stored."""
    digest = hashlib.sha256()
    try:
        # Called for files only: standard input cannot be read twice.
        with source.path.open("rb") as handle:  # type: ignore[union-attr]
            while chunk := handle.read(1 << 22):
                digest.update(chunk)
    except OSError as exc:
        raise InputError(f"cannot read {source.label}: {exc.strerror}") from None
    return digest.hexdigest()


class _Hashing(io.RawIOBase):
    """Hashes the compressed bytes of a file while gzip reads them."""

    def __init__(self, handle: io.BufferedIOBase, digest: Any) -> None:
        self.handle = handle
        self.digest = digest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = self.handle.readinto(buffer)
        self.digest.update(memoryview(buffer)[:n])
        return n

    def close(self) -> None:
        self.handle.close()
        super().close()


class BlockReader:
    """Yields blocks of whole lines, hashing the decompressed content as it goes.

    With ``reuse``, every block is read into the same buffer and handed out as a memoryview
    that is only valid until the next block is asked for: no allocation, no copy, no page
    faults per block (ingest parses each block before it reads the next). With ``reuse``,
    lines are not counted either; the caller counts them and keeps ``lines_read`` up to date.

    ``continuing``, given the input's first line (without its line end), names the length in
    bytes and in lines of an earlier input this one may continue ((0, 0): none): those bytes
    are read and hashed but not handed out (``prefix_sha256`` is their SHA-256, None if the
    input ended first), and the lines handed out are numbered after them.

    The content is hashed in order as blocks are handed out, so that besides its SHA-256
    (``content``) the SHA-256 of its whole lines is known (``complete_sha256``, of its first
    ``complete_size`` bytes): a log still being written may end inside a line, which the log
    that grows from it completes.
    """

    def __init__(
        self,
        source: Input,
        block_bytes: int = BLOCK_BYTES,
        reuse: bool = False,
        max_line_bytes: int | None = None,
        continuing: Callable[[bytes], tuple[int, int]] | None = None,
    ):
        """``max_line_bytes``: a line longer is handed on cut to one byte more than this (it is
        quarantined as too long), the rest of it read and hashed but not kept: memory stays
        bounded by the block size whatever the line's length."""
        self.source = source
        self.block_bytes = block_bytes
        self.reuse = reuse
        self.longest = None if max_line_bytes is None else max_line_bytes + 1
        self.continuing = continuing
        self.prefix_sha256: str | None = None
        self.skipped_lines = 0
        self.size = 0  # bytes of content read (and hashed)
        self.complete_size = 0  # of them, up to the last line feed
        self.complete_sha256: str | None = None  # None: the last line is over-long, unended
        self.tail = False  # the content ends inside a line
        self.content = hashlib.sha256()
        self.compressed: Any = None  # the file's own SHA-256 when it is gzip, else None
        self.lines_read = 0

    @property
    def raw_sha256(self) -> str:
        return (self.compressed or self.content).hexdigest()

    def _open(self) -> io.BufferedIOBase:
        if self.source.path is None:
            # A BufferedReader (typeshed types it as a BinaryIO, which has no readinto).
            return sys.stdin.buffer  # type: ignore[return-value]
        if not self.source.is_file:
            return _open_stream(self.source)
        try:
            handle = self.source.path.open("rb")
            magic = handle.read(2)
            handle.seek(0)
        except OSError as exc:
            raise InputError(f"cannot read {self.source.label}: {exc.strerror}") from None
        if magic == _GZIP_MAGIC:
            self.compressed = hashlib.sha256()
            hashing = io.BufferedReader(_Hashing(handle, self.compressed), 1 << 20)
            return gzip.GzipFile(fileobj=hashing, mode="rb")
        return handle

    def __iter__(self) -> Iterator[tuple[int, Any, int]]:
        """(number of the first line, the block, how many lines it holds).

        A block is read into its buffer directly and never copied.
        """
        handle = self._open()
        buffer = bytearray()
        skipping = False  # the carry is the cut start of an over-long line: drop its rest
        hashed = 0  # bytes at the start of the carry hashed already (an over-long line's)
        try:
            carry = self._start(handle)
            # The bytes read ahead with the first line open the first block, which stays as
            # large as ever: vocabulary is learned block by block, so where blocks end shapes
            # a store's templates.
            ahead = len(carry)
            while True:
                size = max(self.block_bytes, ahead) if ahead else len(carry) + self.block_bytes
                if not self.reuse or len(buffer) < size:
                    buffer = bytearray(size)
                buffer[: len(carry)] = carry
                got = self._fill(handle, memoryview(buffer)[len(carry) : size])
                filled = len(carry) + got
                if not got and not ahead:
                    break
                ahead = 0
                if skipping:
                    end = buffer.find(b"\n", len(carry), filled)
                    self._hash(memoryview(buffer)[len(carry) : filled if end < 0 else end])
                    if end < 0:
                        continue  # all of it the over-long line's: read over it
                    # The rest of the line dropped, moved over in place (the buffer may be
                    # lent out as a view: its size stays).
                    rest = filled - end
                    buffer[len(carry) : len(carry) + rest] = buffer[end:filled]
                    filled = len(carry) + rest
                    skipping = False
                cut = buffer.rfind(b"\n", 0, filled) + 1
                kept = filled if self.longest is None else min(filled, cut + self.longest)
                if cut:
                    self._hash(memoryview(buffer)[hashed:cut])
                    hashed = 0
                if kept < filled:  # an over-long line: hashed whole now, in order
                    self._hash(memoryview(buffer)[max(cut, hashed) : filled])
                    hashed = kept - cut
                carry, skipping = bytes(buffer[cut:kept]), kept < filled
                if cut == 0:
                    continue  # no line ends yet: read on
                if self.reuse:
                    yield self._counted(memoryview(buffer)[:cut])
                else:
                    del buffer[cut:]
                    yield self._counted(buffer)
            self.complete_size = self.size
            self.complete_sha256 = self.content.hexdigest() if not hashed else None
            if carry:  # the last line lacks its line feed (or, read with the first, has it)
                self._hash(memoryview(carry)[hashed:])
                if carry[-1:] == b"\n":
                    self.complete_size = self.size
                    self.complete_sha256 = self.content.hexdigest()
                else:
                    self.tail = True
                yield self._counted(bytearray(carry if carry[-1:] == b"\n" else carry + b"\n"))
        finally:
            if handle is not sys.stdin.buffer:
                handle.close()

    def _hash(self, view: memoryview) -> None:
        self.content.update(view)
        self.size += len(view)

    def _start(self, handle: io.BufferedIOBase) -> bytes:
        """Where reading starts: with ``continuing``, the first line is read and, if it names
        an earlier input's length, that many bytes are read over (and hashed). The bytes read
        and not read over (the carry of the first block, not hashed yet)."""
        if self.continuing is None:
            return b""
        limit = self.longest or (1 << 20)
        head = bytearray()
        while b"\n" not in head and len(head) < limit:
            chunk = bytearray(min(1 << 16, self.block_bytes))
            n = self._fill(handle, memoryview(chunk))
            head += chunk[:n]
            if n < len(chunk):
                break
        end = head.find(b"\n")
        first = bytes(head[: end if end >= 0 else len(head)]).rstrip(b"\r")
        length, lines = self.continuing(first)
        if not length:
            return bytes(head)
        self._hash(memoryview(head)[:length])
        left = length - min(length, len(head))
        scratch = bytearray(min(left, self.block_bytes))
        while left:
            n = self._fill(handle, memoryview(scratch)[: min(left, len(scratch))])
            if not n:
                return b""  # the input ended inside the bytes it was to continue
            self._hash(memoryview(scratch)[:n])
            left -= n
        self.prefix_sha256 = self.content.copy().hexdigest()
        self.lines_read = self.skipped_lines = lines
        return bytes(head[length:])

    def _fill(self, handle: io.BufferedIOBase, view: memoryview) -> int:
        """Read until ``view`` is full or the input ends; the number of bytes read."""
        label = self.source.label
        filled = 0
        while filled < len(view):
            try:
                n = handle.readinto(view[filled:])
            except (EOFError, gzip.BadGzipFile, zlib.error):
                raise InputError(
                    f"{label} is a damaged or truncated gzip file "
                    f"({self.lines_read} lines could be read); nothing was written for it"
                ) from None
            except OSError as exc:
                raise InputError(f"cannot read {label}: {exc.strerror}") from None
            if not n:
                break
            filled += n
        return filled

    def _counted(self, block: Any) -> tuple[int, Any, int]:
        start = self.lines_read + 1
        if self.reuse:
            return start, block, 0
        lines = int(np.count_nonzero(np.frombuffer(block, dtype=np.uint8) == 10))
        self.lines_read += lines
        return start, block, lines


def _open_stream(source: Input) -> io.BufferedIOBase:
    """A named pipe (or another file that is no regular one) opened for reading, waiting up to
    ``PIPE_WAIT_SECONDS`` for a process to write to it: opened plainly, a pipe nobody writes to
    would hold the command, and the store's lock, for ever."""
    path = source.path
    try:
        # Called for a path that is not a regular file, never for standard input (None).
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # type: ignore[arg-type]
    except OSError as exc:
        raise InputError(f"cannot read {source.label}: {exc.strerror}") from None
    try:
        if stat.S_ISFIFO(os.fstat(fd).st_mode):
            # A pipe no writer has opened yet polls as not ready; one written to, or whose
            # writer came and went, as ready.
            poller = select.poll()
            poller.register(fd, select.POLLIN)
            if not poller.poll(int(PIPE_WAIT_SECONDS * 1000)):
                raise InputError(
                    f"{source.label} is a named pipe no process wrote to within "
                    f"{PIPE_WAIT_SECONDS:g} s; start its writer first; nothing was written for it"
                )
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


class BlockParser:
    """Parses blocks of one format; safe to share between threads (it keeps no state)."""

    def __init__(self, fmt: LogFormat, max_line_bytes: int) -> None:
        self.fmt = fmt
        self.max_line_bytes = max_line_bytes
        self.plan = TokenPlan.of(fmt)
        self.line_parser = LineParser(fmt, max_line_bytes)

    def parse(self, block: Any, first_line: int) -> tuple[ParsedBlock, BlockTally]:
        """Valid lines of ``block`` (whole lines) typed, and the block's bad lines by reason.

        ``block`` is any buffer (bytes, bytearray, memoryview); ``tally.line_count`` counts
        its lines. Rows the tokeniser keeps come first, then the lines read one by one.
        """
        tally = BlockTally()
        if self.plan is None:
            raws = bytes(block).split(b"\n")[:-1]
            tally.line_count = len(raws)
            raw = self._line_by_line(range(first_line, first_line + len(raws)), raws, tally)
            return typed(raw, self.fmt, tally), tally
        found = tokens.scan(block, self.plan, self.max_line_bytes)
        tally.line_count = found.lines
        fast, handed = self._rows(found, first_line)
        if not len(handed):
            return typed(fast, self.fmt, tally), tally
        handed = handed[np.argsort(handed[:, 0], kind="stable")]
        slow = self._line_by_line(
            (first_line + handed[:, 0]).tolist(),
            [bytes(block[start:end]) for start, end in handed[:, 1:].tolist()],
            tally,
        )
        parsed = ParsedBlock.concat(typed(fast, self.fmt, tally), typed(slow, self.fmt, tally))
        return parsed, tally

    def _line_by_line(self, numbers: Any, raws: list[bytes], tally: BlockTally) -> RawFields:
        rows = self.line_parser.parse(list(numbers), raws, tally)
        return RawFields.from_columns(rows.numbers, rows.fields)

    def _rows(self, found: Scan, first_line: int) -> tuple[RawFields, np.ndarray]:
        """The tokeniser's rows as fields, and the lines to read one by one (line, start, end):
        those it handed over, and those whose token of several fields does not split as the
        format says."""
        # Called from parse, only when the format has a token plan.
        plan: TokenPlan = self.plan  # type: ignore[assignment]
        rows = len(found.row_line)
        doubtful = np.zeros(rows, dtype=bool)
        columns: dict[Field, Coded] = {}
        for j, t in enumerate(plan.coded):
            coded = Coded(found.codes[j], found.values[j])
            token = plan.tokens[t]
            if token.pattern is None:
                columns[plan.carries[t][0][1]] = coded
                continue
            # Split once per distinct value; a value the pattern does not read sends its rows
            # to the line parser, which quarantines them.
            matches = [token.pattern.match(v) for v in coded.values.to_pylist()]
            doubtful |= coded.per_row(np.array([m is None for m in matches], dtype=bool))
            for g, name in plan.carries[t]:
                parts = [m.group(g + 1) if m else None for m in matches]
                columns[name] = coded.with_values(pa.array(parts, pa.string()))
        keep = ~doubtful if doubtful.any() else slice(None)
        raw = RawFields(first_line + found.row_line[keep])
        for name, coded in columns.items():
            if name in PLAIN_FIELDS:
                raw.plain[name] = coded.materialize().filter(pa.array(~doubtful))
            else:
                raw.coded[name] = coded.filter(keep)
        for name, t in plan.typed.items():
            action = Action(int(plan.program[t, 1]))
            if action is Action.TIME:
                raw.known[name] = found.ts[keep]
            elif action is Action.STATUS:
                raw.known[name] = found.status[keep]
            elif action is Action.SIZE:
                raw.known[name] = pa.array(found.size[keep])
            else:
                raw.known[name] = pa.array(
                    found.response_us[keep], mask=~found.response_known[keep]
                )
        handed = found.other_span
        if doubtful.any():
            picked = np.flatnonzero(doubtful)
            extra = np.column_stack([found.row_line[picked], found.row_span[picked]])
            handed = np.concatenate([handed, extra])
        return raw, handed


def parse_block(
    block: bytes,
    first_line: int,
    fmt: LogFormat,
    max_line_bytes: int,
    quarantine: Quarantine,
    index: object = None,
) -> pl.DataFrame:
    """Parse one block into typed canonical columns, in line order; bad lines go to ``quarantine``.

    A convenience over ``BlockParser`` for small inputs and tests; ingest keeps the coded form.
    """
    del index  # accepted for compatibility; the parser finds lines itself
    parsed, tally = BlockParser(fmt, max_line_bytes).parse(block, first_line)
    tally.into(quarantine)
    return parsed.to_frame().sort("line")
