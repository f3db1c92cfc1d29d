"""GZipMiddleware around raw ASGI apps: sizes, streaming flushes, exclusions, HEAD."""

from __future__ import annotations

import gzip
import threading
import zlib
from collections.abc import Sequence
from typing import Any

import pytest
from asgi_driver import Result, run

from asgi_core.types import ASGIApp, Message, Receive, Scope, Send
from asgi_middleware.gzip import (
    DEFAULT_EXCLUDED_CONTENT_TYPES,
    GZipMiddleware,
    GZipResponder,
    IdentityResponder,
    unattached_send,
)
from asgi_testkit import AsyncTestClient

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


def accepting(coding: str | None = "gzip") -> dict[str, str]:
    """The headers of a client sending ``Accept-Encoding: coding`` (none for None)."""
    return {} if coding is None else {"accept-encoding": coding}


def header(result: Result, name: str) -> str | None:
    """Every value of a response header, joined as one (None when absent)."""
    values = result.header_values(name)
    return ", ".join(values) if values else None


async def test_compresses_large_bodies_and_fixes_content_length() -> None:
    result = await run(GZipMiddleware(respond()), headers=accepting())
    body = result.messages[1]["body"]
    assert gzip.decompress(body) == BIG
    assert header(result, "content-encoding") == "gzip"
    assert header(result, "content-length") == str(len(body))
    assert header(result, "vary") == "Accept-Encoding"


async def test_small_bodies_are_untouched_without_vary() -> None:
    result = await run(GZipMiddleware(respond(b"tiny")), headers=accepting())
    assert header(result, "content-encoding") is None
    assert header(result, "vary") is None
    assert result.messages[1]["body"] == b"tiny"


@pytest.mark.parametrize("accept", [None, "br", "gzip;q=0", "", "identity"])
async def test_unwilling_clients_get_identity_with_vary(accept: str | None) -> None:
    # A shared cache must know that a gzip-accepting client would get another body.
    result = await run(GZipMiddleware(respond()), headers=accepting(accept))
    assert header(result, "content-encoding") is None
    assert header(result, "vary") == "Accept-Encoding"
    assert header(result, "content-length") == "1000"
    assert result.messages[1]["body"] == BIG


async def test_unwilling_clients_get_vary_on_streams_but_not_on_what_is_never_compressed() -> None:
    result = await run(GZipMiddleware(respond([b"a", b"b"])), headers=accepting(None))
    assert header(result, "vary") == "Accept-Encoding"
    assert [m["body"] for m in result.messages[1:]] == [b"a", b"b"]
    for app in (
        respond(status=206),
        respond(headers=[(b"content-type", b"image/png")]),
        respond(headers=[(b"content-encoding", b"br")]),
    ):
        result = await run(GZipMiddleware(app), headers=accepting(None))
        assert header(result, "vary") is None


async def test_random_bytes_stay_identity() -> None:
    data = bytes(range(256))
    result = await run(GZipMiddleware(respond(data), minimum_size=1), headers=accepting())
    assert header(result, "content-encoding") is None
    assert result.messages[1]["body"] == data
    assert header(result, "content-length") == "256"


async def test_streaming_is_flushed_per_chunk() -> None:
    chunks = [b"first chunk " * 10, b"", b"second chunk " * 10, b"last"]
    result = await run(GZipMiddleware(respond(chunks)), headers=accepting())
    assert header(result, "content-length") is None
    assert header(result, "content-encoding") == "gzip"
    decompressor = zlib.decompressobj(31)
    # every chunk decompresses on its own, before the stream ends
    assert decompressor.decompress(result.messages[1]["body"]) == chunks[0]
    assert result.messages[1]["more_body"] is True
    assert result.messages[2] == {"type": "http.response.body", "body": b"", "more_body": True}
    assert decompressor.decompress(result.messages[3]["body"]) == chunks[2]
    assert decompressor.decompress(result.messages[4]["body"]) == b"last"
    assert result.messages[4]["more_body"] is False
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
        result = await run(GZipMiddleware(app, minimum_size=0), headers=accepting())
        assert header(result, "content-encoding") in (None, "br")
        assert result.messages[1]["body"] in (BIG, b"")


@pytest.mark.parametrize(
    "content_type",
    [
        b"text/event-stream",
        b"Text/Event-Stream; charset=utf-8",
        b"application/grpc",
        b"application/grpc+proto",
        b"application/zip",
        b"audio/ogg",
        b"video/mp4",
        b"image/png",
        b"IMAGE/JPEG;q=1",
        b"font/woff2",
    ],
)
async def test_default_exclusions(content_type: bytes) -> None:
    app = respond([b"data: 1\n\n" * 100, b""], headers=[(b"content-type", content_type)])
    result = await run(GZipMiddleware(app), headers=accepting())
    assert header(result, "content-encoding") is None
    assert header(result, "vary") is None
    assert result.messages[1]["body"] == b"data: 1\n\n" * 100


def test_default_exclusion_list_is_public() -> None:
    assert "text/event-stream" in DEFAULT_EXCLUDED_CONTENT_TYPES
    assert "video/*" in DEFAULT_EXCLUDED_CONTENT_TYPES
    assert GZipMiddleware(respond()).exclude_content_types == tuple(
        sorted(DEFAULT_EXCLUDED_CONTENT_TYPES)
    )


async def test_exclusions_are_replaced_by_the_callers_list() -> None:
    def png(exclude: list[str]) -> GZipMiddleware:
        return GZipMiddleware(
            respond(headers=[(b"content-type", b"Image/PNG; q=1")]), exclude_content_types=exclude
        )

    result = await run(png(["IMAGE/*; charset=x", "application/zip"]), headers=accepting())
    assert header(result, "content-encoding") is None
    result = await run(png([]), headers=accepting())  # the defaults are gone: png is compressed now
    assert header(result, "content-encoding") == "gzip"
    sse = respond([b"data: 1\n\n" * 100, b""], headers=[(b"content-type", b"text/event-stream")])
    result = await run(GZipMiddleware(sse, exclude_content_types=["image/*"]), headers=accepting())
    assert header(result, "content-encoding") == "gzip"
    grpc = respond(headers=[(b"content-type", b"application/grpc+json")])
    result = await run(
        GZipMiddleware(grpc, exclude_content_types=["text/plain"]), headers=accepting()
    )
    assert header(result, "content-encoding") == "gzip"
    with pytest.raises(TypeError, match="not a str"):
        GZipMiddleware(grpc, exclude_content_types="image/png")


class _ThreadSpy:
    """A zlib compression object recording the thread of every ``compress`` call."""

    def __init__(self, inner: Any, threads: list[bool]) -> None:
        self._inner = inner
        self._threads = threads

    def compress(self, data: bytes) -> bytes:
        self._threads.append(threading.current_thread() is threading.main_thread())
        return bytes(self._inner.compress(data))

    def flush(self, mode: int = zlib.Z_FINISH) -> bytes:
        return bytes(self._inner.flush(mode))


async def test_large_chunks_are_compressed_in_a_worker_thread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    on_main: list[bool] = []
    original = zlib.compressobj
    monkeypatch.setattr(zlib, "compressobj", lambda *a: _ThreadSpy(original(*a), on_main))

    app = GZipMiddleware(respond(BIG * 3), thread_minimum_size=2000)
    assert app.thread_minimum_size == 2000
    result = await run(app, headers=accepting())
    assert gzip.decompress(result.messages[1]["body"]) == BIG * 3
    assert on_main == [False]

    on_main.clear()
    streamed = GZipMiddleware(respond([BIG * 3, BIG, BIG * 3]), thread_minimum_size=2000)
    result = await run(streamed, headers=accepting())
    assert gzip.decompress(b"".join(m["body"] for m in result.messages[1:])) == BIG * 7
    assert on_main == [False, True, False]

    on_main.clear()
    # below the default 128 KiB: inline
    await run(GZipMiddleware(respond(BIG * 3)), headers=accepting())
    assert on_main == [True]


async def test_vary_is_merged_and_strong_etag_weakened() -> None:
    app = respond(
        headers=[(b"vary", b"Origin"), (b"etag", b'"abc"'), (b"content-type", b"text/html")]
    )
    result = await run(GZipMiddleware(app), headers=accepting())
    assert header(result, "vary") == "Origin, Accept-Encoding"
    assert header(result, "etag") == 'W/"abc"'

    weak = respond(headers=[(b"vary", b"accept-encoding"), (b"etag", b'W/"abc"')])
    result = await run(GZipMiddleware(weak), headers=accepting())
    assert header(result, "vary") == "accept-encoding"
    assert header(result, "etag") == 'W/"abc"'

    star = respond(headers=[(b"vary", b"*")])
    result = await run(GZipMiddleware(star), headers=accepting())
    assert header(result, "vary") == "*"

    empty = respond(headers=[(b"vary", b"")])
    result = await run(GZipMiddleware(empty), headers=accepting())
    assert header(result, "vary") == "Accept-Encoding"


async def test_head_requests() -> None:
    async def head_app(scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(b"content-length", b"1000")] if scope["path"] == "/" else []
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b""})

    result = await run(GZipMiddleware(head_app), "HEAD", headers=accepting())
    assert header(result, "content-encoding") == "gzip"
    assert header(result, "content-length") is None
    assert header(result, "vary") == "Accept-Encoding"
    assert result.messages[1]["body"] == b""

    small = GZipMiddleware(respond(b""), minimum_size=500)
    result = await run(small, "HEAD", headers=accepting())  # declared length 0: stays identity
    assert header(result, "content-encoding") is None
    assert header(result, "content-length") == "0"

    # an app that sends the body on HEAD gets the true compressed length
    result = await run(GZipMiddleware(respond()), "HEAD", headers=accepting())
    assert header(result, "content-length") == str(len(result.messages[1]["body"]))

    async def no_length(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body"})

    result = await run(GZipMiddleware(no_length), "HEAD", headers=accepting())
    assert header(result, "content-encoding") == "gzip"


async def test_pathsend_zerocopy_trailers_and_early_hints_pass() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.early_hint", "links": ["</a.css>; rel=preload"]})
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.pathsend", "path": "/tmp/file"})

    sent = (await run(GZipMiddleware(app), headers=accepting())).messages
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

    sent = (await run(GZipMiddleware(trailers), headers=accepting())).messages
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
    response = await AsyncTestClient(app).get("/", headers=accepting())
    assert response.headers["content-encoding"] == "gzip"
    assert response.content == b"abc" * 1000


async def test_negotiation_cache_stays_bounded() -> None:
    app = GZipMiddleware(respond())
    for index in range(300):
        result = await run(app, headers=accepting(f"gzip;q=0.{index % 10}, x-{index}"))
    assert len(app._cache) <= 256
    assert header(result, "content-encoding") == "gzip"


async def test_content_type_decisions_are_remembered_and_stay_bounded() -> None:
    content_type = b"text/plain"

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(b"content-type", content_type)]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": BIG})

    middleware = GZipMiddleware(app)
    for index in range(300):
        for content_type, coding in ((b"video/x-%d" % index, None), (b"text/x-%d" % index, "gzip")):
            for _ in range(2):  # the second answer comes from the cache
                result = await run(middleware, headers=accepting())
                assert header(result, "content-encoding") == coding, content_type
    assert len(middleware._settings._excluded_cache) <= 256


async def test_head_for_unwilling_clients_gets_the_vary_of_get() -> None:
    async def head_app(scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(b"content-length", scope["path"].encode()[1:] or b"1000")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b""})

    result = await run(GZipMiddleware(head_app), "HEAD", headers=accepting(None))
    assert header(result, "content-encoding") is None
    assert header(result, "content-length") == "1000"
    assert header(result, "vary") == "Accept-Encoding"


async def test_gzip_responder_is_an_asgi_app_for_one_negotiated_response() -> None:
    responder = GZipResponder(respond([BIG, BIG]), 100, 1, thread_minimum_size=10)
    assert (responder.minimum_size, responder.compresslevel) == (100, 1)
    assert responder.thread_minimum_size == 10
    assert responder.content_encoding == "gzip"
    result = await run(responder, headers=accepting(None))  # it does not negotiate
    assert header(result, "content-encoding") == "gzip"
    assert gzip.decompress(b"".join(m["body"] for m in result.messages[1:])) == BIG * 2
    assert isinstance(responder.compressor, type(zlib.compressobj()))

    fresh = GZipResponder(respond(), 100)
    obj = fresh.compressor  # made on first use, then kept for the stream
    assert fresh.compressor is obj
    data = await fresh.apply_compression(b"abc", more_body=True)
    data += await fresh.apply_compression(b"def", more_body=False)
    assert gzip.decompress(data) == b"abcdef"

    png = GZipResponder(
        respond(headers=[(b"content-type", b"image/png")]),
        100,
        exclude_content_types=("text/plain",),
    )
    result = await run(png, headers=accepting())
    assert header(result, "content-encoding") == "gzip"


async def test_identity_responder_adds_only_vary() -> None:
    responder = IdentityResponder(respond(), 100, exclude_content_types=["image/*"])
    assert responder.minimum_size == 100
    assert responder.content_encoding is None
    result = await run(responder, headers=accepting())
    assert header(result, "content-encoding") is None
    assert header(result, "vary") == "Accept-Encoding"
    assert result.messages[1]["body"] == BIG
    with pytest.raises(AssertionError, match="compresses nothing"):
        await responder.apply_compression(b"x", more_body=False)


async def test_a_responder_not_called_yet_cannot_send() -> None:
    responder = GZipResponder(respond(), 100)
    with pytest.raises(RuntimeError, match="call it as an ASGI app first"):
        await responder.send({"type": "http.response.start", "status": 200})
    with pytest.raises(RuntimeError, match="no send yet"):
        await unattached_send({"type": "http.response.body"})


async def test_a_responder_passes_on_what_it_does_not_compress() -> None:
    async def no_content(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.early_hint", "links": ["</a.css>; rel=preload"]})
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    for responder in (GZipResponder(no_content, 100), IdentityResponder(no_content, 100)):
        sent = (await run(responder, headers=accepting())).messages
        assert [m["type"] for m in sent] == [
            "http.response.early_hint",
            "http.response.start",
            "http.response.body",
        ]
        assert sent[1]["headers"] == []

    for headers in ([(b"content-type", b"image/png")], [(b"Content-Encoding", b"br")]):
        app = respond(headers=headers)
        for responder in (GZipResponder(app, 100), IdentityResponder(app, 100)):
            result = await run(responder, headers=accepting())
            assert header(result, "content-encoding") in (None, "br")
            assert header(result, "vary") is None
            assert result.messages[1]["body"] == BIG

    tiny = respond(b"tiny")
    for responder in (GZipResponder(tiny, 100), IdentityResponder(tiny, 100)):
        result = await run(responder, headers=accepting())
        assert header(result, "content-encoding") is None
        assert header(result, "vary") is None
        assert result.messages[1]["body"] == b"tiny"


async def test_small_bodies_pass_unchanged_for_every_client_and_method() -> None:
    for method in ("GET", "HEAD"):
        for coding in ("gzip", None):
            result = await run(GZipMiddleware(respond(b"tiny")), method, headers=accepting(coding))
            assert header(result, "content-encoding") is None
            assert header(result, "vary") is None
            assert header(result, "content-length") == "4"
            assert [m["type"] for m in result.messages] == [
                "http.response.start",
                "http.response.body",
            ]
            assert result.messages[1]["body"] == b"tiny"


async def test_a_small_body_without_content_length_passes_unchanged() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"tiny"})

    result = await run(GZipMiddleware(app), headers=accepting())
    assert header(result, "content-encoding") is None
    assert header(result, "vary") is None
    assert result.messages[1]["body"] == b"tiny"


@pytest.mark.parametrize("declared", [b"8", b" 8 "])
async def test_a_declared_length_under_minimum_size_is_never_compressed(declared: bytes) -> None:
    # The start says what the body will be: it is passed on at once, whatever the
    # number of messages the body comes in (Starlette would compress these chunks).
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(b"content-type", b"text/plain"), (b"content-length", declared)]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"abcd", "more_body": True})
        await send({"type": "http.response.body", "body": b"efgh"})

    result = await run(GZipMiddleware(app, minimum_size=500), headers=accepting())
    assert header(result, "content-encoding") is None
    assert header(result, "vary") is None
    assert b"".join(m["body"] for m in result.messages[1:]) == b"abcdefgh"

    # the same declared length at or over minimum_size is compressed as a stream
    result = await run(GZipMiddleware(app, minimum_size=8), headers=accepting())
    assert header(result, "content-encoding") == "gzip"
    assert header(result, "vary") == "Accept-Encoding"
    assert gzip.decompress(b"".join(m["body"] for m in result.messages[1:])) == b"abcdefgh"


async def test_a_content_length_that_is_no_number_does_not_decide() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        headers = [
            (b"x-powered-by", b"twelve chars"),
            (b"Content-Type", b"text/plain"),
            (b"x-fourteen-chr", b"1"),
            (b"content-length", b"many"),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": BIG})

    result = await run(GZipMiddleware(app), headers=accepting())
    assert header(result, "content-encoding") == "gzip"
    assert gzip.decompress(result.messages[1]["body"]) == BIG


async def test_a_responder_leaves_a_small_body_of_unknown_length_alone() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"tiny"})

    result = await run(GZipResponder(app, 100), headers=accepting())
    assert header(result, "content-encoding") is None
    assert header(result, "vary") is None
    assert result.messages[1]["body"] == b"tiny"


@pytest.mark.parametrize(
    ("size", "minimum_size", "compressed"),
    [(99, 100, False), (100, 100, True), (1000, 100, True), (9, 10, False), (0, 1, False)],
)
async def test_the_declared_length_is_compared_as_a_number(
    size: int, minimum_size: int, compressed: bool
) -> None:
    body = b"x" * size

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(b"content-length", str(size).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body[:1], "more_body": True})
        await send({"type": "http.response.body", "body": body[1:]})

    result = await run(GZipMiddleware(app, minimum_size=minimum_size), headers=accepting())
    assert (header(result, "content-encoding") == "gzip") is compressed
    sent = b"".join(m["body"] for m in result.messages[1:])
    assert (gzip.decompress(sent) if compressed else sent) == body


@pytest.mark.parametrize("coding", ["gzip", None])
async def test_head_gets_the_headers_of_get_whatever_the_length_looks_like(
    coding: str | None,
) -> None:
    # "0100" is not read by its digits on the way in: the body decides for GET (100
    # bytes, under minimum_size: unchanged), and HEAD, which has no body, parses it.
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        declared = scope["path"][1:].encode()
        headers = [(b"content-type", b"text/plain"), (b"content-length", declared)]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        body = b"" if scope["method"] == "HEAD" else b"x" * int(declared)
        await send({"type": "http.response.body", "body": body})

    middleware = GZipMiddleware(app, minimum_size=500)
    for declared, compressed in (("0100", False), ("00000600", True)):
        seen = []
        for method in ("GET", "HEAD"):
            result = await run(middleware, method, f"/{declared}", headers=accepting(coding))
            seen.append((header(result, "content-encoding"), header(result, "vary"), result.status))
        assert seen[0] == seen[1], (declared, seen)
        if coding is None or not compressed:
            assert seen[0][0] is None
        else:
            assert seen[0][0] == "gzip"
        assert (seen[0][1] is not None) == compressed
