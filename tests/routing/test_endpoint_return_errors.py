"""An endpoint that returns something other than a response gets an error naming it."""

from __future__ import annotations

from typing import Any

import pytest
from asgi_driver import run

from asgi_responses import PlainTextResponse
from asgi_routing import Route, Router


async def returns_none(request: Any) -> None:
    return None


def returns_a_dict(request: Any) -> dict[str, int]:
    return {"a": 1}


class Broken(PlainTextResponse):
    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        raise TypeError("inside the response")


async def returns_broken(request: Any) -> Broken:
    return Broken("x")


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("endpoint", "returned"), [(returns_none, "NoneType"), (returns_a_dict, "dict")]
)
async def test_the_error_names_the_endpoint_and_what_it_returned(
    endpoint: Any, returned: str
) -> None:
    router = Router([Route("/", endpoint)])
    with pytest.raises(TypeError) as info:
        await run(router, "GET", "/")
    message = str(info.value)
    assert (
        f"The endpoint {endpoint.__qualname__!r} returned {returned} instead of a response"
        in message
    )
    assert "JSONResponse(data)" in message


@pytest.mark.anyio
async def test_a_type_error_inside_a_response_is_not_rewritten() -> None:
    router = Router([Route("/", returns_broken)])
    with pytest.raises(TypeError, match="inside the response"):
        await run(router, "GET", "/")
