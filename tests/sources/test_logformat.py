from __future__ import annotations

import re

import pytest

from privstats.exceptions import ConfigError
from privstats.sources.logformat import NAMED, Field, compile_format, resolve_format


@pytest.mark.parametrize("name", sorted(NAMED))
def test_every_named_format_compiles(name: str) -> None:
    fmt = resolve_format(name)
    assert fmt.captures(Field.CLIENT) and fmt.captures(Field.STATUS)


def test_an_apache_logformat_string_maps_directives_to_fields() -> None:
    fmt = compile_format('%v %h %l %u %t "%r" %>s %B "%{Referer}i" "%{User-agent}i" %{ms}T')
    assert fmt.fields == (
        Field.SITE, Field.CLIENT, Field.IGNORED, Field.LOGIN, Field.TIME_CLF, Field.REQUEST,
        Field.STATUS, Field.BYTES, Field.REFERER, Field.USER_AGENT, Field.RESPONSE_MS,
    )  # fmt: skip
    line = (
        "crm.example.com 10.0.0.1 - - [01/Oct/2026:10:00:00 +0200] "
        '"GET / HTTP/1.1" 200 5 "-" "UA" 12'
    )
    assert re.match(fmt.fast_pattern, line)


def test_an_nginx_log_format_string_works_too() -> None:
    fmt = compile_format(
        '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent '
        '"$http_referer" "$http_user_agent" $request_time'
    )
    assert fmt.fields[-1] is Field.RESPONSE_S
    assert fmt.fields[2] is Field.TIME_CLF


def test_an_nginx_json_template_maps_keys() -> None:
    fmt = compile_format('{"t":"$time_iso8601","ip":"$remote_addr","s":$status,"r":"$request"}')
    assert fmt.is_json
    assert dict(fmt.json_keys) == {
        "t": Field.TIME_ISO, "ip": Field.CLIENT, "s": Field.STATUS, "r": Field.REQUEST,
    }  # fmt: skip


def test_a_format_without_the_essentials_is_refused() -> None:
    with pytest.raises(ConfigError, match="client address"):
        compile_format('%t "%r" %>s')
    with pytest.raises(ConfigError, match="unknown log format 'combind'"):
        resolve_format("combind")


def test_custom_formats_from_the_configuration_are_found_by_name() -> None:
    fmt = resolve_format("mine", {"mine": '%h %l %u %t "%r" %>s %b %D'})
    assert fmt.name == "mine" and fmt.fields[-1] is Field.RESPONSE_US
