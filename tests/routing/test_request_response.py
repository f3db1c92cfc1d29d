"""request_response sends the stock responses itself (one coroutine less a request):
what it sends, and when, must be exactly what ``Response.__call__`` does."""

from __future__ import annotations

from typing import Any

import pytest
from asgi_driver import idle_receive, make_scope

from asgi_core.background import BackgroundTask
from asgi_responses import (
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from asgi_routing import request_response
from asgi_routing.routing import _SENT_HERE

pytestmark = pytest.mark.anyio

Message = dict[str, Any]


class OwnCall(PlainTextResponse):
    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await super().__call__(scope, receive, send)
        await send({"type": "http.response.body", "body": b"+own"})


class Subclass(JSONResponse):
    pass


def build(kind: str, log: list[Any], with_task: bool) -> Response:
    async def task() -> None:
        log.append("background")

    background = BackgroundTask(task) if with_task else None
    if kind == "response":
        return Response(b"raw", 201, {"x-a": "1"}, "text/csv", background)
    if kind == "plain":
        return PlainTextResponse("hi", background=background)
    if kind == "json":
        return JSONResponse({"a": [1]}, background=background)
    if kind == "html":
        return HTMLResponse("<p>", status_code=404, background=background)
    if kind == "redirect":
        return RedirectResponse("/x y", background=background)
    if kind == "own_call":
        return OwnCall("own", background=background)
    return Subclass([1], background=background)


async def run_both(
    kind: str, method: str, with_task: bool, fail: type[BaseException] | None
) -> tuple[list[Any], list[Any]]:
    """(what request_response did, what Response.__call__ did): messages and events."""
    outcomes = []
    for direct in (False, True):
        log: list[Any] = []

        async def send(message: Message, log: list[Any] = log) -> None:
            log.append(message)
            if fail is not None:
                raise fail("send failed")

        response = build(kind, log, with_task)

        async def endpoint(request: Any, response: Response = response) -> Response:
            return response

        scope = make_scope(method, "/")
        try:
            if direct:
                await response(scope, idle_receive, send)
            else:
                await request_response(endpoint)(scope, idle_receive, send)
        except BaseException as exc:
            log.append(("raised", type(exc), str(exc)))
        outcomes.append(log)
    return outcomes[0], outcomes[1]


def test_the_stock_responses_are_sent_in_request_response() -> None:
    assert {
        Response,
        PlainTextResponse,
        JSONResponse,
        HTMLResponse,
        RedirectResponse,
    } == _SENT_HERE
    assert StreamingResponse not in _SENT_HERE
    assert Subclass not in _SENT_HERE


@pytest.mark.parametrize(
    "kind", ["response", "plain", "json", "html", "redirect", "own_call", "subclass"]
)
@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize("with_task", [False, True])
@pytest.mark.parametrize("fail", [None, OSError, ConnectionResetError, RuntimeError])
async def test_request_response_sends_what_response_call_sends(
    kind: str, method: str, with_task: bool, fail: type[BaseException] | None
) -> None:
    ours, direct = await run_both(kind, method, with_task, fail)
    assert ours == direct
    messages = [entry for entry in ours if isinstance(entry, dict)]
    assert messages[0]["type"] == "http.response.start"
    if kind == "own_call":
        return  # its own __call__ decides the rest
    if fail is None:
        assert messages[1]["body"] == (b"" if method == "HEAD" else build(kind, [], False).body)
        assert ("background" in ours) is with_task
    elif issubclass(fail, OSError):  # the client went away: quietly, background still runs
        assert len(messages) == 1
        assert ("background" in ours) is with_task
    else:
        assert ours[-1] == ("raised", RuntimeError, "send failed")
