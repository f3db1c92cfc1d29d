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


# -- X-Forwarded-Port ---------------------------------------------------------------------


async def test_forwarded_port_goes_into_host_and_server() -> None:
    headers = {**XFF, "X-Forwarded-Port": "8443"}
    scope = await run(["10.0.0.1"], headers)
    assert host_of(scope) == b"public.example:8443"
    assert scope["server"] == ("public.example", 8443)
    headers["X-Forwarded-Port"] = "443"  # the scheme's default: a browser's Host has no port
    scope = await run(["10.0.0.1"], headers)
    assert host_of(scope) == b"public.example"
    assert scope["server"] == ("public.example", 443)
    scope = await run(["10.0.0.1"], {"X-Forwarded-Host": "public.example"})
    assert scope["server"] == ("public.example", 80)
    scope = await run(["10.0.0.1"], {"X-Forwarded-Host": "public.example:8080"})
    assert scope["server"] == ("public.example", 8080)


async def test_forwarded_port_alone_changes_the_port_of_the_host() -> None:
    scope = await run(["10.0.0.1"], {"X-Forwarded-Port": "9000"})
    assert host_of(scope) == b"internal:9000"
    assert scope["server"] == ("internal", 9000)
    scope = await run(["10.0.0.1"], {"X-Forwarded-Host": "[2001:db8::1]", "X-Forwarded-Port": "81"})
    assert host_of(scope) == b"[2001:db8::1]:81"
    assert scope["server"] == ("2001:db8::1", 81)


async def test_forwarded_port_aligns_with_the_chosen_hop() -> None:
    headers = {
        "X-Forwarded-For": "203.0.113.7, 10.0.0.5",
        "X-Forwarded-Host": "public.example, lb.internal",
        "X-Forwarded-Port": "8443, 8080",
    }
    scope = await run(["10.0.0.0/8"], headers)
    assert host_of(scope) == b"public.example:8443"


async def test_bad_forwarded_ports_are_ignored() -> None:
    for junk in ("0", "x", "70000", "-1", "", "²"):
        scope = await run(["10.0.0.1"], {"X-Forwarded-Port": junk})
        assert host_of(scope) == b"internal:8000"
        assert "server" not in scope


async def test_forwarded_port_without_a_usable_host_header() -> None:
    seen: list[Scope] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope)

    for headers in ([], [(b"host", b"bad host")]):
        seen.clear()
        scope: dict[str, Any] = {
            "type": "http",
            "scheme": "http",
            "client": ("10.0.0.1", 1),
            "headers": [*headers, (b"x-forwarded-port", b"8443")],
        }
        middleware = ProxyHeadersMiddleware(app, trusted_hosts="10.0.0.1")
        await middleware(scope, None, None)  # type: ignore[arg-type]
        assert "server" not in seen[0]
        assert [k for k, _ in seen[0]["headers"]].count(b"host") == len(headers)


# -- a server that applied X-Forwarded-For itself (uvicorn's default) ---------------------

BEHIND_NGINX = {
    "X-Forwarded-For": "203.0.113.7",
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Host": "public.example",
    "X-Forwarded-Port": "443",
}


async def test_client_already_rewritten_by_the_server() -> None:
    # nginx (127.0.0.1) -> uvicorn, which trusts 127.0.0.1 and rewrote the client
    scope = await run(["127.0.0.1"], BEHIND_NGINX, client=("203.0.113.7", 0))
    assert scope["client"] == ("203.0.113.7", 0)
    assert scope["scheme"] == "https"
    assert host_of(scope) == b"public.example"
    assert scope["server"] == ("public.example", 443)
    # a longer chain: the server and the middleware pick the same hop
    headers = {**BEHIND_NGINX, "X-Forwarded-For": "6.6.6.6, 203.0.113.7, 10.0.0.5"}
    scope = await run(["127.0.0.1", "10.0.0.0/8"], headers, client=("203.0.113.7", 0))
    assert host_of(scope) == b"public.example"
    # RFC 7239 Forwarded, when the proxy sends it
    forwarded = {"Forwarded": 'for="[2001:db8::7]";proto=https;host=public.example'}
    scope = await run(["127.0.0.1"], forwarded, client=("2001:db8::7", 0))
    assert (scope["scheme"], host_of(scope)) == ("https", b"public.example")


async def test_server_picked_a_trusted_hop() -> None:
    # the server trusts fewer proxies than the middleware: the walk goes on from there
    headers = {**BEHIND_NGINX, "X-Forwarded-For": "203.0.113.7, 10.0.0.5"}
    scope = await run(["127.0.0.1", "10.0.0.0/8"], headers, client=("10.0.0.5", 0))
    assert scope["client"] == ("203.0.113.7", 0)
    assert host_of(scope) == b"public.example"


async def test_a_rewrite_cannot_be_faked_by_a_direct_client() -> None:
    # a client reaching the server directly writes its own address in the headers: its
    # real port is never 0, so its headers stay untrusted
    scope = await run(["127.0.0.1"], BEHIND_NGINX, client=("203.0.113.7", 51234))
    assert (scope["scheme"], host_of(scope)) == ("http", b"internal:8000")
    mismatched = [
        {**BEHIND_NGINX, "X-Forwarded-For": "198.51.100.1"},  # not the hop the server took
        {**BEHIND_NGINX, "X-Forwarded-For": "203.0.113.7:80"},  # the hop had a port
        {**BEHIND_NGINX, "X-Forwarded-For": "junk"},
        {k: v for k, v in BEHIND_NGINX.items() if k != "X-Forwarded-For"},
        {"Forwarded": "for=198.51.100.1;host=evil.example"},
    ]
    for headers in mismatched:
        scope = await run(["127.0.0.1"], headers, client=("203.0.113.7", 0))
        assert host_of(scope) == b"internal:8000", headers
        assert scope["client"] == ("203.0.113.7", 0)
    scope = await run(["127.0.0.1"], BEHIND_NGINX, client=("not-an-address", 0))
    assert host_of(scope) == b"internal:8000"


async def test_trust_server_false_takes_nothing_from_a_rewritten_request() -> None:
    seen: list[Scope] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope)

    middleware = ProxyHeadersMiddleware(app, trusted_hosts=["127.0.0.1"], trust_server=False)
    scope = {
        "type": "http",
        "scheme": "http",
        "client": ("203.0.113.7", 0),
        "headers": [(b"host", b"internal:8000")]
        + [(k.lower().encode(), v.encode()) for k, v in BEHIND_NGINX.items()],
    }
    await middleware(scope, None, None)  # type: ignore[arg-type]
    assert host_of(seen[0]) == b"internal:8000"
    assert seen[0]["scheme"] == "http"
