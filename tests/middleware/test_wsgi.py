"""WSGIMiddleware: a real WSGI app (plain functions) served per PEP 3333."""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pytest
from asgi_driver import (
    body_receive,
    call,
    make_scope,
    queue_receive,
    recorder,
    run,
    websocket_scope,
)

from asgi_core.exceptions import HTTPException
from asgi_core.limits import LIMITS_KEY, RequestLimits
from asgi_core.requests import ClientDisconnect
from asgi_core.types import Message
from asgi_middleware.wsgi import WSGIMiddleware, build_environ

pytestmark = pytest.mark.anyio

Environ = dict[str, Any]
StartResponse = Callable[..., Callable[[bytes], object]]


def hello(environ: Environ, start_response: StartResponse) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain"), ("X-Thing", "1")])
    return [b"Hello, ", b"", b"world"]


def echo_environ(environ: Environ, start_response: StartResponse) -> list[bytes]:
    plain = {k: v for k, v in environ.items() if isinstance(v, str | int | tuple | bool)}
    plain["wsgi.input"] = environ["wsgi.input"].read()
    plain["wsgi.errors"] = environ["wsgi.errors"] is sys.stderr
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps(plain, default=lambda b: b.decode("latin-1")).encode()]


async def test_a_simple_wsgi_app() -> None:
    result = await run(WSGIMiddleware(hello), body=b"")
    assert result.status == 200
    assert result.raw_headers == [(b"content-type", b"text/plain"), (b"x-thing", b"1")]
    assert result.body == b"Hello, world"
    assert result.messages[-1] == {"type": "http.response.body", "body": b"", "more_body": False}


async def test_environ_follows_pep_3333() -> None:
    result = await run(
        WSGIMiddleware(echo_environ),
        "POST",
        "/app/café/x",
        [
            (b"host", b"testserver"),
            (b"content-type", b"text/plain"),
            (b"content-length", b"4"),
            (b"accept", b"text/html"),
            (b"accept", b"application/json"),
            (b"cookie", b"a=1"),
            (b"cookie", b"b=2"),
            (b"x_user", b"smuggled"),
            (b"x-user", b"real"),
        ],
        receive=body_receive(b"da", b"ta"),
        raw_path=b"/app/caf%C3%A9/x",
        root_path="/app",
        query_string=b"a=1&b=%20",
        server=("testserver", 8000),
        client=("10.0.0.7", 5123),
    )
    environ = json.loads(result.body)
    assert environ["REQUEST_METHOD"] == "POST"
    assert environ["SCRIPT_NAME"] == "/app"
    assert environ["PATH_INFO"] == "/café/x".encode().decode("latin-1")
    assert environ["QUERY_STRING"] == "a=1&b=%20"
    assert environ["SERVER_PROTOCOL"] == "HTTP/1.1"
    assert environ["SERVER_NAME"] == "testserver"
    assert environ["SERVER_PORT"] == "8000"
    assert environ["REMOTE_ADDR"] == "10.0.0.7"
    assert environ["REMOTE_PORT"] == "5123"
    assert environ["CONTENT_TYPE"] == "text/plain"
    assert environ["CONTENT_LENGTH"] == "4"
    assert environ["HTTP_HOST"] == "testserver"
    assert environ["HTTP_ACCEPT"] == "text/html,application/json"
    assert environ["HTTP_COOKIE"] == "a=1; b=2"
    assert environ["HTTP_X_USER"] == "real"
    assert "HTTP_CONTENT_TYPE" not in environ
    assert environ["wsgi.input"] == "data"
    assert environ["wsgi.errors"] is True
    assert environ["wsgi.version"] == [1, 0]
    assert environ["wsgi.url_scheme"] == "http"
    assert environ["wsgi.multithread"] is True
    assert environ["wsgi.run_once"] is False


def test_path_info_keeps_escapes_that_are_not_utf8() -> None:
    scope = make_scope("GET", "/a\ufffd", raw_path=b"/a%FF")
    environ = build_environ(scope, None)
    assert environ["PATH_INFO"] == "/a\xff"


def test_a_rewritten_path_wins_over_a_stale_raw_path() -> None:
    environ = build_environ(make_scope("GET", "/new", raw_path=b"/old"), None)
    assert environ["PATH_INFO"] == "/new"
    environ = build_environ(make_scope("GET", "/new", raw_path=None), None)
    assert environ["PATH_INFO"] == "/new"


def test_root_path_is_only_stripped_at_a_segment_boundary() -> None:
    environ = build_environ(make_scope("GET", "/application", root_path="/app"), None)
    assert (environ["SCRIPT_NAME"], environ["PATH_INFO"]) == ("/app", "/application")
    environ = build_environ(make_scope("GET", "/app", root_path="/app/"), None)
    assert (environ["SCRIPT_NAME"], environ["PATH_INFO"]) == ("/app", "")


def test_server_and_client_may_be_missing() -> None:
    environ = build_environ(make_scope(server=None, client=None, scheme="https"), None)
    assert (environ["SERVER_NAME"], environ["SERVER_PORT"]) == ("localhost", "443")
    assert "REMOTE_ADDR" not in environ
    environ = build_environ(make_scope(server=("/run/app.sock", None)), None, errors="log")
    assert (environ["SERVER_NAME"], environ["SERVER_PORT"]) == ("/run/app.sock", "80")
    assert environ["wsgi.errors"] == "log"


async def test_the_request_body_is_pulled_only_as_the_app_reads_it() -> None:
    pulled_at_first_line: list[int] = []
    body = body_receive(b"first line\nsec", b"ond line\n", b"third", b"-never-read")
    pulled = 0

    async def receive() -> Message:
        nonlocal pulled
        pulled += 1
        return await body()

    def app(environ: Environ, start_response: StartResponse) -> list[bytes]:
        stream = environ["wsgi.input"]
        first = stream.readline()
        pulled_at_first_line.append(pulled)
        second = stream.readline()
        start_response("200 OK", [])
        return [first, second]

    result = await run(WSGIMiddleware(app), receive=receive)
    assert result.body == b"first line\nsecond line\n"
    assert pulled_at_first_line == [1]
    assert pulled == 2


async def test_wsgi_input_file_methods() -> None:
    body = [b"ab", b"c\nde", b"f\n", b"g\nhij", b"klm\nno", b""]
    results: dict[str, Any] = {}

    def app(environ: Environ, start_response: StartResponse) -> list[bytes]:
        stream = environ["wsgi.input"]
        results["read2"] = stream.read(2)
        results["readline_small"] = stream.readline(1)
        results["readline"] = stream.readline(None)
        results["readline_capped"] = stream.readline(2)
        results["readlines"] = stream.readlines(2)
        results["read_exact"] = stream.read(4)
        results["rest_lines"] = list(stream)
        results["eof"] = (stream.read(), stream.read(3), stream.readline(), stream.readlines())
        start_response("204 No Content", [])
        return []

    await run(WSGIMiddleware(app), receive=body_receive(*body))
    assert results == {
        "read2": b"ab",
        "readline_small": b"c",
        "readline": b"\n",
        "readline_capped": b"de",
        "readlines": [b"f\n"],
        "read_exact": b"g\nhi",
        "rest_lines": [b"jklm\n", b"no"],
        "eof": (b"", b"", b"", []),
    }


async def test_readlines_and_read_without_size() -> None:
    results: list[Any] = []

    def app(environ: Environ, start_response: StartResponse) -> list[bytes]:
        results.append(environ["wsgi.input"].readlines())
        start_response("200 OK", [])
        return []

    await run(WSGIMiddleware(app), receive=body_receive(b"a\nb", b"\nc"))
    assert results == [[b"a\n", b"b\n", b"c"]]


async def test_the_body_limit_applies_to_wsgi_input() -> None:
    def app(environ: Environ, start_response: StartResponse) -> list[bytes]:
        environ["wsgi.input"].read()
        raise AssertionError("unreachable")

    limits = {LIMITS_KEY: RequestLimits(max_body_size=5)}
    with pytest.raises(HTTPException) as raised:
        await run(WSGIMiddleware(app), receive=body_receive(b"abc", b"def"), **limits)
    assert raised.value.status_code == 413


async def test_a_client_disconnect_while_reading_the_body() -> None:
    def app(environ: Environ, start_response: StartResponse) -> list[bytes]:
        environ["wsgi.input"].read()
        raise AssertionError("unreachable")

    gone = queue_receive(
        [
            {"type": "http.request", "body": b"abc", "more_body": True},
            {"type": "http.disconnect"},
        ]
    )
    with pytest.raises(ClientDisconnect):
        await run(WSGIMiddleware(app), receive=gone)


class Body:
    """A response iterable with close(), as PEP 3333 allows."""

    def __init__(self, chunks: Iterable[bytes], fail: bool = False) -> None:
        self.chunks = chunks
        self.fail = fail
        self.closed = False

    def __iter__(self) -> Iterator[bytes]:
        yield from self.chunks
        if self.fail:
            raise RuntimeError("broken generator")

    def close(self) -> None:
        self.closed = True


async def test_the_response_streams_chunk_by_chunk() -> None:
    first_sent = threading.Event()

    def chunks() -> Iterator[bytes]:
        yield b"one"
        # Deadlocks (and fails) if the middleware buffered the body before sending.
        assert first_sent.wait(timeout=10)
        yield b"two"

    body = Body(chunks())

    def app(environ: Environ, start_response: StartResponse) -> Body:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return body

    result, record = recorder()

    async def send(message: Message) -> None:
        await record(message)
        if message.get("body") == b"one":
            first_sent.set()

    await WSGIMiddleware(app)(make_scope(), body_receive(), send)
    assert [m["type"] for m in result.messages] == [
        "http.response.start",
        "http.response.body",
        "http.response.body",
        "http.response.body",
    ]
    assert [m.get("more_body") for m in result.messages[1:]] == [True, True, False]
    assert result.body == b"onetwo"
    assert body.closed


async def test_an_empty_body_still_sends_the_headers() -> None:
    def app(environ: Environ, start_response: StartResponse) -> list[bytes]:
        start_response("304 Not Modified", [("ETag", '"x"')])
        return [b""]

    result = await run(WSGIMiddleware(app), body=b"")
    assert result.status == 304
    assert result.raw_headers == [(b"etag", b'"x"')]
    assert result.body == b""


async def test_legacy_write_callable() -> None:
    def app(environ: Environ, start_response: StartResponse) -> list[bytes]:
        write = start_response("200 OK", [])
        write(b"written ")
        return [b"returned"]

    result = await run(WSGIMiddleware(app), body=b"")
    assert result.body == b"written returned"


async def test_exc_info_replaces_the_status_before_the_body() -> None:
    def app(environ: Environ, start_response: StartResponse) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        try:
            raise ValueError("oops")
        except ValueError:
            start_response("500 Internal Server Error", [("X-Error", "1")], sys.exc_info())
        return [b"error page"]

    result = await run(WSGIMiddleware(app), body=b"")
    assert result.status == 500
    assert result.raw_headers == [(b"x-error", b"1")]
    assert result.body == b"error page"


async def test_exc_info_after_the_headers_were_sent_reraises() -> None:
    body = Body([])

    def chunks(start_response: StartResponse) -> Iterator[bytes]:
        yield b"partial"
        try:
            raise ValueError("late failure")
        except ValueError:
            start_response("500 Internal Server Error", [], sys.exc_info())
        yield b"never"

    def app(environ: Environ, start_response: StartResponse) -> Body:
        start_response("200 OK", [])
        body.chunks = chunks(start_response)
        return body

    result, send = recorder()
    with pytest.raises(ValueError, match="late failure"):
        await WSGIMiddleware(app)(make_scope(), body_receive(), send)
    assert result.status == 200
    assert result.body == b"partial"
    assert body.closed


async def test_start_response_twice_without_exc_info_is_an_error() -> None:
    def app(environ: Environ, start_response: StartResponse) -> list[bytes]:
        start_response("200 OK", [])
        start_response("201 Created", [])
        return []

    with pytest.raises(RuntimeError, match="second time without exc_info"):
        await run(WSGIMiddleware(app), body=b"")


async def test_an_invalid_status_is_an_error() -> None:
    def app(environ: Environ, start_response: StartResponse) -> list[bytes]:
        start_response("OK", [])
        return []

    with pytest.raises(ValueError, match="Invalid WSGI status 'OK'"):
        await run(WSGIMiddleware(app), body=b"")


async def test_a_body_without_start_response_is_an_error() -> None:
    body = Body([b"data"])

    def app(environ: Environ, start_response: StartResponse) -> Body:
        return body

    with pytest.raises(RuntimeError, match="before calling start_response"):
        await run(WSGIMiddleware(app), body=b"")
    assert body.closed


async def test_an_app_error_propagates_and_the_iterable_is_closed() -> None:
    body = Body([b"a"], fail=True)

    def app(environ: Environ, start_response: StartResponse) -> Body:
        start_response("200 OK", [])
        return body

    result, send = recorder()
    with pytest.raises(RuntimeError, match="broken generator"):
        await WSGIMiddleware(app)(make_scope(), body_receive(), send)
    assert body.closed
    assert result.body == b"a"


async def test_a_client_gone_mid_response_stops_the_app() -> None:
    produced: list[int] = []

    def chunks() -> Iterator[bytes]:
        for index in range(1000):
            produced.append(index)
            yield b"x" * 10

    body = Body(chunks())

    def app(environ: Environ, start_response: StartResponse) -> Body:
        start_response("200 OK", [])
        return body

    _, record = recorder()

    async def send(message: Message) -> None:  # the client is gone once the body starts
        if message["type"] == "http.response.body":
            raise ConnectionResetError("gone")
        await record(message)

    with pytest.raises(ConnectionResetError):
        await WSGIMiddleware(app)(make_scope(), body_receive(), send)
    assert body.closed
    assert len(produced) < 1000


async def test_websockets_are_refused() -> None:
    connect = queue_receive([{"type": "websocket.connect"}])
    sent = await call(WSGIMiddleware(hello), websocket_scope(), connect)
    assert sent == [{"type": "websocket.close", "code": 1000, "reason": ""}]


async def test_lifespan_is_acknowledged() -> None:
    receive = queue_receive(
        [
            {"type": "lifespan.startup"},
            {"type": "lifespan.unknown"},
            {"type": "lifespan.shutdown"},
        ]
    )
    sent = await call(WSGIMiddleware(hello), {"type": "lifespan"}, receive)
    assert sent == [
        {"type": "lifespan.startup.complete"},
        {"type": "lifespan.shutdown.complete"},
    ]
