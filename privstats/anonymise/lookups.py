"""The look-ups of an ingest that hold the GIL, in a child process: user-agent classes
(``useragents.classify``) and referer hosts' registrable domains
(``domains.registrable_domain``).

Both load rules when first used, all in Python: ua-parser's matcher (a quarter of a second,
40 MB) and tldextract with requests and the public-suffix list (a fifth of a second). Started
as ``privstats ingest access`` begins, before it imports numpy, pyarrow and polars, the worker
loads them on the other core meanwhile; later the anonymiser hands it a block's new agents and
hosts first and reads the answers after the rest of the block. Raw agents and referer hosts
cross only its pipes; its standard error is discarded, so nothing it could print (a traceback
that quotes one) reaches a log. Run as ``python -m privstats.anonymise.lookups``; this module
imports nothing heavy.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import os
import pickle
import queue
import select
import struct
import subprocess
import sys
import threading
from dataclasses import dataclass
from typing import IO, Any

from privstats.anonymise.domains import registrable_domain
from privstats.anonymise.useragents import AgentClass, classify


class LookupWorkerError(Exception):
    """The worker stopped or answered out of turn (the caller looks up in-process)."""


@dataclass(frozen=True)
class Answers:
    """The classes of the agents of a question, and the domains of its hosts, in order."""

    agents: list[AgentClass]
    domains: list[str | None]


# Messages: an 8-byte length, then a pickle: (agents, hosts) asked; (agent classes as tuples,
# domains) answered.
_FRAME = struct.Struct("<Q")


class LookupWorker:
    """``classify`` and ``registrable_domain`` in a child process: ``ask`` about lists of agents
    and hosts, later read the ``answers``. Any failure raises ``LookupWorkerError``."""

    def __init__(self) -> None:
        # Unbuffered, so that ``ready`` can ask the pipe itself whether an answer came.
        self._process = subprocess.Popen(
            [sys.executable, "-m", __name__],
            bufsize=0,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        self._requests: IO[bytes] = io.BufferedWriter(self._process.stdin)  # type: ignore[arg-type]
        self._replies: IO[bytes] = self._process.stdout  # type: ignore[assignment]
        self._unanswered = 0

    @property
    def pid(self) -> int:
        return self._process.pid

    def ask(self, agents: list[str | None], hosts: list[str]) -> None:
        """Ask about these; several questions may wait, and are answered in order."""
        _send(self._requests, (agents, hosts))
        self._unanswered += 1

    def drain(self) -> None:
        """Read and drop the answers nobody collected (an ingest that failed between its
        questions and their answers): the next answers are then the next question's."""
        while self._unanswered:
            self.answers()

    def ready(self) -> bool:
        """Whether ``answers`` would find its answer begun (or the worker gone) and not wait
        for the worker to work it out."""
        return not self._unanswered or bool(select.select([self._replies], [], [], 0)[0])

    def answers(self) -> Answers:
        """The answers to the oldest question not answered yet."""
        if not self._unanswered:
            raise LookupWorkerError("the look-up worker was asked nothing")
        self._unanswered -= 1
        agents, domains = _receive(self._replies)
        return Answers([AgentClass(*row) for row in agents], domains)

    def close(self) -> None:
        with contextlib.suppress(OSError):  # the worker is gone already
            self._requests.close()
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._replies.close()

    def __enter__(self) -> LookupWorker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def look_up(agents: list[str | None], hosts: list[str]) -> Answers:
    """What the worker answers, computed here."""
    return Answers([classify(agent) for agent in agents], [registrable_domain(h) for h in hosts])


def serve(requests: IO[bytes], answers: IO[bytes]) -> None:
    """The worker's loop: answer each question, until the asking side closes.

    Questions are read from the pipe as they come, while the rules load: a block's agents fill
    more than a pipe holds, and the ingest would wait on its write until this process read.
    """
    questions: queue.SimpleQueue[Any] = queue.SimpleQueue()

    def read() -> None:
        while True:
            try:
                questions.put(_receive(requests))
            except LookupWorkerError:
                questions.put(None)
                return

    threading.Thread(target=read, name="privstats-questions", daemon=True).start()
    look_up(["Mozilla/5.0"], ["example.com"])  # the rules, loaded before the first question
    while (question := questions.get()) is not None:
        found = look_up(*question)
        _send(answers, ([dataclasses.astuple(c) for c in found.agents], found.domains))


def _send(stream: IO[bytes], value: Any) -> None:
    payload = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    try:
        stream.write(_FRAME.pack(len(payload)) + payload)
        stream.flush()
    except (OSError, ValueError):
        raise LookupWorkerError("the look-up worker is gone") from None


def _receive(stream: IO[bytes]) -> Any:
    try:
        head = _read(stream, _FRAME.size)
        if len(head) < _FRAME.size:
            raise LookupWorkerError("the look-up worker stopped")
        return pickle.loads(_read(stream, _FRAME.unpack(head)[0]))
    except (OSError, ValueError, EOFError, pickle.UnpicklingError):
        raise LookupWorkerError("the look-up worker answered nothing readable") from None


def _read(stream: IO[bytes], size: int) -> bytes:
    """``size`` bytes, fewer only at the end of the stream (an unbuffered pipe gives what it
    holds)."""
    data = stream.read(size)
    while data and len(data) < size:
        more = stream.read(size - len(data))
        if not more:
            break
        data += more
    return data


if __name__ == "__main__":
    serve(sys.stdin.buffer, sys.stdout.buffer)
    # Every answer is flushed already; tearing down the interpreter (the matcher, the suffix
    # trie) would only keep the ingest, which waits for this process to end, waiting longer.
    os._exit(0)
