"""The secret pseudonymisation key: created once, outside any repository, never shown.

Pseudonyms are HMAC-SHA-256 under keys derived from the secret for one purpose and one period,
so that an unkeyed brute force over the 2^32 IPv4 addresses recovers nothing, and a visitor's
pseudonyms of two different days cannot be linked without the secret.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import stat
from functools import lru_cache
from pathlib import Path

from privstats.exceptions import ConfigError, KeyMissingError

KEY_BYTES = 32


class SecretKey:
    """The loaded secret. Its bytes never appear in ``repr``, logs or errors."""

    __slots__ = ("_secret",)

    def __init__(self, secret: bytes) -> None:
        if len(secret) < 16:
            raise KeyMissingError("the pseudonymisation key is too short: create a new one")
        self._secret = secret

    def __repr__(self) -> str:
        return "SecretKey(<hidden>)"

    def derive(self, purpose: str, period: str = "") -> bytes:
        """A sub-key for one purpose ('visitor', 'person', 'canary') and one period label."""
        return _derive(self._secret, purpose, period)

    def fingerprint(self) -> str:
        """A short public id of the key (so a reviewer can tell two keys apart)."""
        return hmac.new(self._secret, b"privstats-fingerprint", hashlib.sha256).hexdigest()[:12]


@lru_cache(maxsize=4096)
def _derive(secret: bytes, purpose: str, period: str) -> bytes:
    return hmac.new(secret, f"{purpose}\x00{period}".encode(), hashlib.sha256).digest()


def create_key(path: Path) -> Path:
    """Write a new random key file with mode 0600; refuse to overwrite or to write in a repo."""
    path = Path(path)
    if path.exists():
        raise ConfigError(f"a key already exists at {path}; it is kept (delete it to start over)")
    repo = _enclosing_repository(path.parent)
    if repo is not None:
        raise ConfigError(
            f"refusing to create the key inside the repository {repo}: "
            "choose a path outside it with PRIVSTATS_KEY_FILE"
        )
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_hex(KEY_BYTES) + "\n")
    return path


def load_key(path: Path) -> SecretKey:
    """Read the key; a missing, unreadable or too-open key file is a one-line error."""
    path = Path(path)
    hint = "run 'privstats init' to create one, or point PRIVSTATS_KEY_FILE at it"
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise KeyMissingError(f"no pseudonymisation key at {path}: {hint}") from None
    except OSError as exc:
        raise KeyMissingError(f"cannot read the key at {path} ({exc.strerror}): {hint}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyMissingError(f"the key at {path} is readable by others: run 'chmod 600 {path}'")
    try:
        text = path.read_text(encoding="ascii").strip()
        secret = bytes.fromhex(text)
    except (OSError, ValueError, UnicodeDecodeError):
        raise KeyMissingError(f"the key at {path} is damaged: {hint}") from None
    return SecretKey(secret)


def _enclosing_repository(folder: Path) -> Path | None:
    folder = folder.expanduser().resolve()
    for candidate in (folder, *folder.parents):
        if (candidate / ".git").exists():
            return candidate
    return None
