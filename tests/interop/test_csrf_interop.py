"""CSRFMiddleware around real App, Starlette, FastAPI and Django applications.

Each app gets the same browser-shaped requests: a same-origin form post (passes), a
cross-site one by Fetch Metadata and by Origin (403 before the app runs), a non-browser
client (passes), and in token mode a form post carrying the token (the app still reads
the whole form). Django's ASGI handler runs on asyncio only and has no lifespan, so
its clients are used without ``async with`` (which would run the lifespan).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import aclosing
from typing import Any

import jinja2
import pytest
from fastapi import FastAPI, Form
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.templating import Jinja2Templates as StarletteTemplates

from asgi_app import App
from asgi_app import PlainTextResponse as OurPlainText
from asgi_app import Request as OurRequest
from asgi_app import Route as OurRoute
from asgi_middleware.csrf import CSRFConfig, CSRFMiddleware, get_csrf_token, register_csrf_globals
from asgi_testkit import AsyncTestClient

pytestmark = pytest.mark.anyio

SAME_ORIGIN = {"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"}
CROSS_SITE = {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}
OTHER_ORIGIN = {"Origin": "https://evil.example"}  # an older browser: no Fetch Metadata
FORM_PAGE = '<form method="post">{{ csrf_input() }}<input name="text"></form>'


# --- the apps -----------------------------------------------------------------------


async def our_save(request: OurRequest) -> OurPlainText:
    form = await request.form()
    return OurPlainText(f"saved {form['text']}")


async def our_token(request: OurRequest) -> OurPlainText:
    return OurPlainText(get_csrf_token(request))


def our_app(**csrf: Any) -> Any:
    routes = [OurRoute("/save", our_save, methods=["POST"]), OurRoute("/token", our_token)]
    return App(routes=routes, csrf=CSRFConfig(**csrf))


async def s_save(request: Request) -> PlainTextResponse:
    form = await request.form()
    return PlainTextResponse(f"saved {form['text']}")


async def s_token(request: Request) -> PlainTextResponse:
    return PlainTextResponse(get_csrf_token(request))


def starlette_app(**csrf: Any) -> Any:
    app = Starlette(routes=[Route("/save", s_save, methods=["POST"]), Route("/token", s_token)])
    return CSRFMiddleware(app, **csrf)


def fastapi_app(**csrf: Any) -> Any:
    app = FastAPI()

    @app.post("/save")
    async def save(text: str = Form()) -> PlainTextResponse:
        return PlainTextResponse(f"saved {text}")

    @app.get("/token")
    async def token(request: Request) -> PlainTextResponse:
        return PlainTextResponse(get_csrf_token(request))

    return CSRFMiddleware(app, **csrf)


FACTORIES = {"app": our_app, "starlette": starlette_app, "fastapi": fastapi_app}


# --- the same requests for each -----------------------------------------------------


@pytest.mark.parametrize("framework", sorted(FACTORIES))
async def test_origin_checks(framework: str) -> None:
    app = FACTORIES[framework]()
    async with AsyncTestClient(app) as client:
        same = await client.post("/save", data={"text": "a"}, headers=SAME_ORIGIN)
        cross = await client.post("/save", data={"text": "b"}, headers=CROSS_SITE)
        other = await client.post("/save", data={"text": "c"}, headers=OTHER_ORIGIN)
        tool = await client.post("/save", data={"text": "d"})
        page = await client.get("/token", headers=CROSS_SITE)
    assert same.text == "saved a"
    assert cross.status_code == 403
    assert "Sec-Fetch-Site: cross-site" in cross.text
    assert other.status_code == 403
    assert "'https://evil.example'" in other.text
    assert tool.text == "saved d"
    assert page.status_code == 200  # GET is never checked
    assert page.text == ""


@pytest.mark.parametrize("framework", sorted(FACTORIES))
async def test_token_mode(framework: str) -> None:
    app = FACTORIES[framework](secret="interop-secret")
    async with AsyncTestClient(app) as client:
        token = (await client.get("/token")).text
        assert "csrftoken" in client.cookies
        with_field = await client.post(
            "/save", data={"text": "a", "csrf_token": token}, headers=SAME_ORIGIN
        )
        with_header = await client.post(
            "/save", data={"text": "b"}, headers={**SAME_ORIGIN, "X-CSRF-Token": token}
        )
        multipart = await client.post(
            "/save",
            data={"csrf_token": token, "text": "c"},
            files={"upload": ("a.txt", b"file body")},
            headers=SAME_ORIGIN,
        )
        missing = await client.post("/save", data={"text": "d"}, headers=SAME_ORIGIN)
    assert with_field.text == "saved a"
    assert with_header.text == "saved b"
    assert multipart.text == "saved c"
    assert missing.status_code == 403
    assert "no CSRF token" in missing.text


async def test_starlette_templates_get_the_token_field() -> None:
    env = jinja2.Environment(loader=jinja2.DictLoader({"form.html": FORM_PAGE}), autoescape=True)
    templates = StarletteTemplates(env=env)
    register_csrf_globals(templates)

    async def page(request: Request) -> Any:
        return templates.TemplateResponse(request, "form.html")

    inner = Starlette(routes=[Route("/", page), Route("/save", s_save, methods=["POST"])])
    app = CSRFMiddleware(inner, secret="interop-secret")
    async with AsyncTestClient(app) as client:
        html = (await client.get("/")).text
        match = re.search(r'name="csrf_token" value="([\w-]+)"', html)
        assert match is not None
        saved = await client.post(
            "/save", data={"csrf_token": match.group(1), "text": "x"}, headers=SAME_ORIGIN
        )
    assert saved.text == "saved x"


# --- Django -------------------------------------------------------------------------


from django.core.asgi import get_asgi_application  # noqa: E402
from django.http import HttpRequest, HttpResponse  # noqa: E402
from django.test.utils import override_settings  # noqa: E402
from django.urls import path  # noqa: E402


def d_save(request: HttpRequest) -> HttpResponse:
    return HttpResponse(f"saved {request.POST['text']}", content_type="text/plain")


def d_token(request: HttpRequest) -> HttpResponse:
    scope = request.scope  # type: ignore[attr-defined]
    return HttpResponse(get_csrf_token(scope), content_type="text/plain")


urlpatterns = [path("save", d_save), path("token", d_token)]


@pytest.fixture
def django_app(anyio_backend: str) -> Iterator[Any]:
    if anyio_backend != "asyncio":
        pytest.skip("Django's ASGI handler runs on asyncio only")
    with override_settings(ROOT_URLCONF=__name__, ALLOWED_HOSTS=["*"]):
        yield get_asgi_application()


async def test_django_origin_checks(django_app: Any) -> None:
    async with aclosing(AsyncTestClient(CSRFMiddleware(django_app))) as client:
        same = await client.post("/save", data={"text": "a"}, headers=SAME_ORIGIN)
        cross = await client.post("/save", data={"text": "b"}, headers=CROSS_SITE)
        null = await client.post("/save", data={"text": "c"}, headers={"Origin": "null"})
    assert same.text == "saved a"
    assert cross.status_code == 403
    assert null.status_code == 403


async def test_django_token_mode(django_app: Any) -> None:
    app = CSRFMiddleware(django_app, secret="interop-secret")
    async with aclosing(AsyncTestClient(app)) as client:
        token = (await client.get("/token")).text
        saved = await client.post(
            "/save", data={"csrf_token": token, "text": "a"}, headers=SAME_ORIGIN
        )
        forged = await client.post(
            "/save", data={"csrf_token": "x" * 86, "text": "b"}, headers=SAME_ORIGIN
        )
    assert saved.text == "saved a"
    assert forged.status_code == 403
