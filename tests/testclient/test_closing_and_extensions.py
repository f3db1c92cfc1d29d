"""Closing responses and clients, legacy ASGI 2 apps, trailers, push promises,
disconnects, the lifespan methods and the portal."""

from __future__ import annotations

import threading
import time
from collections.abc import Generator

import anyio
import httpx
import pytest
from asgi_driver import Boom

from asgi_core.requests import Request
from asgi_core.types import Message, Receive, Scope, Send
from asgi_testkit import (
    ASGI2App,
    ASGI3App,
    ASGIInstance,
    AsyncTestClient,
    TestClient,
    WebSocketDenialResponse,
    WebSocketDisconnect,
)


async def respond(send: Send, body: bytes = b"ok") -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


def background_app(done: list[str], fail: bool = False, hang: bool = False) -> ASGI3App:
    """Answers "ok", then keeps working: records "done", or raises, or never ends."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            return  # no lifespan support
        await respond(send)
        await anyio.sleep(0.01)
        if hang:
            await anyio.sleep_forever()
        if fail:
            raise Boom("background task failed")
        done.append("done")

    return app


def endless_app(cancelled: threading.Event) -> ASGI3App:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            return  # no lifespan support
        await send({"type": "http.response.start", "status": 200, "headers": []})
        try:
            while True:
                await send({"type": "http.response.body", "body": b".", "more_body": True})
        except anyio.get_cancelled_exc_class():
            cancelled.set()
            raise

    return app


# -- closing a streamed response --------------------------------------------------------


def test_closing_a_complete_response_waits_for_the_background_task(anyio_backend: str) -> None:
    done: list[str] = []
    client = TestClient(background_app(done), backend=anyio_backend)
    with client.stream("GET", "/") as response:
        assert next(response.iter_raw()) == b"ok"
        assert done == []
    assert done == ["done"]


def test_closing_raises_the_background_error_even_inside_an_except_block(
    anyio_backend: str,
) -> None:
    client = TestClient(background_app([], fail=True), backend=anyio_backend)
    response = client.send(client.build_request("GET", "/"), stream=True)
    assert next(response.iter_raw()) == b"ok"
    try:
        raise KeyError("unrelated")
    except KeyError:
        with pytest.raises(Boom, match="background task failed"):
            response.close()
    response.close()  # closed already: nothing more happens

    quiet = TestClient(background_app([], fail=True), raise_server_exceptions=False)
    with quiet.stream("GET", "/") as response:
        assert next(response.iter_raw()) == b"ok"


def test_closing_gives_up_on_a_background_task_that_never_ends(anyio_backend: str) -> None:
    client = TestClient(background_app([], hang=True), backend=anyio_backend, timeout=0.1)
    with (
        pytest.raises(TimeoutError, match="the end of GET http://testserver/"),
        client.stream("GET", "/") as response,
    ):
        assert next(response.iter_raw()) == b"ok"


def test_an_error_after_a_partial_read_is_raised_on_close(anyio_backend: str) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"a", "more_body": True})
        raise Boom("mid-body")

    client = TestClient(app, backend=anyio_backend)
    response = client.send(client.build_request("GET", "/"), stream=True)
    assert next(response.iter_raw()) == b"a"
    time.sleep(0.05)  # the app fails meanwhile
    with pytest.raises(Boom, match="mid-body"):
        response.close()


def test_closing_the_client_cancels_responses_never_closed(anyio_backend: str) -> None:
    cancelled = threading.Event()
    client = TestClient(endless_app(cancelled), backend=anyio_backend)
    response = client.send(client.build_request("GET", "/"), stream=True)
    assert next(response.iter_raw()) == b"."
    client.close()
    assert cancelled.is_set()
    response.close()  # already cancelled with the client

    cancelled.clear()
    with TestClient(endless_app(cancelled), backend=anyio_backend) as client:
        response = client.send(client.build_request("GET", "/"), stream=True)
        assert next(response.iter_raw()) == b"."
    assert cancelled.is_set()


@pytest.mark.anyio
async def test_async_closing_waits_raises_and_cancels() -> None:
    done: list[str] = []
    async with AsyncTestClient(background_app(done)) as client:
        async with client.stream("GET", "/") as response:
            assert await response.aiter_raw().__anext__() == b"ok"
        assert done == ["done"]
        async with AsyncTestClient(background_app([], fail=True)) as failing:
            response = await failing.send(failing.build_request("GET", "/"), stream=True)
            with pytest.raises(Boom, match="background task failed"):
                await response.aread()

    cancelled = threading.Event()
    async with AsyncTestClient(endless_app(cancelled)) as client:
        response = await client.send(client.build_request("GET", "/"), stream=True)
        assert await response.aiter_raw().__anext__() == b"."
        await client.aclose()
        assert cancelled.is_set()
        await response.aclose()  # already cancelled with the client


# -- legacy ASGI 2 applications ---------------------------------------------------------


def asgi2_function(scope: Scope) -> ASGIInstance:
    async def instance(receive: Receive, send: Send) -> None:
        await respond(send, f"asgi2 {scope['path']}".encode())

    return instance


class ASGI2Class:
    def __init__(self, scope: Scope) -> None:
        self.scope = scope

    async def __call__(self, receive: Receive, send: Send) -> None:
        await respond(send, b"asgi2 class")


class ASGI3Class:
    """An ASGI 3 app as a class: instantiating it with the three arguments is the call."""

    def __init__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.send = send

    def __await__(self) -> Generator[object, None, None]:
        return respond(self.send, b"asgi3 class").__await__()


LEGACY_AND_CLASS_APPS: list[tuple[ASGI2App | ASGI3App, str]] = [
    (asgi2_function, "asgi2 /x"),
    (ASGI2Class, "asgi2 class"),
    (ASGI3Class, "asgi3 class"),
]


def test_asgi2_and_class_based_apps_are_served(anyio_backend: str) -> None:
    for app, text in LEGACY_AND_CLASS_APPS:
        assert TestClient(app, backend=anyio_backend).get("/x").text == text


@pytest.mark.anyio
async def test_asgi2_and_class_based_apps_are_served_async() -> None:
    for app, text in LEGACY_AND_CLASS_APPS:
        assert (await AsyncTestClient(app).get("/x")).text == text


# -- trailers, push promises, disconnects --------------------------------------------------


def test_trailers_arrive_after_a_streamed_body(anyio_backend: str) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "trailers": True})
        await send({"type": "http.response.body", "body": b"", "more_body": True})
        await send({"type": "http.response.body", "body": b"data"})
        await send({"type": "http.response.trailers", "headers": [(b"x-sum", b"42")]})

    client = TestClient(app, backend=anyio_backend)
    with client.stream("GET", "/") as response:
        trailers = response.extensions["http.response.trailers"]
        assert response.read() == b"data"
        assert trailers == [(b"x-sum", b"42")]  # the same list, filled in place


def test_trailers_before_the_end_of_the_body_are_an_error(anyio_backend: str) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "trailers": True})
        await send({"type": "http.response.body", "body": b"a", "more_body": True})
        await send({"type": "http.response.trailers", "headers": []})

    client = TestClient(app, backend=anyio_backend)
    with pytest.raises(RuntimeError, match=r"'http\.response\.trailers' before the body ended"):
        client.get("/")


def test_push_promises_and_disconnect_after_the_response(anyio_backend: str) -> None:
    seen: list[bool] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive, send)
        await request.body()
        await request.send_push_promise("/style.css")
        seen.append(await request.is_disconnected())
        await respond(send)
        seen.append(await request.is_disconnected())

    client = TestClient(app, backend=anyio_backend)
    response = client.get("/page", headers={"accept-language": "en"})
    [push] = response.extensions["push_promises"]
    assert isinstance(push, httpx.Request)
    assert str(push.url) == "http://testserver/style.css"
    assert push.headers["accept-language"] == "en"
    assert seen == [False, True]


# -- websockets --------------------------------------------------------------------------


async def auth_echo(scope: Scope, receive: Receive, send: Send) -> None:
    """Accepts, sends the authorization header and query string, then waits to close."""
    await receive()
    if scope["path"] == "/denied":
        await send({"type": "websocket.http.response.start", "status": 403, "headers": []})
        await send({"type": "websocket.http.response.body", "body": b"go away"})
        return
    headers = dict(scope["headers"])
    await send({"type": "websocket.accept", "subprotocol": scope["subprotocols"][-1]})
    await send({"type": "websocket.send", "text": headers[b"authorization"].decode()})
    await send({"type": "websocket.send", "bytes": scope["query_string"]})
    await receive()


def test_websocket_connect_takes_httpx_request_arguments(anyio_backend: str) -> None:
    client = TestClient(auth_echo, backend=anyio_backend)
    with client.websocket_connect(
        "/ws",
        ["a", "b"],
        auth=("ann", "secret"),
        params={"q": "1"},
        headers={"x-extra": "1"},
        timeout=5,
    ) as ws:
        assert ws.accepted_subprotocol == "b"
        assert ws.receive_text() == httpx.BasicAuth("ann", "secret")._auth_header
        assert ws.receive_bytes() == b"q=1"


@pytest.mark.anyio
async def test_async_websocket_connect_takes_httpx_request_arguments() -> None:
    client = AsyncTestClient(auth_echo)
    async with client.websocket_connect("/ws", ["c"], auth=("bob", "pw")) as ws:
        assert ws.accepted_subprotocol == "c"
        assert await ws.receive_text() == httpx.BasicAuth("bob", "pw")._auth_header


def test_a_denial_is_a_websocket_disconnect(anyio_backend: str) -> None:
    client = TestClient(auth_echo, backend=anyio_backend)
    with pytest.raises(WebSocketDisconnect) as caught, client.websocket_connect("/denied"):
        pass
    denial = caught.value
    assert isinstance(denial, WebSocketDenialResponse)
    assert (denial.code, denial.reason) == (1006, "Forbidden")
    assert (denial.status_code, denial.text) == (403, "go away")


# -- the lifespan methods and the portal ----------------------------------------------------


def test_portal_and_lifespan_methods(anyio_backend: str) -> None:
    events: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        while True:
            message: Message = await receive()
            events.append(message["type"])
            await send({"type": f"{message['type']}.complete"})
            if message["type"] == "lifespan.shutdown":
                return

    client = TestClient(app, backend=anyio_backend)
    assert client.portal is None
    with client:
        assert client.portal is not None
        assert client.portal.call(anyio.sleep, 0) is None
        assert not client.task.done()
    assert client.portal is None
    assert client.task.done()
    assert events == ["lifespan.startup", "lifespan.shutdown"]
    for step in (client.lifespan, client.wait_startup, client.wait_shutdown):
        with pytest.raises(RuntimeError, match="enter the client"):
            anyio.run(step, backend=anyio_backend)
