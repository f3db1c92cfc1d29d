"""HTTPSRedirectMiddleware: http->https and ws->wss, ports, bad hosts."""

from __future__ import annotations

from typing import Any

import pytest
from asgi_driver import body_receive, call, make_scope, queue_receive

from asgi_core.types import Message, Receive, Scope, Send
from asgi_middleware.httpsredirect import HTTPSRedirectMiddleware

pytestmark = pytest.mark.anyio


async def ok(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.accept"})
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"secure"})


async def run(changes: dict[str, Any]) -> list[Message]:
    """A plain-http POST to ``http://example.com/a b?x=1``, with ``changes`` to its scope."""
    scope = make_scope(
        "POST", "/a b", [(b"host", b"example.com")], query_string=b"x=1", server=("10.0.0.1", 8000)
    )
    scope.update(changes)
    return await call(HTTPSRedirectMiddleware(ok), scope, body_receive(b""))


def location(sent: list[Message]) -> bytes:
    return dict(sent[0]["headers"])[b"location"]


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        (b"example.com", b"https://example.com/a%20b?x=1"),
        (b"example.com:80", b"https://example.com/a%20b?x=1"),
        (b"example.com:443", b"https://example.com/a%20b?x=1"),
        (b"Example.COM:8080", b"https://example.com:8080/a%20b?x=1"),
        (b"[::1]:80", b"https://[::1]/a%20b?x=1"),
        (b"[::1]:8443", b"https://[::1]:8443/a%20b?x=1"),
        (b"[::1]", b"https://[::1]/a%20b?x=1"),
        (b"example.com.", b"https://example.com/a%20b?x=1"),
        # valid RFC 3986 hosts the middleware's own grammar used to refuse
        (b"example.com:000080", b"https://example.com/a%20b?x=1"),
        (b"example.com:0008443", b"https://example.com:8443/a%20b?x=1"),
        (b"[v1.fe80::a+en1]:8443", b"https://[v1.fe80::a+en1]:8443/a%20b?x=1"),
        (b"[v7.Node]", b"https://[v7.node]/a%20b?x=1"),
    ],
)
async def test_http_is_redirected_with_307(host: bytes, expected: bytes) -> None:
    sent = await run({"headers": [(b"host", host)]})
    assert sent[0]["status"] == 307
    assert location(sent) == expected
    assert sent[1]["body"] == b""


async def test_raw_path_is_kept_and_server_used_without_host() -> None:
    sent = await run({"raw_path": b"/caf%C3%A9", "query_string": b"", "headers": []})
    assert location(sent) == b"https://10.0.0.1:8000/caf%C3%A9"
    sent = await run({"headers": [], "server": ("example.org", 80), "raw_path": b"*"})
    assert location(sent) == b"https://example.org/a%20b?x=1"
    sent = await run({"headers": [], "server": None, "path": ""})
    assert sent[0]["status"] == 400


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"raw_path": b"/p\r\nSet-Cookie: x=1"}, b"/p%0D%0ASet-Cookie:%20x=1?x=1"),
        ({"query_string": b"a=\r\nSet-Cookie: x=1"}, b"/a%20b?a=%0D%0ASet-Cookie:%20x=1"),
        ({"query_string": b"a=\x00\x1b\x7f\xff%41"}, b"/a%20b?a=%00%1B%7F%FF%41"),
        ({"raw_path": b"/ok%20/~!$", "query_string": b"q=%0A"}, b"/ok%20/~!$?q=%0A"),
    ],
)
async def test_location_never_carries_control_bytes(
    changes: dict[str, Any], expected: bytes
) -> None:
    sent = await run(changes)
    assert sent[0]["status"] == 307
    assert location(sent) == b"https://example.com" + expected


@pytest.mark.parametrize(
    "host",
    [
        b"evil.com/path",
        b"user@example.com",
        b"exa mple.com",
        b"example.com:99999",
        b"example.com:0065536",
        b"",
        b".",
        b"[::zz]",
        b"[v1]",
        b"[fe80::1%25en1]",
    ],
)
async def test_malformed_host_is_refused(host: bytes) -> None:
    sent = await run({"headers": [(b"host", host)]})
    assert sent[0]["status"] == 400
    assert sent[1]["body"] == b"Invalid host header"


async def test_https_passes_through() -> None:
    sent = await run({"scheme": "https"})
    assert sent[1]["body"] == b"secure"
    sent = await run({"type": "websocket", "scheme": "wss"})
    assert sent == [{"type": "websocket.accept"}]
    sent = await run({"type": "lifespan"})
    assert sent[1]["body"] == b"secure"  # any other scope goes to the app


async def test_websocket_is_redirected_or_closed() -> None:
    sent = await run({"type": "websocket", "scheme": "ws"})
    assert sent == [{"type": "websocket.close", "code": 1008, "reason": ""}]
    extensions = {"websocket.http.response": {}}
    sent = await run({"type": "websocket", "scheme": "ws", "extensions": extensions})
    assert sent[0]["type"] == "websocket.http.response.start"
    assert sent[0]["status"] == 307
    assert location(sent) == b"wss://example.com/a%20b?x=1"
    assert sent[1]["type"] == "websocket.http.response.body"
    sent = await run(
        {"type": "websocket", "scheme": "ws", "headers": [(b"host", b"a/b")], "extensions": None}
    )
    assert sent == [{"type": "websocket.close", "code": 1008, "reason": "Invalid host header"}]


@pytest.mark.parametrize("kind", ["http", "websocket"])
async def test_a_scope_without_scheme_is_plain_and_redirected(kind: str) -> None:
    """The ASGI spec makes "scheme" optional, defaulting to http/ws: never fail open."""
    scope: dict[str, Any] = {
        "type": kind,
        "path": "/p",
        "query_string": b"",
        "headers": [(b"host", b"example.com")],
    }
    sent = await call(HTTPSRedirectMiddleware(ok), scope, queue_receive([]))
    if kind == "http":
        assert sent[0]["status"] == 307
        assert location(sent) == b"https://example.com/p"
    else:
        assert sent[0]["type"] != "websocket.accept"
