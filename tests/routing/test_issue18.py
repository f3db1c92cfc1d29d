"""Starlette 1.10 parity of issue #18: QUERY, uuid forms, route equality, URL reversal
that never reads as another authority, template helpers, and host matching."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from asgi_driver import run

from asgi_core.requests import Request
from asgi_core.types import Receive, Scope, Send
from asgi_responses import JSONResponse, PlainTextResponse, Response
from asgi_routing import (
    PARAM_FORMAT_REGEX,
    PARAM_REGEX,
    Host,
    Mount,
    NoMatchFound,
    Route,
    Router,
    WebSocketRoute,
    replace_params,
)
from asgi_routing.convertors import CONVERTOR_TYPES
from asgi_routing.endpoints import HTTPEndpoint
from asgi_routing.schemas import SchemaGenerator

UUID = uuid.UUID("550e8400-e29b-41d4-a716-446655440000")


async def params(request: Request) -> Response:
    return JSONResponse({k: str(v) for k, v in request.path_params.items()})


async def other(request: Request) -> Response:
    return PlainTextResponse("other")


async def raw(scope: Scope, receive: Receive, send: Send) -> None:
    await PlainTextResponse("raw")(scope, receive, send)


class Search(HTTPEndpoint):
    """Search with a body: QUERY is safe, and carries one."""

    async def get(self, request: Request) -> Response:
        return PlainTextResponse("get")

    async def query(self, request: Request) -> Response:
        """
        responses:
          200:
            description: The matches.
        """
        return PlainTextResponse("query " + (await request.body()).decode())


# -- QUERY ---------------------------------------------------------------------------


@pytest.mark.anyio
async def test_http_endpoint_dispatches_query_and_allows_it() -> None:
    app = Router([Route("/search", Search)])
    result = await run(app, "QUERY", "/search", body=b"name=ada")
    assert (result.status, result.text) == (200, "query name=ada")
    result = await run(app, "DELETE", "/search")
    assert result.status == 405
    assert result.header("allow") == "GET, HEAD, QUERY"


def test_schema_emits_query_operations_from_openapi_3_2_only() -> None:
    def query_users(request: Request) -> Response:
        """
        responses:
          200:
            description: Users matching the body.
        """
        return PlainTextResponse("")

    routes = [Route("/search", Search), Route("/users", query_users, methods=["QUERY"])]
    for version in ("3.2.0", "3.10", "4.0"):
        schema = SchemaGenerator({"openapi": version}).get_schema(routes)
        assert set(schema["paths"]) == {"/search", "/users"}, version
        assert list(schema["paths"]["/search"]) == ["query"]
        assert list(schema["paths"]["/users"]) == ["query"]
    for base in ({"openapi": "3.1.0"}, {"openapi": "3"}, {"swagger": "2.0"}, {}):
        assert SchemaGenerator(base).get_schema(routes)["paths"] == {}, base


# -- uuid ----------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize(
    "text",
    [
        "550e8400-e29b-41d4-a716-446655440000",
        "550E8400-E29B-41D4-A716-446655440000",
        "550e8400e29b41d4a716446655440000",
        "550e8400-e29b41d4a716-446655440000",
    ],
)
async def test_uuid_accepts_either_case_and_optional_dashes(text: str) -> None:
    app = Router([Route("/items/{id:uuid}", params, name="item")])
    result = await run(app, "GET", f"/items/{text}")
    assert result.text == '{"id":"550e8400-e29b-41d4-a716-446655440000"}'
    assert CONVERTOR_TYPES["uuid"].convert(text) == UUID
    assert app.url_path_for("item", id=UUID) == f"/items/{UUID}"


@pytest.mark.anyio
@pytest.mark.parametrize("text", ["550e8400-e29b-41d4-a716-44665544000", "g" * 32, "-" * 36])
async def test_uuid_refuses_other_text(text: str) -> None:
    app = Router([Route("/items/{id:uuid}", params)])
    assert (await run(app, "GET", f"/items/{text}")).status == 404


# -- equality ------------------------------------------------------------------------


def test_routes_compare_by_path_endpoint_and_methods() -> None:
    assert Route("/a", params) == Route("/a", params, name="renamed")
    assert Route("/a", params, methods=["GET"]) == Route("/a", params)
    assert Route("/a", params) != Route("/b", params)
    assert Route("/a", params) != Route("/a", other)
    assert Route("/a", params, methods=["POST"]) != Route("/a", params)
    assert Route("/a", params) != WebSocketRoute("/a", params)
    assert WebSocketRoute("/a", params) == WebSocketRoute("/a", params, name="x")
    assert WebSocketRoute("/a", params) != WebSocketRoute("/a", other)
    assert WebSocketRoute("/a", params) != Route("/a", params)
    assert Mount("/m", app=raw) == Mount("/m/", app=raw, name="m")
    assert Mount("/m", app=raw) != Mount("/n", app=raw)
    assert Mount("/m", routes=[Route("/a", params)]) == Mount("/m", routes=[Route("/a", params)])
    assert Mount("/m", app=raw) != "/m"
    assert Host("a.example.org", app=raw) == Host("a.example.org", app=raw, name="a")
    assert Host("a.example.org", app=raw) != Host("b.example.org", app=raw)
    assert Host("a.example.org", app=raw) != Mount("/", app=raw)
    assert Router([Route("/a", params)]) == Router([Route("/a", params)], redirect_slashes=False)
    assert Router([Route("/a", params)]) != Router([Route("/b", params)])
    assert Router() != []
    # Equal routes are still different objects: like Starlette's, they are unhashable.
    for route in (Route("/a", params), WebSocketRoute("/a", params), Mount("/m", app=raw)):
        with pytest.raises(TypeError):
            hash(route)
    with pytest.raises(TypeError):
        hash(Router())


@pytest.mark.anyio
async def test_routing_still_works_with_equal_routes() -> None:
    router = Router([Route("/a", params), Route("/a", params, methods=["POST"])])
    router.routes.remove(Route("/a", params, methods=["POST"]))
    assert len(router.routes) == 1
    assert (await run(router, "POST", "/a")).status == 405


# -- URL reversal --------------------------------------------------------------------


def test_a_reversed_path_never_reads_as_another_authority() -> None:
    app = Router(
        [
            Route("/{rest:path}", params, name="rest"),
            Mount("", routes=[Route("/{rest:path}", params, name="inner")], name="root"),
            Host("{sub}.example.org", app=Router([Route("/{p:path}", params, name="h")])),
            Mount("", app=raw, name="files"),
        ]
    )
    assert app.url_path_for("rest", rest="/example.org/a") == "/%2Fexample.org/a"
    assert app.url_path_for("rest", rest="\\example.org") == "/%5Cexample.org"
    assert app.url_path_for("rest", rest="a//b") == "/a//b"
    assert app.url_path_for("root:inner", rest="/evil.org") == "/%2Fevil.org"
    assert app.url_path_for("h", sub="x", p="/evil.org") == "/%2Fevil.org"
    assert app.url_path_for("files", path="a") == "/a"


def test_replace_params_and_the_template_patterns() -> None:
    convertors = {"id": CONVERTOR_TYPES["int"], "name": CONVERTOR_TYPES["str"]}
    given: dict[str, Any] = {"id": 3, "extra": 1}
    assert replace_params("/u/{id}/{name}", convertors, given) == ("/u/3/{name}", {"extra": 1})
    assert given == {"extra": 1}  # what was used is taken out, as in Starlette
    empty: dict[str, Any] = {}
    assert replace_params("/u/{id}", convertors, empty) == ("/u/{id}", {})
    match = PARAM_REGEX.search("/u/{id:int}")
    assert match is not None
    assert match.groups() == ("id", ":int")
    assert PARAM_REGEX.fullmatch("{name}") is not None
    assert PARAM_FORMAT_REGEX.findall("/{a}/{b:int}/{c}") == ["a", "c"]


def test_host_url_path_for_with_unused_params_is_no_match() -> None:
    app = Router([Host("{sub}.example.org", app=raw, name="api")])
    assert app.url_path_for("api", sub="eu", path="/x").host == "eu.example.org"
    with pytest.raises(NoMatchFound):
        app.url_path_for("api", sub="eu", path="/x", extra=1)


# -- hosts ---------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("API.Example.ORG", "api"),
        ("api.example.org:8080", "api"),
        ("api.example.org:0000080", "api"),
        ("api.example.org:99999", "api"),
        ("api.example.org:123456789012", "api"),
        ("api.example.org:", "api"),
        ("Eu.example.org:65536", "eu"),
    ],
)
async def test_hosts_are_lower_cased_and_ports_ignored(header: str, expected: str) -> None:
    app = Router([Host("{sub}.example.org", app=Router([Route("/", params)]))])
    result = await run(app, "GET", "/", host=header)
    assert result.text == f'{{"sub":"{expected}"}}'


@pytest.mark.anyio
@pytest.mark.parametrize(
    "header",
    ["a:1:99999", "api.example.org::99999", "x@api.example.org:99999", "[::1]:x", "[::1"],
)
async def test_malformed_hosts_with_ports_match_nothing(header: str) -> None:
    app = Router([Host("{sub}.example.org", app=raw), Host("a", app=raw)])
    assert (await run(app, "GET", "/", host=header)).status == 404


@pytest.mark.anyio
@pytest.mark.parametrize("header", ["[v1.foo]", "[v1.foo]:80", "[V1.FOO]"])
async def test_ip_literals_match(header: str) -> None:
    app = Router([Host("[v1.foo]", app=raw), Host("[::1]", app=raw)])
    status = (await run(app, "GET", "/", host=header)).status
    # urlsplit refuses an upper-case "V", so such a header is malformed
    assert status == (404 if header.startswith("[V") else 200)
    assert (await run(app, "GET", "/", host="[::1]:99999")).status == 200
