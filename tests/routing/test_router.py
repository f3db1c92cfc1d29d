"""The Router over HTTP: dispatch, 404/405, redirect_slashes, mounts, hosts, reversal."""

from __future__ import annotations

import copy
import functools
import json
import pickle
from typing import Any

import pytest
from asgi_driver import make_scope, run, run_websocket

from asgi_core.exceptions import HTTPException
from asgi_core.requests import Request
from asgi_core.types import ASGIApp, Receive, Scope, Send
from asgi_responses import JSONResponse, PlainTextResponse, Response
from asgi_routing import (
    BaseRoute,
    Host,
    Match,
    Mount,
    NoMatchFound,
    Route,
    Router,
    WebSocketRoute,
    get_name,
)

pytestmark = pytest.mark.anyio


class Echo:
    """A plain ASGI endpoint that reports what routing put in the scope."""

    def __init__(self, label: str) -> None:
        self.label = label

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        payload = {
            "label": self.label,
            "params": {k: str(v) for k, v in scope.get("path_params", {}).items()},
            "path": scope["path"],
            "root_path": scope.get("root_path", ""),
            "app_root_path": scope.get("app_root_path"),
            "method": scope["method"],
        }
        await JSONResponse(payload)(scope, receive, send)


def homepage(request: Request) -> Response:
    return PlainTextResponse("home")


async def user(request: Request) -> Response:
    return JSONResponse({"id": request.path_params["id"]})


def body(result: Any) -> Any:
    return json.loads(result.body)


# -- dispatch ------------------------------------------------------------------------


async def test_function_endpoints() -> None:
    app = Router([Route("/", homepage), Route("/users/{id:int}", user)])
    result = await run(app, "GET", "/")
    assert (result.status, result.text) == (200, "home")
    result = await run(app, "GET", "/users/42")
    assert body(result) == {"id": 42}
    result = await run(app, "HEAD", "/users/42")
    assert result.status == 200
    assert result.scope["router"] is app
    assert result.scope["endpoint"] is user
    assert isinstance(result.scope["route"], Route)


async def test_partial_endpoint_is_a_function() -> None:
    def greet(request: Request, greeting: str) -> Response:
        return PlainTextResponse(greeting)

    app = Router([Route("/", functools.partial(greet, greeting="hi"), name="greet")])
    result = await run(app, "GET", "/")
    assert result.text == "hi"
    result = await run(app, "POST", "/")
    assert result.status == 405


async def test_method_not_allowed() -> None:
    app = Router([Route("/items", Echo("items"), methods=["get", "post"])])
    result = await run(app, "DELETE", "/items")
    assert result.status == 405
    assert result.text == "Method Not Allowed"
    assert result.headers["allow"] == "GET, HEAD, POST"
    with pytest.raises(HTTPException) as info:
        await run(app, "DELETE", "/items", app=object())
    assert info.value.status_code == 405
    assert info.value.headers == {"Allow": "GET, HEAD, POST"}


async def test_full_match_beats_an_earlier_partial() -> None:
    app = Router(
        [
            Route("/items", Echo("get"), methods=["GET"]),
            Route("/items", Echo("put"), methods=["PUT"]),
            Route("/items", Echo("post"), methods=["POST"]),
        ]
    )
    assert body(await run(app, "POST", "/items"))["label"] == "post"
    result = await run(app, "DELETE", "/items")
    # Allow lists every method some route of this path answers (Starlette: only the first).
    assert result.headers["allow"] == "GET, HEAD, POST, PUT"
    with pytest.raises(HTTPException) as info:
        await run(app, "DELETE", "/items", app=object())
    assert info.value.headers == {"Allow": "GET, HEAD, POST, PUT"}


class PartialRoute(BaseRoute):
    """A custom route that only ever matches partially, with its own answer."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        return Match.PARTIAL, {"endpoint": "partial"}

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        await PlainTextResponse("custom partial", status_code=418)(scope, receive, send)


async def test_a_custom_partial_route_answers_itself() -> None:
    app = Router([PartialRoute(), Route("/x", Echo("x"), methods=["POST"])])
    result = await run(app, "GET", "/x")
    assert (result.status, result.text) == (418, "custom partial")
    assert result.scope["endpoint"] == "partial"
    # A plain Route first: the 405 lists the methods of the Routes only.
    app = Router([Route("/x", Echo("x"), methods=["POST"]), PartialRoute()])
    result = await run(app, "GET", "/x")
    assert (result.status, result.headers["allow"]) == (405, "POST")


async def test_class_endpoint_accepts_any_method() -> None:
    app = Router([Route("/any", Echo("any")), Route("/empty", Echo("empty"), methods=[])])
    assert body(await run(app, "PATCH", "/any"))["method"] == "PATCH"
    assert body(await run(app, "FOO", "/empty"))["label"] == "empty"


async def test_not_found() -> None:
    app = Router([Route("/", homepage)])
    result = await run(app, "GET", "/missing")
    assert (result.status, result.text) == (404, "Not Found")
    with pytest.raises(HTTPException) as info:
        await run(app, "GET", "/missing", app=object())
    assert info.value.status_code == 404


async def test_custom_default() -> None:
    app = Router([], default=Echo("default"))
    assert body(await run(app, "GET", "/x"))["label"] == "default"


async def test_unknown_scope_type_is_refused() -> None:
    async def receive() -> Any:
        raise AssertionError("not reached")

    async def send(message: Any) -> None:
        raise AssertionError("not reached")

    with pytest.raises(RuntimeError, match="scope type 'telepathy'"):
        await Router([])({"type": "telepathy", "path": "/"}, receive, send)


async def test_convertor_refusals_are_not_found() -> None:
    app = Router([Route("/n/{n:int}", Echo("n")), Route("/s/{s:re:.+}", Echo("s"))])
    # Too many digits for int(): the route does not match, no server error.
    assert (await run(app, "GET", "/n/" + "9" * 5000)).status == 404
    assert body(await run(app, "GET", "/n/12"))["params"] == {"n": "12"}
    # A re: parameter never spans a '/'.
    assert (await run(app, "GET", "/s/a/b")).status == 404
    assert body(await run(app, "GET", "/s/ab"))["params"] == {"s": "ab"}


async def reprs(request: Request) -> Response:
    return JSONResponse({k: repr(v) for k, v in request.path_params.items()})


async def test_segment_parameters_match_as_the_regex_does() -> None:
    # Parameters filling whole segments (str, int) are matched from the segments the
    # index split, without the regex; a path that is also a static route's is matched
    # by the regex instead (the index answers it by exact lookup). Both agree.
    app = Router(
        [
            Route("/u/7/x", homepage, methods=["POST"]),
            Route("/u/{id:int}/{name}", reprs),
            Route("/u/{rest:path}", Echo("rest")),
            Mount("/m/{org}", routes=[Route("/u/{id:int}", reprs)]),
        ]
    )
    assert body(await run(app, "GET", "/u/42/ann")) == {"id": "42", "name": "'ann'"}
    assert body(await run(app, "GET", "/u/7/x")) == {"id": "7", "name": "'x'"}
    assert body(await run(app, "GET", "/u/007/a b"))["name"] == "'a b'"
    # Not ASCII digits, or an empty segment: the next route answers.
    for path in ["/u/\u0664\u0662/a", "/u/+1/a", "/u/1_0/a", "/u/ 1/a", "/u//a", "/u/1/", "/u/x/a"]:
        assert body(await run(app, "GET", path))["label"] == "rest", path
    assert body(await run(app, "GET", "/u/" + "9" * 5000 + "/a"))["label"] == "rest"
    # The mount's parameters come first, as the regex path merges them.
    assert body(await run(app, "GET", "/m/acme/u/5")) == {"org": "'acme'", "id": "5"}
    assert (await run(app, "GET", "/m/acme/u/x")).status == 404


async def test_the_routing_table_copies_and_pickles() -> None:
    router = Router([Route("/a", Echo("a"))])
    router.routes.append(Route("/b", Echo("b")))
    assert body(await run(router, "GET", "/b"))["label"] == "b"
    tables = [copy.copy(router.routes), copy.deepcopy(router.routes)]
    tables += [pickle.loads(pickle.dumps(router.routes, protocol)) for protocol in range(6)]
    for table in tables:
        assert type(table) is type(router.routes)
        assert [route.path for route in table] == ["/a", "/b"]
    # A copied router still notices a change of its table.
    clone = copy.deepcopy(router)
    clone.routes.append(Route("/c", Echo("c")))
    assert body(await run(clone, "GET", "/c"))["label"] == "c"
    assert (await run(router, "GET", "/c")).status == 404


class Tag:
    """A middleware that adds a response header."""

    def __init__(self, app: ASGIApp, name: str) -> None:
        self.app = app
        self.name = name

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def tagged(message: Any) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [(b"x-tag", self.name.encode()), *message["headers"]]
            await send(message)

        await self.app(scope, receive, tagged)


class MiddlewareSpec:
    """Unpacks into (cls, args, kwargs) like asgi_middleware.Middleware."""

    def __init__(self, cls: Any, *args: Any, **kwargs: Any) -> None:
        self.items = (cls, args, kwargs)

    def __iter__(self) -> Any:
        return iter(self.items)


async def test_route_and_router_middleware() -> None:
    app = Router(
        [
            Route("/a", Echo("a"), middleware=[MiddlewareSpec(Tag, "route")]),
            Mount("/m", app=Echo("m"), middleware=[MiddlewareSpec(Tag, name="mount")]),
            Route("/b", Echo("b")),
        ],
        middleware=[MiddlewareSpec(Tag, "router")],
    )
    assert (await run(app, "GET", "/a")).headers["x-tag"] == "route"
    assert (await run(app, "GET", "/m/x")).headers["x-tag"] == "mount"
    assert (await run(app, "GET", "/b")).headers["x-tag"] == "router"
    # The router's middleware wraps its 404 too.
    assert (await run(app, "GET", "/zzz")).headers["x-tag"] == "router"


async def test_existing_router_in_scope_is_kept() -> None:
    inner = Router([Route("/x", Echo("x"))])
    outer = Router([Mount("/in", app=inner)])
    result = await run(outer, "GET", "/in/x")
    assert result.scope["router"] is outer


# -- redirect_slashes ----------------------------------------------------------------


async def test_redirect_slashes() -> None:
    app = Router([Route("/a", Echo("a")), Route("/b/", Echo("b")), Route("/", Echo("root"))])
    result = await run(app, "GET", "/a/", query_string=b"x=1")
    assert result.status == 307
    assert result.headers["location"] == "http://testserver/a?x=1"
    result = await run(app, "POST", "/b")
    assert result.headers["location"] == "http://testserver/b/"
    assert (await run(app, "GET", "/c/")).status == 404
    assert (await run(app, "GET", "/a//")).headers["location"] == "http://testserver/a"


async def test_redirect_slashes_disabled() -> None:
    app = Router([Route("/a", Echo("a")), Route("/b/", Echo("b"))], redirect_slashes=False)
    assert (await run(app, "GET", "/a/")).status == 404
    assert (await run(app, "GET", "/b")).status == 404


async def test_relative_redirects() -> None:
    app = Router(
        [Route("/a b", Echo("a")), Route("/q/", Echo("q"))],
        relative_redirects=True,
    )
    result = await run(app, "GET", "/a b/", query_string=b"x=1&y=2")
    assert result.headers["location"] == "/a%20b?x=1&y=2"
    assert (await run(app, "GET", "/q")).headers["location"] == "/q/"
    # A path that would read as "//host" stays absolute: no open redirect.
    app = Router([Route("//evil.example", Echo("e"))], relative_redirects=True)
    result = await run(app, "GET", "//evil.example/")
    assert result.headers["location"] == "http://testserver//evil.example"


async def test_redirect_keeps_root_path() -> None:
    app = Router([Route("/a", Echo("a")), Route("/", Echo("root"))])
    result = await run(app, "GET", "/app/a/", root_path="/app")
    assert result.headers["location"] == "http://testserver/app/a"
    # The bare root path goes to the app's "/".
    result = await run(app, "GET", "/app", root_path="/app")
    assert result.headers["location"] == "http://testserver/app/"
    assert body(await run(app, "GET", "/app/", root_path="/app"))["label"] == "root"


async def test_redirect_to_a_partial_match() -> None:
    app = Router([Route("/a", Echo("a"), methods=["POST"])])
    assert (await run(app, "GET", "/a/")).status == 307


# -- mounts --------------------------------------------------------------------------


async def test_mount_scope() -> None:
    inner = Router([Route("/", Echo("index")), Route("/u/{id:int}", Echo("user"))])
    app = Router([Mount("/{lang}/sub", app=inner)])
    result = body(await run(app, "GET", "/en/sub/u/3"))
    assert result == {
        "label": "user",
        "params": {"lang": "en", "id": "3"},
        "path": "/en/sub/u/3",
        "root_path": "/en/sub",
        "app_root_path": "",
        "method": "GET",
    }
    result = body(await run(app, "GET", "/api/en/sub/", root_path="/api"))
    assert result["root_path"] == "/api/en/sub"
    assert result["app_root_path"] == "/api"
    assert result["label"] == "index"


async def test_mount_routes_and_bare_prefix() -> None:
    app = Router([Mount("/sub", routes=[Route("/", Echo("index"))])])
    result = await run(app, "GET", "/sub")
    assert result.headers["location"] == "http://testserver/sub/"


async def test_mount_redirect_slash_without_router_redirects() -> None:
    app = Router(
        [
            Route("/page", Echo("page")),
            Mount("/on", app=Echo("on")),
            Mount("/off", app=Echo("off"), redirect_slash=False),
        ],
        redirect_slashes=False,
    )
    result = await run(app, "GET", "/on")
    assert (result.status, result.headers["location"]) == (307, "http://testserver/on/")
    assert (await run(app, "GET", "/off")).status == 404
    assert (await run(app, "GET", "/page/")).status == 404
    assert (await run(app, "GET", "/on/")).status == 200


async def test_a_later_route_wins_over_the_mount_prefix() -> None:
    app = Router([Mount("/x", app=Echo("mount")), Route("/x", Echo("route"))])
    assert body(await run(app, "GET", "/x"))["label"] == "route"
    assert body(await run(app, "GET", "/x/"))["label"] == "mount"


async def test_root_mount() -> None:
    app = Router([Route("/a", Echo("a")), Mount("", app=Echo("fallback"))])
    assert body(await run(app, "GET", "/a"))["label"] == "a"
    result = body(await run(app, "GET", "/b/c"))
    assert (result["label"], result["root_path"]) == ("fallback", "")


def test_mount_validation() -> None:
    with pytest.raises(ValueError, match="must start with '/'"):
        Mount("x", app=Echo("x"))
    with pytest.raises(ValueError, match="needs an 'app'"):
        Mount("/x")
    mount = Mount("/x/", app=Echo("x"), name="x")
    assert mount.path == "/x"
    assert mount.routes == []
    assert repr(mount).startswith("Mount(path='/x', name='x', app=")


# -- hosts ---------------------------------------------------------------------------


async def test_host_routing() -> None:
    api = Router([Route("/users", Echo("api-users"))])
    app = Router(
        [
            Host("{sub}.example.org", app=api, name="api"),
            Host("[::1]", app=Echo("v6")),
            Route("/users", Echo("plain")),
        ]
    )
    result = body(await run(app, "GET", "/users", host="eu.example.org:8443"))
    assert result["label"] == "api-users"
    assert result["params"] == {"sub": "eu"}
    assert body(await run(app, "GET", "/x", host="[::1]:8000"))["label"] == "v6"
    assert body(await run(app, "GET", "/users", host="other"))["label"] == "plain"
    assert body(await run(app, "GET", "/users", host=None))["label"] == "plain"
    assert (await run(app, "GET", "/users", host="[bad")).status == 200


@pytest.mark.parametrize(
    "host",
    [
        "evil.com?x.example.org",
        "x@a.example.org",
        "a b.example.org",
        "evil.com/x.example.org",
        "[::1",
        "[zz]",
    ],
)
async def test_host_routing_never_matches_a_malformed_host(host: str) -> None:
    app = Router(
        [
            Host("{sub}.example.org", app=Router([Route("/", Echo("api"))])),
            Host("{anything}", app=Router([Route("/", Echo("any"))])),
            Host("[::1]", app=Echo("v6")),
        ]
    )
    assert body(await run(app, "GET", "/", host="a.example.org:80"))["label"] == "api"
    assert (await run(app, "GET", "/", host=host)).status == 404


def test_host_validation() -> None:
    with pytest.raises(ValueError, match="must not start with '/'"):
        Host("/x", app=Echo("x"))
    host = Host("example.org", app=Echo("x"))
    assert host.routes == []
    assert repr(host).startswith("Host(host='example.org', name=None, app=")


# -- URL reversal --------------------------------------------------------------------


def websocket_endpoint(websocket: Any) -> None:
    raise AssertionError("not called")


def test_url_path_for() -> None:
    users = Router(
        [
            Route("/", homepage, name="list"),
            Route("/{id:int}", user, name="detail"),
            WebSocketRoute("/{id:int}/ws", websocket_endpoint, name="live"),
        ]
    )
    app = Router(
        [
            Route("/", homepage),
            Mount("/{lang}/users", app=users, name="users"),
            Mount("/static", app=Echo("static"), name="static"),
            Mount("/anon", routes=[Route("/x", homepage, name="anon-x")]),
            Host("{sub}.example.org", app=users, name="api"),
        ]
    )
    assert app.url_path_for("homepage") == "/"
    assert app.url_path_for("homepage").protocol == "http"
    assert app.url_path_for("users:detail", lang="en", id=3) == "/en/users/3"
    assert app.url_path_for("users:list", lang="en") == "/en/users/"
    live = app.url_path_for("users:live", lang="fr", id=1)
    assert (live, live.protocol) == ("/fr/users/1/ws", "websocket")
    assert app.url_path_for("static", path="/css/a.css") == "/static/css/a.css"
    assert app.url_path_for("anon-x") == "/anon/x"
    api = app.url_path_for("api:detail", sub="eu", id=5)
    assert (api, api.host, api.protocol) == ("/5", "eu.example.org", "http")
    whole = app.url_path_for("api", sub="eu", path="/any")
    assert (whole, whole.host) == ("/any", "eu.example.org")


def test_url_path_for_failures() -> None:
    users = Router([Route("/{id:int}", user, name="detail")])
    app = Router(
        [
            Mount("/{lang}/users", app=users, name="users"),
            Mount("/static", app=Echo("static"), name="static"),
            Host("{sub}.example.org", app=users, name="api"),
        ]
    )
    with pytest.raises(NoMatchFound, match='No route exists for name "nope" and params "a, b"'):
        app.url_path_for("nope", a=1, b=2)
    # A mount (or host) parameter left out stays a placeholder, as in Starlette.
    assert app.url_path_for("users:detail", id=3) == "/{lang}/users/3"
    assert app.url_path_for("users", path="/a") == "/{lang}/users/a"
    with pytest.raises(NoMatchFound):
        app.url_path_for("users:detail", lang="en")
    with pytest.raises(NoMatchFound):
        app.url_path_for("users:detail", lang="en", id=3, extra=1)
    with pytest.raises(NoMatchFound):
        app.url_path_for("static", path="/x", extra=1)
    with pytest.raises(NoMatchFound):
        app.url_path_for("static")
    assert app.url_path_for("api", path="/x").host == "{sub}.example.org"
    assert app.url_path_for("api:detail", id=3).host == "{sub}.example.org"
    with pytest.raises(NoMatchFound):
        app.url_path_for("api:nope", sub="eu")
    with pytest.raises(ValueError, match="must not be negative"):
        app.url_path_for("users:detail", lang="en", id=-1)


async def test_request_url_for() -> None:
    async def links(request: Request) -> Response:
        return JSONResponse(
            {
                "user": str(request.url_for("users:detail", id=7)),
                "home": str(request.url_for("home")),
            }
        )

    users = Router([Route("/{id:int}", user, name="detail"), Route("/links", links)])
    app = Router([Route("/", homepage, name="home"), Mount("/users", app=users, name="users")])
    result = await run(app, "GET", "/api/users/links", root_path="/api")
    assert body(result) == {
        "user": "http://testserver/api/users/7",
        "home": "http://testserver/api/",
    }


# -- custom routes and the table changing --------------------------------------------


class PrefixRoute(BaseRoute):
    """A custom route class the index cannot look into."""

    def __init__(self, prefix: str, app: ASGIApp) -> None:
        self.prefix = prefix
        self.app = app

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] == "http" and scope["path"].startswith(self.prefix):
            return Match.FULL, {"endpoint": self.app}
        return Match.NONE, {}

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


class LoudRoute(Route):
    """A Route subclass with its own matching rule: it also answers upper-case paths."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        return super().matches({**scope, "path": scope["path"].lower()})


async def test_custom_routes_are_scanned_in_order() -> None:
    app = Router(
        [
            Route("/a/x", Echo("first")),
            PrefixRoute("/a", Echo("custom")),
            Route("/a/y", Echo("shadowed")),
            LoudRoute("/loud", Echo("loud")),
        ]
    )
    assert body(await run(app, "GET", "/a/x"))["label"] == "first"
    assert body(await run(app, "GET", "/a/y"))["label"] == "custom"
    assert body(await run(app, "GET", "/LOUD"))["label"] == "loud"


class LoudSocket(WebSocketRoute):
    """A WebSocketRoute subclass with its own matching rule (upper-case paths too)."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        return super().matches({**scope, "path": scope["path"].lower()})


class LoudMount(Mount):
    """A Mount subclass with its own matching rule (upper-case prefixes too)."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        return super().matches({**scope, "path": scope["path"].lower()})


async def test_subclasses_with_their_own_matching_are_always_asked() -> None:
    async def accept(websocket: Any) -> None:
        await websocket.accept()
        await websocket.close()

    app = Router([LoudSocket("/ws", accept), LoudMount("/m", app=Echo("mount"))])
    assert (await run_websocket(app, "/WS"))[0]["type"] == "websocket.accept"
    assert body(await run(app, "GET", "/M/x"))["label"] == "mount"
    assert (await run(app, "GET", "/ws")).status == 404


async def test_route_as_a_standalone_app() -> None:
    route = Route("/x/{n:int}", Echo("x"))
    assert body(await run(route, "GET", "/x/1"))["params"] == {"n": "1"}
    only_post = Route("/p", Echo("p"), methods=["POST"])
    result = await run(only_post, "GET", "/p")
    assert (result.status, result.headers["allow"]) == (405, "POST")
    assert (await run(route, "GET", "/y")).status == 404
    messages = await run_websocket(route, "/x/1")
    assert messages == [{"type": "websocket.close", "code": 1000, "reason": ""}]

    async def never(message: Any) -> None:
        raise AssertionError("nothing is sent")

    await route({"type": "lifespan"}, never, never)  # ignored


async def test_base_route_is_abstract() -> None:
    route = BaseRoute()
    with pytest.raises(NotImplementedError):
        route.matches({})
    with pytest.raises(NotImplementedError):
        route.url_path_for("x")
    with pytest.raises(NotImplementedError):
        await route.handle({}, None, None)  # type: ignore[arg-type]


MUTATIONS: list[tuple[str, Any]] = [
    ("append", lambda routes, new: routes.append(new)),
    ("extend", lambda routes, new: routes.extend([new])),
    ("insert", lambda routes, new: routes.insert(0, new)),
    ("setitem", lambda routes, new: routes.__setitem__(0, new)),
    ("iadd", lambda routes, new: routes.__iadd__([new])),
]


@pytest.mark.parametrize(("label", "mutate"), MUTATIONS)
async def test_adding_routes_reindexes(label: str, mutate: Any) -> None:
    app = Router([Route("/old", Echo("old"))])
    assert (await run(app, "GET", "/new")).status == 404
    mutate(app.routes, Route("/new", Echo("new")))
    assert body(await run(app, "GET", "/new"))["label"] == "new"


REMOVALS: list[tuple[str, Any]] = [
    ("remove", lambda routes: routes.remove(routes[0])),
    ("pop", lambda routes: routes.pop(0)),
    ("delitem", lambda routes: routes.__delitem__(0)),
    ("clear", lambda routes: routes.clear()),
    ("imul", lambda routes: routes.__imul__(0)),
]


@pytest.mark.parametrize(("label", "mutate"), REMOVALS)
async def test_removing_routes_reindexes(label: str, mutate: Any) -> None:
    app = Router([Route("/old", Echo("old"))])
    assert (await run(app, "GET", "/old")).status == 200
    mutate(app.routes)
    assert (await run(app, "GET", "/old")).status == 404


async def test_reordering_and_replacing_routes_reindexes() -> None:
    app = Router([Route("/p", Echo("b"), name="b"), Route("/p", Echo("a"), name="a")])
    assert body(await run(app, "GET", "/p"))["label"] == "b"
    app.routes.sort(key=lambda route: getattr(route, "name", ""))
    assert body(await run(app, "GET", "/p"))["label"] == "a"
    app.routes.reverse()
    assert body(await run(app, "GET", "/p"))["label"] == "b"
    app.routes = [Route("/q", Echo("q"))]
    assert (await run(app, "GET", "/p")).status == 404
    assert body(await run(app, "GET", "/q"))["label"] == "q"


async def test_router_helpers() -> None:
    app = Router()
    app.add_route("/a", homepage, methods=["POST"], name="a", include_in_schema=False)
    app.add_websocket_route("/ws", websocket_endpoint, name="ws")
    app.mount("/m", Echo("mounted"), name="m")
    app.host("api.example.org", Echo("api"), name="api")
    assert (await run(app, "POST", "/a")).text == "home"
    assert body(await run(app, "GET", "/m/x"))["label"] == "mounted"
    assert body(await run(app, "GET", "/z", host="api.example.org"))["label"] == "api"
    assert app.url_path_for("ws") == "/ws"
    assert [type(route).__name__ for route in app.routes] == [
        "Route",
        "WebSocketRoute",
        "Mount",
        "Host",
    ]
    # Routes added to a mounted router are seen through the mount.
    inner = Router()
    app.mount("/inner", inner)
    inner.add_route("/late", homepage)
    assert (await run(app, "GET", "/inner/late")).text == "home"


# -- misc ----------------------------------------------------------------------------


def test_route_validation_and_repr() -> None:
    with pytest.raises(ValueError, match="must start with '/'"):
        Route("x", homepage)
    with pytest.raises(ValueError, match="must start with '/'"):
        WebSocketRoute("x", websocket_endpoint)
    route = Route("/a", homepage, methods=["post", "GET"])
    assert route.methods == {"GET", "HEAD", "POST"}
    assert repr(route) == "Route(path='/a', name='homepage', methods=['GET', 'HEAD', 'POST'])"
    assert repr(Route("/b", Echo("b"), name="b")) == "Route(path='/b', name='b', methods=[])"
    assert repr(WebSocketRoute("/w", websocket_endpoint)) == (
        "WebSocketRoute(path='/w', name='websocket_endpoint')"
    )
    assert route.path_format == "/a"
    assert route.param_convertors == {}


def test_get_name() -> None:
    assert get_name(homepage) == "homepage"
    assert get_name(Echo("x")) == "Echo"
    assert get_name(Echo) == "Echo"


def test_matches_directly() -> None:
    # What the index never asks, an ordered scan (or a route used on its own) does.
    route = Route("/x", Echo("x"))
    assert route.matches(make_scope("GET", "/y"))[0] is Match.NONE
    assert route.matches(make_scope("GET", "/x", type="websocket"))[0] is Match.NONE
    regex_route = Route("/s/{s:re:.+}", Echo("s"))
    assert regex_route.matches(make_scope("GET", "/s/a/b"))[0] is Match.NONE
    assert regex_route.matches(make_scope("GET", "/s/ab"))[0] is Match.FULL
    ws = WebSocketRoute("/ws/{n:int}", websocket_endpoint)
    assert ws.matches(make_scope("GET", "/ws/1"))[0] is Match.NONE
    assert ws.matches(make_scope("GET", "/ws/x", type="websocket"))[0] is Match.NONE
    match, child = ws.matches(make_scope("GET", "/ws/1", type="websocket", path_params={"a": 1}))
    assert (match, child["path_params"]) == (Match.FULL, {"a": 1, "n": 1})
    assert (
        Mount("/m", app=Echo("m")).matches(make_scope("GET", "/m/", type="lifespan"))[0]
        is Match.NONE
    )
    host = Host("example.org", app=Echo("h"))
    assert host.matches(make_scope("GET", "/", type="lifespan"))[0] is Match.NONE
    headers = [(b"accept", b"*/*"), (b"host", b"example.org")]
    assert host.matches(make_scope("GET", "/", headers=headers))[0] is Match.FULL


def test_the_routers_shortcut_leaves_what_it_does_not_fully_match() -> None:
    # Route._fast_match (package-internal) is matches + handle in one step: on anything
    # short of a full match it answers None and leaves the scope alone. The index never
    # offers a static route for another path, so only a direct call shows that case.
    static, dynamic = Route("/a", homepage), Route("/u/{id:int}", user)
    for route, path in [(static, "/b"), (dynamic, "/u/x"), (static, "/a")]:
        scope = make_scope("POST", path)
        before = dict(scope)
        assert route._fast_match(path, None, scope) is None
        assert scope == before
    scope = make_scope("GET", "/u/7", path_params={"outer": 1})
    assert dynamic._fast_match("/u/7", None, scope) is dynamic.app
    assert (scope["path_params"], scope["route"]) == ({"outer": 1, "id": 7}, dynamic)


def test_websocket_url_path_for_mismatch() -> None:
    ws = WebSocketRoute("/ws/{n:int}", websocket_endpoint, name="ws")
    assert ws.url_path_for("ws", n=2) == "/ws/2"
    with pytest.raises(NoMatchFound):
        ws.url_path_for("ws")
    with pytest.raises(NoMatchFound):
        ws.url_path_for("other", n=2)


async def test_root_path_that_is_not_a_segment_prefix() -> None:
    app = Router([Route("/apple", Echo("apple"))])
    # "/apple" does not live under root_path "/app": it is routed as it is.
    assert body(await run(app, "GET", "/apple", root_path="/app"))["label"] == "apple"


async def test_redirect_candidates_that_do_not_match() -> None:
    app = Router([PrefixRoute("/zzz", Echo("z")), Route("/b", Echo("b"))])
    assert (await run(app, "GET", "/a")).status == 404


async def test_router_app_can_be_awaited_directly() -> None:
    # Router.app is public (Starlette's): it routes without the router's middleware.
    async def hello(request: Request) -> PlainTextResponse:
        return PlainTextResponse("hello")

    router = Router([Route("/", hello)])
    result = await run(router.app)
    assert (result.status, result.text) == (200, "hello")
    assert (await run(router.app, path="/missing")).status == 404


async def test_a_router_subclass_overriding_app_is_used() -> None:
    seen: list[str] = []

    class LoggingRouter(Router):
        async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
            seen.append(scope["path"])
            await super().app(scope, receive, send)

    async def hello(request: Request) -> PlainTextResponse:
        return PlainTextResponse("hello")

    router = LoggingRouter([Route("/", hello)])
    assert (await run(router)).text == "hello"
    assert seen == ["/"]
