import dataclasses
from typing import Any

import pytest

from asgi_core.limits import (
    DEFAULT_LIMITS,
    LIMITS_KEY,
    RequestLimits,
    check_headers,
    get_limits,
    refuse_hostile_headers,
)
from asgi_core.types import Message


def test_defaults_are_safe() -> None:
    limits = RequestLimits()
    assert limits.max_body_size is None
    assert limits.max_buffered_size == 2_621_440
    assert limits.max_json_depth == 64
    assert limits.max_fields == 1000
    assert limits.max_files == 1000
    assert limits.max_part_size == 1_048_576
    assert limits.spool_max_size == 1_048_576
    assert limits.max_upload_memory == 4 * 1_048_576
    assert limits.max_upload_disk == 1024 * 1_048_576
    assert limits.max_message_size == 1_048_576
    assert limits.max_headers == 100
    assert limits.max_header_size == 65_536


def test_limits_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        DEFAULT_LIMITS.max_body_size = 10  # type: ignore[misc]


def test_get_limits_without_key_gives_defaults() -> None:
    assert get_limits({"type": "http"}) == RequestLimits()


def test_get_limits_reads_the_scope() -> None:
    scope = {"type": "http"}
    scope[LIMITS_KEY] = dataclasses.replace(get_limits(scope), max_body_size=10)
    assert get_limits(scope).max_body_size == 10
    assert get_limits(scope).max_json_depth == 64


def test_get_limits_ignores_foreign_values() -> None:
    assert get_limits({LIMITS_KEY: {"max_body_size": 1}}) is DEFAULT_LIMITS


def test_key_is_namespaced() -> None:
    assert LIMITS_KEY == "asgi_app.limits"


# --- the header section: count, size, one Host ------------------------------------------


def test_check_headers_accepts_an_ordinary_request() -> None:
    headers = [(b"host", b"example.com"), (b"accept", b"*/*"), (b"cookie", b"a=" + b"b" * 9000)]
    assert check_headers(headers, DEFAULT_LIMITS) is None
    assert check_headers([], DEFAULT_LIMITS) is None


def test_check_headers_counts_lines_and_bytes() -> None:
    limits = RequestLimits(max_headers=2, max_header_size=10)
    assert check_headers([(b"a", b"1")] * 2, limits) is None
    assert check_headers([(b"a", b"1")] * 3, limits) == (
        431,
        "Too many request headers (limit: 2).",
    )
    assert check_headers([(b"abcde", b"12345")], limits) is None
    status, message = check_headers([(b"abcde", b"123456")], limits) or (0, "")
    assert status == 431
    assert "(limit: 10 bytes)" in message


@pytest.mark.parametrize("second", [b"example.com", b"evil.example"])
def test_check_headers_refuses_a_second_host_line(second: bytes) -> None:
    headers = [(b"host", b"example.com"), (b"accept", b"*/*"), (b"host", second)]
    assert check_headers(headers, DEFAULT_LIMITS) == (
        400,
        "A request may carry only one Host header.",
    )


def sender() -> tuple[list[Message], Any]:
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    return sent, send


def queue(*messages: Message) -> Any:
    pending = list(messages)

    async def receive() -> Message:
        return pending.pop(0)

    return receive


def test_refuse_hostile_headers_passes_good_requests_and_lifespan() -> None:
    assert refuse_hostile_headers({"type": "lifespan"}) is None
    assert refuse_hostile_headers({"type": "http", "headers": []}) is None
    assert refuse_hostile_headers({"type": "http", "headers": [(b"host", b"a")]}) is None


def test_refuse_hostile_headers_uses_the_scope_limits_and_keeps_one_list() -> None:
    scope: dict[str, Any] = {
        "type": "http",
        "headers": ((b"a", b"1"), (b"b", b"2")),
        LIMITS_KEY: RequestLimits(max_headers=1),
    }
    assert refuse_hostile_headers(scope) is not None
    assert scope["headers"] == [(b"a", b"1"), (b"b", b"2")]


@pytest.mark.anyio
async def test_refusal_of_an_http_request_is_a_plain_response() -> None:
    scope = {"type": "http", "headers": [(b"host", b"a"), (b"host", b"b")]}
    refusal = refuse_hostile_headers(scope)
    assert refusal is not None
    sent, send = sender()
    await refusal(scope, queue(), send)
    assert sent[0]["status"] == 400
    assert (b"connection", b"close") in sent[0]["headers"]
    assert sent[1] == {
        "type": "http.response.body",
        "body": b"A request may carry only one Host header.",
    }


@pytest.mark.anyio
async def test_refusal_of_a_websocket_handshake() -> None:
    scope: dict[str, Any] = {
        "type": "websocket",
        "headers": [(b"x", b"1")] * 101,
        "extensions": {"websocket.http.response": {}},
    }
    refusal = refuse_hostile_headers(scope)
    assert refusal is not None
    sent, send = sender()
    await refusal(scope, queue({"type": "websocket.connect"}), send)
    assert sent[0]["type"] == "websocket.http.response.start"
    assert sent[0]["status"] == 431
    assert sent[1]["type"] == "websocket.http.response.body"
    # Without the denial-response extension: a close before accept (HTTP 403).
    del scope["extensions"]
    sent, send = sender()
    await refusal(scope, queue({"type": "websocket.connect"}), send)
    assert sent == [{"type": "websocket.close", "code": 1008, "reason": ""}]
    # A client gone before the handshake gets nothing.
    sent, send = sender()
    await refusal(scope, queue({"type": "websocket.disconnect", "code": 1006}), send)
    assert sent == []
