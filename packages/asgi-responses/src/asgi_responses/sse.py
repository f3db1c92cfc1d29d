"""Server-sent events (the WHATWG ``text/event-stream`` format)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import anyio

from asgi_core.background import BackgroundTask
from asgi_core.types import Send
from asgi_responses.responses import StreamingResponse

if TYPE_CHECKING:  # anyio's streams are imported on first use, not with the package
    from anyio.streams.memory import MemoryObjectReceiveStream

__all__ = ["EventSourceResponse", "ServerSentEvent"]

EventContent = Any  # ServerSentEvent | Mapping[str, Any] | str
_PING = b": ping\n\n"


def _lines(text: str) -> list[str]:
    """Split on CRLF, CR or LF (the three line ends the event-stream format knows)."""
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _single_line(field: str, value: str) -> str:
    if "\r" in value or "\n" in value or "\0" in value:
        raise ValueError(f"server-sent event {field} may not contain CR, LF or NUL: {value!r}")
    return value


class ServerSentEvent:
    """One event. ``data`` that is not a string is sent as compact JSON.

    Multi-line ``data`` and ``comment`` become one field line per line (CR LF and CR
    count as line ends). ``event`` and ``id`` must fit on one line (``ValueError``
    otherwise); ``retry`` is the reconnection delay in milliseconds.
    """

    __slots__ = ("comment", "data", "event", "id", "retry")

    def __init__(
        self,
        data: Any = None,
        event: str | None = None,
        id: str | None = None,
        retry: int | None = None,
        comment: str | None = None,
    ) -> None:
        if event is not None:
            _single_line("event", event)
        if id is not None:
            _single_line("id", id)
        if retry is not None and (
            isinstance(retry, bool) or not isinstance(retry, int) or retry < 0
        ):
            raise ValueError(f"server-sent event retry must be a non-negative int: {retry!r}")
        self.data = data
        self.event = event
        self.id = id
        self.retry = retry
        self.comment = comment

    def encode(self) -> bytes:
        """The event's wire form, ending with the blank line that dispatches it."""
        out: list[str] = []
        if self.comment is not None:
            out.extend(f": {line}\n" for line in _lines(self.comment))
        if self.id is not None:
            out.append(f"id: {self.id}\n")
        if self.event is not None:
            out.append(f"event: {self.event}\n")
        if self.retry is not None:
            out.append(f"retry: {self.retry}\n")
        if self.data is not None:
            data = self.data
            if not isinstance(data, str):
                data = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
            out.extend(f"data: {line}\n" for line in _lines(data))
        out.append("\n")
        return "".join(out).encode("utf-8")

    def __repr__(self) -> str:
        fields = ", ".join(
            f"{name}={getattr(self, name)!r}"
            for name in ("data", "event", "id", "retry", "comment")
            if getattr(self, name) is not None
        )
        return f"ServerSentEvent({fields})"


def _encode(item: EventContent) -> bytes:
    if isinstance(item, ServerSentEvent):
        return item.encode()
    if isinstance(item, str):
        return ServerSentEvent(data=item).encode()
    if isinstance(item, Mapping):
        return ServerSentEvent(**item).encode()
    raise TypeError(
        f"EventSourceResponse yields ServerSentEvent, dict or str, not {type(item).__name__}"
    )


class EventSourceResponse(StreamingResponse):
    """Stream server-sent events from an async or sync iterable.

    Items are :class:`ServerSentEvent`, dicts of its arguments, or strings (sent as
    ``data``). Every ``ping`` seconds without an event a ``: ping`` comment keeps
    proxies from closing the connection (``None`` disables it). Adds
    ``Cache-Control: no-cache`` and ``X-Accel-Buffering: no`` unless given. When the
    client goes away the iterable is closed (``aclose()``), so its ``finally`` runs.
    """

    media_type = "text/event-stream"

    def __init__(
        self,
        content: AsyncIterable[EventContent] | Iterable[EventContent],
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        background: BackgroundTask | None = None,
        ping: float | None = 15,
    ) -> None:
        extra = {"cache-control": "no-cache", "x-accel-buffering": "no"}
        if headers is not None:
            given = {key.lower() for key in headers}
            extra = {key: value for key, value in extra.items() if key not in given}
            extra.update(headers)
        super().__init__(content, status_code=status_code, headers=extra, background=background)
        self.ping = ping

    async def stream_response(self, send: Send) -> None:
        await self._start(send)
        sender, events = anyio.create_memory_object_stream[bytes](0)
        error: Exception | None = None

        async def produce() -> None:
            nonlocal error
            try:
                async with sender:
                    async for item in self.body_iterator:
                        await sender.send(_encode(item))
            except Exception as exc:  # noqa: BLE001 - re-raised once the group is done
                error = exc

        failure: Exception | None = None
        async with anyio.create_task_group() as task_group, events:
            task_group.start_soon(produce)
            try:
                await self._relay(events, send)
            except Exception as exc:  # noqa: BLE001 - re-raised once the group is done
                failure = exc
            task_group.cancel_scope.cancel()
        if failure is not None:
            raise failure
        if error is not None:
            raise error
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _relay(self, events: MemoryObjectReceiveStream[bytes], send: Send) -> None:
        """Send each encoded event as it comes, and a ping after ``ping`` idle seconds."""
        ping = self.ping
        while True:
            message = _PING
            with anyio.move_on_after(ping):
                try:
                    message = await events.receive()
                except anyio.EndOfStream:
                    return
            await send({"type": "http.response.body", "body": message, "more_body": True})
