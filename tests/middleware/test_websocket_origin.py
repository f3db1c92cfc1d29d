"""WebSocketOriginMiddleware: same-origin default, listed origins, regex, CORS reuse,
403 refusals with and without the websocket.http.response extension, real servers."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import uvicorn
import websockets.sync.client
from asgi_driver import call, queue_receive, recorder, websocket_scope
from websockets.exceptions import InvalidStatus

from asgi_core.types import Message, Receive, Scope, Send
from asgi_middleware import Middleware
from asgi_middleware.cors import CORSMiddleware
from asgi_middleware.websocket_origin import (
    DENIED_TEXT,
    WebSocketOriginMiddleware,
    normalize_origin,
    parse_origin,
)
from asgi_testkit import AsyncTestClient, TestClient, WebSocketDenialResponse
from asgi_testkit import WebSocketDisconnect as ClientDisconnect

pytestmark = pytest.mark.anyio

EXTENSION = {"websocket.http.response": {}}


async def echo(scope: Scope, receive: Receive, send: Send) -> None:
    """Accept, echo one text message, close; answer HTTP with 200 "ok"."""
    if scope["type"] == "websocket":
        assert (await receive())["type"] == "websocket.connect"
        await send({"type": "websocket.accept"})
        message = await receive()
        if message["type"] == "websocket.receive":
            await send({"type": "websocket.send", "text": message.get("text")})
            await send({"type": "websocket.close", "code": 1000})
        return
    if scope["type"] == "lifespan":
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


class Recorder:
    """An app that records the (scope, receive, send) it was called with."""

    def __init__(self) -> None:
        self.calls: list[tuple[Scope, Receive, Send]] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.calls.append((scope, receive, send))


def ws_scope(
    origin: str | None = None,
    host: str | None = "example.com",
    scheme: str = "wss",
    extensions: dict[str, Any] | None = None,
    extra_headers: list[tuple[bytes, bytes]] | None = None,
) -> dict[str, Any]:
    headers: list[tuple[bytes, bytes]] = [(b"upgrade", b"websocket")]
    if origin is not None:
        headers.append((b"origin", origin.encode("latin-1")))
    headers.extend(extra_headers or [])
    scope = websocket_scope("/ws", headers, host=host, scheme=scheme)
    if extensions is not None:
        scope["extensions"] = extensions
    return scope


async def handshake(app: Any, scope: dict[str, Any]) -> tuple[bool, list[Message]]:
    """Run a handshake by hand: (whether the inner app ran, the messages sent)."""
    inner = Recorder()
    app.app = inner
    result, send = recorder()
    incoming = [{"type": "websocket.connect"}]

    async def receive() -> Message:
        return incoming.pop(0)

    await app(scope, receive, send)
    if inner.calls:
        called_scope, called_receive, called_send = inner.calls[0]
        # Allowed connections get the server's own callables: no per-message cost.
        assert called_scope is scope
        assert called_receive is receive
        assert called_send is send
        assert incoming, "the middleware must not consume websocket.connect when allowing"
    return bool(inner.calls), result.messages


def middleware(**kwargs: Any) -> WebSocketOriginMiddleware:
    return WebSocketOriginMiddleware(Recorder(), **kwargs)


async def allowed(app: WebSocketOriginMiddleware, **scope: Any) -> bool:
    reached, sent = await handshake(app, ws_scope(**scope))
    if reached:
        assert sent == []
    else:
        assert sent[-1]["type"] == "websocket.close"
    return reached


# -- pure functions ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://example.com", ("https", "example.com", None)),
        ("HTTPS://Example.COM:443", ("https", "example.com", None)),
        ("http://example.com:80", ("http", "example.com", None)),
        ("http://example.com:443", ("http", "example.com", 443)),
        ("https://example.com:8443", ("https", "example.com", 8443)),
        ("http://[::1]:8000", ("http", "::1", 8000)),
        ("chrome-extension://abcdef", ("chrome-extension", "abcdef", None)),
        # valid RFC 3986 hosts the middleware's own grammar used to refuse
        ("http://example.com:00080", ("http", "example.com", None)),
        ("https://example.com:0008443", ("https", "example.com", 8443)),
        ("http://[v1.Node]:8000", ("http", "[v1.node]", 8000)),
    ],
)
def test_parse_origin(value: str, expected: tuple[str, str, int | None]) -> None:
    assert parse_origin(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "null",
        "",
        "example.com",
        "://example.com",
        "1http://example.com",
        "https://",
        "https://example.com/",
        "https://example.com/path",
        "https://user@example.com",
        "https://example.com:99999",
        "https://exa mple.com",
        "https://a.com https://b.com",
        "https://[not-ipv6]",
        "https://évil.com",
    ],
)
def test_parse_origin_refuses_malformed(value: str) -> None:
    assert parse_origin(value) is None
    assert normalize_origin(value) is None


def test_normalize_origin() -> None:
    assert normalize_origin("HTTPS://Example.com:443") == "https://example.com"
    assert normalize_origin("http://[::1]:80") == "http://[::1]"
    assert normalize_origin("http://LOCALHOST:8000") == "http://localhost:8000"
    assert normalize_origin("http://[v1.Node]:0080") == "http://[v1.node]"
    assert normalize_origin("https://example.com.:0443") == "https://example.com"


# -- same origin (the default) ----------------------------------------------------------


@pytest.mark.parametrize(
    ("scheme", "host", "origin"),
    [
        ("wss", "example.com", "https://example.com"),
        ("wss", "example.com:443", "https://example.com"),
        ("wss", "Example.COM", "https://example.com:443"),
        ("ws", "example.com", "http://example.com"),
        ("ws", "example.com:80", "http://example.com:80"),
        ("ws", "localhost:8000", "http://localhost:8000"),
        ("ws", "[::1]:8000", "http://[::1]:8000"),
        ("ws", "[v1.node]:8000", "http://[v1.Node]:8000"),
        ("ws", "example.com:080", "http://example.com"),
        ("https", "example.com", "https://example.com"),
    ],
)
async def test_same_origin_allowed(scheme: str, host: str, origin: str) -> None:
    assert await allowed(middleware(), scheme=scheme, host=host, origin=origin)


@pytest.mark.parametrize(
    ("scheme", "host", "origin"),
    [
        ("wss", "example.com", "https://evil.com"),
        ("wss", "example.com", "http://example.com"),  # ws(s) scheme must match
        ("ws", "example.com", "https://example.com"),
        ("wss", "example.com", "https://example.com:8443"),  # port must match
        ("ws", "localhost:8000", "http://localhost:8001"),
        ("ws", "localhost:8000", "http://localhost"),
        ("wss", "example.com", "https://sub.example.com"),
        ("wss", "example.com", "null"),
        ("wss", "example.com", "https://example.com/"),
        ("wss", "example.com", "https://example.com, https://evil.com"),
        ("wss", "example.com/evil", "https://example.com/evil"),  # malformed Host
        ("wss", "user@example.com", "https://example.com"),
        ("wss", "", "https://example.com"),
        ("wss", None, "https://example.com"),  # no Host at all
        ("gopher", "example.com", "https://example.com"),  # unknown scheme in scope
    ],
)
async def test_foreign_or_malformed_refused(scheme: str, host: str | None, origin: str) -> None:
    assert not await allowed(middleware(), scheme=scheme, host=host, origin=origin)


async def test_scheme_defaults_to_ws() -> None:
    app = middleware()
    scope = ws_scope(origin="http://example.com")
    del scope["scheme"]
    reached, _ = await handshake(app, scope)
    assert reached


async def test_missing_origin_allowed() -> None:
    """Non-browser clients send no Origin; browsers always do."""
    assert await allowed(middleware(), origin=None)
    assert await allowed(middleware(allow_origins=[]), origin=None, host=None)


async def test_duplicate_origin_or_host_refused() -> None:
    app = middleware()
    twice = [(b"origin", b"https://example.com")]
    assert not await allowed(app, origin="https://example.com", extra_headers=twice)
    host_twice = [(b"host", b"example.com")]
    assert not await allowed(app, origin="https://example.com", extra_headers=host_twice)


# -- refusal messages -------------------------------------------------------------------


async def test_refusal_with_extension_is_a_403_response() -> None:
    reached, sent = await handshake(
        middleware(), ws_scope(origin="https://evil.com", extensions=EXTENSION)
    )
    assert not reached
    start, body = sent
    assert start["type"] == "websocket.http.response.start"
    assert start["status"] == 403
    headers = dict(start["headers"])
    assert headers[b"content-type"] == b"text/plain; charset=utf-8"
    assert body["type"] == "websocket.http.response.body"
    assert body["body"] == DENIED_TEXT.encode()
    assert headers[b"content-length"] == str(len(body["body"])).encode()
    assert not body.get("more_body", False)


@pytest.mark.parametrize("extensions", [None, {}, {"websocket.http.response.x": {}}])
async def test_refusal_without_extension_closes_before_accept(
    extensions: dict[str, Any] | None,
) -> None:
    reached, sent = await handshake(
        middleware(), ws_scope(origin="https://evil.com", extensions=extensions)
    )
    assert not reached
    assert [message["type"] for message in sent] == ["websocket.close"]
    assert sent[0]["code"] == 1008


async def test_refusal_consumes_connect_first() -> None:
    events: list[str] = []

    async def receive() -> Message:
        events.append("receive")
        return {"type": "websocket.connect"}

    async def send(message: Message) -> None:
        events.append(message["type"])

    await middleware()(ws_scope(origin="https://evil.com"), receive, send)
    assert events == ["receive", "websocket.close"]


async def test_client_gone_before_connect_sends_nothing() -> None:
    gone = queue_receive([{"type": "websocket.disconnect", "code": 1006}])
    assert await call(middleware(), ws_scope(origin="https://evil.com"), gone) == []


# -- configured origins -----------------------------------------------------------------


async def test_listed_origins_allow_exactly_those() -> None:
    app = middleware(allow_origins=["https://App.Example.com:443", "http://localhost:3000"])
    assert app.allow_origins == frozenset({"https://app.example.com", "http://localhost:3000"})
    assert await allowed(app, origin="https://app.example.com")
    assert await allowed(app, origin="HTTPS://APP.EXAMPLE.COM:443")
    assert await allowed(app, origin="http://localhost:3000")
    assert not await allowed(app, origin="http://localhost:3001")
    assert not await allowed(app, origin="http://app.example.com")
    # A list replaces the same-origin default.
    assert not await allowed(app, origin="https://example.com", host="example.com")


async def test_empty_list_allows_only_clients_without_origin() -> None:
    app = middleware(allow_origins=())
    assert not await allowed(app, origin="https://example.com", host="example.com")
    assert await allowed(app, origin=None)


async def test_star_allows_everything() -> None:
    app = middleware(allow_origins=["*"])
    assert app.allow_all_origins
    assert await allowed(app, origin="https://evil.com")
    assert await allowed(app, origin="null")
    assert await allowed(app, origin="junk", host="bad/host")


async def test_regex_must_match_the_whole_origin() -> None:
    app = middleware(allow_origin_regex=r"https://[a-z0-9-]+\.example\.com")
    assert await allowed(app, origin="https://preview-1.example.com")
    assert await allowed(app, origin="HTTPS://Preview-1.example.com:443")  # normalized first
    assert not await allowed(app, origin="https://preview-1.example.com.evil.com")
    assert not await allowed(app, origin="https://preview-1.example.com:8443")
    assert not await allowed(app, origin="http://preview-1.example.com")
    assert not await allowed(app, origin="https://x.example.com/.example.com")
    # Without allow_origins the same-origin default still holds.
    assert await allowed(app, origin="https://example.com", host="example.com")


async def test_regex_with_list_and_compiled_pattern() -> None:
    app = middleware(
        allow_origins=["https://a.test"], allow_origin_regex=re.compile(r"https://b\d\.test")
    )
    assert await allowed(app, origin="https://a.test")
    assert await allowed(app, origin="https://b1.test")
    assert not await allowed(app, origin="https://b12.test")
    assert not await allowed(app, origin="https://example.com", host="example.com")


@pytest.mark.parametrize("bad", ["null", "https://example.com/", "example.com", ""])
def test_malformed_allowed_origin_is_a_configuration_error(bad: str) -> None:
    with pytest.raises(ValueError, match="is not an origin"):
        WebSocketOriginMiddleware(echo, allow_origins=["https://ok.test", bad])


def test_allow_origins_accepts_any_iterable() -> None:
    app = WebSocketOriginMiddleware(echo, allow_origins=(o for o in ["*"]))
    assert app.allow_all_origins
    assert not app.allow_same_origin


# -- reuse of CORSMiddleware settings ---------------------------------------------------


async def test_from_cors_reuses_origins_and_regex() -> None:
    cors = CORSMiddleware(
        echo,
        allow_origins=["https://App.example.com", "https://bad.test/", "null"],
        allow_origin_regex=r"https://.*\.preview\.test",
    )
    app = WebSocketOriginMiddleware.from_cors(Recorder(), cors)
    assert app.allow_origins == frozenset({"https://app.example.com"})
    assert await allowed(app, origin="https://app.example.com")
    assert await allowed(app, origin="https://pr-7.preview.test")
    assert not await allowed(app, origin="https://pr-7.preview.test.evil.com")
    assert not await allowed(app, origin="https://evil.com")
    assert not await allowed(app, origin="null")
    # CORS never restricts same-origin requests, and neither does from_cors.
    assert await allowed(app, origin="https://example.com", host="example.com")


async def test_from_cors_wildcard_needs_credentials() -> None:
    public = CORSMiddleware(echo, allow_origins=["*", "https://a.test"])
    app = WebSocketOriginMiddleware.from_cors(Recorder(), public)
    assert not app.allow_all_origins
    assert not await allowed(app, origin="https://evil.com")
    assert await allowed(app, origin="https://a.test")
    credentialed = CORSMiddleware(echo, allow_origins=["*"], allow_credentials=True)
    app = WebSocketOriginMiddleware.from_cors(Recorder(), credentialed)
    assert await allowed(app, origin="https://evil.com")


async def test_from_cors_accepts_a_middleware_declaration() -> None:
    declaration = Middleware(CORSMiddleware, allow_origins=["https://a.test"])
    origin_check = Middleware(WebSocketOriginMiddleware.from_cors, cors=declaration)
    app = origin_check.build(Recorder())
    assert isinstance(app, WebSocketOriginMiddleware)
    assert await allowed(app, origin="https://a.test")
    assert not await allowed(app, origin="https://b.test")


def test_from_cors_refuses_other_declarations() -> None:
    with pytest.raises(TypeError, match="needs a CORSMiddleware"):
        WebSocketOriginMiddleware.from_cors(echo, Middleware(WebSocketOriginMiddleware))


# -- other scopes -----------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["http", "lifespan"])
async def test_other_scopes_pass_through(kind: str) -> None:
    inner = Recorder()
    app = WebSocketOriginMiddleware(inner)
    scope = {"type": kind, "headers": [(b"origin", b"https://evil.com")]}

    async def receive() -> Message:
        return {}

    async def send(message: Message) -> None:
        pass

    await app(scope, receive, send)
    assert inner.calls == [(scope, receive, send)]


async def test_http_through_test_client() -> None:
    app = WebSocketOriginMiddleware(echo)
    async with AsyncTestClient(app) as client:
        response = await client.get("/", headers={"origin": "https://evil.com"})
    assert response.status_code == 200
    assert response.text == "ok"


# -- through the test client (which advertises websocket.http.response) -----------------


async def test_async_test_client() -> None:
    client = AsyncTestClient(WebSocketOriginMiddleware(echo))
    async with client.websocket_connect("/ws", headers={"origin": "http://testserver"}) as ws:
        await ws.send_text("hi")
        assert await ws.receive_text() == "hi"
    with pytest.raises(WebSocketDenialResponse) as denied:
        async with client.websocket_connect("/ws", headers={"origin": "https://evil.com"}):
            pass
    assert denied.value.status_code == 403
    assert denied.value.text == DENIED_TEXT


def test_sync_test_client(anyio_backend: str) -> None:
    app = WebSocketOriginMiddleware(echo, allow_origins=["https://front.test"])
    with TestClient(app, backend=anyio_backend) as client:
        with client.websocket_connect("/ws", headers={"origin": "https://front.test"}) as ws:
            ws.send_text("hi")
            assert ws.receive_text() == "hi"
        with client.websocket_connect("/ws") as ws:  # no Origin: not a browser
            ws.send_text("cli")
            assert ws.receive_text() == "cli"
        for origin in ("http://testserver", "https://evil.com", "null"):
            with (
                pytest.raises(WebSocketDenialResponse) as denied,
                client.websocket_connect("/ws", headers={"origin": origin}),
            ):
                pass
            assert denied.value.status_code == 403
            assert denied.value.headers["content-type"] == "text/plain; charset=utf-8"
            assert denied.value.text == DENIED_TEXT


def test_sync_test_client_without_extension(anyio_backend: str) -> None:
    async def no_extension(scope: Scope, receive: Receive, send: Send) -> None:
        scope.pop("extensions", None)
        await WebSocketOriginMiddleware(echo)(scope, receive, send)

    with (
        TestClient(no_extension, backend=anyio_backend) as client,
        pytest.raises(ClientDisconnect) as closed,
        client.websocket_connect("/ws", headers={"origin": "https://evil.com"}),
    ):
        pass
    assert closed.value.code == 1008


# -- a real server and a real client ----------------------------------------------------


def strip_extensions(app: Any) -> Any:
    """Hide websocket.http.response so the refusal goes through websocket.close."""

    async def wrapper(scope: Scope, receive: Receive, send: Send) -> None:
        scope.pop("extensions", None)
        await app(scope, receive, send)

    return wrapper


@contextmanager
def serve(app: Any, ws: str) -> Iterator[str]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, ws=ws, lifespan="off", log_level="error")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        while not server.started:
            assert thread.is_alive(), "uvicorn did not start"
            time.sleep(0.01)
        yield f"127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join()
        sock.close()


# uvicorn 0.54's websockets-sansio logs "returned without completing handshake" after a
# websocket.http.response refusal; the client still gets the 403, which is what counts.
@pytest.fixture(params=["websockets-sansio", "wsproto"])
def uvicorn_ws(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.mark.parametrize("extension", [True, False], ids=["http-response", "close"])
def test_real_uvicorn_refuses_foreign_origin(uvicorn_ws: str, extension: bool) -> None:
    app = WebSocketOriginMiddleware(echo)
    with serve(app if extension else strip_extensions(app), uvicorn_ws) as netloc:
        with websockets.sync.client.connect(
            f"ws://{netloc}/ws", origin=websockets.Origin(f"http://{netloc}")
        ) as ws:
            ws.send("same origin")
            assert ws.recv() == "same origin"
        with websockets.sync.client.connect(f"ws://{netloc}/ws") as ws:
            ws.send("no origin")
            assert ws.recv() == "no origin"
        for foreign in ("https://evil.com", f"https://{netloc}", "null"):
            with pytest.raises(InvalidStatus) as refused:
                websockets.sync.client.connect(
                    f"ws://{netloc}/ws", origin=websockets.Origin(foreign)
                )
            assert refused.value.response.status_code == 403
            if extension:
                assert refused.value.response.body == DENIED_TEXT.encode()
