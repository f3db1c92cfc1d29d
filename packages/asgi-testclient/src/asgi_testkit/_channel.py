"""The server side of one websocket connection: the app runs as its task.

Machinery for the sessions in ``asgi_testkit.testclient``: ``connect`` returns the
app's answer to the handshake (an accept or close message, or a :class:`Denial`) and the
sessions turn refusals into the public exceptions.
"""

from __future__ import annotations

from dataclasses import dataclass

import anyio

from asgi_core.types import ASGIApp, Message, Scope

from ._task import AppTask
from ._transport import timeout_error

__all__ = ["Denial", "WebSocketChannel"]


@dataclass(frozen=True)
class Denial:
    """The app refused the handshake with an HTTP response (or returned without answer)."""

    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes


# The answer of an app that returned without accepting or refusing the connection.
_NO_ANSWER = Denial(500, [], b"Internal Server Error")

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


class WebSocketChannel(AppTask):
    """The server side of one websocket connection. Must be created in the event loop.

    ``what`` names the connection in timeout messages.
    """

    def __init__(
        self,
        app: ASGIApp,
        scope: Scope,
        raise_server_exceptions: bool,
        timeout: float | None,
        what: str,
    ) -> None:
        super().__init__(app, timeout)
        self._raise = raise_server_exceptions
        self._scope = scope
        self._what = what
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

    async def connect(self) -> Message | Denial:
        """Send ``websocket.connect``; return the app's answer once it is complete.

        The accept message, or the close message once the app has returned, or the
        :class:`Denial` it sent; raises the app's error (with ``raise_server_exceptions``).
        """
        await self._to_app_in.send({"type": "websocket.connect"})
        message = await self._next()
        if message is None:
            # The app has returned: the connection is over before it began.
            self._close_streams()
            error = self._failure()
            if error is not None:
                raise error
            return _NO_ANSWER
        kind = message["type"]
        if kind == "websocket.close":
            await self._wind_down(message.get("code", 1000))
        elif kind == "websocket.http.response.start":
            return await self._denial(message)
        return message

    async def _denial(self, start: Message) -> Denial:
        body: list[bytes] = []
        while (message := await self._next()) is not None:
            body.append(bytes(message.get("body", b"")))
            if not message.get("more_body", False):
                break
        await self._wind_down(1000)
        headers = [(bytes(name), bytes(value)) for name, value in start.get("headers", ())]
        return Denial(int(start["status"]), headers, b"".join(body))

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
