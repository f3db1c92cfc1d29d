"""The outermost safety net: turn an unhandled exception into a 500 response.

:class:`ServerErrorMiddleware` catches any exception an HTTP request raises. If no
response has started yet it sends one (a traceback page in debug mode, otherwise your
handler's response or a plain "Internal Server Error"), then re-raises the exception so
the server logs it. If the response had already started, it only re-raises: the server
closes the connection.

A client that went away is not an error of the application: ``ClientDisconnect`` (the
request body could not be read) and an ``OSError`` raised by the server's ``send`` (the
response could not be written) are swallowed quietly: no response, no re-raise, one line
logged at DEBUG level on the ``asgi_middleware.errors`` logger.
"""

from __future__ import annotations

import html
import inspect
import logging
import traceback
from collections.abc import Awaitable, Callable
from types import CodeType, TracebackType
from typing import Any

from asgi_core.requests import ClientDisconnect, Request
from asgi_core.types import ASGIApp, Message, Receive, Scope, Send
from asgi_middleware._chain import Wraps
from asgi_middleware._handlers import call_handler
from asgi_middleware.exceptions import EXCEPTION_HANDLERS_SCOPE_KEY, ExceptionMiddleware
from asgi_responses import HTMLResponse, PlainTextResponse, Response

__all__ = ["ServerErrorMiddleware"]

logger = logging.getLogger("asgi_middleware.errors")

ErrorHandler = Callable[[Request, Exception], "Response | Awaitable[Response]"]

_CONTEXT_LINES = 5

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222;background:#fafafa}
h1{font-size:1.4em;color:#b00020}h2{font-size:1.1em;margin-top:2em}
.message{font-family:ui-monospace,monospace;white-space:pre-wrap;background:#fff;
border:1px solid #ddd;padding:1em}
details{background:#fff;border:1px solid #ddd;margin:.5em 0;padding:.4em .8em}
summary{cursor:pointer;font-family:ui-monospace,monospace}
pre{margin:.5em 0;overflow-x:auto}
.line{display:block}.current{background:#ffe4e4;font-weight:bold}
.lineno{color:#888;display:inline-block;min-width:4em}
"""


class ServerErrorMiddleware(Wraps):
    """Send a 500 for any unhandled exception of an HTTP request, then re-raise it.

    ``handler(request, exc)`` (sync or async) builds the 500 response when ``debug`` is
    false; without one a plain-text "Internal Server Error" is sent. With ``debug``
    true, a traceback page is sent instead (HTML when the client accepts ``text/html``,
    plain text otherwise). Never enable ``debug`` in production: the page shows source
    code.
    """

    def __init__(
        self, app: ASGIApp, handler: ErrorHandler | None = None, debug: bool = False
    ) -> None:
        self.app = app
        self.handler = handler
        self.debug = debug

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._call(scope, receive, send)
            return

        response_started = False

        # A plain function handing back send's awaitable: no coroutine per message.
        def tracked_send(message: Message) -> Awaitable[None]:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            return send(message)

        app = self.app
        try:
            if type(app) is ExceptionMiddleware:
                # The ExceptionMiddleware right inside (as App stacks them), run in this
                # frame: one coroutine and one send wrapper less per request.
                scope[EXCEPTION_HANDLERS_SCOPE_KEY] = app._published
                try:
                    await app._call(scope, receive, tracked_send)
                except Exception as exc:
                    handler = app._lookup(exc)
                    if handler is None:
                        raise
                    await app._respond(handler, exc, response_started, scope, receive, tracked_send)
            else:
                await self._call(scope, receive, tracked_send)
        except Exception as exc:
            if isinstance(exc, ClientDisconnect) or _raised_by(send, exc):
                logger.debug("client disconnected: %r", exc)
                return
            started = response_started
            if self.handler is not None and not self.debug:
                # Called even when the response is out (a background task failed):
                # the handler is where applications report errors.
                handled = await call_handler(self.handler, Request(scope), exc)
                if not started:
                    await handled(scope, receive, send)
            elif not started:
                request = Request(scope)
                if self.debug:
                    response = self.debug_response(request, exc)
                else:
                    response = self.error_response(request, exc)
                await response(scope, receive, send)
            raise

    def debug_response(self, request: Request, exc: Exception) -> Response:
        """The traceback page: HTML if the client accepts it, plain text otherwise."""
        if "text/html" in request.headers.get("accept", ""):
            return HTMLResponse(render_html_traceback(exc), status_code=500)
        return PlainTextResponse(render_text_traceback(exc), status_code=500)

    def error_response(self, request: Request, exc: Exception) -> Response:
        """The response sent when ``debug`` is off and no handler is set."""
        return PlainTextResponse("Internal Server Error", status_code=500)


def _code_of(send: Send) -> CodeType | None:
    """The code object of the Python function that runs when ``send`` is called (a
    function, a bound method, an object with a Python ``__call__``), else ``None``."""
    func: Any = getattr(send, "__func__", send)
    code = getattr(func, "__code__", None)
    if code is None:
        # An object whose class (or a base) defines __call__ in Python.
        call = next(
            (cls.__dict__["__call__"] for cls in type(send).__mro__ if "__call__" in cls.__dict__),
            None,
        )
        code = getattr(call, "__code__", None)
    return code if isinstance(code, CodeType) else None


def _raised_by(send: Send, exc: BaseException) -> bool:
    """Whether ``exc`` is, or was raised from or while handling, an ``OSError`` that
    ``send`` raised (ASGI 2.4: the client went away).

    Told from the traceback, on the error path only, so that ``send`` needs no wrapper
    of its own on every request: the ``OSError`` passed through a frame of ``send``'s
    code. A ``send`` implemented in C has no such frame; its ``OSError`` is then
    reported like any other error (re-raised, as Starlette does).
    """
    code = _code_of(send)
    if code is None:
        return False
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError):
            tb = current.__traceback__
            while tb is not None:
                if tb.tb_frame.f_code is code:
                    return True
                tb = tb.tb_next
        current = current.__cause__ or current.__context__
    return False


def render_text_traceback(exc: BaseException) -> str:
    """The plain-text traceback of ``exc``, as Python prints it."""
    return "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))


def _exception_chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and the exceptions it was raised from or during, outermost last."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain:
        chain.append(current)
        if current.__cause__ is not None:
            current = current.__cause__
        elif current.__suppress_context__:
            current = None
        else:
            current = current.__context__
    chain.reverse()
    return chain


def _render_frames(tb: TracebackType | None) -> str:
    parts: list[str] = []
    frames = inspect.getinnerframes(tb, _CONTEXT_LINES) if tb is not None else []
    for index, frame in enumerate(frames):
        lines: list[str] = []
        first = frame.lineno - (frame.index or 0)
        for offset, line in enumerate(frame.code_context or []):
            lineno = first + offset
            css = "line current" if lineno == frame.lineno else "line"
            lines.append(
                f'<span class="{css}"><span class="lineno">{lineno}</span>'
                f"{html.escape(line.rstrip())}</span>"
            )
        is_last = index == len(frames) - 1
        parts.append(
            f"<details{' open' if is_last else ''}><summary>"
            f"{html.escape(frame.filename)}, line {frame.lineno}, "
            f"in {html.escape(frame.function)}</summary>"
            f"<pre>{''.join(lines)}</pre></details>"
        )
    return "".join(parts)


def _render_exception(exc: BaseException) -> str:
    title = html.escape(f"{type(exc).__module__}.{type(exc).__qualname__}")
    message = html.escape(str(exc))
    return (
        f'<h2>{title}</h2><div class="message">{message}</div>{_render_frames(exc.__traceback__)}'
    )


def render_html_traceback(exc: BaseException) -> str:
    """A self-contained HTML page (inline CSS, no script, no external asset) showing
    ``exc``, the exceptions it chains from, and the source around each frame.
    Every piece of text taken from the exception or the source is HTML-escaped.
    """
    sections: list[str] = []
    chain = _exception_chain(exc)
    for index, item in enumerate(chain):
        sections.append(_render_exception(item))
        if index < len(chain) - 1:
            following = chain[index + 1]
            link = (
                "The above exception was the direct cause of the following exception:"
                if following.__cause__ is item
                else "During handling of the above exception, another exception occurred:"
            )
            sections.append(f"<p>{link}</p>")
    heading = html.escape(f"500 Internal Server Error: {type(exc).__name__}")
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f"<title>{heading}</title><style>{_STYLE}</style></head>"
        f"<body><h1>{heading}</h1>{''.join(sections)}</body></html>"
    )
