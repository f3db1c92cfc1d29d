"""App(csrf=...): the one-line CSRF setting (an addition to Starlette's signature)."""

from __future__ import annotations

import inspect

import pytest

from asgi_app import App, Middleware, PlainTextResponse, Request, Route
from asgi_middleware.csrf import CSRFConfig, get_csrf_token
from asgi_middleware.proxy_headers import ProxyHeadersMiddleware
from asgi_testkit import AsyncTestClient

pytestmark = pytest.mark.anyio


async def form(request: Request) -> PlainTextResponse:
    if request.method == "POST":
        data = await request.form()
        return PlainTextResponse(f"saved {data['text']}")
    return PlainTextResponse(get_csrf_token(request))


routes = [Route("/form", form, methods=["GET", "POST"])]


def test_csrf_is_keyword_only_and_off_by_default() -> None:
    parameter = inspect.signature(App).parameters["csrf"]
    assert parameter.kind is inspect.Parameter.KEYWORD_ONLY
    assert parameter.default is False


async def test_off_by_default() -> None:
    async with AsyncTestClient(App(routes=routes)) as client:
        response = await client.post(
            "/form", data={"text": "x"}, headers={"Origin": "https://evil.example"}
        )
    assert response.text == "saved x"


async def test_csrf_true_refuses_cross_site_posts() -> None:
    async with AsyncTestClient(App(routes=routes, csrf=True)) as client:
        own = await client.post(
            "/form", data={"text": "x"}, headers={"Origin": "http://testserver"}
        )
        evil = await client.post(
            "/form", data={"text": "x"}, headers={"Origin": "https://evil.example"}
        )
        page = await client.get("/form")
    assert own.text == "saved x"
    assert evil.status_code == 403
    assert evil.text.startswith("Forbidden (CSRF check failed): Origin 'https://evil.example'")
    assert page.text == ""  # no secret: no token


async def test_csrf_config_with_a_token_runs_after_the_user_middleware() -> None:
    app = App(
        routes=routes,
        middleware=[Middleware(ProxyHeadersMiddleware, trusted_hosts=["127.0.0.1"])],
        csrf=CSRFConfig(secret="s3cret"),
    )
    async with AsyncTestClient(app, client=("127.0.0.1", 1)) as client:
        token = (await client.get("/form")).text
        # the proxy said the browser saw https://public.example: that is the own origin
        headers = {
            "Origin": "https://public.example",
            "X-Forwarded-Proto": "https",
            "X-Forwarded-Host": "public.example",
        }
        without = await client.post("/form", data={"text": "x"}, headers=headers)
        with_token = await client.post(
            "/form", data={"csrf_token": token, "text": "x"}, headers=headers
        )
    assert len(token) == 86
    assert without.status_code == 403
    assert with_token.text == "saved x"
