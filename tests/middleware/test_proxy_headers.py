"""ProxyHeadersMiddleware: trust only listed peers; X-Forwarded-* and RFC 7239 Forwarded."""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asgi_core.types import Message, Receive, Scope, Send
from asgi_middleware.proxy_headers import ProxyHeadersMiddleware, parse_forwarded

pytestmark = pytest.mark.anyio


async def run(
    trusted: Any,
    headers: dict[str, str] | list[tuple[str, str]],
    client: tuple[str, int] | None = ("10.0.0.1", 1234),
    kind: str = "http",
) -> Scope:
    """The scope the wrapped app saw."""
    seen: list[Scope] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope)

    items = headers.items() if isinstance(headers, dict) else headers
    scope: dict[str, Any] = {
        "type": kind,
        "scheme": "http" if kind == "http" else "ws",
        "client": client,
        "headers": [(b"host", b"internal:8000")]
        + [(k.lower().encode(), v.encode("latin-1")) for k, v in items],
    }

    async def receive() -> Message:  # pragma: no cover - never called
        raise AssertionError

    async def send(message: Message) -> None:  # pragma: no cover - never called
        raise AssertionError

    await ProxyHeadersMiddleware(app, trusted_hosts=trusted)(scope, receive, send)
    return seen[0]


def host_of(scope: Scope) -> bytes:
    (value,) = [v for k, v in scope["headers"] if k == b"host"]
    return bytes(value)


XFF = {
    "X-Forwarded-For": "203.0.113.7",
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Host": "public.example",
}


async def test_nothing_is_trusted_by_default() -> None:
    scope = await run((), XFF)
    assert scope["client"] == ("10.0.0.1", 1234)
    assert scope["scheme"] == "http"
    assert host_of(scope) == b"internal:8000"


async def test_spoofed_headers_from_untrusted_peer_are_ignored() -> None:
    scope = await run(["10.0.0.2", "192.168.0.0/16"], XFF)
    assert scope["client"] == ("10.0.0.1", 1234)
    assert scope["scheme"] == "http"
    scope = await run(["10.0.0.0/8"], XFF, client=None)
    assert scope["client"] is None
    scope = await run(["10.0.0.0/8"], XFF, client=("unix-socket", 0))
    assert scope["client"] == ("unix-socket", 0)


async def test_trusted_peer_applies_x_forwarded() -> None:
    scope = await run(["10.0.0.1"], XFF)
    assert scope["client"] == ("203.0.113.7", 0)
    assert scope["scheme"] == "https"
    assert host_of(scope) == b"public.example"
    scope = await run("10.0.0.0/8, 127.0.0.1", XFF)
    assert scope["client"] == ("203.0.113.7", 0)


async def test_rightmost_untrusted_hop_is_the_client() -> None:
    headers = {"X-Forwarded-For": "1.1.1.1, 203.0.113.7, 10.0.0.5, 10.0.0.6"}
    scope = await run(["10.0.0.0/8"], headers)
    assert scope["client"] == ("203.0.113.7", 0)  # 1.1.1.1 was written by the client itself
    scope = await run("*", headers)
    assert scope["client"] == ("1.1.1.1", 0)  # all trusted: the leftmost
    scope = await run(["10.0.0.0/8"], {"X-Forwarded-For": "10.0.0.9"})
    assert scope["client"] == ("10.0.0.9", 0)


async def test_proto_and_host_align_with_the_chosen_hop() -> None:
    headers = {
        "X-Forwarded-For": "203.0.113.7, 10.0.0.5",
        "X-Forwarded-Proto": "https, http",
        "X-Forwarded-Host": "public.example, lb.internal",
    }
    scope = await run(["10.0.0.0/8"], headers)
    assert scope["client"] == ("203.0.113.7", 0)
    assert scope["scheme"] == "https"
    assert host_of(scope) == b"public.example"
    # lists that do not line up: the nearest proxy's value
    headers["X-Forwarded-Proto"] = "http, https, https"
    scope = await run(["10.0.0.0/8"], headers)
    assert scope["scheme"] == "https"


async def test_multiple_header_lines_are_joined() -> None:
    headers = [("X-Forwarded-For", "203.0.113.7"), ("X-Forwarded-For", "10.0.0.5")]
    scope = await run(["10.0.0.0/8"], headers)
    assert scope["client"] == ("203.0.113.7", 0)


async def test_junk_values_are_ignored() -> None:
    headers = {
        "X-Forwarded-For": "not-an-ip",
        "X-Forwarded-Proto": "javascript",
        "X-Forwarded-Host": "evil.com/path@x",
    }
    scope = await run(["10.0.0.1"], headers)
    assert scope["client"] == ("10.0.0.1", 1234)
    assert scope["scheme"] == "http"
    assert host_of(scope) == b"internal:8000"
    for junk in ("", " , ", "1.2.3.4:99999", "1.2.3.4:x", "1.2.3.4:²", "[::1]:x", "[::1"):
        scope = await run("*", {"X-Forwarded-For": junk})
        assert scope["client"] == ("10.0.0.1", 1234)


async def test_ports_and_ipv6_in_x_forwarded_for() -> None:
    scope = await run("*", {"X-Forwarded-For": "2001:db8::1"})
    assert scope["client"] == ("2001:db8::1", 0)
    scope = await run("*", {"X-Forwarded-For": "203.0.113.7:4711"})
    assert scope["client"] == ("203.0.113.7", 4711)
    scope = await run("*", {"X-Forwarded-For": "[2001:db8::1]:4711"})
    assert scope["client"] == ("2001:db8::1", 4711)


async def test_proto_maps_to_the_scope_type() -> None:
    scope = await run("*", {"X-Forwarded-Proto": "WSS"})
    assert scope["scheme"] == "https"
    scope = await run("*", {"X-Forwarded-Proto": "https"}, kind="websocket")
    assert scope["scheme"] == "wss"
    scope = await run("*", {"X-Forwarded-Proto": "http"}, kind="websocket")
    assert scope["scheme"] == "ws"
    assert scope["client"] == ("10.0.0.1", 1234)


async def test_forwarded_header() -> None:
    headers = {
        "Forwarded": 'for=203.0.113.7;proto=https;host="public.example:8443", '
        'for="[2001:db8::5]:80";proto=http',
        "X-Forwarded-For": "6.6.6.6",
    }
    scope = await run(["10.0.0.0/8", "2001:db8::/32"], headers)
    assert scope["client"] == ("203.0.113.7", 0)
    assert scope["scheme"] == "https"
    assert host_of(scope) == b"public.example:8443"


async def test_forwarded_obfuscated_and_quoted() -> None:
    headers = {"Forwarded": 'for=_hidden;proto=https;by="a,b;c", for=unknown'}
    scope = await run("*", headers)
    assert scope["client"] == ("10.0.0.1", 1234)  # unknown / obfuscated: left alone
    assert scope["scheme"] == "http"  # the rightmost element (for=unknown) chose the hop
    headers = {"Forwarded": 'For="[2001:db8:cafe::17]:4711";Proto=https'}
    scope = await run("*", headers)
    assert scope["client"] == ("2001:db8:cafe::17", 4711)
    assert scope["scheme"] == "https"


def test_parse_forwarded() -> None:
    assert parse_forwarded('for="a\\"b";by=x;for=ignored, proto=https; =x; junk') == [
        {"for": 'a"b', "by": "x"},
        {"proto": "https"},
    ]
    assert parse_forwarded('for="unterminated') == [{"for": '"unterminated'}]
    assert parse_forwarded("") == [{}]


def test_invalid_trusted_hosts_are_refused() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:  # pragma: no cover
        pass

    with pytest.raises(ValueError, match="Invalid trusted host 'localhost'"):
        ProxyHeadersMiddleware(app, trusted_hosts=["localhost"])


async def test_lifespan_and_trust_cache() -> None:
    scope = await run("*", XFF, kind="lifespan")
    assert scope["client"] == ("10.0.0.1", 1234)
    seen: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["client"][0])

    middleware = ProxyHeadersMiddleware(app, trusted_hosts=["10.0.0.0/8"])
    for index in range(1100):
        scope = {
            "type": "http",
            "client": (f"10.0.{index // 256}.{index % 256}", 1),
            "headers": [(b"x-forwarded-for", b"203.0.113.7")],
        }
        await middleware(scope, None, None)  # type: ignore[arg-type]
    assert len(middleware._trust_cache) <= 1024
    assert set(seen) == {"203.0.113.7"}


@given(st.text(max_size=300))
def test_parse_forwarded_never_raises(value: str) -> None:
    for element in parse_forwarded(value):
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in element.items())


@settings(max_examples=50)
@given(st.binary(max_size=100), st.binary(max_size=100))
def test_hostile_headers_never_break_the_scope(forwarded: bytes, xff: bytes) -> None:
    async def main() -> None:
        scope = await run(
            "*",
            [
                ("Forwarded", forwarded.decode("latin-1")),
                ("X-Forwarded-For", xff.decode("latin-1")),
            ],
        )
        assert scope["scheme"] in ("http", "https")
        assert isinstance(scope["client"][0], str)

    anyio.run(main)
