"""AuthenticationMiddleware and @requires, on HTTP and WebSocket, every endpoint kind."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from asgi_driver import run_websocket, websocket_scope

from asgi_core.concurrency import run_in_threadpool
from asgi_core.datastructures import URLPath
from asgi_core.requests import HTTPConnection, Request
from asgi_core.types import ASGIApp, Receive, Scope, Send
from asgi_core.websockets import WebSocket
from asgi_middleware.authentication import (
    AuthCredentials,
    AuthenticationBackend,
    AuthenticationError,
    AuthenticationMiddleware,
    BaseUser,
    SimpleUser,
    UnauthenticatedUser,
    has_required_scope,
    requires,
)
from asgi_middleware.exceptions import ExceptionMiddleware
from asgi_responses import JSONResponse, PlainTextResponse, Response
from asgi_testkit import AsyncTestClient

pytestmark = pytest.mark.anyio

TOKENS = {"alice": ["authenticated", "admin"], "bob": ["authenticated"]}


class TokenBackend(AuthenticationBackend):
    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, BaseUser] | None:
        header = conn.headers.get("authorization")
        if header is None:
            return None
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or token not in TOKENS:
            raise AuthenticationError(f"Invalid token {token!r}")
        return AuthCredentials(TOKENS[token]), SimpleUser(token)


class FakeRouter:
    """What Request.url_for() needs from scope["router"]."""

    def __init__(self, paths: dict[str, str]) -> None:
        self.paths = paths

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        return URLPath(self.paths[name])


def with_router(app: ASGIApp, **paths: str) -> ASGIApp:
    router = FakeRouter(paths or {"login": "/login"})

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        scope["router"] = router
        await app(scope, receive, send)

    return wrapped


def endpoint_app(endpoint: Callable[..., Any], *, by_keyword: bool = False) -> ASGIApp:
    """Call ``endpoint`` the way a router does, turning HTTPException into responses."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive, send)
        args: tuple[Any, ...] = () if by_keyword else (request,)
        kwargs: dict[str, Any] = {"request": request} if by_keyword else {}
        if inspect.iscoroutinefunction(endpoint):
            response = await endpoint(*args, **kwargs)
        else:
            response = await run_in_threadpool(endpoint, *args, **kwargs)
        await response(scope, receive, send)

    return ExceptionMiddleware(app)


def bearer(token: str | None) -> dict[str, str]:
    """The Authorization header of a client holding ``token`` (none without one)."""
    return {"authorization": f"Bearer {token}"} if token is not None else {}


async def whoami(request: Request) -> Response:
    return JSONResponse(
        {
            "user": request.user.display_name,
            "authenticated": request.user.is_authenticated,
            "identity": request.user.identity,
            "scopes": request.auth.scopes,
        }
    )


async def test_the_backend_sets_auth_and_user() -> None:
    app = AuthenticationMiddleware(endpoint_app(whoami), backend=TokenBackend())
    response = await AsyncTestClient(app).get("/", headers=bearer("alice"))
    assert response.json() == {
        "user": "alice",
        "authenticated": True,
        "identity": "alice",
        "scopes": ["authenticated", "admin"],
    }


async def test_an_anonymous_client_gets_an_unauthenticated_user() -> None:
    app = AuthenticationMiddleware(endpoint_app(whoami), backend=TokenBackend())
    response = await AsyncTestClient(app).get("/", headers=bearer(None))
    assert response.json() == {"user": "", "authenticated": False, "identity": "", "scopes": []}


async def test_an_authentication_error_gives_400_by_default() -> None:
    app = AuthenticationMiddleware(endpoint_app(whoami), backend=TokenBackend())
    response = await AsyncTestClient(app).get("/", headers=bearer("mallory"))
    assert response.status_code == 400
    assert response.text == "Invalid token 'mallory'"


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_on_error_builds_the_response(kind: str) -> None:
    def on_error(conn: HTTPConnection, exc: AuthenticationError) -> Response:
        return JSONResponse({"error": str(exc), "path": conn.url.path}, status_code=401)

    async def async_on_error(conn: HTTPConnection, exc: AuthenticationError) -> Response:
        return on_error(conn, exc)

    handler = on_error if kind == "sync" else async_on_error
    app = AuthenticationMiddleware(endpoint_app(whoami), TokenBackend(), on_error=handler)
    response = await AsyncTestClient(app).get("/where", headers=bearer("mallory"))
    assert response.status_code == 401
    assert response.json() == {"error": "Invalid token 'mallory'", "path": "/where"}


# --- @requires on every kind of HTTP endpoint --------------------------------------


@requires("admin")
async def async_admin(request: Request) -> Response:
    return PlainTextResponse(f"hello {request.user.display_name}")


@requires(["authenticated", "admin"], status_code=404)
def sync_admin(request: Request) -> Response:
    return PlainTextResponse(f"hello {request.user.display_name}")


class AdminEndpoint:
    """Shaped like HTTPEndpoint: methods take (self, request) and are called bound."""

    @requires("admin")
    async def get(self, request: Request) -> Response:
        return PlainTextResponse("async method")

    @requires("admin")
    def post(self, request: Request) -> Response:
        return PlainTextResponse("sync method")


def endpoint_method(name: str) -> Callable[..., Any]:
    return getattr(AdminEndpoint(), name)  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("endpoint", "by_keyword", "denied_status", "body"),
    [
        (async_admin, False, 403, "hello alice"),
        (async_admin, True, 403, "hello alice"),
        (sync_admin, False, 404, "hello alice"),
        (sync_admin, True, 404, "hello alice"),
        (endpoint_method("get"), False, 403, "async method"),
        (endpoint_method("post"), False, 403, "sync method"),
    ],
)
async def test_requires_guards_http_endpoints(
    endpoint: Callable[..., Any], by_keyword: bool, denied_status: int, body: str
) -> None:
    app = AuthenticationMiddleware(endpoint_app(endpoint, by_keyword=by_keyword), TokenBackend())
    allowed = await AsyncTestClient(app).get("/", headers=bearer("alice"))
    denied = await AsyncTestClient(app).get("/", headers=bearer("bob"))
    anonymous = await AsyncTestClient(app).get("/", headers=bearer(None))
    assert (allowed.status_code, allowed.text) == (200, body)
    assert denied.status_code == denied_status
    assert anonymous.status_code == denied_status


def test_requires_keeps_the_endpoint_kind_and_name() -> None:
    assert inspect.iscoroutinefunction(async_admin)
    assert not inspect.iscoroutinefunction(sync_admin)
    assert async_admin.__name__ == "async_admin"
    assert list(inspect.signature(sync_admin).parameters) == ["request"]


async def test_requires_redirects_with_the_current_url_as_next() -> None:
    @requires("admin", redirect="login")
    async def admin(request: Request) -> Response:
        return PlainTextResponse("secret")

    app = AuthenticationMiddleware(with_router(endpoint_app(admin)), TokenBackend())
    http = AsyncTestClient(app, follow_redirects=False)
    response = await http.get("/admin/päge", params={"q": "a b&c=d"}, headers=bearer("bob"))
    assert response.status_code == 303
    location = urlsplit(response.headers["location"])
    assert (location.scheme, location.netloc, location.path) == ("http", "testserver", "/login")
    # the whole current URL, query included, is one properly encoded parameter
    assert parse_qs(location.query) == {"next": ["http://testserver/admin/päge?q=a+b%26c%3Dd"]}
    assert location.query.isascii()
    assert "&" not in location.query
    assert (await http.get("/admin", headers=bearer("alice"))).text == "secret"


async def test_requires_redirect_to_a_url_with_a_query_appends_next() -> None:
    @requires("admin", redirect="login")
    def admin(request: Request) -> Response:
        return PlainTextResponse("secret")

    app = with_router(endpoint_app(admin), login="/login?lang=en")
    http = AsyncTestClient(AuthenticationMiddleware(app, TokenBackend()), follow_redirects=False)
    response = await http.get("/x")
    assert response.status_code == 303
    assert response.headers["location"] == (
        "http://testserver/login?lang=en&next=http%3A%2F%2Ftestserver%2Fx"
    )


def test_requires_needs_a_request_or_websocket_parameter() -> None:
    def endpoint(conn: Request) -> Response:
        raise AssertionError("never called")

    with pytest.raises(TypeError, match='parameter named "request" or "websocket"'):
        requires("admin")(endpoint)


# --- WebSockets ----------------------------------------------------------------------


@requires("admin")
async def admin_socket(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_text(f"hi {websocket.user.display_name}")
    await websocket.close()


def websocket_app(endpoint: Callable[..., Any]) -> ASGIApp:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await endpoint(WebSocket(scope, receive, send))

    return AuthenticationMiddleware(app, TokenBackend())


async def test_requires_on_a_websocket_endpoint() -> None:
    allowed = await run_websocket(websocket_app(admin_socket), "/ws", (), headers=bearer("alice"))
    assert [m["type"] for m in allowed] == ["websocket.accept", "websocket.send", "websocket.close"]
    assert allowed[1]["text"] == "hi alice"
    denied = await run_websocket(websocket_app(admin_socket), "/ws", (), headers=bearer("bob"))
    assert denied == [{"type": "websocket.close", "code": 1008, "reason": ""}]


async def test_requires_on_a_websocket_endpoint_method() -> None:
    class Endpoint:
        @requires("authenticated")
        async def on_connect(self, websocket: WebSocket) -> None:
            await websocket.accept()

    assert [
        m["type"]
        for m in await run_websocket(
            websocket_app(Endpoint().on_connect), "/ws", (), headers=bearer("bob")
        )
    ] == ["websocket.accept"]
    assert await run_websocket(websocket_app(Endpoint().on_connect), "/ws") == [
        {"type": "websocket.close", "code": 1008, "reason": ""}
    ]


async def test_an_authentication_error_refuses_the_websocket() -> None:
    assert await run_websocket(
        websocket_app(admin_socket), "/ws", (), headers=bearer("mallory")
    ) == [{"type": "websocket.close", "code": 1008, "reason": ""}]


async def test_lifespan_passes_through() -> None:
    seen: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["type"])
        assert "user" not in scope

    async def never(*args: Any) -> Any:
        raise AssertionError("not called")

    await AuthenticationMiddleware(app, TokenBackend())({"type": "lifespan"}, never, never)
    assert seen == ["lifespan"]


# --- the building blocks -----------------------------------------------------------


def test_users_and_credentials() -> None:
    assert AuthCredentials().scopes == []
    assert repr(AuthCredentials(("a", "b"))) == "AuthCredentials(['a', 'b'])"
    assert repr(SimpleUser("ann")) == "SimpleUser('ann')"
    assert repr(UnauthenticatedUser()) == "UnauthenticatedUser()"
    user = BaseUser()
    for name in ("is_authenticated", "display_name", "identity"):
        with pytest.raises(NotImplementedError):
            getattr(user, name)


async def test_the_base_backend_must_be_implemented() -> None:
    conn = HTTPConnection(websocket_scope("/ws"))
    with pytest.raises(NotImplementedError):
        await AuthenticationBackend().authenticate(conn)


def test_has_required_scope() -> None:
    conn = HTTPConnection(websocket_scope("/ws"))
    conn.scope["auth"] = AuthCredentials(["a", "b"])
    assert has_required_scope(conn, ["a", "b"])
    assert has_required_scope(conn, [])
    assert not has_required_scope(conn, ["a", "c"])
