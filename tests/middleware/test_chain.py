"""Every pure-ASGI middleware here calls the app it wraps the cheapest way that still
does what ``app(...)`` does; ``app`` can be replaced after construction."""

from __future__ import annotations

from typing import Any

import pytest

from asgi_core.types import Receive, Scope, Send
from asgi_middleware.cors import CORSMiddleware
from asgi_middleware.errors import ServerErrorMiddleware
from asgi_middleware.exceptions import ExceptionMiddleware
from asgi_middleware.sessions import SessionMiddleware
from asgi_testkit import TestClient


async def reply(send: Send, text: str) -> None:
    body = text.encode()
    headers = [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def function_app(scope: Scope, receive: Receive, send: Send) -> None:
    await reply(send, "function")


class ObjectApp:
    def __init__(self, text: str) -> None:
        self.text = text

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await reply(send, self.text)


class InheritedCall(ObjectApp):
    pass


class StaticCall:
    @staticmethod
    async def __call__(scope: Scope, receive: Receive, send: Send) -> None:
        await reply(send, "static")


class Method:
    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        await reply(send, "method")


WRAPPERS: list[Any] = [
    lambda app: CORSMiddleware(app, allow_origins=["https://a.example"]),
    lambda app: SessionMiddleware(app, secret_key="k"),
    ServerErrorMiddleware,
    ExceptionMiddleware,
    lambda app: ServerErrorMiddleware(ExceptionMiddleware(app)),
]
APPS = [
    (function_app, "function"),
    (ObjectApp("object"), "object"),
    (InheritedCall("inherited"), "inherited"),
    (StaticCall(), "static"),
    (Method().handle, "method"),
]


@pytest.mark.parametrize("wrap", WRAPPERS)
@pytest.mark.parametrize(("app", "text"), APPS)
def test_every_kind_of_inner_app_is_called_as_itself(wrap: Any, app: Any, text: str) -> None:
    assert TestClient(wrap(app)).get("/").text == text


@pytest.mark.parametrize("wrap", WRAPPERS)
def test_replacing_app_after_construction_takes_effect(wrap: Any) -> None:
    middleware = wrap(function_app)
    innermost = middleware.app if isinstance(middleware.app, ExceptionMiddleware) else middleware
    innermost.app = ObjectApp("replaced")
    client = TestClient(middleware)  # no lifespan: these apps answer HTTP only
    assert client.get("/").text == "replaced"
    innermost.app = function_app
    assert client.get("/").text == "function"
