"""The shared test driver: build ASGI scopes and run apps with hand-written receive/send.

Use it for what a client cannot show (the exact messages an app sends, a scope without a
key, a receive that misbehaves); for behaviour a client can see, prefer the test client.

    from asgi_driver import make_scope, run, run_websocket, run_lifespan

    result = await run(app, "POST", "/items", headers=[("content-type", "text/plain")], body=b"x")
    assert result.status == 201 and result.header("location") == "/items/1"
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import anyio

Message = dict[str, Any]
Scope = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
App = Callable[[Scope, Any, Any], Awaitable[None]]
HeaderItems = Sequence[tuple[str, str]] | Sequence[tuple[bytes, bytes]] | dict[str, str]


def encode_headers(headers: HeaderItems) -> list[tuple[bytes, bytes]]:
    """Raw ASGI headers (lower-cased names) from str or bytes pairs, or a dict."""
    items: Iterable[tuple[Any, Any]] = headers.items() if isinstance(headers, dict) else headers
    raw = []
    for name, value in items:
        key = name if isinstance(name, bytes) else name.encode("latin-1")
        val = value if isinstance(value, bytes) else value.encode("latin-1")
        raw.append((key.lower(), val))
    return raw


def make_scope(
    method: str = "GET",
    path: str = "/",
    headers: HeaderItems = (),
    *,
    type: str = "http",
    host: str | None = None,
    query_string: bytes = b"",
    root_path: str = "",
    scheme: str | None = None,
    **extra: Any,
) -> Scope:
    """A complete HTTP (or `type="websocket"`) scope; `extra` keys override or add."""
    raw = encode_headers(headers)
    if host is not None:
        raw.insert(0, (b"host", host.encode("latin-1")))
    scope: Scope = {
        "type": type,
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "scheme": scheme or ("ws" if type == "websocket" else "http"),
        "path": path,
        "raw_path": path.encode("utf-8", "surrogatepass"),
        "root_path": root_path,
        "query_string": query_string,
        "headers": raw,
        "server": ("testserver", 80),
        "client": ("127.0.0.1", 50000),
    }
    if type == "http":
        scope["method"] = method
    elif type == "websocket":
        scope["subprotocols"] = []
    scope.update(extra)
    return scope


def websocket_scope(path: str = "/", headers: HeaderItems = (), **extra: Any) -> Scope:
    return make_scope("GET", path, headers, type="websocket", **extra)


@dataclass
class Result:
    """What an app sent: the start message's status and headers, the body, and every message."""

    messages: list[Message] = field(default_factory=list)
    scope: Scope = field(default_factory=dict)

    @property
    def start(self) -> Message:
        return next(m for m in self.messages if m["type"] == "http.response.start")

    @property
    def status(self) -> int:
        return int(self.start["status"])

    @property
    def raw_headers(self) -> list[tuple[bytes, bytes]]:
        return [(bytes(k), bytes(v)) for k, v in self.start.get("headers", [])]

    def header(self, name: str) -> str | None:
        """The first value of a response header, or None."""
        values = self.header_values(name)
        return values[0] if values else None

    def header_values(self, name: str) -> list[str]:
        key = name.lower().encode()
        return [v.decode("latin-1") for k, v in self.raw_headers if k.lower() == key]

    @property
    def headers(self) -> dict[str, str]:
        """Response headers as a dict of lower-cased names (the last value wins)."""
        return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in self.raw_headers}

    @property
    def body(self) -> bytes:
        return b"".join(
            bytes(m.get("body", b"")) for m in self.messages if m["type"] == "http.response.body"
        )

    @property
    def text(self) -> str:
        return self.body.decode()

    @property
    def complete(self) -> bool:
        last = self.messages[-1]
        return last["type"] == "http.response.pathsend" or (
            last["type"] == "http.response.body" and not last.get("more_body", False)
        )


async def idle_receive() -> Message:
    """The request has no body, and the client stays connected."""
    await anyio.sleep_forever()
    raise AssertionError("unreachable")  # pragma: no cover


def body_receive(*chunks: bytes, then_disconnect: bool = True) -> Receive:
    """Deliver `chunks` as the request body, then `http.disconnect` (or wait forever)."""
    pending = [
        {"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1}
        for i, chunk in enumerate(chunks or (b"",))
    ]

    async def receive() -> Message:
        if pending:
            return pending.pop(0)
        if then_disconnect:
            return {"type": "http.disconnect"}
        return await idle_receive()

    return receive


def queue_receive(messages: Iterable[Message]) -> Receive:
    """Deliver the given messages in order; receiving past the end fails the test."""
    pending = list(messages)

    async def receive() -> Message:
        assert pending, "the app received more messages than the test provided"
        return pending.pop(0)

    return receive


async def call(app: App, scope: Scope, receive: Receive) -> list[Message]:
    """Run `app` on `scope` and return every message it sent."""
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent


async def run(
    app: App,
    /,
    method: str = "GET",
    path: str = "/",
    headers: HeaderItems = (),
    *,
    body: bytes | None = None,
    receive: Receive | None = None,
    **extra: Any,
) -> Result:
    """One HTTP request: `body` is sent then the client disconnects; without `body` or
    `receive`, the client sends nothing and stays connected."""
    if receive is None:
        receive = idle_receive if body is None else body_receive(body)
    scope = make_scope(method, path, headers, **extra)
    return Result(await call(app, scope, receive), scope)


async def run_websocket(
    app: App, path: str = "/", incoming: Iterable[Message] = (), /, **extra: Any
) -> list[Message]:
    """A WebSocket session: connect, the `incoming` messages, then a 1000 disconnect."""
    closing = {"type": "websocket.disconnect", "code": 1000}
    queue = [{"type": "websocket.connect"}, *incoming, closing]
    return await call(app, websocket_scope(path, **extra), queue_receive(queue))


async def run_lifespan(
    app: App, *, state: dict[str, Any] | None = None
) -> tuple[list[Message], BaseException | None]:
    """Startup then shutdown; returns what the app sent and the exception it raised, if any."""
    scope: Scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}}
    if state is not None:
        scope["state"] = state
    receive = queue_receive([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    try:
        await app(scope, receive, send)
    except Exception as exc:
        return sent, exc
    return sent, None


Send = Callable[[Message], Awaitable[None]]


def recorder(error: BaseException | None = None) -> tuple[Result, Send]:
    """A `Result` and a `send` that records into it, for an app expected to raise (the
    messages sent before the error stay inspectable). With `error`, `send` raises it
    instead, as a server's send does once the client is gone."""
    result = Result()

    async def send(message: Message) -> None:
        if error is not None:
            raise error
        result.messages.append(message)

    return result, send


def disconnect_when(event: anyio.Event) -> Receive:
    """The request body (empty), then `http.disconnect` once `event` is set: a client that
    goes away in the middle of the response."""
    pending = [{"type": "http.request", "body": b"", "more_body": False}]

    async def receive() -> Message:
        if pending:
            return pending.pop()
        await event.wait()
        return {"type": "http.disconnect"}

    return receive


class Boom(Exception):
    """The error a test app raises on purpose: `pytest.raises(Boom)` catches nothing else."""


# --- request bodies -------------------------------------------------------------------

BOUNDARY = "b0undary"
MULTIPART = {"content-type": f"multipart/form-data; boundary={BOUNDARY}"}


def form_part(name: str, value: bytes, filename: str | None = None, extra: bytes = b"") -> bytes:
    """One multipart/form-data part, without its boundary line; `extra` is more header
    lines (each ending in CRLF) after Content-Disposition."""
    disposition = f'Content-Disposition: form-data; name="{name}"'
    if filename is not None:
        disposition += f'; filename="{filename}"'
    return disposition.encode() + b"\r\n" + extra + b"\r\n" + value + b"\r\n"


def multipart(
    *parts: bytes, boundary: str = BOUNDARY, preamble: bytes = b"", epilogue: bytes = b""
) -> bytes:
    """A multipart/form-data body of `parts` (see `form_part`); send it with `MULTIPART`."""
    body = preamble
    for item in parts:
        body += b"--" + boundary.encode() + b"\r\n" + item
    return body + b"--" + boundary.encode() + b"--\r\n" + epilogue


async def byte_stream(
    total: int, size: int = 64 * 1024, counter: list[int] | None = None
) -> AsyncIterator[bytes]:
    """`total` bytes of b"x" in `size` chunks, for a streamed request body; `counter`
    gets the size of every chunk the client actually sent."""
    sent = 0
    while sent < total:
        step = min(size, total - sent)
        sent += step
        if counter is not None:
            counter.append(step)
        yield b"x" * step


async def echo_form(request: Any) -> Any:
    """An endpoint answering the parsed form as JSON: `[[name, value], ...]`, where an
    uploaded file is `{"filename": ..., "size": ...}`."""
    from asgi_responses import JSONResponse  # imported here: the driver needs no package

    async with request.form() as form:
        items = [
            [
                key,
                value
                if isinstance(value, str)
                else {"filename": value.filename, "size": value.size},
            ]
            for key, value in form.multi_items()
        ]
    return JSONResponse(items)
