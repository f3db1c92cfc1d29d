"""Differential tests of routing (issue #18): the same application on Starlette 1.10 and
here, on asyncio and trio; the same requests get the same status, headers and body."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from test_differential import assert_same, get

UUID_FORMS = [
    "550e8400-e29b-41d4-a716-446655440000",
    "550E8400-E29B-41D4-A716-446655440000",
    "550e8400e29b41d4a716446655440000",
    "550e8400-e29b41d4a716-446655440000",
    "550e8400-e29b-41d4-a716-44665544000",
    "550e8400-e29b-41d4-a716-4466554400000",
    "z50e8400-e29b-41d4-a716-446655440000",
]


def without_connection_close(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    # Our 413 also says the connection closes (its body is never read): migration.md.
    return [(k, v) for k, v in headers if (k, v) != ("connection", "close")]


def test_query_with_http_endpoint(backend: str) -> None:
    def build(fw: SimpleNamespace) -> Any:
        class Search(fw.HTTPEndpoint):  # type: ignore[name-defined,misc]
            async def get(self, request: Any) -> Any:
                return fw.PlainTextResponse("get")

            async def query(self, request: Any) -> Any:
                body = (await request.body()).decode()
                return fw.JSONResponse({"method": request.method, "body": body})

        class Plain(fw.HTTPEndpoint):  # type: ignore[name-defined,misc]
            async def post(self, request: Any) -> Any:
                return fw.PlainTextResponse("post")

        async def query_fn(request: Any) -> Any:
            return fw.PlainTextResponse("fn " + (await request.body()).decode())

        return fw.App(
            routes=[
                fw.Route("/search", Search),
                fw.Route("/plain", Plain),
                fw.Route("/fn", query_fn, methods=["QUERY"]),
            ]
        )

    assert_same(
        build,
        [
            ("QUERY", "/search", {"content": b"name=ada"}),
            get("/search"),
            ("HEAD", "/search", {}),
            ("DELETE", "/search", {}),
            ("QUERY", "/plain", {"content": b"x"}),
            ("QUERY", "/fn", {"content": b"x"}),
            get("/fn"),
        ],
        backend,
    )


def test_uuid_forms(backend: str) -> None:
    def build(fw: SimpleNamespace) -> Any:
        async def item(request: Any) -> Any:
            value = request.path_params["id"]
            url = request.url_path_for("item", id=value)
            return fw.JSONResponse({"repr": repr(value), "url": str(url)})

        return fw.App(routes=[fw.Route("/items/{id:uuid}", item, name="item")])

    assert_same(build, [get(f"/items/{form}") for form in UUID_FORMS], backend)


def test_per_mount_and_router_body_limits(backend: str) -> None:
    def build(fw: SimpleNamespace) -> Any:
        async def read(request: Any) -> Any:
            return fw.PlainTextResponse(f"read {len(await request.body())}")

        async def ignore(request: Any) -> Any:
            return fw.PlainTextResponse("ignored the body")

        limited = [
            fw.Route("/read", read, methods=["POST"]),
            fw.Route("/ignore", ignore, methods=["POST"]),
            fw.Route("/wide", read, methods=["POST"], max_body_size=100),
        ]
        return fw.App(
            routes=[
                fw.Mount("/small", routes=limited, max_body_size=5),
                fw.Mount("/router", app=fw.Router(limited, max_body_size=8)),
                fw.Route("/free", read, methods=["POST"]),
            ],
            max_body_size=20,
        )

    requests = []
    for prefix in ("/small", "/router"):
        for path in ("/read", "/ignore", "/wide"):
            for size in (5, 8, 9, 30, 101):
                requests.append(("POST", prefix + path, {"content": b"x" * size}))
    requests += [("POST", "/free", {"content": b"x" * size}) for size in (20, 21)]
    assert_same(build, requests, backend, without_connection_close)


def test_app_limit_with_an_endpoint_that_never_reads(backend: str) -> None:
    def build(fw: SimpleNamespace) -> Any:
        async def ignore(request: Any) -> Any:
            return fw.PlainTextResponse("ignored the body")

        return fw.App(routes=[fw.Route("/", ignore, methods=["POST"])], max_body_size=10)

    requests = [("POST", "/", {"content": b"x" * size}) for size in (10, 11)]
    assert_same(build, requests, backend, without_connection_close)


def test_url_for_never_gives_a_protocol_relative_url(backend: str) -> None:
    def build(fw: SimpleNamespace) -> Any:
        async def page(request: Any) -> Any:
            rest = request.query_params.get("to", "")
            return fw.JSONResponse(
                {
                    "url": str(request.url_for("page", rest=rest)),
                    "path": str(request.url_path_for("page", rest=rest)),
                    "mounted": str(request.url_path_for("m:page", rest=rest)),
                }
            )

        routes = [fw.Route("/{rest:path}", page, name="page")]
        return fw.App(routes=[fw.Mount("/m", routes=routes, name="m"), *routes])

    assert_same(
        build,
        [
            get("/a?to=/example.org/a"),
            get("/a?to=//example.org"),
            get("/a?to=%5Cexample.org"),
            get("/a?to=a//b"),
        ],
        backend,
    )


def test_host_routing_with_ports_and_case(backend: str) -> None:
    def build(fw: SimpleNamespace) -> Any:
        async def where(request: Any) -> Any:
            return fw.JSONResponse({"params": request.path_params})

        sub = fw.Router([fw.Route("/", where)])
        return fw.App(
            routes=[
                fw.Host("{sub}.example.org", app=sub, name="sub"),
                fw.Host("[v1.foo]", app=fw.Router([fw.Route("/", where)])),
                fw.Host("[::1]", app=fw.Router([fw.Route("/", where)])),
            ]
        )

    headers = [
        "API.Example.ORG",
        "api.example.org:8080",
        "api.example.org:0080",
        "api.example.org:99999",
        "api.example.org:123456789",
        "[v1.foo]",
        "[v1.foo]:8000",
        "[::1]:99999",
        "a:1:99999",
        "other.org",
    ]
    assert_same(build, [get("/", headers={"host": host}) for host in headers], backend)


def test_mount_url_path_for_with_missing_mount_params(backend: str) -> None:
    def build(fw: SimpleNamespace) -> Any:
        async def detail(request: Any) -> Any:
            return fw.PlainTextResponse("detail")

        async def names(request: Any) -> Any:
            found = {}
            for name, params in [
                ("users:detail", {"id": 3}),
                ("users:detail", {"lang": "en", "id": 3}),
                ("users", {"path": "/a"}),
                ("users", {"lang": "en", "path": "/a"}),
                ("api", {"path": "/x"}),
                ("api:detail", {"id": 3}),
                ("users:detail", {"lang": "en"}),
                ("api", {"sub": "eu", "path": "/x", "extra": 1}),
            ]:
                key = f"{name} {sorted(params)}"
                try:
                    url = request.app.url_path_for(name, **params)
                except Exception as exc:
                    found[key] = type(exc).__name__
                else:
                    found[key] = [str(url), url.host]
            return fw.JSONResponse(found)

        users = fw.Router([fw.Route("/{id:int}", detail, name="detail")])
        return fw.App(
            routes=[
                fw.Route("/names", names),
                fw.Mount("/{lang}/users", app=users, name="users"),
                fw.Host("{sub}.example.org", app=users, name="api"),
            ]
        )

    assert_same(build, [get("/names")], backend)
