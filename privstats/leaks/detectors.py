"""One detector per kind of identifier, over plain text, with checks that keep false alarms low.

Each detector finds candidates with a regular expression and then confirms them: a checksum
(PESEL, NIP, REGON, IBAN, through python-stdnum), :mod:`ipaddress` for addresses, the public
suffix list (``privstats.suffixes``) for e-mail domains and host names. Known look-alikes are
ruled out by the rules below, each named and tested, never by switching a detector off.

IPv4 rules — a dotted quad is **not** an address when it is:

1. part of a longer dotted run (an OID ``1.3.6.1.4.1``, a section number ``1.2.3.4.5``);
2. glued to a letter or underscore (``v1.2.3.4``, ``build_1.2.3.4``);
3. the version of a product token, ``Name/1.2.3.4`` (``Chrome/120.0.6099.109``);
4. after a version word (``version``, ``ver.``, ``wersja``, ``release``, ``build``, ``rev``) or
   the name of a known program (``privstats 1.2.3.4``, ``Python 3.11.4.1``), or the whole value
   of a JSON key or table column so named (``"software": {"privstats": "1.2.3.4"}``);
5. an address that names no one: unspecified, loopback, multicast, reserved, or a netmask.

Private addresses (10/8, 192.168/16, ...) are reported: inside an organisation they name a desk.

IPv6: candidates must parse with :mod:`ipaddress`, so times (``12:30:45``) and CSS
pseudo-elements (``::before``) never match; loopback, unspecified and multicast are not reported.

Phone numbers are reported in these forms only, so that counts in a table do not look like
phones: international (``+48 512 345 678``, ``0044 20 7946 0958``; 9 to 15 digits after the
``+``), Polish grouped ``512 345 678``, ``512-345-678`` and ``12 345 67 89`` (separators are an
ASCII space or a dash: report numbers use no-break or thin spaces, which never count), and any
9–15 digits right after a word such as ``tel.``, ``telefon``, ``phone``, ``fax``.

Host names: a name of three or more labels ending in a public suffix is a client host name
when the part left of the registrable domain (``c-73-22-11-5.hsd1`` in
``c-73-22-11-5.hsd1.ca.comcast.net``) holds two or more groups of digits with four digits in
all (an address written into the name), or a label such as ``host``, ``dsl``, ``dynamic``,
``pool``, ``dhcp``, ``cable``, ``ppp``, ``client``, ``user`` and at least one digit; and any
name in a reverse-lookup zone (``in-addr.arpa``, ``ip6.arpa``) or under an internal suffix
(``.local``, ``.lan``, ``.internal``, ``.corp``, ``.home``, ``.localdomain``, ``.intranet``, and the
RFC 2606 test names ``.example``, ``.test``, ``.invalid``, ``.localhost``). Registrable domains
such as ``google.com`` or ``www.google.com``, which reports show as referring domains, never match.

Other notes: an e-mail address needs a domain with a known public suffix (so ``icon@2x.png`` is
not one); Polish identifiers need their checksum, and a PESEL a birth date from 1900 to today;
an IBAN needs its country's length and format and the mod-97 check (python-stdnum), and a Polish
account number may be written without its ``PL``. A URL is reported when it carries a query
string (``https://x.pl/a?b=c``, ``/search?q=...``). User agents are recognised by ``Mozilla/5.0``,
``AppleWebKit/``, ``(KHTML, like Gecko)``, ``Gecko/20100101``, ``(compatible;`` or two
``Product/1.2`` tokens in a row; tracebacks by ``Traceback (most recent call last)``,
``File "...", line N``, IPython's ``Cell In[3], line 2`` and ``<ipython-input-...>``.

Pseudonyms: an integer in the set of known store pseudonyms, when one is given; any integer of
17 to 19 digits that fits in 64 bits (what a stored pseudonym looks like: nearly all of them have
that many digits, and no count or sum of bytes in a report does); and hexadecimal tokens of 16
or more characters with both letters and digits (a pseudonym or an unkeyed hash written in hex).
Hex tokens of exactly 64 or 128 characters are SHA-256/SHA-512 checksums, which manifests
record, and are not reported; nor is a hex token right after a word such as ``sha256``,
``checksum``, ``digest`` or ``commit``. An unkeyed hash of an input value is still caught: the
canary set holds the MD5, SHA-1 and SHA-256 of every canary.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from functools import lru_cache

from stdnum import iban as std_iban
from stdnum.pl import nip as std_nip
from stdnum.pl import pesel as std_pesel
from stdnum.pl import regon as std_regon

from privstats.leaks.findings import Kind
from privstats.suffixes import split_domain

# Speed: Python's regular expressions skip fast only to a literal or a set of first characters,
# so each detector starts from a cheap anchor ('@', '://', ':..:', '.label.', a number cluster)
# and confirms around it; a pattern that starts with a look-behind is tried at every position
# and runs a hundred times slower.


@dataclass(frozen=True, slots=True)
class Hit:
    """A confirmed match: ``text[start:end]`` is the identifying value."""

    kind: Kind
    start: int
    end: int
    note: str = ""


# A run of digits with the punctuation numbers are written with: every number-shaped
# identifier lies inside one, so the number detectors look only there.
_CLUSTER = re.compile(r"[0-9+(\-][0-9 ().+/\-]{6,}+")
_REGION_GAP = 64


class Text:
    """A text prepared for the detectors: its number clusters are found once, for all."""

    __slots__ = ("_clusters", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self._clusters: list[tuple[int, int]] | None = None

    def clusters(self) -> list[tuple[int, int]]:
        """Regions holding every cluster, as (start, end + 1): the extra character lets a
        pattern's look-ahead see what follows. Clusters close together share a region, so
        that a column of numbers costs a few pattern runs, not one per number."""
        if self._clusters is None:
            limit = len(self.text)
            regions: list[tuple[int, int]] = []
            for match in _CLUSTER.finditer(self.text):
                start, end = match.start(), min(match.end() + 1, limit)
                if regions and start - regions[-1][1] <= _REGION_GAP:
                    regions[-1] = (regions[-1][0], end)
                else:
                    regions.append((start, end))
            self._clusters = regions
        return self._clusters

    def in_clusters(self, pattern: re.Pattern[str]) -> Iterator[re.Match[str]]:
        for start, end in self.clusters():
            yield from pattern.finditer(self.text, start, end)


Detector = Callable[[Text], Iterator[Hit]]

# Names under these are machines inside a network; the RFC 2606 test names are here so that a
# planted test host is caught the way a real one would be.
INTERNAL_SUFFIXES = frozenset({
    "local", "lan", "internal", "intranet", "corp", "home", "localdomain", "home.arpa",
    "example", "test", "invalid", "localhost",
})  # fmt: skip
REVERSE_ZONES = ("in-addr.arpa", "ip6.arpa")
_WORDISH = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")


def _word_char(text: str, index: int) -> bool:
    return 0 <= index < len(text) and (text[index] in _WORDISH or text[index].isalnum())


# --- IP addresses ----------------------------------------------------------------------------

_IPV4 = re.compile(
    r"[0-9](?<![0-9A-Za-z_.][0-9])[0-9]{0,2}+(?:\.[0-9]{1,3}+){3}"
    r"(?![0-9A-Za-z_]|\.[0-9])"
)
VERSION_WORDS = ("version", "ver", "wersja", "wersji", "release", "build", "rev", "revision")
KNOWN_PROGRAMS = (
    "privstats", "python", "cpython", "pandas", "numpy", "polars", "pyarrow", "scipy",
    "matplotlib", "jupyter", "jupyterlab", "ipython", "nbconvert", "nbformat", "papermill",
    "openpyxl", "highs", "chrome", "chromium", "firefox", "safari", "edge", "opera", "windows",
    "android", "ios", "macos", "linux", "ubuntu", "debian",
)  # fmt: skip
_VERSION_CONTEXT = re.compile(
    r"(?:(?<![\w.+/-])[A-Za-z][\w.+-]*/"  # rule 3: Product/1.2.3.4, not a path's /ip/
    r"|\b(?:" + "|".join(VERSION_WORDS + KNOWN_PROGRAMS) + r")\b\.?[ \t]*[:=#]?[ \t]*)$",
    re.IGNORECASE,
)


def is_version_label(label: str) -> bool:
    """A JSON key or column header naming a version or a program (``version``, ``privstats``):
    rule 4 for structured files, where the name is not in the text before the value."""
    words = re.findall(r"[a-z]+", label.lower())
    return any(word in VERSION_WORDS or word in KNOWN_PROGRAMS for word in words)


def _is_version(text: str, start: int) -> bool:
    line_start = text.rfind("\n", max(0, start - 64), start) + 1
    return _VERSION_CONTEXT.search(text, max(line_start, start - 64), start) is not None


def _names_no_one(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return (
        address.is_unspecified
        or address.is_loopback
        or address.is_multicast
        or (address.version == 4 and address.is_reserved)
    )


def _is_netmask(address: ipaddress.IPv4Address) -> bool:
    bits = int(address)
    inverted = ~bits & 0xFFFFFFFF
    return bits >= 0xFF000000 and (inverted & (inverted + 1)) == 0


def detect_ipv4(text: Text) -> Iterator[Hit]:
    for match in text.in_clusters(_IPV4):
        try:
            address = ipaddress.IPv4Address(match.group())
        except ValueError:  # an octet over 255 or with a leading zero: not an address
            continue
        if _names_no_one(address) or _is_netmask(address):
            continue
        if _is_version(text.text, match.start()):
            continue
        note = "private address" if address.is_private else ""
        yield Hit(Kind.IPV4, match.start(), match.end(), note)


_IPV6_ANCHOR = re.compile(r":[0-9A-Fa-f]{0,4}:")
_HEX_COLON = frozenset("0123456789abcdefABCDEF:")
_HEX_COLON_DOT = frozenset("0123456789abcdefABCDEF:.")
_ZONE = re.compile(r"%[0-9A-Za-z]+")


def detect_ipv6(text: Text) -> Iterator[Hit]:
    source = text.text
    done = -1
    for anchor in _IPV6_ANCHOR.finditer(source):
        if anchor.start() < done:
            continue
        start, end = anchor.start(), anchor.end()
        while start > 0 and source[start - 1] in _HEX_COLON:
            start -= 1
        while end < len(source) and source[end] in _HEX_COLON_DOT:
            end += 1
        while end > start and source[end - 1] == ".":  # a full stop after the address
            end -= 1
        done = end
        zone = _ZONE.match(source, end)
        if zone:
            end = zone.end()
        if (start > 0 and source[start - 1] in "._") or _word_char(source, start - 1):
            continue
        if _word_char(source, end) or (end < len(source) and source[end] == ":"):
            continue
        try:
            address = ipaddress.IPv6Address(source[start:end].split("%", 1)[0])
        except ValueError:
            continue
        if not _names_no_one(address):
            yield Hit(Kind.IPV6, start, end)


# --- e-mail and host names ------------------------------------------------------------------

_EMAIL_LOCAL = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._%+-")
_EMAIL_DOMAIN = re.compile(
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?![\w-])"
)


@lru_cache(maxsize=50_000)
def _split_domain(name: str) -> tuple[str, str, str]:
    """(subdomain, registrable domain, suffix) of a lower-case name; suffix '' if none known."""
    for zone in (*REVERSE_ZONES, *INTERNAL_SUFFIXES):
        if name.endswith("." + zone):
            return name[: -len(zone) - 1], "", zone
    return split_domain(name)


def detect_email(text: Text) -> Iterator[Hit]:
    source = text.text
    at = source.find("@")
    while at != -1:
        start = at
        while start > 0 and at - start < 64 and source[start - 1] in _EMAIL_LOCAL:
            start -= 1
        while start < at and source[start] in ".-":
            start += 1
        domain = _EMAIL_DOMAIN.match(source, at + 1)
        if start < at and domain is not None:
            name = domain.group().lower()
            while name.count(".") >= 1:  # 'x@example.pl.csv': drop what follows the domain
                if _split_domain(name)[2]:
                    yield Hit(Kind.EMAIL, start, at + 1 + len(name))
                    break
                name = name.rsplit(".", 1)[0]
        at = source.find("@", at + 1)


_HOST_ANCHOR = re.compile(r"\.[A-Za-z0-9-]++\.")
_HOST_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-")
_HOSTNAME = re.compile(r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.){2,}[A-Za-z]{2,63}")
HOST_WORDS = frozenset({
    "host", "dsl", "adsl", "vdsl", "xdsl", "dyn", "dynamic", "dynip", "pool", "dhcp", "cable",
    "ppp", "pppoe", "static", "client", "clients", "cust", "customer", "user", "users", "res",
    "resident", "broadband", "bb", "ip", "fiber", "fibre", "ftth", "gprs", "lte", "mobile",
    "wifi", "wlan", "nat", "cpe", "modem", "abo", "pc", "desktop", "laptop",
})  # fmt: skip
_DIGIT_GROUPS = re.compile(r"[0-9]+")
_LETTER_GROUPS = re.compile(r"[a-z]+")
_NAMED_SUFFIXES = tuple("." + s for s in (*INTERNAL_SUFFIXES, *REVERSE_ZONES))


def _is_client_host(name: str) -> bool:
    subdomain, _, suffix = _split_domain(name)
    if suffix in REVERSE_ZONES or suffix in INTERNAL_SUFFIXES:
        return bool(subdomain)
    if not suffix or not subdomain:
        return False
    groups = _DIGIT_GROUPS.findall(subdomain)
    if len(groups) >= 2 and sum(map(len, groups)) >= 4:
        return True
    return bool(groups) and any(w in HOST_WORDS for w in _LETTER_GROUPS.findall(subdomain))


def detect_hostname(text: Text) -> Iterator[Hit]:
    source = text.text
    done = -1
    for anchor in _HOST_ANCHOR.finditer(source):
        if anchor.start() < done:
            continue
        start, end = anchor.start(), anchor.end()
        while start > 0 and source[start - 1] in _HOST_CHARS:
            start -= 1
        while end < len(source) and source[end] in _HOST_CHARS:
            end += 1
        done = end
        while end > start and source[end - 1] in ".-":
            end -= 1
        if (start > 0 and source[start - 1] in "@_") or source[start] in ".-":
            continue  # the domain of an e-mail address, or the middle of a longer token
        if _word_char(source, end) or not _HOSTNAME.fullmatch(source, start, end):
            continue
        name = source[start:end].lower()
        if not any(c.isdigit() for c in name) and not name.endswith(_NAMED_SUFFIXES):
            continue  # every rule but the named suffixes needs a digit: skip the PSL look-up
        if _is_client_host(name):
            yield Hit(Kind.HOSTNAME, start, end)


# --- phones and Polish identifiers ----------------------------------------------------------

_NUM_RIGHT = r"(?![\w])(?![.,/-][0-9])"
_PHONE_INTL = re.compile(
    r"(?:\+|00)(?<![\w+]\+)(?<![\w+]00)[1-9][0-9]{0,2}+(?:[ .-]?+\(?[0-9]{1,5}+\)?){2,7}+"
    + _NUM_RIGHT
)
_GROUP_RIGHT = r"(?![ -][0-9])"  # not one group of a longer grouped number
_PHONE_PL = re.compile(
    r"[1-9(](?<![\w+.,-][1-9(])(?<![0-9][ -][1-9(])"
    r"(?:(?<=[1-9])[0-9]{2}([ -])[0-9]{3}\1[0-9]{3}"
    r"|(?<=\()[1-9][0-9]\)([ -])[0-9]{3}\2[0-9]{2}\2[0-9]{2}"
    r"|(?<=[1-9])[0-9]([ -])[0-9]{3}\3[0-9]{2}\3[0-9]{2})" + _NUM_RIGHT + _GROUP_RIGHT
)
_PHONE_WORD = re.compile(
    r"(?i:\b(?:tel|telefon|telefonu|phone|mobile|mob|kom|komórka|gsm|fax)\b)\.?[ \t]*[:#-]?[ \t]*$"
)
_PHONE_AFTER_WORD = re.compile(r"\+?[0-9][0-9 ()/-]{7,20}[0-9]" + _NUM_RIGHT)


def _digits(text: str) -> str:
    return "".join(c for c in text if "0" <= c <= "9")


def detect_phone(text: Text) -> Iterator[Hit]:
    source = text.text
    for match in text.in_clusters(_PHONE_INTL):
        candidate = match.group()
        country_and_number = _digits(candidate[1:] if candidate[0] == "+" else candidate[2:])
        if 9 <= len(country_and_number) <= 15:
            yield Hit(Kind.PHONE, match.start(), match.end())
    for match in text.in_clusters(_PHONE_PL):
        yield Hit(Kind.PHONE, match.start(), match.end())
    for start, end in text.clusters():
        if _PHONE_WORD.search(source, max(0, start - 24), start):
            number = _PHONE_AFTER_WORD.match(source, start, end)
            if number and 9 <= len(_digits(number.group())) <= 15:
                yield Hit(Kind.PHONE, number.start(), number.end())


_DIGIT_RUN = re.compile(r"[0-9](?<![\w+][0-9])(?<![0-9][.,/-][0-9])[0-9]{8,25}+" + _NUM_RIGHT)
_NIP_GROUPED = re.compile(
    r"[0-9](?<![\w+.,-][0-9])(?<![0-9][ -][0-9])(?:[0-9]{2}([ -])[0-9]{3}\1[0-9]{2}\1[0-9]{2}"
    r"|[0-9]{2}([ -])[0-9]{2}\2[0-9]{2}\2[0-9]{3})" + _NUM_RIGHT + _GROUP_RIGHT
)
_NIP_PREFIXED = re.compile(r"PL ?([0-9]{10})" + _NUM_RIGHT)
_NRB_GROUPED = re.compile(
    r"[0-9](?<![\w+][0-9])(?<![0-9] [0-9])[0-9](?: [0-9]{4}){6}" + _NUM_RIGHT + _GROUP_RIGHT
)
_IBAN = re.compile(
    r"[A-Z](?<![A-Za-z0-9][A-Z])[A-Z][0-9]{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?"
)


def _boring(digits: str) -> bool:
    """All one digit ('000000000' passes REGON's checksum): a placeholder, not an id."""
    return digits.count(digits[0]) == len(digits)


# The checksums are stdnum's own functions, called on digits that are known to be digits:
# its is_valid() first cleans the input, which costs more than the check on many numbers.


def valid_pesel(digits: str) -> bool:
    """Checksum and a birth date that a living person can have (1900 to today)."""
    if len(digits) != 11 or not 1 <= int(digits[2:4]) % 20 <= 12 or int(digits[2:4]) >= 40:
        return False  # no month of 1900-2039 (cheap, before the checksum)
    if _boring(digits) or std_pesel.calc_check_digit(digits[:-1]) != digits[-1]:
        return False
    try:
        born = std_pesel.get_birth_date(digits)
    except ValueError:  # stdnum's InvalidComponent: no such day
        return False
    return dt.date(1900, 1, 1) <= born <= dt.date.today()


def valid_nip(digits: str) -> bool:
    return len(digits) == 10 and not _boring(digits) and std_nip.checksum(digits) == 0


def valid_regon(digits: str) -> bool:
    if len(digits) not in (9, 14) or _boring(digits):
        return False
    if std_regon.calc_check_digit(digits[:-1]) != digits[-1]:
        return False
    return len(digits) == 9 or std_regon.calc_check_digit(digits[:8]) == digits[8]


def valid_iban(compact: str) -> bool:
    return std_iban.is_valid(compact)


def detect_polish_ids(text: Text) -> Iterator[Hit]:
    """PESEL, NIP, REGON and Polish account numbers (NRB) written as digits."""
    for match in text.in_clusters(_DIGIT_RUN):
        digits = match.group()
        span = (match.start(), match.end())
        if len(digits) == 11 and valid_pesel(digits):
            yield Hit(Kind.PESEL, *span)
        elif len(digits) == 10 and valid_nip(digits):
            yield Hit(Kind.NIP, *span)
        elif len(digits) in (9, 14) and valid_regon(digits):
            yield Hit(Kind.REGON, *span)
        elif len(digits) == 26 and valid_iban("PL" + digits):
            yield Hit(Kind.IBAN, *span, "Polish account number")
    for match in text.in_clusters(_NIP_GROUPED):
        if valid_nip(_digits(match.group())):
            yield Hit(Kind.NIP, match.start(), match.end())
    for match in _NIP_PREFIXED.finditer(text.text):
        if not _word_char(text.text, match.start() - 1) and valid_nip(match.group(1)):
            yield Hit(Kind.NIP, match.start(), match.end())
    for match in text.in_clusters(_NRB_GROUPED):
        if valid_iban("PL" + _digits(match.group())):
            yield Hit(Kind.IBAN, match.start(), match.end(), "Polish account number")


def detect_iban(text: Text) -> Iterator[Hit]:
    for match in _IBAN.finditer(text.text):
        candidate = match.group()
        # The pattern may run on into a following word of capitals: shorten group by group.
        while len(candidate.replace(" ", "")) >= 15:
            if valid_iban(candidate.replace(" ", "")):
                yield Hit(Kind.IBAN, match.start(), match.start() + len(candidate))
                break
            cut = max(candidate.rfind(" "), len(candidate) - 4)
            candidate = candidate[:cut].rstrip()


# --- URLs, user agents, tracebacks ----------------------------------------------------------

_URL_ABSOLUTE = re.compile(r"://[^\s\"'<>?#]*+\?[^\s\"'<>#]*[^\s\"'<>#.,;:!?)\]]")
_URL_SCHEME = re.compile(r"(?i:\b(?:https?|ftp))$")
_URL_RELATIVE = re.compile(r"\?[\w.~%-]++=[^\s\"'<>#]*")
_PATH_CHARS = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.~%!$'*+,;@/-"
)


def detect_url_query(text: Text) -> Iterator[Hit]:
    source = text.text
    for match in _URL_ABSOLUTE.finditer(source):
        scheme = _URL_SCHEME.search(source, max(0, match.start() - 6), match.start())
        if scheme:
            yield Hit(Kind.URL_QUERY, scheme.start(), match.end())
    for match in _URL_RELATIVE.finditer(source):
        start = match.start()
        while start > 0 and source[start - 1] in _PATH_CHARS:
            start -= 1
        if source[start : start + 1] != "/" or (start > 0 and source[start - 1] == ":"):
            continue  # not a path, or an absolute URL's (reported above)
        if start > 0 and _word_char(source, start - 1):
            continue
        yield Hit(Kind.URL_QUERY, start, match.end())


_UA_MARKERS = re.compile(
    r"Mozilla/[0-9]+\.[0-9]+|AppleWebKit/[0-9]+|\(KHTML, like Gecko\)|Gecko/[0-9]{8}"
    r"|\(compatible;"
)
# The second product is a look-ahead, so that it can start the next match (a third product).
_UA_PRODUCTS = re.compile(
    r"/[0-9][\w.]*+(?: \([^()\n]{1,200}+\))?(?= ([A-Za-z][\w.-]*+/[0-9][\w.]*+))"
)
_PRODUCT_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")
_UA_GAP = 120


def detect_user_agent(text: Text) -> Iterator[Hit]:
    """Raw user-agent strings: their tell-tale tokens, or two ``Product/1.2`` tokens in a row."""
    source = text.text
    spans = [m.span() for m in _UA_MARKERS.finditer(source)]
    for match in _UA_PRODUCTS.finditer(source):
        start = match.start()
        while start > 0 and source[start - 1] in _PRODUCT_CHARS:
            start -= 1
        if start < match.start() and source[start].isalpha() and source[start - 1 : start] != "/":
            spans.append((start, match.end(1)))
    yield from _merged(Kind.USER_AGENT, spans, _UA_GAP, source, stop_at_newline=True)


_TRACEBACK_MARKERS = (
    re.compile(r"Traceback \(most recent call last\)"),
    re.compile(r"File\s+\"[^\"\n]{1,500}+\"\s*,\s*line\s+[0-9]+"),
    re.compile(r"Cell\s+In\s*\[[0-9]*\]\s*,\s*line\s+[0-9]+"),
    re.compile(r"<ipython-input-[0-9]+-[0-9a-f]+>"),
)
_TRACEBACK_GAP = 2000


def detect_traceback(text: Text) -> Iterator[Hit]:
    source = text.text
    spans = [m.span() for marker in _TRACEBACK_MARKERS for m in marker.finditer(source)]
    yield from _merged(Kind.TRACEBACK, spans, _TRACEBACK_GAP, source)


def _merged(
    kind: Kind, spans: list[tuple[int, int]], gap: int, text: str, stop_at_newline: bool = False
) -> Iterator[Hit]:
    """Markers close together are one finding (one user agent, one traceback), not ten."""
    start = end = -1
    for span_start, span_end in sorted(spans):
        joined = start >= 0 and span_start - end <= gap
        if joined and stop_at_newline and "\n" in text[end:span_start]:
            joined = False
        if joined:
            end = max(end, span_end)
            continue
        if start >= 0:
            yield Hit(kind, start, end)
        start, end = span_start, span_end
    if start >= 0:
        yield Hit(kind, start, end)


# --- pseudonyms -----------------------------------------------------------------------------

_INTEGER = re.compile(r"-?+[0-9](?<![\w.][0-9])(?<![\w.]-[0-9])[0-9]{5,19}+" + _NUM_RIGHT)
_HEX = re.compile(r"[0-9A-Fa-f]{16,}+")
CHECKSUM_WORDS = ("sha", "sha1", "sha-1", "sha256", "sha-256", "sha512", "sha-512", "checksum",
                  "digest", "hash", "commit", "revision", "etag", "fingerprint")  # fmt: skip
_CHECKSUM_CONTEXT = re.compile(
    r"\b(?:" + "|".join(re.escape(w) for w in CHECKSUM_WORDS) + r")\w*\b[^\n]{0,24}$",
    re.IGNORECASE,
)
_INT64 = range(-(2**63), 2**63)


def is_checksum_label(label: str) -> bool:
    """A column or JSON key that names a checksum (``sha256``, ``notebook_sha256``, ...)."""
    lowered = label.lower()
    return any(word in lowered for word in CHECKSUM_WORDS)


def pseudonym_detector(known: Collection[int] | None = None) -> Detector:
    """The pseudonym detector, also matching the integers in ``known`` when given."""
    known_set = frozenset(known) if known else frozenset()

    def detect_pseudonym(text: Text) -> Iterator[Hit]:
        source = text.text
        for match in text.in_clusters(_INTEGER):
            token = match.group()
            value = int(token)
            digits = len(token.lstrip("-"))
            if value in known_set:
                yield Hit(Kind.PSEUDONYM, match.start(), match.end(), "a stored pseudonym")
            elif 17 <= digits <= 19 and value in _INT64:
                yield Hit(Kind.PSEUDONYM, match.start(), match.end(), "looks like a pseudonym")
        for match in _HEX.finditer(source):
            token = match.group()
            start, end = match.span()
            if len(token) in (64, 128) or token.isdigit() or token.isalpha():
                continue
            if _word_char(source, start - 1) or _word_char(source, end):
                continue
            if source[start - 1 : start] == "-" or source[end : end + 1] == "-":
                continue
            line_start = source.rfind("\n", max(0, start - 40), start) + 1
            if _CHECKSUM_CONTEXT.search(source, max(line_start, start - 40), start):
                continue
            yield Hit(Kind.PSEUDONYM, start, end, "long hexadecimal token")

    return detect_pseudonym


DETECTORS: tuple[Detector, ...] = (
    detect_ipv4,
    detect_ipv6,
    detect_email,
    detect_hostname,
    detect_phone,
    detect_polish_ids,
    detect_iban,
    detect_url_query,
    detect_user_agent,
    detect_traceback,
)

# Kinds whose checksum can pass by chance on a plain number: in a column of numbers (a measure)
# they are reported only when the column behaves like a column of identifiers (see scan.py).
NUMERIC_ID_KINDS = frozenset({Kind.PESEL, Kind.NIP, Kind.REGON, Kind.PHONE})

# Which hit hides which when one lies inside the other: the reviewer gets one finding per value,
# under its most telling kind. A canary hides everything it covers.
_SUBSUMES: dict[Kind, frozenset[Kind]] = {
    Kind.EMAIL: frozenset({Kind.HOSTNAME, Kind.PHONE, Kind.PSEUDONYM}),
    Kind.IPV6: frozenset({Kind.IPV4, Kind.PSEUDONYM}),
    Kind.IBAN: frozenset({Kind.PESEL, Kind.NIP, Kind.REGON, Kind.PHONE, Kind.PSEUDONYM}),
    Kind.PESEL: frozenset({Kind.PHONE}),
    Kind.NIP: frozenset({Kind.PHONE, Kind.REGON}),
    Kind.REGON: frozenset({Kind.PHONE}),
    Kind.URL_QUERY: frozenset({Kind.HOSTNAME}),
    Kind.HOSTNAME: frozenset({Kind.IPV4, Kind.PHONE, Kind.PSEUDONYM}),
    Kind.USER_AGENT: frozenset({Kind.URL_QUERY, Kind.HOSTNAME, Kind.PHONE}),
    Kind.PSEUDONYM: frozenset({Kind.PHONE, Kind.PESEL, Kind.NIP, Kind.REGON}),
}


def resolve(hits: list[Hit]) -> list[Hit]:
    """Hits in text order, without duplicates and without hits another one stands for."""
    unique = {(h.kind, h.start, h.end): h for h in reversed(hits)}  # the first one's note
    ordered = sorted(unique.values(), key=lambda h: (h.start, -h.end, h.kind.value))
    kept: list[Hit] = []
    active: list[Hit] = []  # hits seen so far that may still contain the next ones
    kept_end: dict[Kind, int] = {}  # where the last kept hit of each kind ends
    for index, hit in enumerate(ordered):
        active = [other for other in active if other.end > hit.start]
        peers = []  # same span, sorted after this one
        for other in ordered[index + 1 :]:
            if (other.start, other.end) != (hit.start, hit.end):
                break
            peers.append(other)
        covered = any(_covers(other, hit) for other in (*active, *peers))
        # a hit overlapping the last one of its kind ('Kanarek Zofia' read across two cells
        # that each hold 'Zofia Kanarek') is the same finding again
        if not covered and hit.start >= kept_end.get(hit.kind, -1):
            kept.append(hit)
            kept_end[hit.kind] = hit.end
        active.append(hit)
    return kept


def _covers(outer: Hit, inner: Hit) -> bool:
    if not (outer.start <= inner.start and inner.end <= outer.end):
        return False
    if outer.kind is Kind.CANARY:
        return inner.kind is not Kind.CANARY or (outer.start, outer.end) != (inner.start, inner.end)
    if outer.kind is inner.kind:
        return (outer.start, outer.end) != (inner.start, inner.end)
    return inner.kind in _SUBSUMES.get(outer.kind, frozenset())


def detect(text: str, extra: tuple[Detector, ...] = ()) -> list[Hit]:
    """Every hit of every detector (and of ``extra`` ones) in ``text``, resolved."""
    prepared = Text(text)
    return resolve([hit for detector in (*DETECTORS, *extra) for hit in detector(prepared)])
