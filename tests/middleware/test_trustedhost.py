"""TrustedHostMiddleware: exact and wildcard hosts, malformed Host, www redirect."""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from asgi_driver import body_receive, call, make_scope
from hypothesis import given, settings
from hypothesis import strategies as st

from asgi_core.types import Message, Receive, Scope, Send
from asgi_middleware.trustedhost import TrustedHostMiddleware

pytestmark = pytest.mark.anyio


async def ok(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.accept"})
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


async def run(app: Any, host: bytes | None, **scope: Any) -> list[Message]:
    """A request to ``https://<host>/p?q=1`` (no ``Host`` header for ``None``)."""
    headers = [(b"accept", b"*/*")] + ([] if host is None else [(b"host", host)])
    scope.setdefault("scheme", "https")
    scope.setdefault("query_string", b"q=1")
    return await call(app, make_scope("GET", "/p", headers, **scope), body_receive(b""))


APP = TrustedHostMiddleware(ok, allowed_hosts=["example.com", "*.example.org", "api.test."])


@pytest.mark.parametrize(
    "host",
    [
        b"example.com",
        b"EXAMPLE.com:8443",
        b"example.com.",
        b"a.example.org",
        b"b.a.example.org",
        b"api.test",
        # valid RFC 3986 hosts the middleware's own grammar used to refuse
        b"example.com:0008443",
        b"example.com:",
    ],
)
async def test_allowed_hosts(host: bytes) -> None:
    sent = await run(APP, host)
    assert sent[1]["body"] == b"ok"


@pytest.mark.parametrize(
    "host",
    [
        None,
        b"",
        b"example.org",  # the wildcard does not match the bare domain
        b"evilexample.org",
        b"example.com.evil.net",
        b"example.com/path",
        b"user@example.com",
        b"example.com:abc",
        b"exa mple.com",
        b"example..com",
        b".",
        b".example.com",
        b".example.org",  # a wildcard never matches a name with an empty label
        b"a..example.org",
        b"[::1",
        b"[::1]x",
        b"[1::2::3]",
        b"::1",
        b"\xff",
        b"a" * 300,
    ],
)
async def test_refused_hosts(host: bytes | None) -> None:
    sent = await run(APP, host)
    assert sent[0]["status"] == 400
    assert sent[1]["body"] == b"Invalid host header"


async def test_default_allows_anything() -> None:
    app = TrustedHostMiddleware(ok)
    assert app.allowed_hosts == ["*"]
    sent = await run(app, b"whatever/junk")
    assert sent[1]["body"] == b"ok"


async def test_www_redirect() -> None:
    app = TrustedHostMiddleware(ok, allowed_hosts=["www.example.com"])
    sent = await run(app, b"example.com:8443")
    assert sent[0]["status"] == 307
    assert dict(sent[0]["headers"])[b"location"] == b"https://www.example.com:8443/p?q=1"
    sent = await run(app, b"example.com", raw_path=b"/p\r\nX: y", query_string=b"a=\n\x00")
    assert (
        dict(sent[0]["headers"])[b"location"] == b"https://www.example.com/p%0D%0AX:%20y?a=%0A%00"
    )
    no_redirect = TrustedHostMiddleware(ok, allowed_hosts=["www.example.com"], www_redirect=False)
    sent = await run(no_redirect, b"example.com")
    assert sent[0]["status"] == 400


async def test_ipv6_hosts() -> None:
    app = TrustedHostMiddleware(ok, allowed_hosts=["::1"])
    assert (await run(app, b"[::1]:8000"))[1]["body"] == b"ok"
    assert (await run(app, b"[::2]"))[0]["status"] == 400


async def test_ipvfuture_hosts() -> None:
    """RFC 3986 IPvFuture literals are hosts (matched with their brackets, case-insensitively)."""
    app = TrustedHostMiddleware(ok, allowed_hosts=["[v1.node]"])
    assert (await run(app, b"[v1.Node]:8000"))[1]["body"] == b"ok"
    assert (await run(app, b"[v1.other]"))[0]["status"] == 400
    assert (await run(app, b"[v1.]"))[0]["status"] == 400
    www = TrustedHostMiddleware(ok, allowed_hosts=["www.example.com"])
    sent = await run(www, b"example.com:00443")
    assert dict(sent[0]["headers"])[b"location"] == b"https://www.example.com:443/p?q=1"


async def test_websockets() -> None:
    sent = await run(APP, b"example.com", type="websocket")
    assert sent == [{"type": "websocket.accept"}]
    sent = await run(APP, b"evil.com", type="websocket")
    assert sent == [{"type": "websocket.close", "code": 1008, "reason": "Invalid host header"}]
    ext = {"websocket.http.response": {}}
    sent = await run(APP, b"evil.com", type="websocket", extensions=ext)
    assert sent[0]["type"] == "websocket.http.response.start"
    assert sent[0]["status"] == 400
    www = TrustedHostMiddleware(ok, allowed_hosts=["www.example.com"])
    sent = await run(www, b"example.com", type="websocket", scheme="wss", extensions=ext)
    assert sent[0]["status"] == 307
    assert dict(sent[0]["headers"])[b"location"] == b"wss://www.example.com/p?q=1"


async def test_lifespan_passes() -> None:
    sent = await run(APP, None, type="lifespan")
    assert sent[1]["body"] == b"ok"


async def test_cache_stays_bounded() -> None:
    app = TrustedHostMiddleware(ok, allowed_hosts=["example.com"])
    for index in range(1100):
        await run(app, f"h{index}.com".encode())
    assert len(app._cache) <= 1024
    assert (await run(app, b"example.com"))[1]["body"] == b"ok"


@pytest.mark.parametrize("pattern", ["*example.com", "a.*.com", "example.*", "**.a.com"])
def test_bad_patterns_are_refused(pattern: str) -> None:
    with pytest.raises(ValueError, match="wildcard"):
        TrustedHostMiddleware(ok, allowed_hosts=[pattern])


@settings(max_examples=100)
@given(st.binary(max_size=80))
def test_any_host_header_gets_ok_or_400(host: bytes) -> None:
    sent = anyio.run(run, APP, host)
    assert sent[0]["status"] in (200, 400)


@pytest.mark.parametrize(
    ("allowed", "host", "status"),
    [
        ("[::1]", b"[::1]", 200),
        ("[::1]", b"[::1]:8000", 200),
        ("[::1]", b"[::1]:0080", 200),
        ("[::1]", b"[::1]:99999", 200),
        ("[::1]", b"[::2]", 400),
        ("[::1]", b"::1", 400),
        ("[V1.Node]", b"[v1.node]", 200),
        ("[v1.node]", b"[v1.node]:443", 200),
        ("example.com", b"example.com:000080", 200),
        ("example.com", b"example.com:99999", 200),
        ("example.com", b"example.com:1234567", 200),
        ("example.com", b"example.com::80", 400),
        ("example.com", b"example.com:80x", 400),
        ("*.example.com", b"a.example.com:99999", 200),
    ],
)
async def test_ip_literals_and_odd_ports_match_as_hosts(
    allowed: str, host: bytes, status: int
) -> None:
    sent = await run(TrustedHostMiddleware(ok, allowed_hosts=[allowed]), host)
    assert sent[0]["status"] == status


async def test_www_redirect_with_an_out_of_range_port_drops_it() -> None:
    app = TrustedHostMiddleware(ok, allowed_hosts=["www.example.com"])
    sent = await run(app, b"example.com:99999")
    assert sent[0]["status"] == 307
    assert dict(sent[0]["headers"])[b"location"] == b"https://www.example.com/p?q=1"
