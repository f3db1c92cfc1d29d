"""TestClient over HTTP: scope, bodies, streaming, cookies, redirects, errors, timeouts."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import anyio
import anyio.to_thread
import pytest
from asgi_driver import Boom

from asgi_core.types import Message, Receive, Scope, Send
from asgi_testkit import TestClient


async def read_body(receive: Receive) -> tuple[bytes, list[Message]]:
    body = b""
    messages: list[Message] = []
    while True:
        message = await receive()
        messages.append(message)
        body += message.get("body", b"")
        if not message.get("more_body", False):
            return body, messages


async def respond(
    send: Send, body: bytes, status: int = 200, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers or []})
    await send({"type": "http.response.body", "body": body})


async def echo_scope(scope: Scope, receive: Receive, send: Send) -> None:
    """Answer with the scope (JSON) and the request body messages it received."""
    body, messages = await read_body(receive)
    data = {
        key: scope[key]
        for key in (
            "type",
            "http_version",
            "method",
            "scheme",
            "path",
            "root_path",
            "client",
            "server",
            "asgi",
            "extensions",
            "state",
        )
    }
    data["raw_path"] = scope["raw_path"].decode()
    data["query_string"] = scope["query_string"].decode()
    data["headers"] = [[name.decode(), value.decode()] for name, value in scope["headers"]]
    data["body"] = body.decode()
    data["messages"] = [[m["type"], m["body"].decode(), m["more_body"]] for m in messages]
    payload = json.dumps(data).encode()
    await respond(send, payload, headers=[(b"content-type", b"application/json")])


def test_scope_of_a_simple_get(anyio_backend: str) -> None:
    client = TestClient(echo_scope, backend=anyio_backend)
    response = client.get("/items/caf%C3%A9%20x?q=1&r=%20")
    data = response.json()
    assert response.status_code == 200
    assert data["type"] == "http"
    assert data["http_version"] == "1.1"
    assert data["method"] == "GET"
    assert data["scheme"] == "http"
    assert data["path"] == "/items/café x"
    assert data["raw_path"] == "/items/caf%C3%A9%20x"
    assert data["root_path"] == ""
    assert data["query_string"] == "q=1&r=%20"
    assert data["client"] == ["testclient", 50000]
    assert data["server"] == ["testserver", 80]
    assert data["asgi"]["version"] == "3.0"
    assert data["state"] == {}
    assert set(data["extensions"]) == {
        "http.response.debug",
        "http.response.pathsend",
        "http.response.trailers",
        "http.response.early_hint",
        "http.response.push",
    }
    headers = dict(data["headers"])
    assert headers["host"] == "testserver"
    assert headers["user-agent"] == "testclient"
    assert data["messages"] == [["http.request", "", False]]


def test_scope_with_settings(anyio_backend: str) -> None:
    client = TestClient(
        echo_scope,
        base_url="https://example.org:8443",
        root_path="/api",
        backend=anyio_backend,
        headers={"X-Team": "blue", "User-Agent": "custom"},
        client=("10.0.0.1", 1234),
    )
    data = client.get("/api/users").json()
    assert data["scheme"] == "https"
    assert data["server"] == ["example.org", 8443]
    assert data["root_path"] == "/api"
    assert data["path"] == "/api/users"
    assert data["raw_path"] == "/api/users"
    assert data["client"] == ["10.0.0.1", 1234]
    headers = dict(data["headers"])
    assert headers["x-team"] == "blue"
    assert headers["user-agent"] == "custom"
    assert headers["host"] == "example.org:8443"


def test_root_path_is_reported_not_prefixed(anyio_backend: str) -> None:
    """The test writes the URL the server would see: the root path is not added again."""
    client = TestClient(echo_scope, root_path="/r", backend=anyio_backend)
    mounted = client.get("/r/x%20y").json()
    assert (mounted["root_path"], mounted["path"], mounted["raw_path"]) == (
        "/r",
        "/r/x y",
        "/r/x%20y",
    )
    bare = client.get("/x").json()
    assert (bare["root_path"], bare["path"], bare["raw_path"]) == ("/r", "/x", "/x")


def test_default_https_port(anyio_backend: str) -> None:
    client = TestClient(echo_scope, base_url="https://secure", backend=anyio_backend)
    assert client.get("/").json()["server"] == ["secure", 443]


def test_request_body_bytes_and_json(anyio_backend: str) -> None:
    client = TestClient(echo_scope, backend=anyio_backend)
    data = client.post("/", content=b"raw bytes").json()
    assert data["method"] == "POST"
    assert data["messages"] == [["http.request", "raw bytes", False]]
    data = client.put("/", json={"a": 1}).json()
    assert json.loads(data["body"]) == {"a": 1}
    assert dict(data["headers"])["content-type"] == "application/json"
    data = client.post("/", data={"name": "x y"}).json()
    assert data["body"] == "name=x+y"


def test_streamed_request_body(anyio_backend: str) -> None:
    def chunks() -> Iterator[bytes]:
        yield b"first,"
        yield b"second"

    client = TestClient(echo_scope, backend=anyio_backend)
    data = client.post("/", content=chunks()).json()
    assert data["body"] == "first,second"
    assert data["messages"] == [
        ["http.request", "first,", True],
        ["http.request", "second", True],
        ["http.request", "", False],
    ]


def test_response_streams_incrementally(anyio_backend: str) -> None:
    """The second chunk is only produced once the test has read the first one."""
    first_read = threading.Event()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"one", "more_body": True})
        await anyio.to_thread.run_sync(first_read.wait)
        await send({"type": "http.response.body", "body": b"two", "more_body": False})

    client = TestClient(app, backend=anyio_backend, timeout=10)
    with client.stream("GET", "/") as response:
        chunks = response.iter_raw()
        assert next(chunks) == b"one"
        first_read.set()
        assert list(chunks) == [b"two"]


def test_closing_a_stream_early_cancels_the_app(anyio_backend: str) -> None:
    cancelled = threading.Event()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        try:
            while True:
                await send({"type": "http.response.body", "body": b"tick", "more_body": True})
        except anyio.get_cancelled_exc_class():
            cancelled.set()
            raise

    client = TestClient(app, backend=anyio_backend)
    with client.stream("GET", "/") as response:
        assert next(response.iter_raw()) == b"tick"
    assert cancelled.is_set()


def test_cookies_are_kept_across_requests(anyio_backend: str) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope["headers"])
        if scope["path"] == "/login":
            await respond(send, b"ok", headers=[(b"set-cookie", b"session=abc; Path=/")])
        else:
            await respond(send, headers.get(b"cookie", b"none"))

    client = TestClient(app, backend=anyio_backend, cookies={"theme": "dark"})
    assert client.get("/whoami").text == "theme=dark"
    client.get("/login")
    assert sorted(client.get("/whoami").text.split("; ")) == ["session=abc", "theme=dark"]


def test_redirects_followed_or_not(anyio_backend: str) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["path"] == "/old":
            await respond(send, b"", status=307, headers=[(b"location", b"/new")])
        else:
            await respond(send, scope["path"].encode())

    client = TestClient(app, backend=anyio_backend)
    response = client.get("/old")
    assert response.text == "/new"
    assert [r.status_code for r in response.history] == [307]
    client = TestClient(app, backend=anyio_backend, follow_redirects=False)
    response = client.get("/old")
    assert response.status_code == 307
    assert response.headers["location"] == "/new"


def test_disconnect_after_the_response(anyio_backend: str) -> None:
    """After the body, receive() blocks until the response is sent, then disconnects."""
    seen: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await read_body(receive)
        await respond(send, b"done")
        seen.append((await receive())["type"])

    client = TestClient(app, backend=anyio_backend)
    assert client.get("/").text == "done"
    assert seen == ["http.disconnect"]


def test_background_work_finishes_before_the_call_returns(anyio_backend: str) -> None:
    done: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await respond(send, b"ok")
        await anyio.sleep(0.01)
        done.append("background")

    client = TestClient(app, backend=anyio_backend)
    client.get("/")
    assert done == ["background"]


def test_background_errors_are_raised(anyio_backend: str) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await respond(send, b"ok")
        raise Boom("in the background")

    with pytest.raises(Boom, match="in the background"):
        TestClient(app, backend=anyio_backend).get("/")
    client = TestClient(app, backend=anyio_backend, raise_server_exceptions=False)
    assert client.get("/").text == "ok"


def test_head_drops_the_body(anyio_backend: str) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await respond(send, b"hello", headers=[(b"content-length", b"5")])

    client = TestClient(app, backend=anyio_backend)
    response = client.head("/")
    assert response.headers["content-length"] == "5"
    assert response.content == b""


async def raise_before_start(scope: Scope, receive: Receive, send: Send) -> None:
    raise Boom("before start")


async def raise_after_start(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"partial", "more_body": True})
    raise Boom("after start")


async def no_response(scope: Scope, receive: Receive, send: Send) -> None:
    return None


async def unfinished_body(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"half", "more_body": True})


def test_server_exceptions_are_raised(anyio_backend: str) -> None:
    client = TestClient(raise_before_start, backend=anyio_backend)
    with pytest.raises(Boom, match="before start"):
        client.get("/")
    client = TestClient(raise_after_start, backend=anyio_backend)
    with pytest.raises(Boom, match="after start"):
        client.get("/")


def test_apps_that_do_not_answer_are_errors(anyio_backend: str) -> None:
    client = TestClient(no_response, backend=anyio_backend)
    with pytest.raises(RuntimeError, match=r"without sending 'http\.response\.start'"):
        client.get("/")
    client = TestClient(unfinished_body, backend=anyio_backend)
    with pytest.raises(RuntimeError, match=r"before completing the response \(GET"):
        client.get("/")


def test_server_exceptions_as_500(anyio_backend: str) -> None:
    for app in (raise_before_start, no_response):
        client = TestClient(app, backend=anyio_backend, raise_server_exceptions=False)
        response = client.get("/")
        assert response.status_code == 500
        assert response.text == "Internal Server Error"
        assert response.headers["content-type"] == "text/plain; charset=utf-8"
        head = client.head("/")
        assert head.status_code == 500
        assert head.content == b""
    # Once the response has started, the body simply ends where the app stopped.
    for app in (raise_after_start, unfinished_body):
        client = TestClient(app, backend=anyio_backend, raise_server_exceptions=False)
        response = client.get("/")
        assert response.status_code == 200
        assert response.content in (b"partial", b"half")


@pytest.mark.parametrize(
    ("messages", "error"),
    [
        (
            [{"type": "http.response.body", "body": b"x"}],
            "'http.response.body' before 'http.response.start'",
        ),
        (
            [{"type": "http.response.start", "status": 200}] * 2,
            "'http.response.start' twice",
        ),
        (
            [
                {"type": "http.response.start", "status": 200},
                {"type": "http.response.early_hint", "links": []},
            ],
            "'http.response.early_hint' after the start",
        ),
        (
            [
                {"type": "http.response.start", "status": 200},
                {"type": "http.response.trailers", "headers": []},
            ],
            "Unexpected ASGI message 'http.response.trailers'",
        ),
        (
            [{"type": "http.response.start", "status": 200}, {"type": "http.response.zap"}],
            "Unexpected ASGI message 'http.response.zap'",
        ),
        (
            [
                {"type": "http.response.start", "status": 200, "trailers": True},
                {"type": "http.response.body", "body": b"a"},
                {"type": "http.response.body", "body": b"b"},
            ],
            "after the body was complete",
        ),
        (
            [
                {"type": "http.response.start", "status": 200},
                {"type": "http.response.body", "body": b"a"},
                {"type": "http.response.body", "body": b"b"},
            ],
            "'http.response.body' after the response was complete",
        ),
    ],
)
def test_protocol_violations_are_reported(
    anyio_backend: str, messages: list[Message], error: str
) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        for message in messages:
            await send(message)

    client = TestClient(app, backend=anyio_backend)
    with pytest.raises(RuntimeError, match=error):
        client.get("/")


def test_hung_app_times_out(anyio_backend: str) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await anyio.sleep_forever()

    client = TestClient(app, backend=anyio_backend, timeout=0.05)
    with pytest.raises(TimeoutError, match=r"GET http://testserver/slow within 0\.05 s"):
        client.get("/slow")
    # A per-request timeout overrides the client's.
    client = TestClient(app, backend=anyio_backend)
    with pytest.raises(TimeoutError, match=r"within 0\.01 s"):
        client.get("/slow", timeout=0.01)


def test_hung_body_times_out(anyio_backend: str) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await anyio.sleep_forever()

    client = TestClient(app, backend=anyio_backend, timeout=0.5)
    with pytest.raises(TimeoutError, match="POST http://testserver/"):
        client.post("/")


def test_pathsend_reads_the_file(anyio_backend: str, tmp_path: Path) -> None:
    path = tmp_path / "big.bin"
    data = bytes(range(256)) * 600  # more than one read chunk
    path.write_bytes(data)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.pathsend", "path": str(path)})

    client = TestClient(app, backend=anyio_backend)
    assert client.get("/").content == data


def test_pathsend_of_a_missing_file_is_an_error(anyio_backend: str, tmp_path: Path) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.pathsend", "path": str(tmp_path / "missing")})

    client = TestClient(app, backend=anyio_backend)
    with pytest.raises(FileNotFoundError):
        client.get("/")


def test_trailers_early_hints_and_debug(anyio_backend: str) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.early_hint", "links": [b"</a.css>; rel=preload"]})
        await send({"type": "http.response.early_hint", "links": [b"</b.js>", b"</c.js>"]})
        await send(
            {
                "type": "http.response.debug",
                "info": {"template": "index.html", "context": {"name": "x"}},
            }
        )
        await send({"type": "http.response.start", "status": 200, "trailers": True})
        await send({"type": "http.response.body", "body": b"data"})
        await send(
            {"type": "http.response.trailers", "headers": [(b"x-a", b"1")], "more_trailers": True}
        )
        await send({"type": "http.response.trailers", "headers": [(b"x-b", b"2")]})

    client = TestClient(app, backend=anyio_backend)
    response = client.get("/")
    assert response.text == "data"
    assert response.extensions["http.response.trailers"] == [(b"x-a", b"1"), (b"x-b", b"2")]
    hints = response.extensions["early_hints"]
    assert [hint.get_list("link") for hint in hints] == [
        ["</a.css>; rel=preload"],
        ["</b.js>", "</c.js>"],
    ]
    assert response.template == "index.html"  # type: ignore[attr-defined]
    assert response.context == {"name": "x"}  # type: ignore[attr-defined]
    assert response.extensions["http.response.debug"] == {
        "template": "index.html",
        "context": {"name": "x"},
    }


def test_late_debug_info_and_missing_trailers(anyio_backend: str) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "trailers": True})
        await send({"type": "http.response.body", "body": b"data"})
        await send({"type": "http.response.debug", "info": {"template": "late.html"}})

    client = TestClient(app, backend=anyio_backend, raise_server_exceptions=False)
    response = client.get("/")
    assert response.text == "data"
    assert response.template == "late.html"  # type: ignore[attr-defined]
    assert response.extensions["http.response.trailers"] == []  # declared, never sent
    client = TestClient(app, backend=anyio_backend)
    with pytest.raises(RuntimeError, match="before completing the response"):
        client.get("/")
