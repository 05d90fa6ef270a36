"""Canaries: known identifying values of the inputs, held only as keyed hashes.

The gate must find the CRM's names and e-mail addresses and the logs' IP addresses in a report
without a list of them lying next to it: such a list would itself be the leak. A ``CanarySet``
keeps HMAC-SHA-256 digests (truncated to 64 bits) of each value's forms under a key derived
from the secret (``SecretKey.derive("canary")``); the file it saves holds digests only, and
without the key no one can test a guess against them.

The forms of a value, all normalised (Unicode NFC, lower case, runs of white space as one
space), so that the way a report writes a value does not hide it:

- as given, and with Polish and other diacritics removed (``Łukasz`` → ``lukasz``);
- its words joined by single spaces (``Anna-Maria Nowak`` → ``anna maria nowak``), and for a
  two-word value also reversed (``kowalski jan``), to match names across markup and
  punctuation; an IPv4 address also as its reversed octets (the ``in-addr.arpa`` order);
- URL-encoded (``jan%40example.com``, ``jan+kowalski``), hexadecimal, base64;
- its unkeyed MD5, SHA-1 and SHA-256 in hex: a report that "anonymised" an address by hashing
  it without a key still gives it away.

Scanning tokenises the text three ways and looks every token up: words and runs of up to
``max_words`` adjacent words (names such as "Jan Kowalski", or "203 0 113 216" inside a host
name), compound tokens between white space and quotes (e-mail addresses, IP addresses, URLs),
and the parts of compound tokens between ``/ ? & = # :``, percent-decoded (query values).
Values shorter than four characters are skipped (counted in ``skipped``): they would match
ordinary words ("Jan" is also January).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import os
import re
import tempfile
import unicodedata
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus, unquote, unquote_plus

import numpy as np

from privstats.exceptions import ConfigError, InputError

CANARY_PURPOSE = "canary"  # the key: SecretKey.derive(CANARY_PURPOSE)
FORMAT = "privstats.canaries"
FORMAT_VERSION = 1
DIGEST_BYTES = 8
MIN_LENGTH = 4
MAX_WORDS = 8
_KEY_CHECK = b"privstats canary key check"
_CACHE_LIMIT = 1_000_000

_WORD = re.compile(r"\w+")
_SPACE = re.compile(r"\s+")
_WORD_GAP = re.compile(r"\s{1,8}|\s{0,4}[\-.,'’:/]{1,2}\s{0,4}")
_COMPOUND = re.compile(r"[^\s\"'<>()\[\]{}|,;`]+")
_PART_SPLIT = re.compile(r"[/?&=#:]")
_EDGE_PUNCT = ".:!?*"
_LATIN_EXTRA = str.maketrans({"ł": "l", "đ": "d", "ø": "o", "ß": "ss", "æ": "ae", "œ": "oe"})


def normalise(value: str) -> str:
    """The one form every value and every token is compared in."""
    return _SPACE.sub(" ", unicodedata.normalize("NFC", value).lower()).strip()


def _fold(word: str) -> str:
    """``normalise`` for one word (no white space in it), the fast way for ASCII."""
    return word.lower() if word.isascii() else unicodedata.normalize("NFC", word).lower()


def _plain_letters(text: str) -> str:
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text.translate(_LATIN_EXTRA))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _word_form(text: str) -> str:
    return " ".join(_WORD.findall(text))


def _forms(value: str) -> tuple[set[str], set[str]]:
    """(whole-token forms, word forms) of one value; both empty when the value is too short."""
    raw = value.strip()
    norm = normalise(raw)
    if len(norm) < MIN_LENGTH:
        return set(), set()
    exact = {norm, _plain_letters(norm)}
    words = {_word_form(norm), _word_form(_plain_letters(norm))}
    for form in [w for w in words if w.count(" ") == 1]:
        words.add(" ".join(reversed(form.split(" "))))
    try:
        address = ipaddress.ip_address(norm)
    except ValueError:
        address = None
    if isinstance(address, ipaddress.IPv4Address):
        words.add(" ".join(reversed(norm.split("."))))
    elif isinstance(address, ipaddress.IPv6Address):
        exact |= {address.compressed, address.exploded}
        words |= {_word_form(address.compressed), _word_form(address.exploded)}
    for text in {norm, raw}:
        data = text.encode("utf-8")
        exact |= {
            quote(text, safe=""),
            quote(text, safe="@"),
            quote_plus(text),
            data.hex(),
            base64.b64encode(data).decode("ascii"),
            base64.urlsafe_b64encode(data).decode("ascii").rstrip("="),
            hashlib.md5(data, usedforsecurity=False).hexdigest(),
            hashlib.sha1(data, usedforsecurity=False).hexdigest(),
            hashlib.sha256(data).hexdigest(),
        }
    exact = {f.lower() for f in exact if f}
    words = {w for w in words if w and w.count(" ") < MAX_WORDS}
    return exact, words


class CanarySet:
    """Keyed digests of known identifying values; finds them in text, never reveals them.

    The digests are 64-bit HMAC-SHA-256 prefixes in a sorted array (8 bytes a digest, about ten
    digests a value), searched in batches: a million values fit in about 80 MB. With ten
    million digests, a token that is no canary matches one by chance once in 10^12 look-ups.
    """

    __slots__ = (
        "_cache", "_digests", "_heads", "_key", "_pads", "count", "max_words", "skipped",
    )  # fmt: skip

    def __init__(
        self,
        key: bytes,
        digests: np.ndarray,
        heads: np.ndarray,
        max_words: int,
        count: int,
        skipped: int = 0,
    ) -> None:
        if len(key) < 16:
            raise ConfigError("the canary key is too short: derive it from the secret key")
        self._key = key
        self._pads = _hmac_pads(key)
        self._digests = _sorted_unique(digests)
        self._heads = _sorted_unique(heads)
        self.max_words = max(1, min(max_words, MAX_WORDS))
        self.count = count
        self.skipped = skipped
        self._cache: dict[str, tuple[bool, bool]] = {}  # form → (a canary, starts one)

    def __repr__(self) -> str:
        return f"CanarySet({self.count} values, {len(self._digests)} digests)"

    def __len__(self) -> int:
        return self.count

    def _digest(self, text: str) -> int:
        inner, outer = self._pads
        inner = inner.copy()
        inner.update(text.encode("utf-8", "surrogatepass"))
        outer = outer.copy()
        outer.update(inner.digest())
        return int.from_bytes(outer.digest()[:DIGEST_BYTES], "big")

    @classmethod
    def build(cls, values: Iterable[str], key: bytes) -> CanarySet:
        """Digest the forms of ``values``; the values themselves are not kept."""
        empty = cls(key, _NO_DIGESTS, _NO_DIGESTS, 1, 0)
        digests: set[int] = set()
        heads: set[int] = set()
        max_words = 1
        count = skipped = 0
        for value in values:
            exact, words = _forms(value)
            if not exact:
                skipped += 1
                continue
            count += 1
            digests.update(empty._digest(form) for form in exact | words)
            for form in words:
                parts = form.split(" ")
                if len(parts) > 1:
                    heads.add(empty._digest(parts[0]))
                    max_words = max(max_words, len(parts))
        return cls(key, _array(digests), _array(heads), max_words, count, skipped)

    def union(self, other: CanarySet) -> CanarySet:
        if not hmac.compare_digest(self._key, other._key):
            raise ConfigError("canary sets built with different keys cannot be joined")
        return CanarySet(
            self._key,
            np.concatenate([self._digests, other._digests]),
            np.concatenate([self._heads, other._heads]),
            max(self.max_words, other.max_words),
            self.count + other.count,
            self.skipped + other.skipped,
        )

    # --- files ------------------------------------------------------------------------------

    def _key_check(self) -> str:
        return hmac.digest(self._key, _KEY_CHECK, "sha256")[:8].hex()

    def save(self, path: Path) -> Path:
        """Write the digests (sorted, so their order tells nothing) atomically to ``path``."""
        path = Path(path)
        document = {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "mac": f"hmac-sha256/{DIGEST_BYTES * 8}",
            "key_check": self._key_check(),
            "count": self.count,
            "max_words": self.max_words,
            "digests": _encode(self._digests),
            "heads": _encode(self._heads),
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".canaries-", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="ascii") as handle:
                json.dump(document, handle, separators=(",", ":"))
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path

    @classmethod
    def load(cls, path: Path, key: bytes) -> CanarySet:
        """Read a canary file; one built under another key is refused, not silently useless."""
        path = Path(path)
        try:
            document = json.loads(path.read_text(encoding="ascii"))
            if document.get("format") != FORMAT or document.get("version") != FORMAT_VERSION:
                raise ValueError
            loaded = cls(
                key,
                _decode(document["digests"]),
                _decode(document["heads"]),
                int(document["max_words"]),
                int(document["count"]),
            )
            expected = str(document["key_check"])
        except FileNotFoundError:
            raise InputError(f"no canary file at {path}") from None
        except (OSError, ValueError, KeyError, TypeError, UnicodeDecodeError):
            raise InputError(f"the canary file {path} is damaged or not a canary file") from None
        if not hmac.compare_digest(loaded._key_check(), expected):
            raise ConfigError(f"the canary file {path} was built with another key")
        return loaded

    # --- matching ---------------------------------------------------------------------------

    def __contains__(self, value: object) -> bool:
        if not isinstance(value, str):
            return False
        form = normalise(value)
        return self._look_up({form})[form][0]

    def _look_up(self, forms: Iterable[str]) -> dict[str, tuple[bool, bool]]:
        """(a canary, the first word of one) for each form, in one search of the arrays."""
        cache = self._cache
        missing = [form for form in set(forms) if form not in cache]
        if missing:
            if len(cache) > _CACHE_LIMIT:
                cache.clear()
            wanted = np.fromiter((self._digest(f) for f in missing), np.uint64, len(missing))
            known = _members(self._digests, wanted)
            heads = _members(self._heads, wanted)
            for form, is_known, is_head in zip(missing, known, heads, strict=True):
                cache[form] = (bool(is_known), bool(is_head))
        return cache

    def find(self, text: str) -> list[tuple[int, int]]:
        """Spans of ``text`` that are canaries, in any of the forms the module describes."""
        if not len(self._digests):
            return []
        return self._find_words(text) + self._find_compounds(text)

    def _find_words(self, text: str) -> list[tuple[int, int]]:
        words = [(m.start(), m.end(), _fold(m.group())) for m in _WORD.finditer(text)]
        table = self._look_up(word for _, _, word in words)
        spans: list[tuple[int, int]] = []
        runs: list[tuple[int, int, str]] = []  # word runs that start with a canary's first word
        for i, (start, end, word) in enumerate(words):
            known, head = table[word]
            # a one-word canary has at least MIN_LENGTH characters; shorter words can only
            # begin a longer one ("jan kowalski", "203 0 113 216")
            if known and len(word) >= MIN_LENGTH:
                spans.append((start, end))
            if not head or self.max_words < 2:
                continue
            joined, last_end = word, end
            for next_start, next_end, next_word in words[i + 1 : i + self.max_words]:
                if not _WORD_GAP.fullmatch(text, last_end, next_start):
                    break
                joined = f"{joined} {next_word}"
                last_end = next_end
                runs.append((start, next_end, joined))
        table = self._look_up(joined for _, _, joined in runs)
        spans += [(start, end) for start, end, joined in runs if table[joined][0]]
        return spans

    def _find_compounds(self, text: str) -> list[tuple[int, int]]:
        candidates: list[tuple[int, int, str]] = []
        for match in _COMPOUND.finditer(text):
            token = match.group()
            stripped = token.strip(_EDGE_PUNCT)
            if not stripped or stripped.isalnum():
                continue  # nothing, or one word: looked up as a word already
            offset = match.start() + token.index(stripped)
            candidates += _token_forms(stripped, offset)
            if _PART_SPLIT.search(stripped) is None:
                continue
            cursor = 0
            for part in _PART_SPLIT.split(stripped):
                part_offset = cursor
                cursor += len(part) + 1
                part = part.strip(_EDGE_PUNCT)
                if len(part) >= MIN_LENGTH:
                    begin = offset + part_offset + stripped[part_offset:].index(part)
                    candidates += _token_forms(part, begin)
        table = self._look_up(form for _, _, form in candidates)
        return sorted({(start, end) for start, end, form in candidates if table[form][0]})


_NO_DIGESTS = np.empty(0, dtype=np.uint64)


def _hmac_pads(key: bytes) -> tuple[Any, Any]:
    """HMAC-SHA-256 (RFC 2104) with its two keyed states made once: a digest then costs two
    hash copies, a third of what ``hmac.digest`` costs when it pads the key every time."""
    block = 64
    key = hashlib.sha256(key).digest() if len(key) > block else key
    key = key.ljust(block, b"\0")
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in key))
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in key))
    return inner, outer


def _sorted_unique(digests: np.ndarray) -> np.ndarray:
    """Sorted, without repeats (np.unique hashes, ten times slower on a million digests)."""
    ordered = np.sort(np.asarray(digests, dtype=np.uint64))
    if len(ordered) < 2:
        return ordered
    return ordered[np.concatenate(([True], ordered[1:] != ordered[:-1]))]


def _array(digests: set[int]) -> np.ndarray:
    return np.fromiter(digests, np.uint64, len(digests))


def _encode(digests: np.ndarray) -> str:
    return base64.b64encode(np.sort(digests).astype(">u8").tobytes()).decode("ascii")


def _decode(text: str) -> np.ndarray:
    raw = base64.b64decode(text, validate=True)
    if len(raw) % DIGEST_BYTES:
        raise ValueError("not a whole number of digests")
    return np.frombuffer(raw, dtype=">u8").astype(np.uint64)


def _members(sorted_digests: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    if not len(sorted_digests):
        return np.zeros(len(wanted), dtype=bool)
    index = np.searchsorted(sorted_digests, wanted).clip(max=len(sorted_digests) - 1)
    return sorted_digests[index] == wanted


def _token_forms(token: str, offset: int) -> list[tuple[int, int, str]]:
    """A compound token as looked up: normalised, and percent-decoded when it is encoded."""
    form = normalise(token)
    span = (offset, offset + len(token))
    forms = [(*span, form)]
    if "%" in form or "+" in form:
        for decoded in (unquote(form), unquote_plus(form)):
            if decoded != form:
                forms.append((*span, normalise(decoded)))
    return forms
