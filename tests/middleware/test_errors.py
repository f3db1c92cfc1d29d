"""ServerErrorMiddleware: 500 for unhandled errors, re-raised; quiet on disconnects."""

from __future__ import annotations

import contextlib
import html
from typing import Any

import pytest

from asgi_core.exceptions import HTTPException
from asgi_core.requests import ClientDisconnect, Request
from asgi_core.types import Message, Receive, Scope, Send
from asgi_middleware.errors import ServerErrorMiddleware
from asgi_middleware.exceptions import ExceptionMiddleware
from asgi_responses import JSONResponse, PlainTextResponse, Response

pytestmark = pytest.mark.anyio


def http_scope(accept: str | None = None) -> Scope:
    headers = [(b"host", b"testserver")]
    if accept is not None:
        headers.append((b"accept", accept.encode()))
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/boom",
        "raw_path": b"/boom",
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "server": ("testserver", 80),
        "client": ("127.0.0.1", 5000),
    }


class Recorder:
    """A server's receive/send: an empty body, then a disconnect; sent messages kept."""

    def __init__(self, send_error: Exception | None = None) -> None:
        self.sent: list[Message] = []
        self.send_error = send_error
        self._body_given = False

    async def receive(self) -> Message:
        if not self._body_given:
            self._body_given = True
            return {"type": "http.request", "body": b"", "more_body": False}
        return {"type": "http.disconnect"}

    async def send(self, message: Message) -> None:
        if self.send_error is not None:
            raise self.send_error
        self.sent.append(message)

    @property
    def status(self) -> int:
        return int(self.sent[0]["status"])

    @property
    def headers(self) -> dict[str, str]:
        return {k.decode(): v.decode() for k, v in self.sent[0]["headers"]}

    @property
    def body(self) -> str:
        return b"".join(m.get("body", b"") for m in self.sent[1:]).decode()


async def failing_app(scope: Scope, receive: Receive, send: Send) -> None:
    raise ValueError("<script>alert('x')</script> & more")


async def test_plain_500_and_the_exception_reaches_the_server() -> None:
    server = Recorder()
    with pytest.raises(ValueError, match="alert"):
        await ServerErrorMiddleware(failing_app)(http_scope(), server.receive, server.send)
    assert server.status == 500
    assert server.headers["content-type"] == "text/plain; charset=utf-8"
    assert server.body == "Internal Server Error"


async def test_debug_page_is_html_and_escapes_everything() -> None:
    server = Recorder()
    app = ServerErrorMiddleware(failing_app, debug=True)
    with pytest.raises(ValueError):
        await app(http_scope("text/html,application/xhtml+xml"), server.receive, server.send)
    assert server.status == 500
    assert server.headers["content-type"] == "text/html; charset=utf-8"
    page = server.body
    assert "<script>" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; more" in page
    assert "builtins.ValueError" in page
    # the source line that raised, escaped, and no external asset
    assert html.escape('raise ValueError("<script>') in page
    assert "failing_app" in page
    assert "src=" not in page
    assert "href=" not in page


async def test_debug_page_is_plain_text_without_accept_html() -> None:
    server = Recorder()
    app = ServerErrorMiddleware(failing_app, debug=True)
    with pytest.raises(ValueError):
        await app(http_scope("application/json"), server.receive, server.send)
    assert server.headers["content-type"] == "text/plain; charset=utf-8"
    assert "Traceback (most recent call last)" in server.body
    assert "ValueError: <script>alert('x')</script> & more" in server.body


async def test_debug_page_shows_chained_exceptions() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        try:
            try:
                try:
                    raise KeyError("k")
                except KeyError:
                    raise TypeError("t") from None  # the KeyError is suppressed
            except TypeError as exc:
                raise RuntimeError("r") from exc
        except RuntimeError:
            raise LookupError("l")  # noqa: B904 - implicit chaining on purpose

    server = Recorder()
    with pytest.raises(LookupError):
        await ServerErrorMiddleware(app, debug=True)(
            http_scope("text/html"), server.receive, server.send
        )
    page = server.body
    assert "builtins.KeyError" not in page
    first = page.index("<h2>builtins.TypeError</h2>")
    second = page.index("<h2>builtins.RuntimeError</h2>")
    third = page.index("<h2>builtins.LookupError</h2>")
    assert first < second < third
    cause = page.index("The above exception was the direct cause of the following exception:")
    context = page.index("During handling of the above exception, another exception occurred:")
    assert first < cause < second < context < third


async def test_debug_page_shows_a_cause_that_was_never_raised() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        raise ValueError("outer") from OSError("never raised")

    server = Recorder()
    with pytest.raises(ValueError):
        await ServerErrorMiddleware(app, debug=True)(
            http_scope("text/html"), server.receive, server.send
        )
    page = server.body
    assert page.index("<h2>builtins.OSError</h2>") < page.index("<h2>builtins.ValueError</h2>")


async def test_debug_page_without_source_code() -> None:
    namespace: dict[str, Any] = {}
    exec(  # code without a source file
        compile(
            "async def app(scope, receive, send):\n    raise ValueError('no source')\n",
            "<generated>",
            "exec",
        ),
        namespace,
    )
    server = Recorder()
    with pytest.raises(ValueError):
        await ServerErrorMiddleware(namespace["app"], debug=True)(
            http_scope("text/html"), server.receive, server.send
        )
    assert "&lt;generated&gt;, line 2, in app" in server.body


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_handler_builds_the_response(kind: str) -> None:
    seen: list[tuple[str, Exception]] = []

    def sync_handler(request: Request, exc: Exception) -> Response:
        seen.append((request.url.path, exc))
        return JSONResponse({"error": str(exc)}, status_code=500)

    async def async_handler(request: Request, exc: Exception) -> Response:
        return sync_handler(request, exc)

    handler = sync_handler if kind == "sync" else async_handler
    server = Recorder()
    with pytest.raises(ValueError) as raised:
        await ServerErrorMiddleware(failing_app, handler=handler)(
            http_scope(), server.receive, server.send
        )
    assert seen == [("/boom", raised.value)]
    assert server.status == 500
    assert server.headers["content-type"] == "application/json"
    assert '"error":' in server.body


async def test_debug_wins_over_the_handler() -> None:
    def handler(request: Request, exc: Exception) -> Response:
        raise AssertionError("not called in debug mode")

    server = Recorder()
    with pytest.raises(ValueError):
        await ServerErrorMiddleware(failing_app, handler=handler, debug=True)(
            http_scope(), server.receive, server.send
        )
    assert "Traceback" in server.body


async def test_response_started_only_reraises() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"part", "more_body": True})
        raise RuntimeError("midway")

    server = Recorder()
    with pytest.raises(RuntimeError, match="midway"):
        await ServerErrorMiddleware(app, debug=True)(http_scope(), server.receive, server.send)
    assert server.status == 200
    assert server.body == "part"
    assert len(server.sent) == 2


async def test_successful_response_passes_through() -> None:
    server = Recorder()
    await ServerErrorMiddleware(PlainTextResponse("fine"))(
        http_scope(), server.receive, server.send
    )
    assert server.status == 200
    assert server.body == "fine"


async def test_client_disconnect_is_quiet() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        raise ClientDisconnect()

    server = Recorder()
    await ServerErrorMiddleware(app, debug=True)(http_scope(), server.receive, server.send)
    assert server.sent == []


async def test_oserror_from_send_is_quiet() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})

    server = Recorder(send_error=ConnectionResetError("gone"))
    await ServerErrorMiddleware(app)(http_scope(), server.receive, server.send)
    assert server.sent == []


async def test_error_raised_while_handling_a_send_failure_is_quiet() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await send({"type": "http.response.start", "status": 200, "headers": []})
        except OSError as exc:
            raise RuntimeError("could not send") from exc

    server = Recorder(send_error=BrokenPipeError())
    await ServerErrorMiddleware(app)(http_scope(), server.receive, server.send)
    assert server.sent == []


async def test_oserror_not_from_send_is_an_error() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        raise FileNotFoundError("missing.txt")

    server = Recorder()
    with pytest.raises(FileNotFoundError):
        await ServerErrorMiddleware(app)(http_scope(), server.receive, server.send)
    assert server.status == 500


async def test_error_after_a_swallowed_send_failure_is_reraised() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        with contextlib.suppress(OSError):
            await send({"type": "http.response.start", "status": 200, "headers": []})
        raise ValueError("unrelated")

    server = Recorder(send_error=BrokenPipeError())
    with pytest.raises(ValueError, match="unrelated"):
        await ServerErrorMiddleware(app)(http_scope(), server.receive, server.send)


async def test_other_scopes_reach_the_app() -> None:
    seen: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["type"])

    server = Recorder()
    await ServerErrorMiddleware(app)({"type": "websocket"}, server.receive, server.send)
    assert seen == ["websocket"]


@pytest.mark.parametrize("kind", ["websocket", "lifespan"])
async def test_other_scopes_pass_through_untouched(kind: str) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        raise ValueError(kind)

    server = Recorder()
    with pytest.raises(ValueError, match=kind):
        await ServerErrorMiddleware(app, debug=True)({"type": kind}, server.receive, server.send)
    assert server.sent == []


# -- around an ExceptionMiddleware (as App stacks them) ---------------------------------


class SubclassedExceptionMiddleware(ExceptionMiddleware):
    """Not exactly ExceptionMiddleware: the two layers each wrap ``send``."""


exception_layers = pytest.mark.parametrize(
    "layer", [ExceptionMiddleware, SubclassedExceptionMiddleware], ids=["direct", "subclass"]
)


@exception_layers
async def test_handled_exception_is_answered_inside(layer: type[ExceptionMiddleware]) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        raise HTTPException(418, detail="teapot")

    server = Recorder()
    await ServerErrorMiddleware(layer(app))(http_scope(), server.receive, server.send)
    assert (server.status, server.body) == (418, "teapot")


@exception_layers
async def test_unhandled_exception_gets_the_500(layer: type[ExceptionMiddleware]) -> None:
    server = Recorder()
    with pytest.raises(ValueError):
        await ServerErrorMiddleware(layer(failing_app))(http_scope(), server.receive, server.send)
    assert (server.status, server.body) == (500, "Internal Server Error")


@exception_layers
async def test_handled_exception_after_the_start(layer: type[ExceptionMiddleware]) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        raise HTTPException(400)

    server = Recorder()
    with pytest.raises(RuntimeError, match="response already started"):
        await ServerErrorMiddleware(layer(app))(http_scope(), server.receive, server.send)
    assert server.status == 200
    assert len(server.sent) == 1


@exception_layers
async def test_send_failures_inside_are_quiet(layer: type[ExceptionMiddleware]) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})

    async def refused(scope: Scope, receive: Receive, send: Send) -> None:
        raise HTTPException(403)

    for inner in (app, refused):
        server = Recorder(send_error=ConnectionResetError("gone"))
        await ServerErrorMiddleware(layer(inner))(http_scope(), server.receive, server.send)
        assert server.sent == []
