"""Differential tests for the application (#18): the same application code, written once,
run on Starlette 1.10 and on this project through the same client, on asyncio and trio.

Differences that are deliberate are documented in docs/migration.md; the `normalize`
functions below name each one they hide.
"""

from __future__ import annotations

import warnings
from collections.abc import AsyncIterator, Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from test_differential import assert_same, get


def post(url: str, **kwargs: Any) -> tuple[str, str, dict[str, Any]]:
    return ("POST", url, kwargs)


def seen_status(fw: SimpleNamespace) -> Any:
    """A pure ASGI middleware adding `x-seen: <status>` to the response it passes on."""

    class SeenStatus:
        def __init__(self, app: Any) -> None:
            self.app = app

        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            async def tagged(message: Any) -> None:
                if message["type"] == "http.response.start":
                    status = str(message["status"]).encode()
                    message["headers"] = [*message["headers"], (b"x-seen", status)]
                await send(message)

            await self.app(scope, receive, tagged)

    return SeenStatus


def test_mount_and_route_middleware_see_the_exception_handlers_response(backend: str) -> None:
    def build(fw: SimpleNamespace) -> Any:
        async def forbidden(request: Any) -> Any:
            raise fw.HTTPException(403, detail="nope", headers={"x-reason": "test"})

        async def broken(request: Any) -> Any:
            raise LookupError("gone")

        async def on_403(request: Any, exc: Any) -> Any:
            return fw.PlainTextResponse(f"handled {exc.detail}", status_code=403)

        def on_lookup(request: Any, exc: Any) -> Any:
            return fw.JSONResponse({"error": str(exc)}, status_code=410)

        seen = fw.Middleware(seen_status(fw))
        return fw.App(
            routes=[
                fw.Mount(
                    "/api",
                    routes=[fw.Route("/forbidden", forbidden), fw.Route("/broken", broken)],
                    middleware=[seen],
                ),
                fw.Route("/route", forbidden, middleware=[seen]),
                fw.Route("/default", forbidden, middleware=[seen]),
            ],
            exception_handlers={403: on_403, LookupError: on_lookup},
        )

    assert_same(
        build,
        [get("/api/forbidden"), get("/api/broken"), get("/route"), get("/api/missing")],
        backend,
    )

    def build_default(fw: SimpleNamespace) -> Any:
        async def forbidden(request: Any) -> Any:
            raise fw.HTTPException(403, detail="nope", headers={"x-reason": "test"})

        seen = fw.Middleware(seen_status(fw))
        return fw.App(
            routes=[fw.Mount("/api", routes=[fw.Route("/x", forbidden)], middleware=[seen])]
        )

    assert_same(build_default, [get("/api/x")], backend)


def test_the_handler_reads_the_body_the_endpoint_read(backend: str) -> None:
    def build(fw: SimpleNamespace) -> Any:
        async def endpoint(request: Any) -> Any:
            data = await request.json()
            raise ValueError(data["reason"])

        def sync_endpoint(request: Any) -> Any:
            raise ValueError("sync")

        async def handler(request: Any, exc: Any) -> Any:
            body = await request.body()
            return fw.JSONResponse({"error": str(exc), "body": body.decode()}, status_code=422)

        return fw.App(
            routes=[
                fw.Route("/", endpoint, methods=["POST"]),
                fw.Route("/sync", sync_endpoint, methods=["POST"]),
            ],
            exception_handlers={ValueError: handler},
        )

    assert_same(
        build,
        [post("/", json={"reason": "bad"}), post("/sync", content=b"raw body")],
        backend,
    )


def test_url_for_in_application_middleware(backend: str) -> None:
    def build(fw: SimpleNamespace) -> Any:
        class Link:
            def __init__(self, app: Any) -> None:
                self.app = app

            async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
                if scope["type"] != "http":
                    await self.app(scope, receive, send)
                    return
                link = str(fw.Request(scope).url_for("user", user_id=7)).encode()

                async def linked(message: Any) -> None:
                    if message["type"] == "http.response.start":
                        message["headers"] = [*message["headers"], (b"link", link)]
                    await send(message)

                await self.app(scope, receive, linked)

        async def user(request: Any) -> Any:
            user_id = request.path_params["user_id"]
            return fw.PlainTextResponse(str(request.url_for("user", user_id=user_id)))

        async def inner(request: Any) -> Any:
            return fw.PlainTextResponse(str(request.url_for("sub:inner")))

        sub = fw.App(routes=[fw.Route("/inner", inner, name="inner")])
        return fw.App(
            routes=[
                fw.Route("/users/{user_id:int}", user, name="user"),
                fw.Mount("/sub", app=sub, name="sub"),
            ],
            middleware=[fw.Middleware(Link)],
        )

    assert_same(build, [get("/users/1"), get("/sub/inner"), get("/missing")], backend)


@pytest.mark.parametrize("kind", ["async", "sync"])
def test_a_generator_lifespan_runs(backend: str, kind: str) -> None:
    def build(fw: SimpleNamespace) -> Any:
        async def async_lifespan(app: Any) -> AsyncIterator[dict[str, Any]]:
            yield {"greeting": f"hello from {type(app).__name__ == fw.App.__name__}"}

        def sync_lifespan(app: Any) -> Iterator[dict[str, Any]]:
            yield {"greeting": "hello from a generator"}

        async def greet(request: Any) -> Any:
            return fw.PlainTextResponse(request.state.greeting)

        lifespan = async_lifespan if kind == "async" else sync_lifespan
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            app = fw.App(routes=[fw.Route("/", greet)], lifespan=lifespan)
        # both frameworks warn once, with a UserWarning subclass and the same text
        assert len(caught) == 1
        assert issubclass(caught[0].category, UserWarning)
        assert "lifespans are deprecated" in str(caught[0].message)
        return app

    assert_same(build, [get("/")], backend)


def test_a_body_over_max_body_size_is_answered_by_the_413_handler(backend: str) -> None:
    """Read past the limit, the body raises HTTPException(413) where the endpoint reads
    it: the app's handler answers, and the user's middleware see that answer."""

    def build(fw: SimpleNamespace) -> Any:
        async def read(request: Any) -> Any:
            return fw.PlainTextResponse(str(len(await request.body())))

        async def too_large(request: Any, exc: Any) -> Any:
            return fw.JSONResponse({"error": exc.detail}, status_code=exc.status_code)

        return fw.App(
            routes=[fw.Route("/read", read, methods=["POST"])],
            middleware=[fw.Middleware(seen_status(fw))],
            exception_handlers={413: too_large},
            max_body_size=8,
        )

    class Chunks:
        """A body without Content-Length, iterable once per framework."""

        def __iter__(self) -> Iterator[bytes]:
            return iter([b"x" * 6, b"x" * 6])

    def without_connection_close(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
        # The handler's 413 gets `Connection: close` here (docs/migration.md).
        return [item for item in headers if item != ("connection", "close")]

    assert_same(
        build,
        [post("/read", content=Chunks()), post("/read", content=b"1234")],
        backend,
        normalize=without_connection_close,
    )


def test_max_body_size_refuses_a_declared_body_nobody_reads(backend: str) -> None:
    def build(fw: SimpleNamespace) -> Any:
        async def ignore(request: Any) -> Any:
            return fw.PlainTextResponse("ignored")

        async def read(request: Any) -> Any:
            return fw.PlainTextResponse(str(len(await request.body())))

        return fw.App(
            routes=[
                fw.Route("/ignore", ignore, methods=["POST"]),
                fw.Route("/read", read, methods=["POST"]),
            ],
            max_body_size=8,
        )

    def without_connection_close(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
        # Our 413 adds `Connection: close` (the rest of the body is never read), as
        # docs/migration.md says of RequestBodyLimitMiddleware.
        return [item for item in headers if item != ("connection", "close")]

    assert_same(
        build,
        [
            post("/ignore", content=b"12345678"),
            post("/ignore", content=b"123456789"),
            post("/read", content=b"123456789"),
            post("/read", content=b"1234"),
        ],
        backend,
        normalize=without_connection_close,
    )
