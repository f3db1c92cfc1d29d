"""Differential tests: one application, written once, run on Starlette 1.10 and on this
project; the same requests must get the same status, headers and body.

Both sides are driven by the same client (asgi_testkit's TestClient), on asyncio and on
trio. Headers are compared as sent, except where a difference is deliberate and
documented in docs/migration.md (the `normalize` argument says which, and why).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from frameworks import namespace

from asgi_testkit import TestClient

Build = Callable[[SimpleNamespace], Any]
Request = tuple[str, str, dict[str, Any]]  # method, url, httpx keyword arguments


def exchange(
    framework: str, build: Build, requests: Iterable[Request], backend: str
) -> list[tuple[int, list[tuple[str, str]], bytes]]:
    app = build(namespace(framework))
    seen = []
    with TestClient(app, backend=backend, raise_server_exceptions=False) as client:
        for method, url, kwargs in requests:
            response = client.request(method, url, follow_redirects=False, **kwargs)
            seen.append((response.status_code, response.headers.multi_items(), response.content))
    return seen


def sorted_allow(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Starlette lists `Allow` in set order, which changes with the hash seed; ours is sorted
    (docs/migration.md). Compare the sets of methods."""
    return [(k, ", ".join(sorted(v.split(", "))) if k == "allow" else v) for k, v in headers]


def assert_same(
    build: Build,
    requests: Iterable[Request],
    backend: str,
    normalize: Callable[[list[tuple[str, str]]], list[tuple[str, str]]] = lambda h: h,
) -> None:
    requests = list(requests)
    original = normalize

    def normalize(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
        # The order of different field names carries no meaning (RFC 9110, 5.3); the order
        # of one name's lines does, and a stable sort keeps it.
        return sorted(original(sorted_allow(headers)), key=lambda item: item[0])

    theirs = exchange("starlette", build, requests, backend)
    ours = exchange("ours", build, requests, backend)
    for request, (s1, h1, b1), (s2, h2, b2) in zip(requests, theirs, ours, strict=True):
        assert (s2, normalize(h2), b2) == (s1, normalize(h1), b1), request


def get(url: str, **kwargs: Any) -> Request:
    return ("GET", url, kwargs)


def test_plain_routes_json_text_html_404_405(backend: str) -> None:
    def build(fw: SimpleNamespace) -> Any:
        async def home(request: Any) -> Any:
            return fw.JSONResponse({"path": request.url.path, "q": dict(request.query_params)})

        async def text(request: Any) -> Any:
            return fw.PlainTextResponse("hello", headers={"x-a": "1"})

        async def html(request: Any) -> Any:
            return fw.HTMLResponse("<h1>hi</h1>", status_code=201)

        async def user(request: Any) -> Any:
            return fw.JSONResponse({"id": request.path_params["id"]})

        return fw.App(
            routes=[
                fw.Route("/", home),
                fw.Route("/text", text, methods=["GET", "POST"]),
                fw.Route("/html", html),
                fw.Route("/users/{id:int}", user),
            ]
        )

    assert_same(
        build,
        [
            get("/?a=1&b=2"),
            get("/text"),
            ("POST", "/text", {}),
            ("HEAD", "/text", {}),
            ("DELETE", "/text", {}),
            get("/html"),
            get("/users/42"),
            get("/users/x"),
            get("/missing"),
        ],
        backend,
    )


def test_redirect_slashes_and_mounts(backend: str) -> None:
    def build(fw: SimpleNamespace) -> Any:
        async def item(request: Any) -> Any:
            return fw.PlainTextResponse(f"{request.scope['root_path']}|{request.url.path}")

        inner = [fw.Route("/item/", item), fw.Route("/", item)]
        return fw.App(routes=[fw.Mount("/api", routes=inner), fw.Route("/a/", item)])

    assert_same(
        build,
        [get("/a"), get("/a/"), get("/api/item"), get("/api/item/"), get("/api"), get("/api/")],
        backend,
    )


def test_http_exceptions_and_handlers(backend: str) -> None:
    def build(fw: SimpleNamespace) -> Any:
        async def teapot(request: Any) -> Any:
            raise fw.HTTPException(418, detail="short and stout", headers={"x-tea": "1"})

        async def bare(request: Any) -> Any:
            raise fw.HTTPException(404)

        async def on_value_error(request: Any, exc: Exception) -> Any:
            return fw.PlainTextResponse(f"bad: {exc}", status_code=422)

        async def broken(request: Any) -> Any:
            raise ValueError("nope")

        return fw.App(
            routes=[fw.Route("/tea", teapot), fw.Route("/bare", bare), fw.Route("/v", broken)],
            exception_handlers={ValueError: on_value_error},
        )

    assert_same(build, [get("/tea"), get("/bare"), get("/v")], backend)


_EXPIRES = re.compile(r"expires=[^;]+ GMT;")


def test_cookies_redirects_and_query(backend: str) -> None:
    def build(fw: SimpleNamespace) -> Any:
        async def set_it(request: Any) -> Any:
            response = fw.RedirectResponse("/read?x=1", status_code=303)
            response.set_cookie("k", "v", max_age=60, httponly=True, samesite="strict")
            return response

        async def read(request: Any) -> Any:
            return fw.JSONResponse({"cookies": request.cookies, "x": request.query_params["x"]})

        async def drop(request: Any) -> Any:
            response = fw.Response(status_code=204)
            response.delete_cookie("k")
            return response

        return fw.App(
            routes=[fw.Route("/set", set_it), fw.Route("/read", read), fw.Route("/drop", drop)]
        )

    def same_second(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
        # delete_cookie() expires the cookie "now": the two runs may straddle a second.
        return [(name, _EXPIRES.sub("expires=<now>;", value)) for name, value in headers]

    assert_same(
        build,
        [get("/set"), get("/read?x=2", headers={"cookie": "k=v; other=1"}), get("/drop")],
        backend,
        normalize=same_second,
    )


def test_forms_and_json_bodies(backend: str) -> None:
    def build(fw: SimpleNamespace) -> Any:
        async def form(request: Any) -> Any:
            data = await request.form()
            return fw.JSONResponse({k: str(v) for k, v in data.multi_items()})

        async def upload(request: Any) -> Any:
            data = await request.form()
            file = data["f"]
            return fw.JSONResponse(
                {
                    "name": file.filename,
                    "type": file.content_type,
                    "body": (await file.read()).decode(),
                }
            )

        async def echo(request: Any) -> Any:
            return fw.JSONResponse(await request.json())

        return fw.App(
            routes=[
                fw.Route("/form", form, methods=["POST"]),
                fw.Route("/upload", upload, methods=["POST"]),
                fw.Route("/json", echo, methods=["POST"]),
            ]
        )

    assert_same(
        build,
        [
            ("POST", "/form", {"data": {"a": "1", "b": "two"}}),
            ("POST", "/upload", {"files": {"f": ("a.txt", b"content", "text/plain")}}),
            ("POST", "/json", {"json": {"a": [1, 2, {"b": None}]}}),
        ],
        backend,
    )


def test_file_responses_and_static_files(backend: str, tmp_path: Path) -> None:
    (tmp_path / "hello.txt").write_bytes(b"0123456789" * 10)

    def build(fw: SimpleNamespace) -> Any:
        async def download(request: Any) -> Any:
            return fw.FileResponse(tmp_path / "hello.txt", filename="greeting.txt")

        return fw.App(
            routes=[
                fw.Route("/download", download),
                fw.Mount("/static", fw.StaticFiles(directory=tmp_path), name="static"),
            ]
        )

    def without_validators(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
        # etag and last-modified are derived from the file's stat by each framework's own
        # formula (documented in docs/responses.md); their presence is compared, not value.
        return [(k, v if k not in {"etag", "last-modified"} else "*") for k, v in headers]

    assert_same(
        build,
        [
            get("/download"),
            get("/download", headers={"range": "bytes=0-4"}),
            get("/static/hello.txt"),
            ("HEAD", "/static/hello.txt", {}),
            get("/static/missing.txt"),
        ],
        backend,
        normalize=without_validators,
    )


def test_middleware_stack_cors_and_gzip(backend: str) -> None:
    def build(fw: SimpleNamespace) -> Any:
        async def big(request: Any) -> Any:
            return fw.PlainTextResponse("x" * 2000)

        return fw.App(
            routes=[fw.Route("/big", big)],
            middleware=[
                fw.Middleware(fw.CORSMiddleware, allow_origins=["https://a.example"]),
                fw.Middleware(fw.GZipMiddleware, minimum_size=100),
            ],
        )

    assert_same(
        build,
        [
            get("/big", headers={"accept-encoding": "identity"}),
            get("/big", headers={"origin": "https://a.example", "accept-encoding": "identity"}),
            get("/big", headers={"origin": "https://evil.example", "accept-encoding": "identity"}),
        ],
        backend,
    )
