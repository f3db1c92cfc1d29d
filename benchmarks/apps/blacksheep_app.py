"""The benchmark application written with BlackSheep 2.6 (benchmark-only dependency).

Idiomatic BlackSheep: handlers registered on a ``Router`` (one per application, never
the module-level default router, so that the tables do not share routes), response
helpers (``text``, ``json``, ``file``), route parameters bound by name and annotation,
``use_cors``/``use_sessions`` and the built-in ``GzipMiddleware``, and middleware as
``async def (request, handler)`` functions.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from blacksheep import Application, Request, Response, Router, file, json, text
from blacksheep.server.compression import GzipMiddleware

from apps.common import (
    CORS_ORIGIN,
    FILE_PATH,
    JSON_PAYLOAD,
    PLAINTEXT,
    SESSION_SECRET,
    Tables,
    route_paths,
    series,
)

_TEXT = PLAINTEXT.decode()
Handler = Callable[[Request], Awaitable[Response]]


async def plaintext() -> Response:
    return text(_TEXT)


async def json_endpoint() -> Response:
    return json(JSON_PAYLOAD)


async def user(id: int) -> Response:
    return json({"id": id})


async def form(request: Request) -> Response:
    data = await request.form()
    return text(f"{data['name']}:{data['age']}:{data['city']}")


async def upload(request: Request) -> Response:
    fields: dict[bytes, bytes] = {}
    filename = b""
    for part in await request.multipart():
        fields[part.name] = part.data
        filename = part.file_name or filename
    name, city = fields[b"name"].decode(), fields[b"city"].decode()
    return text(f"{name}:{city}:{filename.decode()}:{len(fields[b'doc'])}")


async def file_endpoint() -> Response:
    return file(FILE_PATH, "application/octet-stream")


async def table_hit(item_id: int) -> Response:
    return text(_TEXT)


def _application() -> tuple[Application, Router]:
    router = Router()
    return Application(router=router), router


def _main() -> Application:
    app, router = _application()
    router.add_get("/plaintext", plaintext)
    router.add_get("/json", json_endpoint)
    router.add_get("/users/{int:id}", user)
    router.add_post("/form", form)
    router.add_post("/upload", upload)
    router.add_get("/file", file_endpoint)
    return app


def _middleware() -> Application:
    app, router = _application()
    router.add_get("/json", json_endpoint)
    app.use_cors(allow_origins=[CORS_ORIGIN], allow_methods="*")
    app.middlewares.append(GzipMiddleware())
    app.use_sessions(SESSION_SECRET)
    return app


def _table(count: int) -> Application:
    app, router = _application()
    for path in route_paths(count):
        # BlackSheep writes a typed parameter {int:name}.
        router.add_get(path.replace("{item_id:int}", "{int:item_id}"), table_hit)
    return app


async def pass_through(request: Request, handler: Handler) -> Response:
    """A BlackSheep middleware that does nothing."""
    return await handler(request)


def _layers(count: int) -> Application:
    app, router = _application()
    router.add_get("/plaintext", plaintext)
    for _ in range(count):
        app.middlewares.append(pass_through)
    return app


app = _main()

APPS = Tables(
    {"main": app, "middleware": _middleware()},
    series(_table, _layers),
)
