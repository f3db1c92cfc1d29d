"""OpenAPI schemas from endpoint docstrings (YAML), served as a YAML response.

Needs PyYAML: ``pip install "asgi-routing[schemas]"``. Without it,
:class:`SchemaGenerator` raises ``ImportError`` naming the extra when it is created
(at import time of the module that builds it), never on the first schema request.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from asgi_core.requests import Request
from asgi_responses import Response
from asgi_routing.routing import BaseRoute, Host, Mount, Route

__all__ = ["BaseSchemaGenerator", "EndpointInfo", "OpenAPIResponse", "SchemaGenerator"]

_CLASS_METHODS = ("get", "post", "put", "patch", "delete", "options", "query")


def _yaml() -> Any:
    try:
        import yaml
    except ImportError:
        raise ImportError(
            'OpenAPI schemas need PyYAML: pip install "asgi-routing[schemas]"'
        ) from None
    return yaml


def _openapi_version(value: Any) -> tuple[int, int]:
    """``(major, minor)`` of an ``openapi`` field such as ``"3.1.0"`` (``(0, 0)`` if none)."""
    found = re.match(r"(\d+)\.(\d+)", str(value or ""))
    return (0, 0) if found is None else (int(found.group(1)), int(found.group(2)))


class OpenAPIResponse(Response):
    """A schema (a dict) rendered as YAML, ``application/vnd.oai.openapi``."""

    media_type = "application/vnd.oai.openapi"

    def render(self, content: Any) -> bytes:
        if not isinstance(content, dict):
            raise TypeError("OpenAPIResponse content must be a dict (an OpenAPI schema).")
        text: str = _yaml().dump(content, default_flow_style=False, allow_unicode=True)
        return text.encode("utf-8")


class EndpointInfo(NamedTuple):
    """One documented operation: its path, lowercase HTTP method and handler."""

    path: str
    http_method: str
    func: Callable[..., Any]


class BaseSchemaGenerator:
    """Collect endpoints from a routing table and parse their docstrings."""

    def get_schema(self, routes: Sequence[BaseRoute]) -> dict[str, Any]:
        """The schema for ``routes``."""
        raise NotImplementedError()

    def get_endpoints(self, routes: Sequence[BaseRoute]) -> list[EndpointInfo]:
        """Every operation in ``routes``, through Mounts and Hosts.

        Function endpoints give one entry per method (``HEAD`` left out); class
        endpoints one per ``get``/``post``/``put``/``patch``/``delete``/``options``/
        ``query`` method they define. Convertor syntax is removed: ``{id:int}`` reads ``{id}``.
        """
        found: list[EndpointInfo] = []
        for route in routes:
            if isinstance(route, Mount | Host):
                prefix = route.path_format[: -len("/{path}")] if isinstance(route, Mount) else ""
                for info in self.get_endpoints(route.routes):
                    found.append(EndpointInfo(prefix + info.path, info.http_method, info.func))
            elif not isinstance(route, Route) or not route.include_in_schema:
                continue
            elif inspect.isfunction(route.endpoint) or inspect.ismethod(route.endpoint):
                for method in sorted(route.methods or {"GET"}):
                    if method != "HEAD":
                        found.append(
                            EndpointInfo(route.path_format, method.lower(), route.endpoint)
                        )
            else:
                for method in _CLASS_METHODS:
                    handler = getattr(route.endpoint, method, None)
                    if handler is not None:
                        found.append(EndpointInfo(route.path_format, method, handler))
        return found

    def parse_docstring(self, func_or_method: Callable[..., Any]) -> dict[str, Any]:
        """The docstring as YAML: the part after the first ``---`` line, if there is one.

        Returns ``{}`` when there is no docstring or it is not a YAML mapping.
        """
        docstring = inspect.getdoc(func_or_method)
        if not docstring:
            return {}
        lines = docstring.splitlines()
        for number, line in enumerate(lines):
            if line.strip() == "---":
                lines = lines[number + 1 :]
                break
        yaml = _yaml()
        try:
            parsed = yaml.safe_load("\n".join(lines))
        except yaml.YAMLError:
            return {}
        return parsed if isinstance(parsed, dict) else {}

    def OpenAPIResponse(self, request: Request) -> Response:
        """Respond with the schema of the routes of the app (or router) serving ``request``."""
        owner = request.scope.get("app") or request.scope["router"]
        return OpenAPIResponse(self.get_schema(routes=owner.routes))


class SchemaGenerator(BaseSchemaGenerator):
    """Build an OpenAPI document: ``base_schema`` plus ``paths`` from docstrings.

    ``query`` operations (the ``QUERY`` method) exist from OpenAPI 3.2 on: they are left
    out unless ``base_schema["openapi"]`` is ``"3.2"`` or later.
    """

    def __init__(self, base_schema: dict[str, Any]) -> None:
        _yaml()  # a missing extra fails here, where the app is built, not per request
        self.base_schema = base_schema

    def get_schema(self, routes: Sequence[BaseRoute]) -> dict[str, Any]:
        schema = dict(self.base_schema)
        paths: dict[str, dict[str, Any]] = {
            path: dict(operations) for path, operations in schema.get("paths", {}).items()
        }
        supports_query = _openapi_version(schema.get("openapi")) >= (3, 2)
        for endpoint in self.get_endpoints(routes):
            if endpoint.http_method == "query" and not supports_query:
                continue
            parsed = self.parse_docstring(endpoint.func)
            if parsed:
                paths.setdefault(endpoint.path, {})[endpoint.http_method] = parsed
        schema["paths"] = paths
        return schema
