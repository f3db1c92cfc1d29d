"""WebSocket sessions: the app runs as the server side of one websocket connection."""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractContextManager, AsyncExitStack, ExitStack
from functools import partial
from types import TracebackType
from typing import Any, Literal

import anyio
import httpx
from anyio.from_thread import BlockingPortal

from asgi_core.types import Message, Scope

from ._exceptions import WebSocketDenialResponse, WebSocketDisconnect
from ._task import AppTask, leave
from ._transport import Server, timeout_error

__all__ = ["AsyncWebSocketTestSession", "WebSocketTestSession"]

_Mode = Literal["text", "binary"]

# What the app may send in each connection state, and the state it moves to.
_TRANSITIONS: dict[str, dict[str, str]] = {
    "connecting": {
        "websocket.accept": "connected",
        "websocket.close": "closed",
        "websocket.http.response.start": "responding",
    },
    "responding": {"websocket.http.response.body": "responding"},
    "connected": {"websocket.send": "connected", "websocket.close": "closed"},
    "closed": {},
}


def _websocket_scope(server: Server, request: httpx.Request, subprotocols: list[str]) -> Scope:
    scope = server.scope(request, "websocket")
    scope["subprotocols"] = subprotocols
    scope["extensions"] = {"websocket.http.response": {}}
    del scope["method"]
    return scope


class _Channel(AppTask):
    """The server side of one websocket connection. Must be created in the event loop."""

    def __init__(self, server: Server, request: httpx.Request, subprotocols: list[str]) -> None:
        super().__init__(server.app, server.timeout)
        self._raise = server.raise_server_exceptions
        self._request = request
        self._scope = _websocket_scope(server, request, subprotocols)
        self._what = f"websocket {request.url.copy_with(scheme=self._scope['scheme'])}"
        self._state = "connecting"
        self._client_closed = False
        self._streams_closed = False

    async def run(self) -> None:
        await self._run(self._scope, self._to_app.receive, self._send)

    async def _send(self, message: Message) -> None:
        kind = message["type"]
        state = _TRANSITIONS[self._state].get(kind)
        if state is None:
            raise RuntimeError(
                f"Unexpected ASGI message {kind!r} on a websocket in state {self._state!r}."
            )
        self._state = state
        if kind == "websocket.http.response.body" and not message.get("more_body", False):
            self._state = "closed"
        await self._from_app_in.send(message)

    async def _next(self) -> Message | None:
        try:
            with anyio.fail_after(self._timeout):
                return await self._from_app.receive()
        except anyio.EndOfStream:
            return None
        except TimeoutError:
            await self.aclose()
            raise timeout_error(self._what, self._timeout) from None

    def _failure(self) -> Exception | None:
        return self._error if self._raise else None

    async def connect(self) -> Message:
        """Send ``websocket.connect``; return the accept message or raise the refusal."""
        await self._to_app_in.send({"type": "websocket.connect"})
        message = await self._next()
        if message is None:
            # The app has returned: the connection is over before it began.
            self._close_streams()
            error = self._failure() or WebSocketDenialResponse(
                500, content=b"Internal Server Error", request=self._request
            )
            raise error
        kind = message["type"]
        if kind == "websocket.close":
            code = message.get("code", 1000)
            await self._wind_down(code)
            raise WebSocketDisconnect(code, message.get("reason"))
        if kind == "websocket.http.response.start":
            await self._raise_denial(message)
        return message

    async def _raise_denial(self, start: Message) -> None:
        body: list[bytes] = []
        while (message := await self._next()) is not None:
            body.append(bytes(message.get("body", b"")))
            if not message.get("more_body", False):
                break
        await self._wind_down(1000)
        raise WebSocketDenialResponse(
            int(start["status"]),
            headers=[(bytes(name), bytes(value)) for name, value in start.get("headers", ())],
            content=b"".join(body),
            request=self._request,
        )

    async def send(self, message: Message) -> None:
        if message["type"] == "websocket.disconnect":
            self._client_closed = True
        if not self._streams_closed:  # once the app is gone, messages go nowhere
            await self._to_app_in.send(message)

    async def receive(self) -> Message:
        message = await self._next()
        if message is not None:
            return message
        error = self._failure()
        if error is not None:
            raise error
        return {"type": "websocket.close", "code": 1011 if self._error else 1000, "reason": ""}

    async def finish(self, failed: bool) -> None:
        """The test left the session: disconnect, then wait for the app to return."""
        if failed:
            await self.aclose()
        elif self._client_closed:
            await self._wind_down(None)
        else:
            await self._wind_down(1000)

    async def _wind_down(self, code: int | None) -> None:
        """Tell the app the connection is gone (unless it knows), wait, raise its error."""
        if code is not None:
            await self.send({"type": "websocket.disconnect", "code": code, "reason": ""})
        try:
            with anyio.fail_after(self._timeout):
                await self._finished.wait()
        except TimeoutError:
            await self.aclose()
            raise timeout_error(f"the disconnect of {self._what}", self._timeout) from None
        finally:
            self._close_streams()
        error = self._failure()
        if error is not None:
            raise error

    def _close_streams(self) -> None:
        self._streams_closed = True
        super()._close_streams()


# -- message helpers shared by the two sessions -------------------------------------------


def _checked(message: Message) -> Message:
    if message["type"] == "websocket.close":
        raise WebSocketDisconnect(message.get("code", 1000), message.get("reason"))
    return message


def _json_message(data: Any, mode: _Mode) -> Message:
    if mode not in ("text", "binary"):
        raise ValueError('The "mode" argument should be "text" or "binary".')
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    if mode == "text":
        return {"type": "websocket.receive", "text": text}
    return {"type": "websocket.receive", "bytes": text.encode("utf-8")}


def _json_of(message: Message, mode: _Mode) -> Any:
    if mode not in ("text", "binary"):
        raise ValueError('The "mode" argument should be "text" or "binary".')
    if mode == "text":
        return json.loads(message["text"])
    return json.loads(message["bytes"].decode("utf-8"))


class _SessionBase:
    accepted_subprotocol: str | None
    extra_headers: list[tuple[bytes, bytes]]

    def _accepted(self, message: Message) -> None:
        self.accepted_subprotocol = message.get("subprotocol")
        self.extra_headers = [(bytes(k), bytes(v)) for k, v in message.get("headers", ())]


class WebSocketTestSession(_SessionBase):
    """A websocket connection to the app, used as a context manager in sync tests."""

    def __init__(
        self,
        server: Server,
        request: httpx.Request,
        subprotocols: list[str],
        portal: Callable[[], AbstractContextManager[BlockingPortal]],
    ) -> None:
        self._server = server
        self._request = request
        self._subprotocols = subprotocols
        self._portal_factory = portal
        self.accepted_subprotocol = None
        self.extra_headers = []

    def __enter__(self) -> WebSocketTestSession:
        with ExitStack() as stack:
            portal = stack.enter_context(self._portal_factory())
            channel = portal.call(_Channel, self._server, self._request, self._subprotocols)
            portal.start_task_soon(channel.run)
            self._accepted(portal.call(channel.connect))
            self._portal, self._channel = portal, channel
            self._stack = stack.pop_all()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        with self._stack:
            self._portal.call(self._channel.finish, exc_type is not None)

    def send(self, message: Message) -> None:
        """Send a raw ASGI message (``websocket.receive`` or ``websocket.disconnect``)."""
        self._portal.call(self._channel.send, message)

    def send_text(self, data: str) -> None:
        self.send({"type": "websocket.receive", "text": data})

    def send_bytes(self, data: bytes) -> None:
        self.send({"type": "websocket.receive", "bytes": data})

    def send_json(self, data: Any, mode: _Mode = "text") -> None:
        self.send(_json_message(data, mode))

    def close(self, code: int = 1000, reason: str | None = None) -> None:
        """Close the connection from the client side (the app receives a disconnect)."""
        self.send({"type": "websocket.disconnect", "code": code, "reason": reason})

    def receive(self) -> Message:
        """The next message the app sent (raw ASGI message, ``websocket.close`` included)."""
        return self._portal.call(self._channel.receive)

    def receive_text(self) -> str:
        text: str = _checked(self.receive())["text"]
        return text

    def receive_bytes(self) -> bytes:
        data: bytes = _checked(self.receive())["bytes"]
        return data

    def receive_json(self, mode: _Mode = "text") -> Any:
        return _json_of(_checked(self.receive()), mode)


class AsyncWebSocketTestSession(_SessionBase):
    """A websocket connection to the app, used with ``async with`` in async tests."""

    def __init__(self, server: Server, request: httpx.Request, subprotocols: list[str]) -> None:
        self._server = server
        self._request = request
        self._subprotocols = subprotocols
        self.accepted_subprotocol = None
        self.extra_headers = []

    async def __aenter__(self) -> AsyncWebSocketTestSession:
        stack = AsyncExitStack()
        task_group = await stack.enter_async_context(anyio.create_task_group())
        channel = _Channel(self._server, self._request, self._subprotocols)
        task_group.start_soon(channel.run)
        try:
            self._accepted(await channel.connect())
        except BaseException:
            await leave(stack, task_group)
            raise
        self._channel = channel
        self._close = partial(leave, stack, task_group)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            await self._channel.finish(exc_type is not None)
        finally:
            await self._close()

    async def send(self, message: Message) -> None:
        """Send a raw ASGI message (``websocket.receive`` or ``websocket.disconnect``)."""
        await self._channel.send(message)

    async def send_text(self, data: str) -> None:
        await self.send({"type": "websocket.receive", "text": data})

    async def send_bytes(self, data: bytes) -> None:
        await self.send({"type": "websocket.receive", "bytes": data})

    async def send_json(self, data: Any, mode: _Mode = "text") -> None:
        await self.send(_json_message(data, mode))

    async def close(self, code: int = 1000, reason: str | None = None) -> None:
        """Close the connection from the client side (the app receives a disconnect)."""
        await self.send({"type": "websocket.disconnect", "code": code, "reason": reason})

    async def receive(self) -> Message:
        """The next message the app sent (raw ASGI message, ``websocket.close`` included)."""
        return await self._channel.receive()

    async def receive_text(self) -> str:
        text: str = _checked(await self.receive())["text"]
        return text

    async def receive_bytes(self) -> bytes:
        data: bytes = _checked(await self.receive())["bytes"]
        return data

    async def receive_json(self, mode: _Mode = "text") -> Any:
        return _json_of(_checked(await self.receive()), mode)
