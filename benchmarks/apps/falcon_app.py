"""The benchmark application written with Falcon 4.4's ASGI API (benchmark-only dependency).

Idiomatic Falcon: resource classes with ``on_get``/``on_post`` responders on a
``falcon.asgi.App``, ``resp.text``/``resp.media``, typed URI fields (``{id:int}``),
``req.get_media()`` for the urlencoded form, and middleware components with
``process_request``/``process_response``. Falcon has CORS (``cors_enable``) but no
gzip and no sessions, so the CORS+GZip+sessions case is left out ("-" in the tables).
Falcon has no file response either: the file responder reads the file in a worker
thread (one hop, stat and read together) and sets ``resp.data``.
"""

from __future__ import annotations

import asyncio
from typing import Any

import falcon
import falcon.asgi

from apps.common import FILE_PATH, JSON_PAYLOAD, PLAINTEXT, Tables, route_paths, series

_TEXT = PLAINTEXT.decode()


class PlainText:
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        resp.content_type = falcon.MEDIA_TEXT
        resp.text = _TEXT


class Json:
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        resp.media = JSON_PAYLOAD


class User:
    async def on_get(
        self,
        req: falcon.asgi.Request,
        resp: falcon.asgi.Response,
        id: int,
    ) -> None:
        resp.media = {"id": id}


class Form:
    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        data = await req.get_media()
        resp.content_type = falcon.MEDIA_TEXT
        resp.text = f"{data['name']}:{data['age']}:{data['city']}"


class Upload:
    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        fields: dict[str, bytes] = {}
        filename = ""
        async for part in await req.get_media():
            fields[part.name] = await part.get_data()
            filename = part.filename or filename
        resp.content_type = falcon.MEDIA_TEXT
        name, city = fields["name"].decode(), fields["city"].decode()
        resp.text = f"{name}:{city}:{filename}:{len(fields['doc'])}"


def _read(path: str) -> bytes:
    with open(path, "rb") as fh:
        return fh.read()


class File:
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        resp.content_type = "application/octet-stream"
        resp.data = await asyncio.to_thread(_read, FILE_PATH)


class TableHit:
    async def on_get(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, item_id: int
    ) -> None:
        resp.content_type = falcon.MEDIA_TEXT
        resp.text = _TEXT


class PassThrough:
    """A Falcon middleware component that does nothing."""

    async def process_request(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        return None

    async def process_response(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, resource: Any, ok: bool
    ) -> None:
        return None


def _main() -> falcon.asgi.App:
    app = falcon.asgi.App()
    app.add_route("/plaintext", PlainText())
    app.add_route("/json", Json())
    app.add_route("/users/{id:int}", User())
    app.add_route("/form", Form())
    app.add_route("/upload", Upload())
    app.add_route("/file", File())
    return app


def _table(count: int) -> falcon.asgi.App:
    app = falcon.asgi.App()
    resource = TableHit()
    for path in route_paths(count):
        app.add_route(path, resource)
    return app


def _layers(count: int) -> falcon.asgi.App:
    app = falcon.asgi.App(middleware=[PassThrough() for _ in range(count)])
    app.add_route("/plaintext", PlainText())
    return app


app = _main()

# no "middleware" table: Falcon has no gzip and no sessions
APPS = Tables(
    {"main": app},
    series(_table, _layers),
)
