"""Property tests: the compiled index answers exactly what an ordered scan answers.

The reference below is the plain algorithm: try every route in declaration order, the
first full match wins, else the first partial match (405), else a redirect to the
other slash form when it matches, else 404. Random route tables (static segments,
parameters with every convertor, ``re:`` parameters, mixed segments, ``path`` tails,
methods, mounts with nested tables, custom routes) meet random paths.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from asgi_driver import body_receive, call, make_scope
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from asgi_core.types import Receive, Scope, Send
from asgi_routing import BaseRoute, Match, Mount, Route, Router, WebSocketRoute
from asgi_routing.routing import _build_index

SEGMENTS = ["a", "b", "ab", "1", "2", "2.5", "x-y", "v1", "a.b", "", "c"]
PIECES = ["{N}", "{N:int}", "{N:float}", "{N:re:[ab]+}", "{N:re:[0-9]}", "v{N:int}", "{N}.{N}"]


class Label:
    """An ASGI endpoint reporting which route answered, for HTTP and WebSocket."""

    def __init__(self, label: str) -> None:
        self.label = label

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        params = {k: str(v) for k, v in scope.get("path_params", {}).items()}
        report = json.dumps([self.label, params, scope.get("root_path", "")])
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 4000, "reason": report})
            return
        await send({"type": "http.response.start", "status": 299, "headers": []})
        await send({"type": "http.response.body", "body": report.encode()})


class Prefix(BaseRoute):
    """A custom route the index must treat as a barrier."""

    def __init__(self, prefix: str, label: str) -> None:
        self.prefix = prefix
        self.app = Label(label)

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["path"].startswith(self.prefix):
            return Match.FULL, {}
        return Match.NONE, {}

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


@st.composite
def templates(draw: Any, allow_tail: bool = True) -> str:
    parts: list[str] = []
    for _ in range(draw(st.integers(0, 3))):
        if draw(st.booleans()):
            parts.append(draw(st.sampled_from(SEGMENTS)))
        else:
            parts.append(draw(st.sampled_from(PIECES)))
    if allow_tail and draw(st.integers(0, 4)) == 0:
        parts.append(draw(st.sampled_from(["{N:path}", "x{N:path}"])))
    template = "/" + "/".join(parts)
    counter = iter(range(100))
    while "{N" in template:
        template = template.replace("{N", "{p" + str(next(counter)), 1)
    return template


@st.composite
def tables(draw: Any, depth: int = 0) -> list[BaseRoute]:
    routes: list[BaseRoute] = []
    for number in range(draw(st.integers(0, 6))):
        label = f"{depth}.{number}"
        kind = draw(st.sampled_from(["route", "route", "route", "ws", "mount", "custom"]))
        if kind == "route":
            methods = draw(st.sampled_from([None, ["GET"], ["POST"], ["GET", "POST"]]))
            routes.append(Route(draw(templates()), Label(label), methods=methods))
        elif kind == "ws":
            routes.append(WebSocketRoute(draw(templates()), Label(label)))
        elif kind == "mount" and depth == 0:
            prefix = draw(templates(allow_tail=False)).rstrip("/")
            redirect_slash = draw(st.booleans())
            if draw(st.booleans()):
                inner = draw(tables(depth=1))
                routes.append(Mount(prefix, routes=inner, redirect_slash=redirect_slash))
            else:
                routes.append(Mount(prefix, app=Label(label), redirect_slash=redirect_slash))
        else:
            routes.append(Prefix("/" + draw(st.sampled_from(SEGMENTS)), label))
    return routes


@st.composite
def paths(draw: Any) -> str:
    segments = draw(st.lists(st.sampled_from(SEGMENTS), max_size=5))
    if not segments and draw(st.booleans()):
        return ""  # the bare root path (or "/" when there is no root_path)
    return "/" + "/".join(segments)


def route_path(scope: Scope) -> str:
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root):
        if path == root:
            return ""
        if path[len(root)] == "/":
            return path[len(root) :]
    return path


def reference(routes: list[BaseRoute], scope: Scope, redirect_slashes: bool) -> Any:
    """The ordered scan, written out plainly."""
    partials: list[Any] = []
    for route in routes:
        match, child = route.matches(scope)
        if match is Match.FULL:
            scope = {**scope, **child}
            if isinstance(route, Mount) and isinstance(route.app, Router):
                return reference(route.routes, scope, True)
            endpoint = getattr(route, "endpoint", None) or route.app  # type: ignore[attr-defined]
            params = {k: str(v) for k, v in scope.get("path_params", {}).items()}
            return ["label", endpoint.label, params, scope["root_path"]]
        if match is Match.PARTIAL:
            partials.append(route)
    if scope["type"] == "websocket":
        return ["close"]
    if partials:
        return ["405", ", ".join(sorted(set().union(*(route.methods for route in partials))))]
    current = route_path(scope)
    if current != "/":
        if current.endswith("/"):
            new_path = scope["path"].rstrip("/") if redirect_slashes else None
        else:
            new_path = scope["path"] + "/"
        if new_path is not None:
            redirect_scope = {**scope, "path": new_path}
            for route in routes:
                allowed = redirect_slashes or (isinstance(route, Mount) and route.redirect_slash)
                if allowed and route.matches(redirect_scope)[0] is not Match.NONE:
                    return ["redirect", "http://testserver" + new_path]
    return ["404"]


async def observe(app: Router, scope: Scope) -> Any:
    sent = await call(app, scope, body_receive())
    if scope["type"] == "websocket":
        if sent[0]["code"] == 4000:
            return ["label", *json.loads(sent[0]["reason"])]
        return ["close"]
    status = sent[0]["status"]
    headers = dict(sent[0]["headers"])
    if status == 299:
        return ["label", *json.loads(sent[1]["body"])]
    if status == 405:
        return ["405", headers[b"allow"].decode()]
    if status == 307:
        return ["redirect", headers[b"location"].decode()]
    assert status == 404
    return ["404"]


def scope_for(kind: str, method: str, path: str, root_path: str) -> Scope:
    return make_scope(
        method, (root_path + path) or "/", type=kind, root_path=root_path, host="testserver"
    )


@pytest.mark.anyio
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    routes=tables(),
    requests=st.lists(
        st.tuples(
            st.sampled_from(["http", "http", "websocket"]),
            st.sampled_from(["GET", "POST", "HEAD", "DELETE"]),
            paths(),
            st.sampled_from(["", "", "/root"]),
        ),
        min_size=1,
        max_size=8,
    ),
    redirect_slashes=st.booleans(),
)
async def test_router_agrees_with_the_ordered_scan(
    routes: list[BaseRoute], requests: list[tuple[str, str, str, str]], redirect_slashes: bool
) -> None:
    app = Router(routes, redirect_slashes=redirect_slashes)
    for kind, method, path, root_path in requests:
        expected = reference(routes, scope_for(kind, method, path, root_path), redirect_slashes)
        actual = await observe(app, scope_for(kind, method, path, root_path))
        assert actual == expected, (kind, method, path, root_path, routes)


@settings(max_examples=300, deadline=None)
@given(routes=tables(), path=paths(), kind=st.sampled_from(["http", "websocket"]))
def test_candidates_cover_every_match(routes: list[BaseRoute], path: str, kind: str) -> None:
    scope = scope_for(kind, "GET", path, "")
    candidates = _build_index(routes, kind).candidates(route_path(scope))
    assert list(candidates) == sorted(set(candidates))
    for position, route in enumerate(routes):
        if route.matches(scope)[0] is not Match.NONE:
            assert position in candidates, (position, route, path)
