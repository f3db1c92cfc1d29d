"""The WebSocket connection object handed to WebSocket endpoints.

A :class:`WebSocket` wraps the ASGI ``receive``/``send`` pair with a state machine that
follows the ASGI WebSocket specification. The client side (what was received) and the
application side (what was sent) are tracked separately, so misuse such as sending
before ``accept()``, accepting twice or receiving after the client disconnected fails
at once with a ``RuntimeError`` that says what went wrong: a
:class:`WebSocketDisconnected` (a ``RuntimeError``) when the connection is not, or no
longer, usable.

A message larger than the request's ``RequestLimits.max_message_size`` (1 MiB by
default) is never handed to the application: the connection is closed with 1009
("Message Too Big") and the application receives a ``websocket.disconnect`` with that
code instead (``receive_text()`` and the like raise :class:`WebSocketDisconnect`).

Client data that does not match what the application asked for (a binary frame for
``receive_text()``, a text frame for ``receive_bytes()``, a payload that is not JSON for
``receive_json()``) raises :class:`~asgi_core.exceptions.WebSocketException` with close
code 1003 (unsupported data) or 1007 (invalid payload), so exception handling closes
the connection with a meaningful code instead of crashing with a ``KeyError``.
"""

from __future__ import annotations

import enum
import json
from collections.abc import AsyncIterator, Iterable
from typing import Any, Literal

from asgi_core.exceptions import WebSocketException
from asgi_core.limits import get_limits
from asgi_core.requests import HTTPConnection, StateT
from asgi_core.status import (
    WS_1000_NORMAL_CLOSURE,
    WS_1003_UNSUPPORTED_DATA,
    WS_1006_ABNORMAL_CLOSURE,
    WS_1007_INVALID_FRAME_PAYLOAD_DATA,
    WS_1008_POLICY_VIOLATION,
    WS_1009_MESSAGE_TOO_BIG,
)
from asgi_core.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "WebSocket",
    "WebSocketClose",
    "WebSocketDisconnect",
    "WebSocketDisconnected",
    "WebSocketState",
]

_DENIAL_EXTENSION = "websocket.http.response"
_TOO_BIG = "Message Too Big"


class WebSocketState(enum.Enum):
    """Where one side of a WebSocket connection stands."""

    CONNECTING = 0
    CONNECTED = 1
    DISCONNECTED = 2
    RESPONSE = 3


_CONNECTING = WebSocketState.CONNECTING
_CONNECTED = WebSocketState.CONNECTED
_DISCONNECTED = WebSocketState.DISCONNECTED
_RESPONSE = WebSocketState.RESPONSE


class WebSocketDisconnect(Exception):
    """The client closed the connection (or went away: code 1006)."""

    def __init__(self, code: int = WS_1000_NORMAL_CLOSURE, reason: str | None = None) -> None:
        self.code = code
        self.reason = reason or ""
        super().__init__(code, self.reason)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, reason={self.reason!r})"


class WebSocketDisconnected(RuntimeError):
    """The WebSocket is not usable: receiving data before ``accept()``, receiving after
    the client's disconnect message, or sending after ``close()`` (closing twice)."""


class WebSocketClose:
    """An ASGI app that closes the WebSocket with ``code`` and ``reason``.

    Sent before ``accept``, the server rejects the handshake with HTTP 403.
    """

    def __init__(self, code: int = WS_1000_NORMAL_CLOSURE, reason: str | None = None) -> None:
        self.code = code
        self.reason = reason or ""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "websocket.close", "code": self.code, "reason": self.reason})


def _check_mode(mode: str) -> None:
    if mode != "text" and mode != "binary":
        raise ValueError(f'The "mode" argument must be "text" or "binary", not {mode!r}.')


def _too_big(message: Message, limit: int) -> bool:
    """Whether a ``websocket.receive`` message carries more than ``limit`` bytes; text is
    counted in UTF-8 bytes, encoded only when its length alone cannot tell."""
    data = message.get("bytes")
    if data is not None:
        return len(data) > limit
    text = message.get("text")
    if text is None:
        return False
    length = len(text)
    if length > limit:
        return True  # a character is at least one byte
    return length * 4 > limit and len(text.encode("utf-8", "surrogatepass")) > limit


def _raise_if_disconnect(message: Message) -> Message:
    """``message``, unless it is a disconnect: then raise :class:`WebSocketDisconnect`."""
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(
            message.get("code", WS_1000_NORMAL_CLOSURE), message.get("reason")
        )
    return message


class WebSocket(HTTPConnection[StateT]):
    """A WebSocket connection: handshake, messages in both directions, close."""

    def __init__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket":
            raise ValueError(f'WebSocket needs a "websocket" scope, not {scope["type"]!r}.')
        # HTTPConnection.__init__ would only check the scope type again.
        self.scope = scope
        self._receive = receive
        self._send = send
        self.client_state = _CONNECTING
        self.application_state = _CONNECTING
        self._max_message_size = get_limits(scope).max_message_size

    def _offers_denial_response(self) -> bool:
        return _DENIAL_EXTENSION in (self.scope.get("extensions") or ())

    async def receive(self) -> Message:
        """Receive the next ASGI message from the client, checking the protocol order."""
        state = self.client_state
        if state is _CONNECTED:
            message = await self._receive()
            message_type = message["type"]
            if message_type == "websocket.receive":
                limit = self._max_message_size
                if limit is None or not _too_big(message, limit):
                    return message
                return await self._close_too_big()
            if message_type == "websocket.disconnect":
                self.client_state = _DISCONNECTED
                return message
            raise RuntimeError(
                'Expected ASGI message "websocket.receive" or "websocket.disconnect", '
                f"but got {message_type!r}."
            )
        if state is _CONNECTING:
            message = await self._receive()
            message_type = message["type"]
            if message_type == "websocket.connect":
                self.client_state = _CONNECTED
                return message
            if message_type == "websocket.disconnect":
                self.client_state = _DISCONNECTED
                return message
            raise RuntimeError(
                'Expected ASGI message "websocket.connect" or "websocket.disconnect", '
                f"but got {message_type!r}."
            )
        raise WebSocketDisconnected(
            'Cannot call "receive" once a disconnect message has been received.'
        )

    async def _close_too_big(self) -> Message:
        """Close with 1009 and tell the application the connection is over."""
        self.client_state = _DISCONNECTED
        if self.application_state is _CONNECTED:
            await self.send(
                {"type": "websocket.close", "code": WS_1009_MESSAGE_TOO_BIG, "reason": _TOO_BIG}
            )
        return {"type": "websocket.disconnect", "code": WS_1009_MESSAGE_TOO_BIG, "reason": _TOO_BIG}

    async def send(self, message: Message) -> None:
        """Send an ASGI message to the client, checking the protocol order.

        ``http.response.*`` messages sent before the handshake completes (by a
        Response used as a denial response) are translated to their
        ``websocket.http.response.*`` form.
        """
        state = self.application_state
        message_type = message["type"]
        if state is _CONNECTED:
            if message_type == "websocket.close":
                self.application_state = _DISCONNECTED
            elif message_type == "websocket.accept":
                raise RuntimeError('The WebSocket is already accepted: call "accept" only once.')
            elif message_type != "websocket.send":
                raise RuntimeError(
                    'Expected ASGI message "websocket.send" or "websocket.close", '
                    f"but got {message_type!r}."
                )
        elif state is _CONNECTING:
            if message_type.startswith("http.response."):
                message_type = "websocket." + message_type
                message = {**message, "type": message_type}
            if message_type == "websocket.accept":
                self.application_state = _CONNECTED
            elif message_type == "websocket.close":
                self.application_state = _DISCONNECTED
            elif message_type == "websocket.http.response.start":
                if not self._offers_denial_response():
                    raise RuntimeError(
                        "The server does not support the WebSocket denial response "
                        'extension ("websocket.http.response"); use "close" to reject '
                        "the handshake instead."
                    )
                self.application_state = _RESPONSE
            elif message_type == "websocket.send":
                raise RuntimeError('The WebSocket is not connected: call "accept" first.')
            else:
                raise RuntimeError(
                    'Expected ASGI message "websocket.accept", "websocket.close" or '
                    f'"websocket.http.response.start", but got {message_type!r}.'
                )
        elif state is _RESPONSE:
            if message_type == "http.response.body":
                message_type = "websocket.http.response.body"
                message = {**message, "type": message_type}
            if message_type != "websocket.http.response.body":
                raise RuntimeError(
                    'Expected ASGI message "websocket.http.response.body", '
                    f"but got {message_type!r}."
                )
            if not message.get("more_body", False):
                self.application_state = _DISCONNECTED
        else:
            raise WebSocketDisconnected(
                'Cannot call "send" once the WebSocket is closed or its denial response is sent.'
            )
        try:
            await self._send(message)
        except OSError:
            # ASGI servers raise an OSError subclass when sending on a closed connection.
            self.application_state = _DISCONNECTED
            raise WebSocketDisconnect(code=WS_1006_ABNORMAL_CLOSURE) from None

    async def accept(
        self,
        subprotocol: str | None = None,
        headers: Iterable[tuple[bytes, bytes]] | None = None,
    ) -> None:
        """Complete the handshake, optionally choosing a subprotocol and adding headers.

        Raises :class:`WebSocketDisconnect` if the client left before the handshake.
        """
        if self.client_state is _CONNECTING:
            # The server's "websocket.connect" message must be received first.
            _raise_if_disconnect(await self.receive())
        await self.send(
            {
                "type": "websocket.accept",
                "subprotocol": subprotocol,
                "headers": list(headers) if headers is not None else [],
            }
        )

    async def _receive_data(self) -> Message:
        if self.application_state is not _CONNECTED:
            raise WebSocketDisconnected('The WebSocket is not connected: call "accept" first.')
        return _raise_if_disconnect(await self.receive())

    async def receive_text(self) -> str:
        """Receive one text message; :class:`WebSocketDisconnect` if the client left."""
        text: str | None = (await self._receive_data()).get("text")
        if text is None:
            raise WebSocketException(WS_1003_UNSUPPORTED_DATA, "Expected a text message.")
        return text

    async def receive_bytes(self) -> bytes:
        """Receive one binary message; :class:`WebSocketDisconnect` if the client left."""
        data: bytes | None = (await self._receive_data()).get("bytes")
        if data is None:
            raise WebSocketException(WS_1003_UNSUPPORTED_DATA, "Expected a binary message.")
        return data

    async def receive_json(self, mode: Literal["text", "binary"] = "text") -> Any:
        """Receive one JSON message, carried by a text (or, ``mode="binary"``, binary) frame.

        A payload that is not valid JSON raises ``WebSocketException`` (code 1007).
        """
        _check_mode(mode)
        if mode == "text":
            payload: str | bytes = await self.receive_text()
        else:
            payload = await self.receive_bytes()
        try:
            return json.loads(payload)
        except json.JSONDecodeError as exc:
            raise WebSocketException(
                WS_1007_INVALID_FRAME_PAYLOAD_DATA, f"Invalid JSON: {exc.msg}."
            ) from exc
        except (UnicodeDecodeError, RecursionError) as exc:
            raise WebSocketException(
                WS_1007_INVALID_FRAME_PAYLOAD_DATA, "Invalid JSON payload."
            ) from exc

    async def iter_text(self) -> AsyncIterator[str]:
        """Yield text messages until the client disconnects."""
        try:
            while True:
                yield await self.receive_text()
        except WebSocketDisconnect:
            pass

    async def iter_bytes(self) -> AsyncIterator[bytes]:
        """Yield binary messages until the client disconnects."""
        try:
            while True:
                yield await self.receive_bytes()
        except WebSocketDisconnect:
            pass

    async def iter_json(self) -> AsyncIterator[Any]:
        """Yield JSON messages (text frames) until the client disconnects."""
        try:
            while True:
                yield await self.receive_json()
        except WebSocketDisconnect:
            pass

    async def send_text(self, data: str) -> None:
        """Send a text message."""
        await self.send({"type": "websocket.send", "text": data})

    async def send_bytes(self, data: bytes) -> None:
        """Send a binary message."""
        await self.send({"type": "websocket.send", "bytes": data})

    async def send_json(self, data: Any, mode: Literal["text", "binary"] = "text") -> None:
        """Send ``data`` as compact JSON in a text (or, ``mode="binary"``, binary) frame."""
        _check_mode(mode)
        text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
        if mode == "text":
            await self.send({"type": "websocket.send", "text": text})
        else:
            await self.send({"type": "websocket.send", "bytes": text.encode("utf-8")})

    async def close(self, code: int = WS_1000_NORMAL_CLOSURE, reason: str | None = None) -> None:
        """Close the connection; before ``accept`` this rejects the handshake (HTTP 403)."""
        await self.send({"type": "websocket.close", "code": code, "reason": reason or ""})

    async def send_denial_response(self, response: ASGIApp) -> None:
        """Reject the handshake with an HTTP response (for example a 401 with a body).

        This needs the server's ``websocket.http.response`` extension. Without it the
        ASGI specification offers one way to refuse a handshake, a ``websocket.close``
        before ``accept``, which the server answers with HTTP 403: that is sent instead
        (close code 1008, policy violation), so the connection is still refused.
        """
        if self.application_state is not _CONNECTING:
            raise RuntimeError(
                "A denial response can only be sent before the WebSocket is accepted or closed."
            )
        if self._offers_denial_response():
            await response(self.scope, self.receive, self.send)
        else:
            await self.close(WS_1008_POLICY_VIOLATION)
