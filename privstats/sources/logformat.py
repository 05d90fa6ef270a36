"""Access-log formats: Apache ``LogFormat`` and nginx ``log_format`` strings compiled to regexes.

A format becomes two regexes over one line: a fast one for the columnar engine (quoted fields
are ``[^"]*``) and a strict one that also accepts backslash-escaped quotes, used only for the
few lines the fast one rejects. Each capture group maps to a canonical field name, so the rest
of ingest never cares which server wrote the log.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from privstats.exceptions import ConfigError


class Field(enum.StrEnum):
    """Canonical fields a log line can carry."""

    CLIENT = "client"
    LOGIN = "login"
    TIME_CLF = "time_clf"  # 17/May/2015:10:05:03 +0000
    TIME_ISO = "time_iso"  # 2026-10-01T12:00:03+02:00
    REQUEST = "request"  # GET /path?q HTTP/1.1
    METHOD = "method"
    TARGET = "target"  # path with or without a query string
    QUERY = "query"
    PROTOCOL = "protocol"
    STATUS = "status"
    BYTES = "bytes"
    REFERER = "referer"
    USER_AGENT = "user_agent"
    RESPONSE_US = "response_us"
    RESPONSE_MS = "response_ms"
    RESPONSE_S = "response_s"  # whole seconds (%T) or fractional ($request_time)
    SITE = "site"
    IGNORED = "ignored"


_APACHE = {
    "h": Field.CLIENT, "a": Field.CLIENT, "l": Field.IGNORED, "u": Field.LOGIN,
    "t": Field.TIME_CLF, "r": Field.REQUEST, "m": Field.METHOD, "U": Field.TARGET,
    "q": Field.QUERY, "H": Field.PROTOCOL, ">s": Field.STATUS, "s": Field.STATUS,
    "<s": Field.STATUS, "b": Field.BYTES, "B": Field.BYTES, "O": Field.BYTES,
    "D": Field.RESPONSE_US, "T": Field.RESPONSE_S, "v": Field.SITE, "V": Field.SITE,
}  # fmt: skip
_APACHE_BRACED = {
    ("referer", "i"): Field.REFERER,
    ("user-agent", "i"): Field.USER_AGENT,
    ("c", "a"): Field.CLIENT,
    ("us", "T"): Field.RESPONSE_US,
    ("ms", "T"): Field.RESPONSE_MS,
    ("s", "T"): Field.RESPONSE_S,
}
_NGINX = {
    "remote_addr": Field.CLIENT, "realip_remote_addr": Field.CLIENT,
    "remote_user": Field.LOGIN, "time_local": Field.TIME_CLF, "time_iso8601": Field.TIME_ISO,
    "request": Field.REQUEST, "request_method": Field.METHOD, "request_uri": Field.TARGET,
    "uri": Field.TARGET, "args": Field.QUERY, "query_string": Field.QUERY,
    "server_protocol": Field.PROTOCOL, "status": Field.STATUS,
    "body_bytes_sent": Field.BYTES, "bytes_sent": Field.BYTES, "http_referer": Field.REFERER,
    "http_user_agent": Field.USER_AGENT, "request_time": Field.RESPONSE_S,
    "host": Field.SITE, "server_name": Field.SITE,
}  # fmt: skip

COMBINED = '%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i"'
NGINX_COMBINED = (
    '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent '
    '"$http_referer" "$http_user_agent"'
)
NAMED: dict[str, str] = {
    "common": '%h %l %u %t "%r" %>s %b',
    "combined": COMBINED,
    "vhost_combined": '%v:%p %h %l %u %t "%r" %>s %O "%{Referer}i" "%{User-Agent}i"',
    "combined_D": COMBINED + " %D",
    "combined_T": COMBINED + " %T",
    "nginx_combined": NGINX_COMBINED,
    "nginx_timed": NGINX_COMBINED + " $request_time",
    "nginx_json": (
        '{"time_iso8601":"$time_iso8601","remote_addr":"$remote_addr",'
        '"remote_user":"$remote_user","request":"$request","status":"$status",'
        '"body_bytes_sent":"$body_bytes_sent","http_referer":"$http_referer",'
        '"http_user_agent":"$http_user_agent","request_time":"$request_time","host":"$host"}'
    ),
}

_TOKEN = re.compile(
    r"%%"  # a literal percent
    r"|%[<>!\d,]*(?:\{(?P<arg>[^}]*)\})?(?P<ap>[<>]?[a-zA-Z])"  # Apache directive
    r"|\$(?P<ng>[a-z_][a-z0-9_]*)"  # nginx variable
)


@dataclass(frozen=True)
class Column:
    """How one space-separated token of a line becomes fields.

    ``width`` is 2 for the ``[time zone]`` token (its value holds a space), else 1; ``pattern``
    splits a token holding several directives (``%v:%p``), else the token is the one field
    ``fields[0]``.
    """

    first: int
    width: int
    fields: tuple[Field, ...]
    pattern: str | None = None


@dataclass(frozen=True)
class LogFormat:
    """A compiled log format: which field each group of its line regex captures."""

    name: str
    spec: str
    fields: tuple[Field, ...]
    fast_pattern: str
    strict_pattern: re.Pattern[str]
    # For JSON-lines logs: JSON key -> field; the regexes are unused.
    json_keys: tuple[tuple[str, Field], ...] = ()
    # For formats made of space-separated tokens: how its tokens carry the fields (the compiled
    # tokeniser, ``tokens``, reads them), or None to use the regex.
    columns: tuple[Column, ...] | None = None

    @property
    def is_json(self) -> bool:
        return bool(self.json_keys)

    def captures(self, wanted: Field) -> bool:
        return wanted in self.fields or any(f is wanted for _, f in self.json_keys)


def resolve_format(name_or_spec: str, custom: dict[str, str] | None = None) -> LogFormat:
    """A format by name (built-in or from ``[ingest.formats]``) or from a format string."""
    custom = custom or {}
    if name_or_spec in custom:
        return compile_format(custom[name_or_spec], name=name_or_spec)
    if name_or_spec in NAMED:
        return compile_format(NAMED[name_or_spec], name=name_or_spec)
    if "%" not in name_or_spec and "$" not in name_or_spec:
        known = ", ".join(sorted({*NAMED, *custom}))
        raise ConfigError(f"unknown log format '{name_or_spec}'; known formats: {known}")
    return compile_format(name_or_spec, name="custom")


def compile_format(spec: str, name: str = "custom") -> LogFormat:
    """Compile an Apache LogFormat or nginx log_format string."""
    if spec.lstrip().startswith("{"):
        return _compile_json(spec, name)
    fast: list[str] = ["^"]
    strict: list[str] = ["^"]
    fields: list[Field] = []
    pos = 0
    for match in _TOKEN.finditer(spec):
        literal = spec[pos : match.start()]
        fast.append(_literal(literal))
        strict.append(_literal(literal))
        pos = match.end()
        if match.group(0) == "%%":
            fast.append("%")
            strict.append("%")
            continue
        field = _field_of(match)
        quoted = spec[match.start() - 1 : match.start()] == '"' and spec[pos : pos + 1] == '"'
        if field is Field.TIME_CLF and match.group("ap") == "t":
            fast.append(r"\[([^\]]*)\]")
            strict.append(r"\[([^\]]*)\]")
        elif quoted:
            fast.append(r'([^"]*)')
            strict.append(r'((?:[^"\\]|\\.)*)')
        elif field is Field.TIME_CLF:
            fast.append(r"([^\]]*)")
            strict.append(r"([^\]]*)")
        else:
            fast.append(r"(\S*)")
            strict.append(r"(\S*)")
        fields.append(field)
    tail = _literal(spec[pos:])
    fast.append(tail + r"\s*$")
    # Real servers cut over-long headers and lose the closing quote of the line's last field
    # (seen in the wild on a Googlebot agent); the strict pass accepts that one defect.
    strict.append((tail[:-1] + '"?' if tail.endswith('"') else tail) + r"\s*$")
    _check_fields(fields, spec)
    return LogFormat(
        name=name,
        spec=spec,
        fields=tuple(fields),
        fast_pattern="".join(fast),
        strict_pattern=re.compile("".join(strict)),
        columns=_columns(spec),
    )


def _columns(spec: str) -> tuple[Column, ...] | None:
    """Plan a line as space-separated tokens, or None when the format does not split that way."""
    tokens = re.findall(r'"[^"]*"|\[[^\]]*\]|\S+', spec)
    if " ".join(tokens) != spec:
        return None  # runs of spaces, or quotes that do not enclose whole tokens
    plan: list[Column] = []
    first = 0
    for token in tokens:
        inner = token[1:-1] if token[0] in '"[' else token
        if token[0] != '"' and '"' in token:
            return None
        directives = list(_TOKEN.finditer(inner))
        fields = tuple(_field_of(m) for m in directives if m.group(0) != "%%")
        is_time = Field.TIME_CLF in fields
        width = 2 if is_time else 1
        if is_time and (len(fields) != 1 or (token[0] != "[" and inner != "%t")):
            return None
        whole = len(directives) == 1 and directives[0].span() == (0, len(inner))
        if token[0] == '"' and not whole:
            return None
        pattern = None
        if not whole and fields:
            pattern = _literal_pattern(inner)
        plan.append(Column(first, width, fields or (Field.IGNORED,), pattern))
        first += width
    return tuple(plan)


def _literal_pattern(inner: str) -> str:
    """Regex splitting one unquoted token of several directives, e.g. '%v:%p'."""
    parts, pos = ["^"], 0
    for match in _TOKEN.finditer(inner):
        parts.append(re.escape(inner[pos : match.start()]))
        parts.append("%" if match.group(0) == "%%" else "(.*?)" if pos else "(.*)")
        pos = match.end()
    parts.append(re.escape(inner[pos:]) + "$")
    return "".join(parts)


def _compile_json(spec: str, name: str) -> LogFormat:
    pairs = re.findall(r'"([^"]+)"\s*:\s*"?\$([a-z_][a-z0-9_]*)"?', spec)
    if not pairs:
        raise ConfigError('a JSON log format needs \'"key": "$variable"\' pairs')
    keys = tuple((key, _NGINX.get(var, Field.IGNORED)) for key, var in pairs)
    _check_fields([f for _, f in keys], spec)
    return LogFormat(
        name=name,
        spec=spec,
        fields=(),
        fast_pattern="",
        strict_pattern=re.compile(""),
        json_keys=keys,
    )


def _field_of(match: re.Match[str]) -> Field:
    if match.group("ng"):
        return _NGINX.get(match.group("ng"), Field.IGNORED)
    directive, arg = match.group("ap"), match.group("arg")
    if arg is not None:
        if directive == "t" and arg not in {"us", "ms", "s"}:
            raise ConfigError(f"the custom time format %{{{arg}}}t is not supported")
        return _APACHE_BRACED.get((arg.lower(), directive), Field.IGNORED)
    return _APACHE.get(directive, Field.IGNORED)


def _check_fields(fields: list[Field], spec: str) -> None:
    if Field.CLIENT not in fields:
        raise ConfigError("a log format must contain the client address (%h or $remote_addr)")
    if Field.TIME_CLF not in fields and Field.TIME_ISO not in fields:
        raise ConfigError("a log format must contain the time (%t, $time_local or $time_iso8601)")
    if Field.STATUS not in fields:
        raise ConfigError("a log format must contain the status (%>s or $status)")
    if Field.REQUEST not in fields and Field.TARGET not in fields:
        raise ConfigError("a log format must contain the request (%r, %U or $request)")


def _literal(text: str) -> str:
    # Runs of spaces in a format match one or more spaces: some servers pad fields.
    return " +".join(re.escape(part) for part in text.split(" "))
