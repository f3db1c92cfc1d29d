"""Differential tests of asgi-responses: the same application code on Starlette 1.10 and
on this project, driven by the same client on asyncio and trio (see test_differential.py).

Covered here: FileResponse's media type fallback and Range cap, StaticFiles' errors
through the application's exception handlers and its 304 answers, delete_cookie's
`partitioned`, the Content-Length of a memoryview body, and responses sent on a
WebSocket scope (denial responses, StaticFiles closing the connection).
"""

from __future__ import annotations

import array
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from frameworks import namespace
from test_differential import assert_same, get

from asgi_testkit import TestClient


def without_validators(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """ETag and Last-Modified come from each framework's own formula over the file's stat
    (docs/responses.md): their presence is compared, not their value."""
    return [(k, "*" if k in {"etag", "last-modified"} else v) for k, v in headers]


def test_file_response_media_type_fallback_and_range_cap(backend: str, tmp_path: Path) -> None:
    (tmp_path / "blob.unknownext").write_bytes(b"\x00\x01binary")
    (tmp_path / "noext").write_bytes(b"plain bytes")

    def build(fw: SimpleNamespace) -> Any:
        async def blob(request: Any) -> Any:
            return fw.FileResponse(tmp_path / "blob.unknownext")

        async def noext(request: Any) -> Any:
            return fw.FileResponse(tmp_path / "noext", filename="download")

        async def typed(request: Any) -> Any:
            return fw.FileResponse(tmp_path / "noext", filename="notes.txt")

        return fw.App(
            routes=[fw.Route("/blob", blob), fw.Route("/noext", noext), fw.Route("/typed", typed)]
        )

    too_many = "bytes=" + ",".join(f"{n}-{n}" for n in range(101))  # over max_ranges
    assert_same(
        build,
        [
            get("/blob"),
            ("HEAD", "/blob", {}),
            get("/noext"),
            get("/typed"),
            get("/noext", headers={"range": too_many}),
            get("/noext", headers={"range": "bytes=2-4"}),
        ],
        backend,
        normalize=without_validators,
    )


def test_static_files_errors_reach_the_exception_handlers(backend: str, tmp_path: Path) -> None:
    (tmp_path / "hello.txt").write_text("hello")

    def build(fw: SimpleNamespace) -> Any:
        async def not_found(request: Any, exc: Any) -> Any:
            return fw.HTMLResponse(f"<h1>custom {exc.status_code}</h1>", exc.status_code)

        return fw.App(
            routes=[fw.Mount("/static", fw.StaticFiles(directory=tmp_path), name="static")],
            exception_handlers={404: not_found, 405: not_found},
        )

    assert_same(
        build,
        [
            get("/static/hello.txt"),
            get("/static/missing.txt"),
            get("/static/hello.txt/below"),
            get("/static/"),
            ("POST", "/static/hello.txt", {}),
        ],
        backend,
        normalize=without_validators,
    )


LATER = "Fri, 01 Jan 2100 00:00:00 GMT"
EARLIER = "Thu, 01 Jan 1970 00:00:00 GMT"


def test_static_files_not_modified(backend: str, tmp_path: Path) -> None:
    (tmp_path / "hello.txt").write_text("hello")

    def build(fw: SimpleNamespace) -> Any:
        return fw.App(routes=[fw.Mount("/static", fw.StaticFiles(directory=tmp_path))])

    assert_same(
        build,
        [
            get("/static/hello.txt", headers={"if-none-match": "*"}),
            get("/static/hello.txt", headers={"if-none-match": '"no-such-tag"'}),
            get("/static/hello.txt", headers={"if-modified-since": LATER}),
            get("/static/hello.txt", headers={"if-modified-since": EARLIER}),
        ],
        backend,
        normalize=without_validators,
    )


# Starlette 1.10 refuses partitioned=True before Python 3.14 (ValueError); this project
# accepts it everywhere (docs/responses.md). Compared where both accept it.
PARTITIONED = [False] + ([True] if sys.version_info >= (3, 14) else [])


@pytest.mark.parametrize("partitioned", PARTITIONED)
def test_delete_cookie_partitioned(backend: str, partitioned: bool) -> None:
    def build(fw: SimpleNamespace) -> Any:
        async def drop(request: Any) -> Any:
            response = fw.PlainTextResponse("bye")
            response.delete_cookie(
                "session", "/app", None, True, True, "none", partitioned=partitioned
            )
            return response

        async def drop_file(request: Any) -> Any:
            response = fw.RedirectResponse("/", status_code=303)
            response.delete_cookie("k", domain="example.com", partitioned=partitioned)
            return response

        return fw.App(routes=[fw.Route("/drop", drop), fw.Route("/redirect", drop_file)])

    def same_expiry(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
        # `expires` is "now" on each side, taken a few milliseconds apart.
        return [
            (
                k,
                ";".join(p for p in v.split(";") if "expires=" not in p)
                if k == "set-cookie"
                else v,
            )
            for k, v in headers
        ]

    assert_same(build, [get("/drop"), get("/redirect")], backend, normalize=same_expiry)


def test_memoryview_bodies(backend: str) -> None:
    def build(fw: SimpleNamespace) -> Any:
        async def ints(request: Any) -> Any:
            return fw.Response(memoryview(array.array("i", [1, 2, 3])))

        async def strided(request: Any) -> Any:
            return fw.Response(memoryview(b"abcdef")[::2], media_type="text/plain")

        async def plain(request: Any) -> Any:
            return fw.PlainTextResponse(memoryview(b"hello"))

        return fw.App(
            routes=[
                fw.Route("/ints", ints),
                fw.Route("/strided", strided),
                fw.Route("/plain", plain),
            ]
        )

    assert_same(
        build, [get("/ints"), ("HEAD", "/ints", {}), get("/strided"), get("/plain")], backend
    )


def websocket_outcome(app: Any, backend: str, url: str) -> tuple[str, Any, Any]:
    """How the same client sees a WebSocket handshake to `url`: refused with a denial
    response (status, body), closed before accept (code), or accepted."""
    with TestClient(app, backend=backend) as client:
        try:
            with client.websocket_connect(url):
                return ("accepted", None, None)
        except Exception as exc:  # the client's denial response or disconnect
            status = getattr(exc, "status_code", None)
            if status is not None:
                return ("denied", status, exc.content)  # type: ignore[attr-defined]
            return ("closed", getattr(exc, "code", None), type(exc).__name__)


@pytest.mark.parametrize("url", ["/denied", "/static/hello.txt", "/static/missing.txt"])
def test_responses_on_websocket_scopes(backend: str, tmp_path: Path, url: str) -> None:
    (tmp_path / "hello.txt").write_text("hello")
    ran: dict[str, list[str]] = {}

    def build(fw: SimpleNamespace) -> Any:
        tasks = ran.setdefault(fw.name, [])

        async def denied(websocket: Any) -> Any:
            chunks = iter([b"go ", "away"])
            response = fw.StreamingResponse(
                chunks, status_code=403, background=fw.BackgroundTask(tasks.append, "ran")
            )
            await websocket.send_denial_response(response)

        return fw.App(
            routes=[
                fw.WebSocketRoute("/denied", denied),
                fw.Mount("/static", fw.StaticFiles(directory=tmp_path)),
            ]
        )

    theirs = websocket_outcome(build(namespace("starlette")), backend, url)
    ours = websocket_outcome(build(namespace("ours")), backend, url)
    assert ours == theirs
    assert ran["ours"] == ran["starlette"]


def test_response_fast_paths(backend: str, tmp_path: Path) -> None:
    """The bodies and default headers built without render()/init_headers() calls, the
    cached Content-Length/Content-Type headers, and a small file read in one thread call
    (with HEAD and Range, which take the general path)."""
    (tmp_path / "small.txt").write_bytes(b"0123456789" * 300)

    def build(fw: SimpleNamespace) -> Any:
        async def text(request: Any) -> Any:
            return fw.PlainTextResponse("caf\u00e9 " * int(request.query_params.get("n", "1")))

        async def json_(request: Any) -> Any:
            value = {"message": "Hello, World!", "list": [1, 2.5, None, True, "\u2603"]}
            return fw.JSONResponse(value, status_code=int(request.query_params.get("s", "200")))

        async def html(request: Any) -> Any:
            return fw.HTMLResponse("<p>x</p>", media_type="text/html; charset=latin-1")

        async def empty(request: Any) -> Any:
            return fw.Response(status_code=204)

        async def small(request: Any) -> Any:
            return fw.FileResponse(tmp_path / "small.txt")

        return fw.App(
            routes=[
                fw.Route("/text", text),
                fw.Route("/json", json_),
                fw.Route("/html", html),
                fw.Route("/empty", empty),
                fw.Route("/small", small),
            ]
        )

    assert_same(
        build,
        [
            get("/text"),
            get("/text?n=3000"),
            ("HEAD", "/text", {}),
            get("/json"),
            get("/json?s=201"),
            get("/json?s=304"),
            get("/html"),
            get("/empty"),
            get("/small"),
            ("HEAD", "/small", {}),
            get("/small", headers={"range": "bytes=10-109"}),
        ],
        backend,
        normalize=without_validators,
    )
