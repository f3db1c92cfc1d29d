"""Middleware(cls, *args, **kwargs): a declaration, unpacked when the stack is built."""

from __future__ import annotations

import pytest
from asgi_driver import call, make_scope, queue_receive

from asgi_core.types import ASGIApp, Receive, Scope, Send
from asgi_middleware import Middleware, __version__


async def inner(scope: Scope, receive: Receive, send: Send) -> None:
    scope["seen"].append("app")


class Tagging:
    def __init__(self, app: ASGIApp, tag: str, *, upper: bool = False) -> None:
        self.app = app
        self.tag = tag.upper() if upper else tag

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope["seen"].append(self.tag)
        await self.app(scope, receive, send)


def test_version_is_kept() -> None:
    assert __version__ == "0.1.0"


def test_unpacks_as_cls_args_kwargs() -> None:
    middleware = Middleware(Tagging, "a", upper=True)
    cls, args, kwargs = middleware
    assert cls is Tagging
    assert args == ("a",)
    assert kwargs == {"upper": True}


@pytest.mark.anyio
async def test_builds_a_stack_outermost_first() -> None:
    stack = [Middleware(Tagging, "outer"), Middleware(Tagging, "inner", upper=True)]
    app: ASGIApp = inner
    for cls, args, kwargs in reversed(stack):
        app = cls(app, *args, **kwargs)
    scope = make_scope(seen=[])
    sent = await call(app, scope, queue_receive([]))  # receiving at all fails the test
    assert sent == []
    assert scope["seen"] == ["outer", "INNER", "app"]


@pytest.mark.anyio
async def test_build_wraps_an_app() -> None:
    app = Middleware(Tagging, tag="x").build(inner)
    assert isinstance(app, Tagging)
    assert app.tag == "x"
    assert app.app is inner


def test_repr_names_the_class_and_arguments() -> None:
    assert repr(Middleware(Tagging, "a", upper=True)) == "Middleware(Tagging, 'a', upper=True)"
    assert repr(Middleware(Tagging, tag="b")) == "Middleware(Tagging, tag='b')"


def test_repr_of_a_callable_without_a_name() -> None:
    class Factory:
        def __call__(self, app: ASGIApp) -> ASGIApp:
            return app

        def __repr__(self) -> str:
            return "<factory>"

    assert repr(Middleware(Factory())) == "Middleware(<factory>)"


def test_equality_compares_class_and_arguments() -> None:
    assert Middleware(Tagging, "a") == Middleware(Tagging, "a")
    assert Middleware(Tagging, "a") != Middleware(Tagging, "b")
    assert Middleware(Tagging, "a") != ("not", "middleware")
    with pytest.raises(TypeError):
        hash(Middleware(Tagging, "a"))
