"""The limit: the same application as a hand-written ASGI callable, no framework."""

from __future__ import annotations

import json
import os
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl

from apps.common import (
    CORS_ORIGIN,
    FILE_PATH,
    JSON_PAYLOAD,
    PLAINTEXT,
    PassThrough,
    Tables,
    series,
)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Handler = Callable[[Scope, Receive, Send], Awaitable[None]]

_TEXT = b"text/plain; charset=utf-8"
_JSON = b"application/json"


def _start(
    body: bytes, media_type: bytes, extra: list[tuple[bytes, bytes]] | None = None
) -> Message:
    headers = [(b"content-length", str(len(body)).encode()), (b"content-type", media_type)]
    if extra:
        headers += extra
    return {"type": "http.response.start", "status": 200, "headers": headers}


async def _reply(send: Send, body: bytes, media_type: bytes) -> None:
    await send(_start(body, media_type))
    await send({"type": "http.response.body", "body": body})


async def _not_found(send: Send) -> None:
    body = b"Not Found"
    await send(
        {
            "type": "http.response.start",
            "status": 404,
            "headers": [(b"content-length", b"9"), (b"content-type", _TEXT)],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        else:
            await send({"type": "lifespan.shutdown.complete"})
            return


async def plaintext(scope: Scope, receive: Receive, send: Send) -> None:
    await _reply(send, PLAINTEXT, _TEXT)


async def json_endpoint(scope: Scope, receive: Receive, send: Send) -> None:
    await _reply(send, _dumps(JSON_PAYLOAD), _JSON)


async def _body(receive: Receive) -> bytes:
    chunks = []
    more = True
    while more:
        message = await receive()
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    return b"".join(chunks)


async def form(scope: Scope, receive: Receive, send: Send) -> None:
    fields = dict(parse_qsl((await _body(receive)).decode("latin-1")))
    reply = f"{fields['name']}:{fields['age']}:{fields['city']}"
    await _reply(send, reply.encode(), _TEXT)


def _disposition(head: bytes) -> dict[bytes, bytes]:
    """The parameters of a part's Content-Disposition (the benchmark's parts are simple)."""
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-disposition:"):
            params = {}
            for item in line.split(b";")[1:]:
                key, _, value = item.strip().partition(b"=")
                params[key] = value.strip(b'"')
            return params
    return {}


async def upload(scope: Scope, receive: Receive, send: Send) -> None:
    # The limit: the body buffered, split at the boundary, no streaming, no limits.
    body = await _body(receive)
    content_type = next(v for k, v in scope["headers"] if k == b"content-type")
    boundary = content_type.partition(b"boundary=")[2]
    fields: dict[bytes, bytes] = {}
    filename = b""
    for part in body.split(b"--" + boundary)[1:-1]:
        head, _, data = part[2:-2].partition(b"\r\n\r\n")
        params = _disposition(head)
        fields[params[b"name"]] = data
        filename = params.get(b"filename", filename)
    reply = b"%s:%s:%s:%d" % (fields[b"name"], fields[b"city"], filename, len(fields[b"doc"]))
    await _reply(send, reply, _TEXT)


async def file(scope: Scope, receive: Receive, send: Send) -> None:
    size = os.stat(FILE_PATH).st_size
    # The limit reads a small cached file on the loop; the frameworks use a thread.
    with open(FILE_PATH, "rb") as fh:  # noqa: ASYNC230
        data = fh.read()
    headers = [
        (b"content-length", str(size).encode()),
        (b"content-type", b"application/octet-stream"),
    ]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": data})


_STATIC: dict[tuple[str, str], Handler] = {
    ("GET", "/plaintext"): plaintext,
    ("GET", "/json"): json_endpoint,
    ("POST", "/form"): form,
    ("POST", "/upload"): upload,
    ("GET", "/file"): file,
}


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    """GET /plaintext, /json, /users/{id:int}, /file; POST /form, /upload."""
    if scope["type"] != "http":
        await _lifespan(receive, send)
        return
    path = scope["path"]
    handler = _STATIC.get((scope["method"], path))
    if handler is not None:
        await handler(scope, receive, send)
        return
    if path.startswith("/users/") and scope["method"] == "GET":
        rest = path[7:]
        if rest.isdigit():
            await _reply(send, _dumps({"id": int(rest)}), _JSON)
            return
    await _not_found(send)


def _table(count: int) -> Handler:
    names = {f"resource{i}" for i in range(count)}

    async def table(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await _lifespan(receive, send)
            return
        parts = scope["path"].split("/")
        if len(parts) == 3 and parts[1] in names and parts[2].isdigit():
            int(parts[2])  # the route's int convertor
            await _reply(send, PLAINTEXT, _TEXT)
            return
        await _not_found(send)

    return table


async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
    """/json behind hand-written CORS (simple requests), gzip (>= 500 bytes), sessions."""
    if scope["type"] != "http":
        await _lifespan(receive, send)
        return
    origin = None
    gzip_ok = False
    for name, value in scope["headers"]:
        if name == b"origin":
            origin = value
        elif name == b"accept-encoding":
            gzip_ok = b"gzip" in value
    if scope["path"] != "/json":
        await _not_found(send)
        return
    body = _dumps(JSON_PAYLOAD)
    extra: list[tuple[bytes, bytes]] = []
    if origin is not None and origin == CORS_ORIGIN.encode():
        extra += [(b"access-control-allow-origin", origin), (b"vary", b"Origin")]
    if gzip_ok and len(body) >= 500:  # never true for this payload, as in the frameworks
        raise NotImplementedError
    await send(_start(body, _JSON, extra))
    await send({"type": "http.response.body", "body": body})


async def plaintext_only(scope: Scope, receive: Receive, send: Send) -> None:
    """GET /plaintext and nothing else: the core of the layering series."""
    if scope["type"] != "http":
        await _lifespan(receive, send)
        return
    if scope["path"] == "/plaintext":
        await _reply(send, PLAINTEXT, _TEXT)
        return
    await _not_found(send)


def _layers(count: int) -> Handler:
    handler: Handler = plaintext_only
    for _ in range(count):
        handler = PassThrough(handler)
    return handler


APPS = Tables(
    {"main": app, "middleware": middleware},
    series(_table, _layers),
)
