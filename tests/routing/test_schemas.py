"""OpenAPI schema generation from docstrings."""

from __future__ import annotations

import sys
from typing import Any

import pytest
import yaml
from asgi_driver import run

from asgi_core.requests import Request
from asgi_responses import PlainTextResponse, Response
from asgi_routing import Host, Mount, Route, Router, WebSocketRoute
from asgi_routing.endpoints import HTTPEndpoint
from asgi_routing.schemas import (
    BaseSchemaGenerator,
    EndpointInfo,
    OpenAPIResponse,
    SchemaGenerator,
)

schemas = SchemaGenerator({"openapi": "3.0.0", "info": {"title": "API", "version": "1.0"}})


def list_users(request: Request) -> Response:
    """
    responses:
      200:
        description: A list of users.
    """
    return PlainTextResponse("")


def create_user(request: Request) -> Response:
    """Create a user.

    This prose is not YAML: only what follows the marker is.
    ---
    responses:
      201:
        description: Created.
    """
    return PlainTextResponse("")


def undocumented(request: Request) -> Response:
    return PlainTextResponse("")


def prose_only(request: Request) -> Response:
    """Just a sentence."""
    return PlainTextResponse("")


def broken_yaml(request: Request) -> Response:
    """
    key: [unclosed
    """
    return PlainTextResponse("")


class Orgs(HTTPEndpoint):
    def get(self, request: Request) -> Response:
        """
        responses:
          200:
            description: Orgs.
        """
        return PlainTextResponse("")

    def post(self, request: Request) -> Response:
        return PlainTextResponse("")


def schema_view(request: Request) -> Response:
    return schemas.OpenAPIResponse(request=request)


async def ws(websocket: Any) -> None:
    raise AssertionError("not called")


ROUTES = [
    Route("/users", list_users, methods=["GET", "HEAD"]),
    Route("/users", create_user, methods=["POST"]),
    Route("/users/{id:int}", undocumented),
    Route("/prose", prose_only),
    Route("/broken", broken_yaml),
    Route("/orgs/{slug:re:[a-z]+}", Orgs),
    Route("/schema", schema_view, include_in_schema=False),
    WebSocketRoute("/ws", ws),
    Mount("/v2/{lang}", routes=[Route("/users", list_users)]),
    Mount("/static", app=PlainTextResponse("static")),
    Host("api.example.org", app=Router([Route("/hosted", list_users)])),
]


def test_get_endpoints() -> None:
    endpoints = schemas.get_endpoints(ROUTES)
    assert [(e.path, e.http_method) for e in endpoints] == [
        ("/users", "get"),
        ("/users", "post"),
        ("/users/{id}", "get"),
        ("/prose", "get"),
        ("/broken", "get"),
        ("/orgs/{slug}", "get"),
        ("/orgs/{slug}", "post"),
        ("/v2/{lang}/users", "get"),
        ("/hosted", "get"),
    ]
    assert endpoints[0] == EndpointInfo("/users", "get", list_users)


def test_get_schema() -> None:
    schema = schemas.get_schema(ROUTES)
    ok = {"responses": {200: {"description": "A list of users."}}}
    assert schema == {
        "openapi": "3.0.0",
        "info": {"title": "API", "version": "1.0"},
        "paths": {
            "/users": {"get": ok, "post": {"responses": {201: {"description": "Created."}}}},
            "/orgs/{slug}": {"get": {"responses": {200: {"description": "Orgs."}}}},
            "/v2/{lang}/users": {"get": ok},
            "/hosted": {"get": ok},
        },
    }
    # The base schema is not modified, and existing paths are kept.
    assert "paths" not in schemas.base_schema
    base = SchemaGenerator({"paths": {"/users": {"delete": {"x": 1}}}})
    merged = base.get_schema([ROUTES[0]])
    assert merged["paths"] == {"/users": {"delete": {"x": 1}, "get": ok}}
    assert base.base_schema == {"paths": {"/users": {"delete": {"x": 1}}}}


@pytest.mark.anyio
async def test_openapi_response() -> None:
    app = Router(ROUTES)
    result = await run(app, "GET", "/schema")
    assert result.status == 200
    assert result.headers["content-type"] == "application/vnd.oai.openapi"
    document = yaml.safe_load(result.body)
    assert document["info"]["title"] == "API"
    assert "/users" in document["paths"]
    # Inside an application, the app's routes are documented.
    owner = Router([Route("/only", list_users), Route("/schema", schema_view)])
    result = await run(owner, "GET", "/schema", app=owner)
    assert list(yaml.safe_load(result.body)["paths"]) == ["/only"]


def test_openapi_response_needs_a_dict() -> None:
    with pytest.raises(TypeError, match="must be a dict"):
        OpenAPIResponse(["not", "a", "schema"])


def test_missing_pyyaml_is_explained(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "yaml", None)
    # At construction, where the app is built: never on the first schema request.
    with pytest.raises(ImportError, match=r'pip install "asgi-routing\[schemas\]"'):
        SchemaGenerator({"openapi": "3.0.0", "info": {"title": "API", "version": "1"}})
    with pytest.raises(ImportError, match=r'pip install "asgi-routing\[schemas\]"'):
        OpenAPIResponse({"openapi": "3.0.0"})
    with pytest.raises(ImportError, match="PyYAML"):
        schemas.parse_docstring(list_users)


def test_base_generator_is_abstract() -> None:
    with pytest.raises(NotImplementedError):
        BaseSchemaGenerator().get_schema([])
