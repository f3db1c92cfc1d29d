"""Mistakes in a routing table fail where the route is declared, naming the route and
saying what to write (issue #24): never a route that silently never matches, and
never a 500 on every request."""

from __future__ import annotations

from typing import Any

import pytest

from asgi_core.requests import Request
from asgi_core.types import Receive, Scope, Send
from asgi_responses import PlainTextResponse, Response
from asgi_routing import Host, Mount, Route, Router, WebSocketRoute, compile_path
from asgi_routing.endpoints import HTTPEndpoint


async def home(request: Request) -> Response:
    return PlainTextResponse("home")


async def asgi_app(scope: Scope, receive: Receive, send: Send) -> None:
    raise AssertionError("never called")  # pragma: no cover


anything: Any = None  # a way past the type checker, which catches these mistakes too


# --- methods="GET" --------------------------------------------------------------------


@pytest.mark.parametrize("methods", ["GET", b"GET"])
def test_methods_as_a_string_is_refused(methods: Any) -> None:
    with pytest.raises(TypeError) as caught:
        Route("/", home, methods=methods)
    message = str(caught.value)
    assert message.startswith("Route('/') of endpoint 'home': methods must be a list")
    assert f"methods=[{methods!r}]" in message


def test_add_route_refuses_methods_as_a_string_too() -> None:
    router = Router()
    with pytest.raises(TypeError, match=r"methods=\['POST'\]"):
        router.add_route("/items", home, methods="POST")
    assert router.routes == []


def test_methods_must_be_names() -> None:
    with pytest.raises(TypeError, match=r"Route\('/'\) of endpoint 'home': .* not 1\."):
        Route("/", home, methods=["GET", 1])  # type: ignore[list-item]


def test_methods_in_any_collection_still_work() -> None:
    assert Route("/", home, methods=("get", "Post")).methods == {"GET", "HEAD", "POST"}
    assert Route("/", home, methods={"put"}).methods == {"PUT"}
    assert Route("/", home, methods=iter(["DELETE"])).methods == {"DELETE"}
    assert Route("/", home, methods=[]).methods == set()


# --- an endpoint that is not callable ---------------------------------------------------


def test_a_string_endpoint_is_refused_naming_the_route() -> None:
    with pytest.raises(TypeError) as caught:
        Route("/", anything or "home")
    assert str(caught.value) == (
        "Route('/'): the endpoint must be a function of the request, an HTTPEndpoint or "
        "an ASGI app, not str 'home'. Pass the endpoint itself (import it), not its name."
    )


def test_other_uncallable_endpoints_are_refused() -> None:
    with pytest.raises(TypeError, match=r"^Route\('/x'\): .*, not int 3\.$"):
        Route("/x", anything or 3)
    with pytest.raises(TypeError, match=r"^WebSocketRoute\('/ws'\): the endpoint must be .*"):
        WebSocketRoute("/ws", anything or "chat")
    with pytest.raises(TypeError, match=r"^Mount\('/static'\): the app must be an ASGI app"):
        Mount("/static", anything or "static")
    with pytest.raises(TypeError, match=r"^Host\('api.example.org'\): the app must be an"):
        Host("api.example.org", anything or {"routes": []})


def test_callable_endpoints_are_accepted() -> None:
    class Items(HTTPEndpoint):
        pass

    assert Route("/", Items).endpoint is Items
    assert Route("/", asgi_app).endpoint is asgi_app
    assert Mount("/m", asgi_app).app is asgi_app
    assert Mount("/r", routes=[]).routes == []
    assert Host("h.example", asgi_app).app is asgi_app


# --- braces that are not parameters ----------------------------------------------------


@pytest.mark.parametrize(
    ("path", "problem"),
    [
        ("/u/{id", "the '{' at index 3 is never closed"),
        ("/u/id}", "the '}' at index 5 closes no parameter"),
        ("/u/{id}}", "the '}' at index 7 closes no parameter"),
        ("/u/{{id}", "'{{id}' is not a parameter"),
        ("/{1x}", "'{1x}' is not a parameter"),
        ("/a{b-c}", "'{b-c}' is not a parameter"),
        ("/{x:int:y}", "'{x:int:y}' is not a parameter"),
        ("/{ id }", "'{ id }' is not a parameter"),
        ("/{}", "'{}' is not a parameter"),
    ],
)
def test_a_brace_outside_a_parameter_is_refused(path: str, problem: str) -> None:
    with pytest.raises(ValueError) as caught:
        compile_path(path)
    assert str(caught.value) == (
        f"Invalid route path {path!r}: {problem}. Write a parameter as {{name}}, "
        "{name:convertor} or {name:re:PATTERN}, the name made of ASCII letters, digits "
        "and '_' (not starting with a digit)."
    )


def test_route_errors_name_the_route_and_endpoint() -> None:
    with pytest.raises(ValueError, match=r"^Route\('/u/\{id'\) of endpoint 'home': Invalid"):
        Route("/u/{id", home)
    with pytest.raises(ValueError, match=r"^Route\('/u/\{id:nope\}'\) of endpoint 'home': Unknown"):
        Route("/u/{id:nope}", home, name="user")
    with pytest.raises(ValueError, match=r"^WebSocketRoute\('/ws/\{r'\) of endpoint 'home': "):
        WebSocketRoute("/ws/{r", home)
    with pytest.raises(ValueError, match=r"^Mount\('/files\}'\): Invalid route path"):
        Mount("/files}", asgi_app)
    with pytest.raises(ValueError, match=r"^Host\('\{sub\.example\.org'\): Invalid route host"):
        Host("{sub.example.org", asgi_app)


def test_braces_inside_parameters_are_fine() -> None:
    assert compile_path("/{x:re:a{2}}/{y}")[1] == "/{x}/{y}"
    regex, path_format, _ = compile_path(r"/{brace:re:\{}")  # how to match a literal brace
    assert path_format == "/{brace}"
    assert regex.fullmatch("/{")
    assert compile_path("{sub}.example.org")[1] == "{sub}.example.org"
