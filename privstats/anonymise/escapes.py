"""One spelling per URL path and host: percent-escapes decoded where they stand for a character.

Browsers send ``/blog/zażółć`` as ``/blog/za%C5%BC%C3%B3%C5%82%C4%87``, some servers log it
decoded, and macOS may decompose the letters: three spellings of one page, which would count
as three words, none reaching the vocabulary threshold. A path is read the way RFC 3987
compares IRIs: an escape of an unreserved ASCII character (``A-Z a-z 0-9 - . _ ~``) or of a
printable non-ASCII one becomes that character; bytes that are no UTF-8 become U+FFFD, as an
invalid byte written raw does when the line is decoded; every other escape stays one, its hex
digits in capitals (``%2f`` is ``%2F``), so a decoded path never gains a ``/``, ``?``, ``#``,
``@`` or space it did not have. Non-ASCII text is then composed (Unicode NFC).

Host names get the same, and IDNA's ASCII labels (``xn--g-1ia2r``) become their letters
(``gęś``), so both spellings of a referring domain are one domain.
"""

from __future__ import annotations

import re
import unicodedata
from typing import overload

import idna

# A run of escapes, or a ``%`` that opens none (escaped itself, so no later reading of the
# path finds an escape the first did not: ``%%34%31`` is ``%2541``, never ``%41``).
_ESCAPES = re.compile(r"(?:%[0-9A-Fa-f]{2})+|%")
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


@overload
def normal_path(path: str) -> str: ...
@overload
def normal_path(path: None) -> None: ...
def normal_path(path: str | None) -> str | None:
    """``path`` with its escapes decoded where they stand for a character, composed (NFC)."""
    if path is None:
        return None
    if "%" in path:
        path = _ESCAPES.sub(_decoded, path)
    if path.isascii():
        return path
    return unicodedata.normalize("NFC", path)


def normal_host(host: str) -> str:
    """A lower-case host name in one spelling: escapes decoded, IDNA labels as letters."""
    host = normal_path(host).lower()
    if "xn--" not in host:
        return host
    return ".".join(_label(label) for label in host.split("."))


def _decoded(run: re.Match[str]) -> str:
    """A run of escapes: the characters it spells, those not safe to decode escaped again."""
    if run.group(0) == "%":
        return "%25"
    text = bytes.fromhex(run.group(0).replace("%", "")).decode("utf-8", errors="replace")
    return "".join(
        ch if ch in _UNRESERVED or (ch >= "\x80" and ch.isprintable()) else _escaped(ch)
        for ch in text
    )


def _escaped(ch: str) -> str:
    return "".join(f"%{byte:02X}" for byte in ch.encode("utf-8"))


def _label(label: str) -> str:
    """An IDNA label in letters (a label IDNA 2008 does not accept stays as it is)."""
    if not label.startswith("xn--"):
        return label
    try:
        return idna.decode(label)
    except (idna.IDNAError, UnicodeError, ValueError):
        return label
