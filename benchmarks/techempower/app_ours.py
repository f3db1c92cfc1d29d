"""TechEmpower's six test types with this framework (``asgi_app.App``)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from db import JSON_MESSAGE, PLAINTEXT, Database, clamp_queries

from asgi_app import App, JSONResponse, PlainTextResponse, Request, Route
from asgi_responses.templating import Jinja2Templates

database = Database()
templates = Jinja2Templates(directory=os.path.join(os.path.dirname(__file__), "templates"))


@asynccontextmanager
async def lifespan(app: App) -> AsyncIterator[None]:
    await database.open()
    try:
        yield
    finally:
        await database.close()


async def json_endpoint(request: Request) -> JSONResponse:
    return JSONResponse(dict(JSON_MESSAGE))


async def single_query(request: Request) -> JSONResponse:
    return JSONResponse(await database.world())


async def multiple_queries(request: Request) -> JSONResponse:
    count = clamp_queries(request.query_params.get("queries"))
    return JSONResponse(await database.worlds(count))


async def fortunes(request: Request):
    return templates.TemplateResponse(
        request, "fortune.html", {"fortunes": await database.fortunes()}
    )


async def updates(request: Request) -> JSONResponse:
    count = clamp_queries(request.query_params.get("queries"))
    return JSONResponse(await database.update(count))


async def plaintext(request: Request) -> PlainTextResponse:
    return PlainTextResponse(PLAINTEXT)


app = App(
    routes=[
        Route("/json", json_endpoint),
        Route("/db", single_query),
        Route("/queries", multiple_queries),
        Route("/fortunes", fortunes),
        Route("/updates", updates),
        Route("/plaintext", plaintext),
    ],
    lifespan=lifespan,
)
