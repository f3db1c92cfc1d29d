"""``request.json()`` refuses NaN and Infinity (Python's json reads them; JSON has none).

An endpoint that echoes ``request.json()`` through a JSON response would otherwise fail
with a 500 when it encodes the value: a malformed body is the client's error, a 400.
"""

from __future__ import annotations

import json

import pytest
from asgi_driver import body_receive, make_scope

from asgi_core._parsers import ParseError, parse_json
from asgi_core.exceptions import HTTPException
from asgi_core.requests import Request

pytestmark = pytest.mark.anyio

NOT_JSON = [
    (b'{"a": NaN}', "NaN"),
    (b"[1, Infinity]", "Infinity"),
    (b'{"a": {"b": [-Infinity]}}', "-Infinity"),
    (b"NaN", "NaN"),
]


@pytest.mark.parametrize(("body", "constant"), NOT_JSON)
def test_parse_json_refuses_non_finite_constants(body: bytes, constant: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse_json(body, max_depth=8)
    assert str(caught.value) == (
        f"The request body is not valid JSON: {constant} is not a JSON value "
        "(JSON has no NaN or Infinity)."
    )


def test_the_words_inside_strings_are_text() -> None:
    body = b'{"NaN": "Infinity", "n": -1.5e3, "t": true, "f": false, "z": null}'
    assert parse_json(body, max_depth=2) == json.loads(body)


@pytest.mark.parametrize(("body", "constant"), NOT_JSON)
async def test_request_json_answers_400(body: bytes, constant: str) -> None:
    scope = make_scope("POST", "/", [("content-type", "application/json")], app=object())
    request = Request(scope, body_receive(body))
    with pytest.raises(HTTPException) as caught:
        await request.json()
    assert caught.value.status_code == 400
    assert f"{constant} is not a JSON value" in caught.value.detail
