"""GZipMiddleware around raw ASGI apps: sizes, streaming flushes, exclusions, HEAD."""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Sequence
from typing import Any

import httpx
import pytest

from asgi_core.types import ASGIApp, Message, Receive, Scope, Send
from asgi_middleware.gzip import GZipMiddleware

pytestmark = pytest.mark.anyio

BIG = b"x" * 1000


def respond(
    body: bytes | Sequence[bytes] = BIG,
    status: int = 200,
    headers: Sequence[tuple[bytes, bytes]] = ((b"content-type", b"text/plain"),),
) -> ASGIApp:
    """A raw app sending ``body`` (a list means one message per chunk)."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        chunks = [body] if isinstance(body, bytes) else list(body)
        start_headers = list(headers)
        if isinstance(body, bytes):
            start_headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": start_headers})
        for index, chunk in enumerate(chunks):
            more = index < len(chunks) - 1
            await send({"type": "http.response.body", "body": chunk, "more_body": more})

    return app


async def run(
    app: Any, accept: str | None = "gzip", method: str = "GET"
) -> tuple[Message, list[Message]]:
    headers = [] if accept is None else [(b"accept-encoding", accept.encode())]
    scope = {"type": "http", "method": method, "path": "/", "headers": headers}
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request"}

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent[0], sent[1:]


def header(message: Message, name: bytes) -> bytes | None:
    values = [v for k, v in message.get("headers", []) if k.lower() == name]
    return b", ".join(values) if values else None


async def test_compresses_large_bodies_and_fixes_content_length() -> None:
    start, bodies = await run(GZipMiddleware(respond()))
    body = bodies[0]["body"]
    assert gzip.decompress(body) == BIG
    assert header(start, b"content-encoding") == b"gzip"
    assert header(start, b"content-length") == str(len(body)).encode()
    assert header(start, b"vary") == b"Accept-Encoding"


async def test_small_bodies_and_unwilling_clients_are_untouched() -> None:
    for app, accept in (
        (GZipMiddleware(respond(b"tiny")), "gzip"),
        (GZipMiddleware(respond()), None),
        (GZipMiddleware(respond()), "br"),
        (GZipMiddleware(respond()), "gzip;q=0"),
        (GZipMiddleware(respond()), ""),
    ):
        start, bodies = await run(app, accept)
        assert header(start, b"content-encoding") is None
        assert header(start, b"vary") is None
        assert bodies[0]["body"] in (b"tiny", BIG)


async def test_random_bytes_stay_identity() -> None:
    data = bytes(range(256))
    start, bodies = await run(GZipMiddleware(respond(data), minimum_size=1))
    assert header(start, b"content-encoding") is None
    assert bodies[0]["body"] == data
    assert header(start, b"content-length") == b"256"


async def test_streaming_is_flushed_per_chunk() -> None:
    chunks = [b"first chunk " * 10, b"", b"second chunk " * 10, b"last"]
    start, bodies = await run(GZipMiddleware(respond(chunks)))
    assert header(start, b"content-length") is None
    assert header(start, b"content-encoding") == b"gzip"
    decompressor = zlib.decompressobj(31)
    # every chunk decompresses on its own, before the stream ends
    assert decompressor.decompress(bodies[0]["body"]) == chunks[0]
    assert bodies[0]["more_body"] is True
    assert bodies[1] == {"type": "http.response.body", "body": b"", "more_body": True}
    assert decompressor.decompress(bodies[2]["body"]) == chunks[2]
    assert decompressor.decompress(bodies[3]["body"]) == b"last"
    assert bodies[3]["more_body"] is False
    assert decompressor.eof


async def test_existing_encoding_partial_and_empty_statuses_are_untouched() -> None:
    cases = [
        respond(headers=[(b"content-encoding", b"br")]),
        respond(headers=[(b"Content-Range", b"bytes 0-999/5000")]),
        respond(status=206),
        respond(b"", status=204),
        respond(b"", status=304),
    ]
    for app in cases:
        start, bodies = await run(GZipMiddleware(app, minimum_size=0))
        assert header(start, b"content-encoding") in (None, b"br")
        assert bodies[0]["body"] in (BIG, b"")


async def test_excluded_media_types() -> None:
    sse = respond([b"data: 1\n\n" * 100, b""], headers=[(b"content-type", b"text/event-stream")])
    start, bodies = await run(GZipMiddleware(sse))
    assert header(start, b"content-encoding") is None
    assert bodies[0]["body"] == b"data: 1\n\n" * 100

    middleware = GZipMiddleware(
        respond(headers=[(b"content-type", b"Image/PNG; q=1")]),
        exclude_media_types=["image/*", "application/zip"],
    )
    start, _ = await run(middleware)
    assert header(start, b"content-encoding") is None
    zipped = GZipMiddleware(
        respond(headers=[(b"content-type", b"application/zip")]),
        exclude_media_types=["application/zip"],
    )
    start, _ = await run(zipped)
    assert header(start, b"content-encoding") is None
    json_app = GZipMiddleware(
        respond(headers=[(b"content-type", b"application/json")]),
        exclude_media_types=["image/*"],
    )
    start, _ = await run(json_app)
    assert header(start, b"content-encoding") == b"gzip"


async def test_vary_is_merged_and_strong_etag_weakened() -> None:
    app = respond(
        headers=[(b"vary", b"Origin"), (b"etag", b'"abc"'), (b"content-type", b"text/html")]
    )
    start, _ = await run(GZipMiddleware(app))
    assert header(start, b"vary") == b"Origin, Accept-Encoding"
    assert header(start, b"etag") == b'W/"abc"'

    weak = respond(headers=[(b"vary", b"accept-encoding"), (b"etag", b'W/"abc"')])
    start, _ = await run(GZipMiddleware(weak))
    assert header(start, b"vary") == b"accept-encoding"
    assert header(start, b"etag") == b'W/"abc"'

    star = respond(headers=[(b"vary", b"*")])
    start, _ = await run(GZipMiddleware(star))
    assert header(start, b"vary") == b"*"

    empty = respond(headers=[(b"vary", b"")])
    start, _ = await run(GZipMiddleware(empty))
    assert header(start, b"vary") == b"Accept-Encoding"


async def test_head_requests() -> None:
    async def head_app(scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(b"content-length", b"1000")] if scope["path"] == "/" else []
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b""})

    start, bodies = await run(GZipMiddleware(head_app), method="HEAD")
    assert header(start, b"content-encoding") == b"gzip"
    assert header(start, b"content-length") is None
    assert header(start, b"vary") == b"Accept-Encoding"
    assert bodies[0]["body"] == b""

    small = GZipMiddleware(respond(b""), minimum_size=500)
    start, _ = await run(small, method="HEAD")  # declared length 0: stays identity
    assert header(start, b"content-encoding") is None
    assert header(start, b"content-length") == b"0"

    # an app that sends the body on HEAD gets the true compressed length
    start, bodies = await run(GZipMiddleware(respond()), method="HEAD")
    assert header(start, b"content-length") == str(len(bodies[0]["body"])).encode()

    async def no_length(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body"})

    start, _ = await run(GZipMiddleware(no_length), method="HEAD")
    assert header(start, b"content-encoding") == b"gzip"


async def test_pathsend_zerocopy_trailers_and_early_hints_pass() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.early_hint", "links": ["</a.css>; rel=preload"]})
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.pathsend", "path": "/tmp/file"})

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    async def receive() -> Message:
        return {"type": "http.request"}

    scope = {
        "type": "http",
        "method": "GET",
        "path": "/",
        "headers": [(b"accept-encoding", b"gzip")],
    }
    await GZipMiddleware(app)(scope, receive, send)
    assert [m["type"] for m in sent] == [
        "http.response.early_hint",
        "http.response.start",
        "http.response.pathsend",
    ]
    assert sent[1]["headers"] == []

    async def trailers(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "trailers": True})
        await send({"type": "http.response.body", "body": BIG, "more_body": True})
        await send({"type": "http.response.debug", "info": {}})
        await send({"type": "http.response.body", "body": BIG})
        await send({"type": "http.response.trailers", "headers": []})

    sent.clear()
    await GZipMiddleware(trailers)(scope, receive, send)
    assert [m["type"] for m in sent] == [
        "http.response.start",
        "http.response.body",
        "http.response.debug",
        "http.response.body",
        "http.response.trailers",
    ]
    assert gzip.decompress(sent[1]["body"] + sent[3]["body"]) == BIG * 2


async def test_non_http_scopes_pass_through() -> None:
    seen: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["type"])

    async def receive() -> Message:  # pragma: no cover - never called
        raise AssertionError

    async def send(message: Message) -> None:  # pragma: no cover - never called
        raise AssertionError

    middleware = GZipMiddleware(app)
    await middleware({"type": "lifespan"}, receive, send)
    await middleware({"type": "websocket", "headers": []}, receive, send)
    assert seen == ["lifespan", "websocket"]


async def test_compresslevel_is_used_and_httpx_decodes() -> None:
    app = GZipMiddleware(respond(b"abc" * 1000), compresslevel=1)
    assert app.compresslevel == 1
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.get("/", headers={"accept-encoding": "gzip"})
    assert response.headers["content-encoding"] == "gzip"
    assert response.content == b"abc" * 1000


async def test_negotiation_cache_stays_bounded() -> None:
    app = GZipMiddleware(respond())
    for index in range(300):
        start, _ = await run(app, f"gzip;q=0.{index % 10}, x-{index}")
    assert len(app._cache) <= 256
    assert header(start, b"content-encoding") == b"gzip"
