"""The benchmark application written with this framework (``asgi_app.App``)."""

from __future__ import annotations

from apps.common import (
    CORS_ORIGIN,
    FILE_PATH,
    JSON_PAYLOAD,
    PLAINTEXT,
    SESSION_SECRET,
    PassThrough,
    Tables,
    route_paths,
    series,
)
from asgi_app import (
    App,
    FileResponse,
    JSONResponse,
    Middleware,
    PlainTextResponse,
    Request,
    Route,
)
from asgi_middleware.cors import CORSMiddleware
from asgi_middleware.gzip import GZipMiddleware
from asgi_middleware.sessions import SessionMiddleware

_TEXT = PLAINTEXT.decode()


async def plaintext(request: Request) -> PlainTextResponse:
    return PlainTextResponse(_TEXT)


async def json_endpoint(request: Request) -> JSONResponse:
    return JSONResponse(JSON_PAYLOAD)


async def user(request: Request) -> JSONResponse:
    return JSONResponse({"id": request.path_params["id"]})


async def form(request: Request) -> PlainTextResponse:
    data = await request.form()
    return PlainTextResponse(f"{data['name']}:{data['age']}:{data['city']}")


async def upload(request: Request) -> PlainTextResponse:
    async with request.form() as data:
        doc = data["doc"]
        size = len(await doc.read())
        return PlainTextResponse(f"{data['name']}:{data['city']}:{doc.filename}:{size}")


async def file(request: Request) -> FileResponse:
    return FileResponse(FILE_PATH)


def _table(count: int) -> App:
    return App(routes=[Route(path, plaintext) for path in route_paths(count)])


def _layers(count: int) -> App:
    return App(
        routes=[Route("/plaintext", plaintext)],
        middleware=[Middleware(PassThrough)] * count,
    )


app = App(
    routes=[
        Route("/plaintext", plaintext),
        Route("/json", json_endpoint),
        Route("/users/{id:int}", user),
        Route("/form", form, methods=["POST"]),
        Route("/upload", upload, methods=["POST"]),
        Route("/file", file),
    ]
)

middleware = App(
    routes=[Route("/json", json_endpoint)],
    middleware=[
        Middleware(CORSMiddleware, allow_origins=[CORS_ORIGIN]),
        Middleware(GZipMiddleware),
        Middleware(SessionMiddleware, secret_key=SESSION_SECRET),
    ],
)

APPS = Tables(
    {"main": app, "middleware": middleware},
    series(_table, _layers),
)
