"""ServerErrorMiddleware: 500 for unhandled errors, re-raised; quiet on disconnects."""

from __future__ import annotations

import contextlib
import functools
import html
from typing import Any

import pytest
from asgi_driver import body_receive, make_scope, recorder

from asgi_core.background import BackgroundTask
from asgi_core.exceptions import HTTPException
from asgi_core.requests import ClientDisconnect, Request
from asgi_core.types import Receive, Scope, Send
from asgi_middleware.errors import ServerErrorMiddleware
from asgi_middleware.exceptions import ExceptionMiddleware
from asgi_responses import JSONResponse, PlainTextResponse, Response

pytestmark = pytest.mark.anyio


async def failing_app(scope: Scope, receive: Receive, send: Send) -> None:
    raise ValueError("<script>alert('x')</script> & more")


async def test_plain_500_and_the_exception_reaches_the_server() -> None:
    result, send = recorder()
    with pytest.raises(ValueError, match="alert"):
        await ServerErrorMiddleware(failing_app)(make_scope(path="/boom"), body_receive(b""), send)
    assert result.status == 500
    assert result.headers["content-type"] == "text/plain; charset=utf-8"
    assert result.text == "Internal Server Error"


async def test_debug_page_is_html_and_escapes_everything() -> None:
    result, send = recorder()
    app = ServerErrorMiddleware(failing_app, debug=True)
    with pytest.raises(ValueError):
        await app(
            make_scope(path="/boom", headers=[("accept", "text/html,application/xhtml+xml")]),
            body_receive(b""),
            send,
        )
    assert result.status == 500
    assert result.headers["content-type"] == "text/html; charset=utf-8"
    page = result.text
    assert "<script>" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; more" in page
    assert "builtins.ValueError" in page
    # the source line that raised, escaped, and no external asset
    assert html.escape('raise ValueError("<script>') in page
    assert "failing_app" in page
    assert "src=" not in page
    assert "href=" not in page


async def test_debug_page_is_plain_text_without_accept_html() -> None:
    result, send = recorder()
    app = ServerErrorMiddleware(failing_app, debug=True)
    with pytest.raises(ValueError):
        await app(
            make_scope(path="/boom", headers=[("accept", "application/json")]),
            body_receive(b""),
            send,
        )
    assert result.headers["content-type"] == "text/plain; charset=utf-8"
    assert "Traceback (most recent call last)" in result.text
    assert "ValueError: <script>alert('x')</script> & more" in result.text


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

    result, send = recorder()
    with pytest.raises(LookupError):
        await ServerErrorMiddleware(app, debug=True)(
            make_scope(path="/boom", headers=[("accept", "text/html")]), body_receive(b""), send
        )
    page = result.text
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

    result, send = recorder()
    with pytest.raises(ValueError):
        await ServerErrorMiddleware(app, debug=True)(
            make_scope(path="/boom", headers=[("accept", "text/html")]), body_receive(b""), send
        )
    page = result.text
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
    result, send = recorder()
    with pytest.raises(ValueError):
        await ServerErrorMiddleware(namespace["app"], debug=True)(
            make_scope(path="/boom", headers=[("accept", "text/html")]), body_receive(b""), send
        )
    assert "&lt;generated&gt;, line 2, in app" in result.text


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_handler_builds_the_response(kind: str) -> None:
    seen: list[tuple[str, Exception]] = []

    def sync_handler(request: Request, exc: Exception) -> Response:
        seen.append((request.url.path, exc))
        return JSONResponse({"error": str(exc)}, status_code=500)

    async def async_handler(request: Request, exc: Exception) -> Response:
        return sync_handler(request, exc)

    handler = sync_handler if kind == "sync" else async_handler
    result, send = recorder()
    with pytest.raises(ValueError) as raised:
        await ServerErrorMiddleware(failing_app, handler=handler)(
            make_scope(path="/boom"), body_receive(b""), send
        )
    assert seen == [("/boom", raised.value)]
    assert result.status == 500
    assert result.headers["content-type"] == "application/json"
    assert '"error":' in result.text


async def test_debug_wins_over_the_handler() -> None:
    def handler(request: Request, exc: Exception) -> Response:
        raise AssertionError("not called in debug mode")

    result, send = recorder()
    with pytest.raises(ValueError):
        await ServerErrorMiddleware(failing_app, handler=handler, debug=True)(
            make_scope(path="/boom"), body_receive(b""), send
        )
    assert "Traceback" in result.text


async def test_response_started_only_reraises() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"part", "more_body": True})
        raise RuntimeError("midway")

    result, send = recorder()
    with pytest.raises(RuntimeError, match="midway"):
        await ServerErrorMiddleware(app, debug=True)(
            make_scope(path="/boom"), body_receive(b""), send
        )
    assert result.status == 200
    assert result.text == "part"
    assert len(result.messages) == 2


async def test_successful_response_passes_through() -> None:
    result, send = recorder()
    await ServerErrorMiddleware(PlainTextResponse("fine"))(
        make_scope(path="/boom"), body_receive(b""), send
    )
    assert result.status == 200
    assert result.text == "fine"


async def test_client_disconnect_is_quiet() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        raise ClientDisconnect()

    result, send = recorder()
    await ServerErrorMiddleware(app, debug=True)(make_scope(path="/boom"), body_receive(b""), send)
    assert result.messages == []


async def test_oserror_from_send_is_quiet() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})

    result, send = recorder(ConnectionResetError("gone"))
    await ServerErrorMiddleware(app)(make_scope(path="/boom"), body_receive(b""), send)
    assert result.messages == []


async def test_error_raised_while_handling_a_send_failure_is_quiet() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await send({"type": "http.response.start", "status": 200, "headers": []})
        except OSError as exc:
            raise RuntimeError("could not send") from exc

    result, send = recorder(BrokenPipeError())
    await ServerErrorMiddleware(app)(make_scope(path="/boom"), body_receive(b""), send)
    assert result.messages == []


class CallableSend:
    """A send that is an object with an async ``__call__`` (the client is gone)."""

    async def __call__(self, message: Any) -> None:
        raise ConnectionResetError("gone")


async def test_oserror_from_a_callable_object_send_is_quiet() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})

    await ServerErrorMiddleware(app)(make_scope(path="/boom"), body_receive(b""), CallableSend())


async def test_oserror_from_a_send_without_python_code_is_reraised() -> None:
    # functools.partial runs no Python frame of its own: the failure cannot be told
    # from the traceback, so it is reported as an error (as Starlette reports it).
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})

    send = functools.partial(CallableSend().__call__)
    with pytest.raises(ConnectionResetError):
        await ServerErrorMiddleware(app)(make_scope(path="/boom"), body_receive(b""), send)


async def test_oserror_not_from_send_is_an_error() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        raise FileNotFoundError("missing.txt")

    result, send = recorder()
    with pytest.raises(FileNotFoundError):
        await ServerErrorMiddleware(app)(make_scope(path="/boom"), body_receive(b""), send)
    assert result.status == 500


async def test_error_after_a_swallowed_send_failure_is_reraised() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        with contextlib.suppress(OSError):
            await send({"type": "http.response.start", "status": 200, "headers": []})
        raise ValueError("unrelated")

    _, send = recorder(BrokenPipeError())
    with pytest.raises(ValueError, match="unrelated"):
        await ServerErrorMiddleware(app)(make_scope(path="/boom"), body_receive(b""), send)


async def test_other_scopes_reach_the_app() -> None:
    seen: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["type"])

    _, send = recorder()
    await ServerErrorMiddleware(app)({"type": "websocket"}, body_receive(b""), send)
    assert seen == ["websocket"]


@pytest.mark.parametrize("kind", ["websocket", "lifespan"])
async def test_other_scopes_pass_through_untouched(kind: str) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        raise ValueError(kind)

    result, send = recorder()
    with pytest.raises(ValueError, match=kind):
        await ServerErrorMiddleware(app, debug=True)({"type": kind}, body_receive(b""), send)
    assert result.messages == []


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

    result, send = recorder()
    await ServerErrorMiddleware(layer(app))(make_scope(path="/boom"), body_receive(b""), send)
    assert (result.status, result.text) == (418, "teapot")


@exception_layers
async def test_unhandled_exception_gets_the_500(layer: type[ExceptionMiddleware]) -> None:
    result, send = recorder()
    with pytest.raises(ValueError):
        await ServerErrorMiddleware(layer(failing_app))(
            make_scope(path="/boom"), body_receive(b""), send
        )
    assert (result.status, result.text) == (500, "Internal Server Error")


@exception_layers
async def test_handled_exception_after_the_start(layer: type[ExceptionMiddleware]) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        raise HTTPException(400)

    result, send = recorder()
    with pytest.raises(RuntimeError, match="response already started"):
        await ServerErrorMiddleware(layer(app))(make_scope(path="/boom"), body_receive(b""), send)
    assert result.status == 200
    assert len(result.messages) == 1


@exception_layers
async def test_send_failures_inside_are_quiet(layer: type[ExceptionMiddleware]) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})

    async def refused(scope: Scope, receive: Receive, send: Send) -> None:
        raise HTTPException(403)

    for inner in (app, refused):
        result, send = recorder(ConnectionResetError("gone"))
        await ServerErrorMiddleware(layer(inner))(make_scope(path="/boom"), body_receive(b""), send)
        assert result.messages == []


@pytest.mark.parametrize("sync", [False, True])
async def test_a_background_task_error_still_reaches_the_handler(sync: bool) -> None:
    reported: list[str] = []

    def explode() -> None:
        raise ValueError("in the background")

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await PlainTextResponse("sent", background=BackgroundTask(explode))(scope, receive, send)

    async def async_handler(request: Request, exc: Exception) -> Response:
        reported.append(f"{request.url.path}: {exc}")
        return PlainTextResponse("never sent", status_code=500)

    def sync_handler(request: Request, exc: Exception) -> Response:
        reported.append(f"{request.url.path}: {exc}")
        return PlainTextResponse("never sent", status_code=500)

    handler = sync_handler if sync else async_handler
    result, send = recorder()
    with pytest.raises(ValueError, match="in the background"):
        await ServerErrorMiddleware(app, handler=handler)(
            make_scope(path="/bg"), body_receive(b""), send
        )
    assert reported == ["/bg: in the background"]
    assert (result.status, result.text) == (200, "sent")  # the only response sent
