"""Keyed pseudonyms: HMAC-SHA-256 truncated to a signed 64-bit integer.

Visitor pseudonyms use a key derived per rotation period, so the same browser on two days gets
two unlinkable integers. Person pseudonyms (from e-mail addresses) never rotate: the CRM, a web
login and an erasure request must all find the same person. 64 bits keep the store compact; the
chance of any collision among a million visitors of one period is about 3 in 10^8.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

import numpy as np

from privstats.config import Rotation
from privstats.key import SecretKey

VISITOR = "visitor"
PERSON = "person"


def period_label(rotation: Rotation, ts: datetime) -> str:
    """The key period a UTC timestamp falls in."""
    if rotation is Rotation.DAY:
        return ts.strftime("%Y-%m-%d")
    if rotation is Rotation.MONTH:
        return ts.strftime("%Y-%m")
    return "-"


def period_format(rotation: Rotation) -> str | None:
    """The strftime pattern of period labels, or None when the key never rotates."""
    return {Rotation.DAY: "%Y-%m-%d", Rotation.MONTH: "%Y-%m"}.get(rotation)


def visitor_pseudonyms(
    key: SecretKey, periods: Sequence[str], clients: Sequence[str], agents: Sequence[str | None]
) -> np.ndarray:
    """One pseudonym per (period, client address, user agent) triple, in order."""
    digests = bytearray()
    copies: dict[str, Any] = {}
    for period, client, agent in zip(periods, clients, agents, strict=True):
        copy = copies.get(period)
        if copy is None:
            copy = copies[period] = _hmac_copier(key.derive(VISITOR, period))
        mac = copy()
        mac.update(f"{client}\x00{agent or ''}".encode("utf-8", "surrogateescape"))
        digests += mac.digest()[:8]
    return np.frombuffer(bytes(digests), dtype=">i8").astype(np.int64)


def _hmac_copier(subkey: bytes) -> Callable[[], Any]:
    """A function returning fresh HMAC-SHA-256 states keyed with ``subkey``.

    Copying a keyed state skips the key set-up; copying OpenSSL's state directly (CPython keeps
    it as ``_hmac``) also skips the Python wrapper, which is most of the cost of a short message.
    """
    base = hmac.new(subkey, digestmod=hashlib.sha256)
    inner = getattr(base, "_hmac", None)
    return inner.copy if inner is not None else base.copy


def normalise_email(email: str) -> str:
    return email.strip().lower()


def person_pseudonyms(key: SecretKey, emails: Iterable[str | None]) -> list[int | None]:
    """One never-rotating pseudonym per e-mail address (None stays None)."""
    base = hmac.new(key.derive(PERSON), digestmod=hashlib.sha256)
    out: list[int | None] = []
    for email in emails:
        if not email or email == "-":
            out.append(None)
            continue
        mac = base.copy()
        mac.update(normalise_email(email).encode("utf-8", "surrogateescape"))
        out.append(int.from_bytes(mac.digest()[:8], "big", signed=True))
    return out
