"""User agent -> browser family, major version, OS family, device class, bot flag.

The raw string never leaves this module. Classification uses ua-parser with its bundled
uap-core rules (no download), and runs once per distinct string: a log of millions of lines
has a few thousand distinct agents.

Building ua-parser's matcher takes a quarter of a second and 40 MB, and it and every match
hold the GIL. So ``privstats ingest access`` classifies in a worker process (``AgentWorker``):
this module run on its own, started before the ingest imports numpy and pyarrow, answering
with the same ``classify`` over a pipe. The raw strings cross only that pipe.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import pickle
import re
import struct
import subprocess
import sys
from dataclasses import dataclass
from functools import lru_cache
from typing import IO, Any

# Automated clients uap-core does not mark as spiders: feed readers, libraries, monitors.
# Matched against the case-folded agent: an IGNORECASE search of these alternatives is about
# fifteen times slower, and would be half the cost of classifying an agent.
_BOT_HINTS = re.compile(
    r"bot\b|bot/|crawl|spider|slurp|feed|rss|curl/|wget/|python-requests|python-urllib|"
    r"go-http-client|java/|okhttp|libwww|httpclient|scrapy|headless|monitor|uptime|"
    r"pingdom|preview|facebookexternalhit|archiver"
)
_DESKTOP_OS = {
    "Windows", "Mac OS X", "macOS", "Linux", "Ubuntu", "Fedora", "Debian", "Chrome OS",
    "FreeBSD", "OpenBSD", "NetBSD", "Solaris", "SUSE", "Red Hat", "Mint", "Arch Linux",
}  # fmt: skip
_MOBILE_OS = {"iOS", "Android", "Windows Phone", "BlackBerry OS", "KaiOS", "Tizen", "HarmonyOS"}


class Device:
    DESKTOP = "desktop"
    MOBILE = "mobile"
    TABLET = "tablet"
    BOT = "bot"
    OTHER = "other"


@dataclass(frozen=True)
class AgentClass:
    browser: str
    browser_major: str | None
    os: str
    device: str
    is_bot: bool


UNKNOWN = AgentClass("Other", None, "Other", Device.OTHER, False)


@lru_cache(maxsize=200_000)
def classify(agent: str | None) -> AgentClass:
    """Classify one user-agent string (cached: call it freely)."""
    if not agent or agent == "-":
        return UNKNOWN
    import ua_parser  # here: a process that has a worker classify never loads it

    result = ua_parser.parse(agent)
    browser = result.user_agent.family if result.user_agent else "Other"
    major = result.user_agent.major if result.user_agent else None
    os_family = result.os.family if result.os else "Other"
    device_family = result.device.family if result.device else "Other"
    folded = agent.casefold()
    is_bot = device_family == "Spider" or bool(_BOT_HINTS.search(folded))
    return AgentClass(
        browser=browser,
        browser_major=major if major and major.isdigit() and len(major) <= 5 else None,
        os=os_family,
        device=_device(folded, os_family, device_family, is_bot),
        is_bot=is_bot,
    )


def _device(folded: str, os_family: str, device_family: str, is_bot: bool) -> str:
    if is_bot:
        return Device.BOT
    if "ipad" in folded or "tablet" in folded or device_family in {"iPad", "Kindle"}:
        return Device.TABLET
    if os_family == "Android" and "mobile" not in folded:
        return Device.TABLET
    if os_family in _MOBILE_OS or "mobile" in folded:
        return Device.MOBILE
    if os_family in _DESKTOP_OS:
        return Device.DESKTOP
    return Device.OTHER


class AgentWorkerError(Exception):
    """The worker stopped or answered out of turn (the caller classifies in-process)."""


# Messages: an 8-byte length, then a pickle (a list of agents; a list of classes as tuples).
_FRAME = struct.Struct("<Q")


class AgentWorker:
    """``classify`` in a child process: ``ask`` a list of agents, later read its ``answers``.

    The child builds the matcher as soon as it starts; started first, it is ready when the
    first block comes. Its standard error is discarded: nothing it could print (a traceback
    that quotes an agent) reaches a log. Any failure raises ``AgentWorkerError``.
    """

    def __init__(self) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-m", __name__],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        # Opened with PIPE, so neither stream is None.
        self._requests: IO[bytes] = self._process.stdin  # type: ignore[assignment]
        self._replies: IO[bytes] = self._process.stdout  # type: ignore[assignment]
        self._unanswered = 0

    @property
    def pid(self) -> int:
        return self._process.pid

    def ask(self, agents: list[str | None]) -> None:
        # Answers to questions nobody collected (an ingest that failed between the two) are
        # read first: the next answers are then this question's.
        while self._unanswered:
            self.answers()
        _send(self._requests, agents)
        self._unanswered += 1

    def answers(self) -> list[AgentClass]:
        """The classes of the agents of the oldest question not answered yet."""
        if not self._unanswered:
            raise AgentWorkerError("the user-agent worker was asked nothing")
        self._unanswered -= 1
        return [AgentClass(*row) for row in _receive(self._replies)]

    def close(self) -> None:
        with contextlib.suppress(OSError):  # the worker is gone already
            self._requests.close()
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._replies.close()

    def __enter__(self) -> AgentWorker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def serve(requests: IO[bytes], answers: IO[bytes]) -> None:
    """The worker's loop: classify each list of agents asked, until the asking side closes."""
    classify("Mozilla/5.0")  # the matcher, built before the first question
    while True:
        try:
            agents = _receive(requests)
        except AgentWorkerError:
            return
        _send(answers, [dataclasses.astuple(classify(agent)) for agent in agents])


def _send(stream: IO[bytes], value: Any) -> None:
    payload = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    try:
        stream.write(_FRAME.pack(len(payload)) + payload)
        stream.flush()
    except (OSError, ValueError):
        raise AgentWorkerError("the user-agent worker is gone") from None


def _receive(stream: IO[bytes]) -> Any:
    try:
        head = stream.read(_FRAME.size)
        if len(head) < _FRAME.size:
            raise AgentWorkerError("the user-agent worker stopped")
        payload = stream.read(_FRAME.unpack(head)[0])
        return pickle.loads(payload)
    except (OSError, ValueError, EOFError, pickle.UnpicklingError):
        raise AgentWorkerError("the user-agent worker answered nothing readable") from None


if __name__ == "__main__":
    serve(sys.stdin.buffer, sys.stdout.buffer)
    # Every answer is flushed already; tearing down the interpreter (the matcher, the caches)
    # would only keep the ingest, which waits for this process to end, waiting longer.
    os._exit(0)
