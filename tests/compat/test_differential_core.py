"""Differential tests for asgi-core (issue #17): the same application code on Starlette
1.10 and here, driven by the same client on asyncio and trio.

Where the answers differ on purpose (docs/migration.md, "Deliberate surface
differences: asgi-core"), the test says what each framework answers instead of
comparing them.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

from test_differential import assert_same, exchange, get

BOUNDARY = "----core17"
MULTIPART = {"content-type": f"multipart/form-data; boundary={BOUNDARY}"}
URLENCODED = {"content-type": "application/x-www-form-urlencoded"}


def multipart(*fields: tuple[str, bytes]) -> bytes:
    parts = [
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        + value
        + b"\r\n"
        for name, value in fields
    ]
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


def post(url: str, content: bytes, headers: dict[str, str]) -> tuple[str, str, dict[str, Any]]:
    return ("POST", url, {"content": content, "headers": headers})


def multipart_exception(fw: SimpleNamespace) -> type[Exception]:
    """The form parser's exception of `fw` (not in the shared namespace)."""
    module = "starlette.formparsers" if fw.name == "starlette" else "asgi_core.formparsers"
    exc: type[Exception] = importlib.import_module(module).MultiPartException
    return exc


# --- State: item access next to attributes, lifespan state ---------------------------------


def test_state_item_access_in_a_lifespan_app(backend: str) -> None:
    def build(fw: SimpleNamespace) -> Any:
        @contextlib.asynccontextmanager
        async def lifespan(app: Any) -> AsyncIterator[dict[str, Any]]:
            yield {"greeting": "hello", "hits": []}

        async def home(request: Any) -> Any:
            request.state["seen"] = request.state["greeting"].upper()
            request.state.hits.append(1)
            return fw.JSONResponse(
                {
                    "attribute": request.state.seen,
                    "item": request.state["seen"],
                    "hits": len(request.state["hits"]),
                    "has": "greeting" in request.state,
                    "keys": sorted(request.state),
                }
            )

        async def missing(request: Any) -> Any:
            try:
                request.state["nope"]
            except KeyError as exc:
                return fw.PlainTextResponse(f"KeyError {exc}")
            return fw.PlainTextResponse("found")  # pragma: no cover

        return fw.App(
            routes=[fw.Route("/", home), fw.Route("/missing", missing)], lifespan=lifespan
        )

    assert_same(build, [get("/"), get("/"), get("/missing")], backend)


# --- forms: errors inside and outside an application ------------------------------------


def test_form_errors_inside_an_app_are_400(backend: str) -> None:
    def build(fw: SimpleNamespace) -> Any:
        async def form(request: Any) -> Any:
            data = await request.form(max_fields=2, max_files=0)
            return fw.JSONResponse({key: str(value) for key, value in data.multi_items()})

        return fw.App(routes=[fw.Route("/form", form, methods=["POST"])])

    three = multipart(("a", b"1"), ("b", b"2"), ("c", b"3"))
    requests = [
        post("/form", multipart(("a", b"1")), MULTIPART),
        post("/form", b"a=1&b=2", URLENCODED),
        post("/form", three, MULTIPART),
        post("/form", b"a=1&b=2&c=3", URLENCODED),
        post("/form", b"junk", MULTIPART),
    ]
    # Same statuses; the details of a 400 are each framework's own words.
    theirs = exchange("starlette", build, requests, backend)
    ours = exchange("ours", build, requests, backend)
    assert [status for status, _, _ in ours] == [status for status, _, _ in theirs]
    assert [status for status, _, _ in ours] == [200, 200, 400, 400, 400]
    assert ours[0][2] == theirs[0][2]
    assert ours[1][2] == theirs[1][2]
    assert ours[2][2] == theirs[2][2]  # "Too many fields. Maximum number of fields is 2."


def test_form_errors_outside_an_app_are_the_parsers_own(backend: str) -> None:
    """A raw ASGI app (no "app" in the scope) catches the parser's MultiPartException."""

    def build(fw: SimpleNamespace) -> Any:
        error = multipart_exception(fw)

        async def app(scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] == "lifespan":
                message = await receive()
                await send({"type": message["type"] + ".complete"})
                await receive()
                await send({"type": "lifespan.shutdown.complete"})
                return
            request = fw.Request(scope, receive, send)
            try:
                data = await request.form(max_fields=1)
                text = ",".join(f"{k}={v}" for k, v in data.multi_items())
            except error as exc:
                text = f"{type(exc).__name__}: {'app' in scope}"
            except fw.HTTPException as exc:  # pragma: no cover - the failure this test catches
                text = f"HTTPException {exc.status_code}"
            await fw.PlainTextResponse(text)(scope, receive, send)

        return app

    assert_same(
        build,
        [
            post("/", b"a=1", URLENCODED),
            post("/", b"a=1&b=2", URLENCODED),
            post("/", multipart(("a", b"1"), ("b", b"2")), MULTIPART),
            post("/", b"junk", MULTIPART),
        ],
        backend,
    )


# Bodies both parsers read alike: the ones this project's ASCII fast path takes (plain
# pairs, "+", empty pairs, names without "=", extra "=", ";" kept in a value, duplicates)
# and the ones its general path takes (escapes good, bad and cut short). Raw bytes that
# are not ASCII differ on purpose (U+FFFD here, Latin-1 there: docs/migration.md).
URLENCODED_ALIKE = [
    b"name=alice&age=30&city=Paris",
    b"a+b=c+d&&a&=&==x&b=1=2&a=again",
    b"&&a=1&&",
    b"a=1;b=2&c",
    b" a = b &+=+",
    b"%41=%42&%zz=%4&%&e=%C3%A9&s=%20%2B%26%3D",
    b"",
]


def test_urlencoded_forms_parse_alike(backend: str) -> None:
    def build(fw: SimpleNamespace) -> Any:
        async def form(request: Any) -> Any:
            data = await request.form()
            return fw.JSONResponse(
                {"items": data.multi_items(), "dict": dict(data), "a": data.getlist("a")}
            )

        return fw.App(routes=[fw.Route("/form", form, methods=["POST"])])

    types = [
        "application/x-www-form-urlencoded",
        "application/x-www-form-urlencoded; charset=utf-8",
        "Application/X-WWW-Form-Urlencoded",
    ]
    requests = [
        post("/form", body, {"content-type": content_type})
        for body in URLENCODED_ALIKE
        for content_type in types
    ]
    assert_same(build, requests, backend)


def test_urlencoded_form_consumes_the_body(backend: str) -> None:
    """After form(), the body is gone in both: body() raises "Stream consumed"."""

    def build(fw: SimpleNamespace) -> Any:
        async def form(request: Any) -> Any:
            data = await request.form()
            try:
                await request.body()
            except RuntimeError as exc:
                return fw.PlainTextResponse(f"{data['a']}: {exc}")
            return fw.PlainTextResponse("body kept")  # pragma: no cover

        return fw.App(routes=[fw.Route("/form", form, methods=["POST"])])

    assert_same(build, [post("/form", b"a=1", URLENCODED)], backend)


def test_urlencoded_field_over_max_part_size_is_refused(backend: str) -> None:
    """Starlette answers 400, this project 413 (a size limit; docs/migration.md)."""

    def build(fw: SimpleNamespace) -> Any:
        async def form(request: Any) -> Any:
            data = await request.form(max_part_size=1000)
            return fw.JSONResponse({key: len(value) for key, value in data.multi_items()})

        return fw.App(routes=[fw.Route("/form", form, methods=["POST"])])

    # (Starlette counts a field's name and value together, this project each alone.)
    small, big = b"a=" + b"x" * 999, b"a=" + b"x" * 1001
    requests = [post("/form", small, URLENCODED), post("/form", big, URLENCODED)]
    assert_same(build, requests[:1], backend)
    assert [status for status, _, _ in exchange("starlette", build, requests, backend)] == [
        200,
        400,
    ]
    assert [status for status, _, _ in exchange("ours", build, requests, backend)] == [200, 413]


def test_default_max_part_size_refuses_a_2_mib_urlencoded_field(backend: str) -> None:
    def build(fw: SimpleNamespace) -> Any:
        async def form(request: Any) -> Any:
            data = await request.form()
            return fw.JSONResponse({key: len(value) for key, value in data.multi_items()})

        return fw.App(routes=[fw.Route("/form", form, methods=["POST"])])

    requests = [post("/form", b"a=" + b"x" * (2 << 20), URLENCODED)]
    assert exchange("starlette", build, requests, backend)[0][0] == 400
    assert exchange("ours", build, requests, backend)[0][0] == 413


def test_multipart_text_field_decoding(backend: str) -> None:
    """Valid UTF-8 reads the same; invalid bytes become U+FFFD here, where Starlette
    decodes the field as Latin-1 (docs/migration.md)."""

    def build(fw: SimpleNamespace) -> Any:
        async def form(request: Any) -> Any:
            data = await request.form()
            return fw.JSONResponse({key: str(value) for key, value in data.multi_items()})

        return fw.App(routes=[fw.Route("/form", form, methods=["POST"])])

    valid = [post("/form", multipart(("t", "café ✓".encode())), MULTIPART)]
    assert_same(build, valid, backend)
    invalid = [post("/form", multipart(("t", b"caf\xe9 \xff")), MULTIPART)]
    assert exchange("starlette", build, invalid, backend)[0][2] == '{"t":"café ÿ"}'.encode()
    assert exchange("ours", build, invalid, backend)[0][2] == '{"t":"caf\ufffd \ufffd"}'.encode()


# --- early hints -----------------------------------------------------------------------------


def test_send_early_hints_without_the_server_extension_is_a_no_op(backend: str) -> None:
    def build(fw: SimpleNamespace) -> Any:
        async def page(request: Any) -> Any:
            await request.send_early_hints("</style.css>; rel=preload; as=style")
            await request.send_early_hints("</a.js>; rel=preload", "</b.js>; rel=preload")
            return fw.HTMLResponse("<p>hi</p>")

        return fw.App(routes=[fw.Route("/", page)])

    assert_same(build, [get("/"), ("HEAD", "/", {})], backend)


# --- URL from the Host header ------------------------------------------------------------


def test_request_url_keeps_ipvfuture_hosts_and_zero_padded_ports(backend: str) -> None:
    def build(fw: SimpleNamespace) -> Any:
        async def url(request: Any) -> Any:
            u = request.url
            return fw.JSONResponse([str(u), u.hostname, u.port, u.netloc])

        return fw.App(routes=[fw.Route("/u", url)])

    assert_same(
        build,
        [
            get("/u", headers={"host": "[v1.foo]"}),
            get("/u", headers={"host": "[v1.foo]:8080"}),
            get("/u", headers={"host": "example.com:000080"}),
        ],
        backend,
    )
