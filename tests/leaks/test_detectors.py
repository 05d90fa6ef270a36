"""Each detector: what it must find, and the look-alikes it must leave alone."""

from __future__ import annotations

import pytest

from privstats.leaks.detectors import (
    Hit,
    Text,
    detect,
    detect_email,
    pseudonym_detector,
    resolve,
    valid_iban,
    valid_nip,
    valid_pesel,
    valid_regon,
)
from privstats.leaks.findings import Kind


def found(text: str) -> list[tuple[str, str]]:
    """(kind, matched text) of every resolved hit."""
    return [(h.kind.value, text[h.start : h.end]) for h in detect(text, (pseudonym_detector(),))]


# (text, [(kind, value)]) — a value found where it must be, nothing else.
POSITIVE = {
    "ipv4 in a sentence": ("visited from 203.0.113.216 twice", [("ipv4", "203.0.113.216")]),
    "ipv4 in a cell": ("<td>203.0.113.216</td>", [("ipv4", "203.0.113.216")]),
    "ipv4 at a sentence end": ("seen at 203.0.113.216.", [("ipv4", "203.0.113.216")]),
    "ipv4 with a port": ("203.0.113.216:443", [("ipv4", "203.0.113.216")]),
    "ipv4 in a url path": ("GET /ip/203.0.113.216 HTTP/1.1", [("ipv4", "203.0.113.216")]),
    "private ipv4": ("desk 10.0.0.7", [("ipv4", "10.0.0.7")]),
    "ipv6": ("from 2001:db8:cafe::4242 and", [("ipv6", "2001:db8:cafe::4242")]),
    "ipv6 in brackets": ("http://[2001:db8::1]:8080/", [("ipv6", "2001:db8::1")]),
    "ipv6 link-local with zone": (
        "fe80::1ff:fe23:4567:890a%eth0",
        [
            ("ipv6", "fe80::1ff:fe23:4567:890a%eth0"),
        ],
    ),
    "e-mail": ("write to jan.kowalski@example.com.", [("email", "jan.kowalski@example.com")]),
    "e-mail with a plus": (
        "<a.b+tag@mail.example.co.uk>",
        [("email", "a.b+tag@mail.example.co.uk")],
    ),
    "phone, international": ("+48 512 345 678", [("phone", "+48 512 345 678")]),
    "phone, 00 prefix": ("0044 20 7946 0958", [("phone", "0044 20 7946 0958")]),
    "phone, US style": ("+1 (555) 123-4567", [("phone", "+1 (555) 123-4567")]),
    "phone, Polish mobile": ("dzwoń 512 345 678", [("phone", "512 345 678")]),
    "phone, Polish dashes": ("512-345-678", [("phone", "512-345-678")]),
    "phone, Polish landline": ("(12) 345 67 89", [("phone", "(12) 345 67 89")]),
    "phone after a word": ("tel. 512345678", [("phone", "512345678")]),
    "pesel": ("PESEL 44051401359", [("pesel", "44051401359")]),
    "pesel of the 2000s": ("02270803624", [("pesel", "02270803624")]),
    "nip bare": ("NIP 5261040828", [("nip", "5261040828")]),
    "nip with dashes": ("526-104-08-28", [("nip", "526-104-08-28")]),
    "nip grouped 3-2-2-3": ("526-10-40-828", [("nip", "526-10-40-828")]),
    "nip as EU VAT number": ("VAT PL5261040828", [("nip", "PL5261040828")]),
    "regon of 9 digits": ("REGON 123456785", [("regon", "123456785")]),
    "regon of 14 digits": ("12345678512347", [("regon", "12345678512347")]),
    "iban, Polish, grouped": (
        "PL61 1090 1014 0000 0712 1981 2874",
        [
            ("iban", "PL61 1090 1014 0000 0712 1981 2874"),
        ],
    ),
    "iban, British, compact": ("GB82WEST12345698765432.", [("iban", "GB82WEST12345698765432")]),
    "iban then a word": ("DE89370400440532013000 EUR", [("iban", "DE89370400440532013000")]),
    "Polish account without PL": (
        "61 1090 1014 0000 0712 1981 2874",
        [
            ("iban", "61 1090 1014 0000 0712 1981 2874"),
        ],
    ),
    "url with a query": (
        "see https://shop.example/a?email=x&id=7.",
        [
            ("url-query", "https://shop.example/a?email=x&id=7"),
        ],
    ),
    "relative url with a query": (
        "landing /search?q=kowalski",
        [
            ("url-query", "/search?q=kowalski"),
        ],
    ),
    "user agent": (
        "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
        [("user-agent", "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0")],
    ),
    "bot user agent": (
        "(compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        [
            ("user-agent", "(compatible;"),
        ],
    ),
    "two product tokens": (
        "python-requests/2.31.0 CPython/3.11.4",
        [
            ("user-agent", "python-requests/2.31.0 CPython/3.11.4"),
        ],
    ),
    "client host with an address": (
        "c-73-22-11-5.hsd1.ca.comcast.net",
        [
            ("hostname", "c-73-22-11-5.hsd1.ca.comcast.net"),
        ],
    ),
    "client host with a pool label": (
        "from pool-71-105.nycmny.fios.verizon.net",
        [
            ("hostname", "pool-71-105.nycmny.fios.verizon.net"),
        ],
    ),
    "dsl host": ("user123.dsl.provider.pl", [("hostname", "user123.dsl.provider.pl")]),
    "reverse zone": ("216.113.0.203.in-addr.arpa", [("hostname", "216.113.0.203.in-addr.arpa")]),
    "internal host": ("pc-anna.corp.local", [("hostname", "pc-anna.corp.local")]),
    "test-domain host": (
        "host-77-100-51-198.dsl.kanarek.example",
        [
            ("hostname", "host-77-100-51-198.dsl.kanarek.example"),
        ],
    ),
    "64-bit integer": ("visitor -4611686018427387904", [("pseudonym", "-4611686018427387904")]),
    "hex token": ("id 9f86d081884c7d659a2feaa0", [("pseudonym", "9f86d081884c7d659a2feaa0")]),
    "md5 of an address": (
        "c4ca4238a0b923820dcc509a6f75849b",
        [
            ("pseudonym", "c4ca4238a0b923820dcc509a6f75849b"),
        ],
    ),
    "traceback": (
        'Traceback (most recent call last):\n  File "x.py", line 3, in <module>\nKeyError',
        [("traceback", 'Traceback (most recent call last):\n  File "x.py", line 3')],
    ),
    "ipython traceback": ("Cell In[4], line 2\n----> 2 1/0", [("traceback", "Cell In[4], line 2")]),
}


@pytest.mark.parametrize("case", POSITIVE)
def test_each_detector_finds_its_kind(case: str) -> None:
    text, expected = POSITIVE[case]
    assert found(text) == expected


NEGATIVE = {
    "software version after the program's name": "privstats 1.2.3.4",
    "software version as a product token": "Chrome/1.2.3.4",
    "version after a version word": "wersja: 10.0.19045.3693",
    "version glued to a v": "v1.2.3.4",
    "version in parentheses after Python": "(Python 3.11.4.1)",
    "an OID": "1.3.6.1.4.1.311",
    "a section number": "see 1.2.3.4.5",
    "octets over 255": "Chrome/120.0.6099.109",
    "loopback and netmask": "127.0.0.1 mask 255.255.255.0",
    "a date": "12.10.2026",
    "a time": "at 12:30:45 today",
    "css pseudo-elements": "a::before, a::after { content: '' }",
    "a registrable referring domain": "google.com www.google.com m.facebook.com",
    "a server name without a client pattern": "pool.ntp.org cdn3.example.com",
    "an image at double resolution": "icon@2x.png",
    "a css at-rule": "@media print { a { color: red } }",
    "a pesel-like number with a wrong checksum": "PESEL 44051401358",
    "a pesel-like number born in the future": "Bytes 99923112345",
    "a nip-like number with a wrong checksum": "5261040829",
    "a placeholder of zeros": "000000000 0000000000",
    "an iban with a wrong check": "PL62 1090 1014 0000 0712 1981 2874",
    "a number with thousands in ASCII spaces": "12 345 678 901 bytes",
    "a number with no-break spaces": "512\u00a0345\u00a0678",
    "a decimal number": "5261040828.5",
    "a url without a query": "https://matplotlib.org/ and http://www.w3.org/2000/svg",
    "a question mark in prose": "Why? Because.",
    "a browser family": "Chrome 120, Firefox 121, Safari 17",
    "a sha-256 checksum": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "a labelled commit": "commit 6607cc3a2b9f0e1d4c5b6a7f8e9d0c1b2a3f4e5d",
    "a uuid": "cell 3f2a9c1e-8b7d-4e6f-a5c4-1d2e3f4a5b6c",
    "a short hex id": "clip p32b29005cf, key 3fa2c1d09e8b",
    "a count": "1234567 requests on 2026-10-01",
    "a percentage change": "+12.5% and -3.2%",
}


@pytest.mark.parametrize("case", NEGATIVE)
def test_look_alikes_raise_no_alarm(case: str) -> None:
    assert found(NEGATIVE[case]) == []


def test_a_real_looking_address_is_flagged_where_a_version_is_not() -> None:
    text = "privstats 1.2.3.4 saw 203.0.113.216 with Chrome/1.2.3.4"
    assert found(text) == [("ipv4", "203.0.113.216")]


def test_checksums() -> None:
    assert valid_pesel("44051401359") and not valid_pesel("44051401358")
    assert not valid_pesel("44851401357")  # born in the 1800s: no one alive has it
    assert valid_nip("5261040828") and not valid_nip("5261040827")
    assert valid_regon("123456785") and not valid_regon("123456784")
    assert valid_iban("PL61109010140000071219812874")
    assert not valid_iban("PL61109010140000071219812875")
    assert valid_iban("DE89370400440532013000")


def test_known_pseudonyms_match_exactly() -> None:
    detector = pseudonym_detector({1234567890123, -55555555555})
    hits = list(detector(Text("a 1234567890123 b -55555555555 c 1234567890124")))
    assert [(h.start, h.end, h.note) for h in hits] == [
        (2, 15, "a stored pseudonym"), (18, 30, "a stored pseudonym"),
    ]  # fmt: skip


def test_email_scan_is_linear_on_long_runs() -> None:
    text = "A" * 200_000 + "@" + "b" * 10 + " x@example.com"
    assert [h.kind for h in detect_email(Text(text))] == [Kind.EMAIL]


def test_resolve_keeps_one_finding_per_value() -> None:
    hits = [
        Hit(Kind.URL_QUERY, 0, 40), Hit(Kind.HOSTNAME, 8, 20), Hit(Kind.EMAIL, 25, 40),
        Hit(Kind.CANARY, 25, 40), Hit(Kind.IPV4, 50, 60), Hit(Kind.IPV4, 50, 60, "again"),
    ]  # fmt: skip
    assert resolve(hits) == [
        Hit(Kind.URL_QUERY, 0, 40),
        Hit(Kind.CANARY, 25, 40),
        Hit(Kind.IPV4, 50, 60),
    ]
