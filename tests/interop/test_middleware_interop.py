"""Our middleware around real Starlette, FastAPI and Django applications.

Starlette and FastAPI run on asyncio and trio; Django's ASGI handler is built on
asyncio, so its tests are skipped on trio.
"""

from __future__ import annotations

import gzip
import json
from base64 import b64encode
from collections.abc import AsyncIterator, Iterator
from contextlib import aclosing
from typing import Any

import itsdangerous
import pytest
from fastapi import FastAPI
from pydantic import BaseModel
from starlette.applications import Starlette
from starlette.middleware import Middleware as StarletteMiddleware
from starlette.middleware.sessions import SessionMiddleware as StarletteSessionMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, StreamingResponse
from starlette.routing import Route

from asgi_middleware.body_limit import RequestBodyLimitMiddleware
from asgi_middleware.compression import CompressionMiddleware
from asgi_middleware.cors import CORSMiddleware
from asgi_middleware.gzip import GZipMiddleware
from asgi_middleware.proxy_headers import ProxyHeadersMiddleware
from asgi_middleware.sessions import SessionMiddleware
from asgi_middleware.trustedhost import TrustedHostMiddleware
from asgi_testkit import AsyncTestClient

TEXT = "lorem ipsum dolor sit amet " * 100


# the peer address the proxy-header tests trust (what a local reverse proxy would be)
LOOPBACK = ("127.0.0.1", 123)


# --- Starlette ---------------------------------------------------------------------


async def s_text(request: Request) -> PlainTextResponse:
    return PlainTextResponse(TEXT)


async def s_echo(request: Request) -> PlainTextResponse:
    return PlainTextResponse(f"got {len(await request.body())}")


async def s_stream(request: Request) -> StreamingResponse:
    async def chunks() -> AsyncIterator[str]:
        for _ in range(3):
            yield TEXT

    return StreamingResponse(chunks(), media_type="text/plain")


async def s_who(request: Request) -> JSONResponse:
    assert request.client is not None
    return JSONResponse(
        {"client": request.client.host, "scheme": request.url.scheme, "host": request.url.netloc}
    )


async def s_count(request: Request) -> JSONResponse:
    request.session["count"] = request.session.get("count", 0) + 1
    return JSONResponse(request.session)


async def s_peek(request: Request) -> JSONResponse:
    return JSONResponse(request.session)


starlette_app = Starlette(
    routes=[
        Route("/text", s_text),
        Route("/echo", s_echo, methods=["POST"]),
        Route("/stream", s_stream),
        Route("/who", s_who),
        Route("/count", s_count),
        Route("/peek", s_peek),
    ]
)


@pytest.mark.anyio
async def test_starlette_cors() -> None:
    app = CORSMiddleware(
        starlette_app, allow_origins=["https://a.example"], allow_methods=["GET", "POST"]
    )
    async with AsyncTestClient(app) as c:
        preflight = await c.options(
            "/echo",
            headers={"Origin": "https://a.example", "Access-Control-Request-Method": "POST"},
        )
        refused = await c.options(
            "/echo",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "PUT"},
        )
        simple = await c.get("/text", headers={"Origin": "https://a.example"})
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-methods"] == "GET, POST"
    assert refused.status_code == 400
    assert refused.text == "Disallowed CORS origin, method"
    assert simple.headers["access-control-allow-origin"] == "https://a.example"
    assert simple.headers["vary"] == "Origin"


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("accept", "coding"), [("gzip", "gzip"), ("br", "br"), ("zstd, gzip", "zstd")]
)
async def test_starlette_compression(accept: str, coding: str) -> None:
    async with AsyncTestClient(CompressionMiddleware(starlette_app)) as c:
        response = await c.get("/text", headers={"Accept-Encoding": accept})
    assert response.headers["content-encoding"] == coding
    assert response.text == TEXT  # httpx decodes it
    assert int(response.headers["content-length"]) < len(TEXT)


@pytest.mark.anyio
async def test_starlette_gzip_raw_bytes() -> None:
    headers = {"Accept-Encoding": "gzip"}
    async with (
        AsyncTestClient(GZipMiddleware(starlette_app)) as c,
        c.stream("GET", "/stream", headers=headers) as response,
    ):
        raw = b"".join([chunk async for chunk in response.aiter_raw()])
    assert response.headers["content-encoding"] == "gzip"
    assert "content-length" not in response.headers
    assert gzip.decompress(raw).decode() == TEXT * 3


@pytest.mark.anyio
async def test_starlette_sessions_and_migration_from_starlette_cookies() -> None:
    app = SessionMiddleware(starlette_app, "secret")
    async with AsyncTestClient(app) as c:
        assert (await c.get("/count")).json() == {"count": 1}
        assert (await c.get("/count")).json() == {"count": 2}
        unchanged = await c.get("/peek")
        assert "set-cookie" not in unchanged.headers
        assert unchanged.json() == {"count": 2}
    # a session cookie written by Starlette's own SessionMiddleware keeps working
    theirs = Starlette(
        routes=[Route("/count", s_count)],
        middleware=[StarletteMiddleware(StarletteSessionMiddleware, secret_key="secret")],
    )
    async with AsyncTestClient(theirs) as c:
        await c.get("/count")
        cookie = c.cookies["session"]
    async with AsyncTestClient(app) as c:
        c.cookies.set("session", cookie)
        response = await c.get("/peek")
    assert response.json() == {"count": 1}


@pytest.mark.anyio
async def test_starlette_trusted_host() -> None:
    app = TrustedHostMiddleware(starlette_app, allowed_hosts=["testserver", "*.example.com"])
    async with AsyncTestClient(app) as c:
        assert (await c.get("/text")).status_code == 200
        assert (await c.get("/text", headers={"Host": "a.example.com"})).status_code == 200
        bad = await c.get("/text", headers={"Host": "evil.com"})
    assert (bad.status_code, bad.text) == (400, "Invalid host header")


@pytest.mark.anyio
async def test_starlette_body_limit() -> None:
    app = RequestBodyLimitMiddleware(starlette_app, max_body_size=100)
    async with AsyncTestClient(app) as c:
        ok = await c.post("/echo", content=b"x" * 100)
        too_big = await c.post("/echo", content=b"x" * 101)

        async def chunks() -> Any:
            for _ in range(10):
                yield b"x" * 30

        streamed = await c.post("/echo", content=chunks())
    assert ok.text == "got 100"
    assert too_big.status_code == 413
    assert streamed.status_code == 413
    assert streamed.text == "Content Too Large"


@pytest.mark.anyio
async def test_starlette_proxy_headers() -> None:
    headers = {
        "X-Forwarded-For": "203.0.113.7",
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": "public.example",
    }
    trusting = ProxyHeadersMiddleware(starlette_app, trusted_hosts=["127.0.0.1"])
    untrusting = ProxyHeadersMiddleware(starlette_app, trusted_hosts=["10.0.0.0/8"])
    async with AsyncTestClient(trusting, client=LOOPBACK) as c:
        trusted = (await c.get("/who", headers=headers)).json()
    async with AsyncTestClient(untrusting, client=LOOPBACK) as c:
        spoofed = (await c.get("/who", headers=headers)).json()
    assert trusted == {"client": "203.0.113.7", "scheme": "https", "host": "public.example"}
    assert spoofed == {"client": "127.0.0.1", "scheme": "http", "host": "testserver"}


# --- FastAPI -----------------------------------------------------------------------


class Item(BaseModel):
    name: str


fastapi_app = FastAPI()


@fastapi_app.post("/items")
async def create_item(item: Item) -> dict[str, str]:
    return {"name": item.name}


@fastapi_app.get("/big")
async def big() -> dict[str, str]:
    return {"text": TEXT}


@fastapi_app.get("/session")
async def session(request: Request) -> dict[str, Any]:
    request.session["visits"] = request.session.get("visits", 0) + 1
    return dict(request.session)


@pytest.mark.anyio
async def test_fastapi_stack() -> None:
    app: Any = fastapi_app
    app = RequestBodyLimitMiddleware(app, max_body_size=50)
    app = CompressionMiddleware(app)
    app = SessionMiddleware(app, "secret")
    app = CORSMiddleware(app, allow_origins=["*"], allow_methods=["*"], allow_headers=["*"])
    app = TrustedHostMiddleware(app, allowed_hosts=["testserver"])
    async with AsyncTestClient(app) as c:
        created = await c.post("/items", json={"name": "x"}, headers={"Origin": "https://o"})
        too_big = await c.post("/items", json={"name": "x" * 100})
        compressed = await c.get("/big", headers={"Accept-Encoding": "br"})
        await c.get("/session")
        visits = await c.get("/session")
        preflight = await c.options(
            "/items",
            headers={
                "Origin": "https://o",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type",
            },
        )
        bad_host = await c.get("/big", headers={"Host": "evil"})
    assert created.json() == {"name": "x"}
    assert created.headers["access-control-allow-origin"] == "*"
    assert too_big.status_code == 413
    assert compressed.headers["content-encoding"] == "br"
    assert compressed.json() == {"text": TEXT}
    assert visits.json() == {"visits": 2}
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-headers"] == "content-type"
    assert bad_host.status_code == 400


# --- Django ------------------------------------------------------------------------


from django.core.asgi import get_asgi_application  # noqa: E402
from django.http import HttpRequest, HttpResponse, JsonResponse  # noqa: E402
from django.test.utils import override_settings  # noqa: E402
from django.urls import path  # noqa: E402


def d_text(request: HttpRequest) -> HttpResponse:
    return HttpResponse(TEXT, content_type="text/plain")


def d_echo(request: HttpRequest) -> HttpResponse:
    return HttpResponse(f"got {len(request.body)}", content_type="text/plain")


def d_who(request: HttpRequest) -> JsonResponse:
    return JsonResponse(
        {
            "client": request.META["REMOTE_ADDR"],
            "scheme": request.scheme,
            "host": request.get_host(),
        }
    )


def d_session(request: HttpRequest) -> JsonResponse:
    session = request.scope["session"]  # type: ignore[attr-defined]
    session["n"] = session.get("n", 0) + 1
    return JsonResponse(session)


urlpatterns = [
    path("text", d_text),
    path("echo", d_echo),
    path("who", d_who),
    path("session", d_session),
]


@pytest.fixture
def django_app(anyio_backend: str) -> Iterator[Any]:
    if anyio_backend != "asyncio":
        pytest.skip("Django's ASGI handler runs on asyncio only")
    with override_settings(ROOT_URLCONF=__name__, ALLOWED_HOSTS=["*"]):
        yield get_asgi_application()


@pytest.mark.anyio
async def test_django_stack(django_app: Any) -> None:
    app = RequestBodyLimitMiddleware(django_app, max_body_size=1000)
    app = GZipMiddleware(app)
    app = SessionMiddleware(app, "secret")
    app = CORSMiddleware(app, allow_origins=["https://a.example"], allow_credentials=True)
    app = TrustedHostMiddleware(app, allowed_hosts=["testserver", "public.example"])
    app = ProxyHeadersMiddleware(app, trusted_hosts=["127.0.0.1"])
    # Django refuses lifespan scopes (ValueError), as Starlette's TestClient reports too: so
    # the client is not entered (no lifespan), only closed.
    async with aclosing(AsyncTestClient(app, client=LOOPBACK)) as c:
        text = await c.get(
            "/text", headers={"Accept-Encoding": "gzip", "Origin": "https://a.example"}
        )
        echo = await c.post("/echo", content=b"y" * 1000)
        too_big = await c.post("/echo", content=b"y" * 1001)
        await c.get("/session")
        session = await c.get("/session")
        bad_host = await c.get("/text", headers={"Host": "evil.example"})
        who = await c.get(
            "/who",
            headers={
                "Forwarded": 'for="[2001:db8::1]:4711";proto=https;host=public.example',
            },
        )
    assert text.headers["content-encoding"] == "gzip"
    assert text.text == TEXT
    assert text.headers["access-control-allow-origin"] == "https://a.example"
    assert text.headers["access-control-allow-credentials"] == "true"
    assert "Origin" in text.headers["vary"]
    assert "Accept-Encoding" in text.headers["vary"]
    assert echo.text == "got 1000"
    assert too_big.status_code == 413
    assert session.json() == {"n": 2}
    assert bad_host.status_code == 400
    assert who.json() == {"client": "2001:db8::1", "scheme": "https", "host": "public.example"}


@pytest.mark.anyio
async def test_django_session_cookie_is_signed(django_app: Any) -> None:
    app = SessionMiddleware(django_app, "secret")
    forged = itsdangerous.TimestampSigner("wrong").sign(b64encode(json.dumps({"n": 41}).encode()))
    async with aclosing(AsyncTestClient(app)) as c:  # no lifespan: see above
        c.cookies.set("session", forged.decode())
        response = await c.get("/session")
    assert response.json() == {"n": 1}
