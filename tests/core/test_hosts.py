"""asgi_core.hosts: the one Host grammar (RFC 3986 host[:port])."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from asgi_core.datastructures import URL
from asgi_core.hosts import format_host, is_valid_host, parse_host


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("example.com", ("example.com", None)),
        ("Example.COM:8080", ("Example.COM", 8080)),
        ("example.com.", ("example.com.", None)),
        ("my_host-1.local~", ("my_host-1.local~", None)),
        ("127.0.0.1:65535", ("127.0.0.1", 65535)),
        ("h:0", ("h", 0)),
        ("host:000080", ("host", 80)),
        ("host:0000065535", ("host", 65535)),
        ("host:", ("host", None)),
        ("a%2Fb", ("a%2Fb", None)),
        ("a%c3%a9", ("a%c3%a9", None)),
        ("a!$&'()*+,;=b", ("a!$&'()*+,;=b", None)),
        ("[::1]", ("[::1]", None)),
        ("[::1]:80", ("[::1]", 80)),
        ("[2001:DB8::1]:443", ("[2001:DB8::1]", 443)),
        ("[::ffff:1.2.3.4]", ("[::ffff:1.2.3.4]", None)),
        ("[v1.foo]", ("[v1.foo]", None)),
        ("[vF.a:b!]:8", ("[vF.a:b!]", 8)),
    ],
)
def test_parse_host_accepts(value: str, expected: tuple[str, int | None]) -> None:
    assert parse_host(value) == expected
    assert parse_host(value) == expected  # cached
    assert is_valid_host(value)


@pytest.mark.parametrize(
    "value",
    [
        "",
        ":80",
        "evil.com/path",
        "evil.com?q",
        "evil.com#f",
        "user@evil.com",
        "evil.com ",
        " evil.com",
        "evil\t.com",
        "evil.com\r\nx: y",
        "evil\x00.com",
        "évil.com",
        "evil.com\\x",
        "evil.com:65536",
        "evil.com:99999",
        "evil.com:0000099999",
        "evil.com:1000000",
        "evil.com:80:80",
        "evil.com:-1",
        "evil.com:\uff18\uff10",  # fullwidth digits
        "a%zz",
        "a%2",
        "%",
        "[::1",
        "::1",
        "[:::::]",
        "[zz::1]",
        "[::1]x",
        "[1.2.3.4]",
        "[fe80::1%25eth0]",
        "[fe80::1%eth0]",
        "[v.x]",
        "[vz.x]",
        "[v1.]",
        "[V1.x]",
        "[v1.a/b]",
        "[]",
    ],
)
def test_parse_host_refuses(value: str) -> None:
    assert parse_host(value) is None
    assert not is_valid_host(value)


def test_parse_host_refuses_long_values() -> None:
    assert parse_host("a" * 1024) == ("a" * 1024, None)
    assert parse_host("a" * 1025) is None
    assert parse_host("a" * 1_000_000) is None


def test_parse_host_cache_is_bounded() -> None:
    for number in range(3000):
        assert parse_host(f"host-{number}") == (f"host-{number}", None)
    assert parse_host("host-0:1") == ("host-0", 1)


@pytest.mark.parametrize(
    ("host", "port", "expected"),
    [
        ("example.com", None, "example.com"),
        ("example.com", 8080, "example.com:8080"),
        ("example.com", 0, "example.com:0"),
        ("::1", None, "[::1]"),
        ("::1", 443, "[::1]:443"),
        ("[::1]", 443, "[::1]:443"),
        ("[v1.foo]", None, "[v1.foo]"),
    ],
)
def test_format_host(host: str, port: int | None, expected: str) -> None:
    assert format_host(host, port) == expected


@given(st.ip_addresses(v=6), st.one_of(st.none(), st.integers(0, 65535)))
def test_every_ipv6_address_parses_bracketed(
    address: ipaddress.IPv6Address, port: int | None
) -> None:
    for text in (str(address), address.exploded):
        assert parse_host(format_host(text, port)) == (f"[{text}]", port)


@given(st.ip_addresses(v=4), st.integers(0, 65535))
def test_every_ipv4_address_parses(address: ipaddress.IPv4Address, port: int) -> None:
    assert parse_host(f"{address}:{port}") == (str(address), port)


@given(st.text(max_size=40))
def test_random_text_never_crashes(value: str) -> None:
    result = parse_host(value)
    assert result is None or isinstance(result, tuple)
    assert is_valid_host(value) is (result is not None)


@given(st.text(alphabet="[]:v.%0123456789abcdefABCDEF/@ ", max_size=30))
def test_host_like_text_never_crashes(value: str) -> None:
    result = parse_host(value)
    if result is not None:
        host, port = result
        assert value.startswith(host)
        assert port is None or 0 <= port <= 65535


_REG_NAME = st.from_regex(r"(?:[A-Za-z0-9\-._~!$&'()*+,;=]|%[0-9A-Fa-f]{2}){1,30}", fullmatch=True)
_IPV_FUTURE = st.from_regex(
    r"\[v[0-9A-Fa-f]{1,3}\.[A-Za-z0-9\-._~!$&'()*+,;=:]{1,20}\]", fullmatch=True
)


@given(st.one_of(_REG_NAME, _IPV_FUTURE), st.one_of(st.none(), st.integers(0, 65535)))
def test_every_valid_host_parses_and_builds_a_usable_url(host: str, port: int | None) -> None:
    value = format_host(host, port)
    assert parse_host(value) == (host, port)
    # request.url keeps the value as given, and reading it never raises.
    url = URL(scope={"type": "http", "path": "/p", "headers": [(b"host", value.encode())]})
    assert url.netloc == value
    assert url.port == port
    assert url.hostname is not None
    assert url.path == "/p"
