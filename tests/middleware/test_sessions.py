"""SessionMiddleware: signed cookies, forged/expired/junk cookies, change detection."""

from __future__ import annotations

import importlib
import json
import sys
from base64 import b64encode
from typing import Any

import itsdangerous
import pytest

from asgi_core.datastructures import Secret
from asgi_core.types import Message, Receive, Scope, Send
from asgi_middleware.sessions import Session, SessionMiddleware

pytestmark = pytest.mark.anyio


async def session_app(scope: Scope, receive: Receive, send: Send) -> None:
    """Applies the request body (JSON) as an update to the session, then echoes it."""
    message = await receive()
    update = json.loads(message.get("body") or b"null")
    if update == "clear":
        scope["session"].clear()
    elif update == "replace":
        scope["session"] = {"replaced": True}
    elif update is not None:
        scope["session"].update(update)
    body = json.dumps(scope["session"]).encode()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


async def run(app: Any, cookie: str | None = None, update: Any = None) -> tuple[Any, list[str]]:
    headers = [] if cookie is None else [(b"cookie", cookie.encode("latin-1"))]
    scope = {"type": "http", "method": "POST", "path": "/", "headers": headers}
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": json.dumps(update).encode()}

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    cookies = [v.decode("latin-1") for k, v in sent[0]["headers"] if k == b"set-cookie"]
    return json.loads(sent[1]["body"]), cookies


def cookie_value(set_cookie: str) -> str:
    return set_cookie.split(";", 1)[0]


async def test_round_trip_and_attributes() -> None:
    app = SessionMiddleware(session_app, "secret")
    session, cookies = await run(app, update={"user": 1})
    assert session == {"user": 1}
    (set_cookie,) = cookies
    assert set_cookie.startswith("session=")
    assert "; path=/; Max-Age=1209600; httponly; samesite=lax" in set_cookie
    assert "secure" not in set_cookie

    # same session, unchanged: no Set-Cookie at all
    session, cookies = await run(app, "other=1; " + cookie_value(set_cookie))
    assert session == {"user": 1}
    assert cookies == []

    # changed: a new cookie
    session, cookies = await run(app, cookie_value(set_cookie), {"cart": [1, 2]})
    assert session == {"user": 1, "cart": [1, 2]}
    assert len(cookies) == 1

    # cleared: the cookie is expired
    session, cookies = await run(app, cookie_value(set_cookie), "clear")
    assert session == {}
    assert cookies[0].startswith("session=null; path=/; expires=Thu, 01 Jan 1970 00:00:00 GMT")
    assert "Max-Age=0" in cookies[0]


async def test_replacing_the_session_dict_is_saved() -> None:
    app = SessionMiddleware(session_app, Secret("secret"))
    _, cookies = await run(app, update="replace")
    session, _ = await run(app, cookie_value(cookies[0]))
    assert session == {"replaced": True}


async def test_nested_mutation_is_detected() -> None:
    async def mutate(scope: Scope, receive: Receive, send: Send) -> None:
        scope["session"].setdefault("items", []).append(len(scope["session"]["items"]))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    app = SessionMiddleware(mutate, b"secret-bytes")
    sent: list[Message] = []
    cookie = b""
    for _ in range(3):
        sent.clear()

        async def receive() -> Message:
            return {"type": "http.request"}

        async def send(message: Message) -> None:
            sent.append(message)

        scope = {"type": "http", "headers": [(b"cookie", cookie)] if cookie else []}
        await app(scope, receive, send)
        (header,) = [v for k, v in sent[0]["headers"] if k == b"set-cookie"]
        cookie = header.split(b";")[0]
    assert scope["session"] == {"items": [0, 1, 2]}


async def test_options() -> None:
    app = SessionMiddleware(
        session_app,
        "secret",
        session_cookie="sid",
        max_age=None,
        path="/app",
        same_site="strict",
        https_only=True,
        domain=".example.com",
    )
    _, cookies = await run(app, update={"a": 1})
    assert cookies[0].startswith("sid=")
    assert cookies[0].endswith(
        "; path=/app; httponly; samesite=strict; secure; domain=.example.com"
    )
    assert "Max-Age" not in cookies[0]
    session, _ = await run(app, f'sid="{cookie_value(cookies[0])[4:]}"')
    assert session == {"a": 1}


@pytest.mark.parametrize(
    "cookie",
    [
        "session=",
        "session=garbage",
        "session=\xff\xfe",
        'session="',
        "session=a.b.c",
        "session",
    ],
)
async def test_junk_cookies_give_an_empty_session(cookie: str) -> None:
    session, cookies = await run(SessionMiddleware(session_app, "secret"), cookie)
    assert session == {}
    assert cookies == []


async def test_forged_foreign_and_expired_cookies() -> None:
    app = SessionMiddleware(session_app, "secret", max_age=60)
    _, cookies = await run(app, update={"admin": False})
    value = cookie_value(cookies[0])[len("session=") :]

    # tampered payload, same signature
    rest = value.partition(".")[2]
    forged = b64encode(json.dumps({"admin": True}).encode()).decode() + "." + rest
    assert (await run(app, f"session={forged}"))[0] == {}

    # signed with another key
    foreign = SessionMiddleware(session_app, "another")
    _, foreign_cookies = await run(foreign, update={"admin": True})
    session, cookies = await run(app, cookie_value(foreign_cookies[0]))
    assert session == {}
    assert cookies == []  # a cookie that was not ours is not cleared

    # fresh is fine; expired (signed 2 minutes ago, max_age=60) is not
    fresh = itsdangerous.TimestampSigner("secret").sign(b64encode(b'{"admin": false}'))

    class PastSigner(itsdangerous.TimestampSigner):
        def get_timestamp(self) -> int:
            return super().get_timestamp() - 120

    expired = PastSigner("secret").sign(b64encode(b'{"admin": false}')).decode()
    assert (await run(app, f"session={fresh.decode()}"))[0] == {"admin": False}
    assert (await run(app, f"session={expired}"))[0] == {}


@pytest.mark.parametrize(
    "payload",
    [b"[1, 2]", b"not json", b'"string"', b"[" * 100_000 + b"]" * 100_000, b"\xff\xfe"],
)
async def test_signed_but_undecodable_payloads(payload: bytes) -> None:
    signer = itsdangerous.TimestampSigner("secret")
    for data in (b64encode(payload), b"not*base64!"):
        cookie = "session=" + signer.sign(data).decode()
        session, cookies = await run(SessionMiddleware(session_app, "secret"), cookie)
        assert session == {}
        assert cookies == []


async def test_a_loaded_empty_session_is_kept_until_modified() -> None:
    cookie = "session=" + itsdangerous.TimestampSigner("s").sign(b64encode(b"{}")).decode()
    session, cookies = await run(SessionMiddleware(session_app, "s"), cookie)
    assert session == {}
    assert cookies == []
    session, cookies = await run(SessionMiddleware(session_app, "s"), cookie, "clear")
    assert cookies[0].startswith("session=null;")


async def test_websocket_gets_a_session_and_other_scopes_pass() -> None:
    app_sessions: list[Any] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        app_sessions.append(scope.get("session"))
        await send({"type": "websocket.accept"})

    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "websocket.connect"}

    async def send(message: Message) -> None:
        sent.append(message)

    middleware = SessionMiddleware(app, "secret")
    _, cookies = await run(SessionMiddleware(session_app, "secret"), update={"u": 1})
    headers = [(b"accept", b"*/*"), (b"cookie", cookie_value(cookies[0]).encode())]
    await middleware({"type": "websocket", "headers": headers}, receive, send)
    await middleware({"type": "lifespan"}, receive, send)
    assert app_sessions == [{"u": 1}, None]
    assert sent == [{"type": "websocket.accept"}] * 2


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"secret_key": ""}, "secret_key"),
        ({"secret_key": Secret("")}, "secret_key"),
        ({"session_cookie": "a b"}, "cookie name"),
        ({"session_cookie": "a;b"}, "cookie name"),
        ({"path": "/a; Domain=evil.com"}, "cookie path"),
        ({"path": "relative"}, "cookie path"),
        ({"path": "/a\r\nSet-Cookie: x=1"}, "cookie path"),
        ({"path": "/a,b"}, "cookie path"),
        ({"domain": "example.com; secure"}, "cookie domain"),
        ({"domain": "exa mple.com"}, "cookie domain"),
        ({"domain": ""}, "cookie domain"),
        ({"domain": "-bad.com"}, "cookie domain"),
        ({"same_site": "sometimes"}, "same_site"),
        ({"max_age": 0}, "max_age"),
    ],
)
def test_invalid_settings_are_refused(kwargs: dict[str, Any], message: str) -> None:
    arguments: dict[str, Any] = {"secret_key": "secret", **kwargs}
    with pytest.raises(ValueError, match=message):
        SessionMiddleware(session_app, **arguments)


def test_missing_itsdangerous_fails_the_import_naming_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Where the application imports SessionMiddleware, before it serves anything
    # (never a server that starts and answers every request with a 500).
    monkeypatch.setitem(sys.modules, "itsdangerous", None)
    monkeypatch.delitem(sys.modules, "asgi_middleware.sessions")
    with pytest.raises(ImportError, match=r'pip install "asgi-middleware\[sessions\]"'):
        importlib.import_module("asgi_middleware.sessions")


# --- Session: accessed / modified ---------------------------------------------------


def test_session_reads_mark_it_accessed_and_writes_modified() -> None:
    reads: list[Any] = [
        lambda s: s["a"],
        lambda s: s.get("a"),
        lambda s: "a" in s,
        lambda s: list(s),
        lambda s: len(s),
        lambda s: s.keys(),
        lambda s: s.values(),
        lambda s: s.items(),
        lambda s: s.copy(),
        lambda s: s.pop("missing", None),
        lambda s: s.setdefault("a", 2),
        lambda s: s.mark_accessed(),
        lambda s: s == {"a": 1},
        lambda s: s != {"a": 2},
        lambda s: list(reversed(s)),
        lambda s: s | {"b": 2},
        lambda s: {"b": 2} | s,
    ]
    for read in reads:
        session = Session({"a": 1})
        assert (session.accessed, session.modified) == (False, False)
        read(session)
        assert (session.accessed, session.modified) == (True, False), read
        assert session == {"a": 1}
    assert type(Session({"a": 1}).copy()) is dict

    def ior(s: Session) -> None:
        s |= {"c": 3}

    writes: list[Any] = [
        lambda s: s.__setitem__("b", 2),
        lambda s: s.__delitem__("a"),
        lambda s: s.clear(),
        lambda s: s.pop("a"),
        lambda s: s.popitem(),
        lambda s: s.setdefault("new", 1),
        lambda s: s.update(b=2),
        ior,
        lambda s: s.mark_modified(),
    ]
    for write in writes:
        session = Session({"a": 1})
        write(session)
        assert (session.accessed, session.modified) == (True, True), write
    empty = Session()
    with pytest.raises(KeyError):
        empty.popitem()
    assert empty.modified is False


async def raw_run(app: Any, cookie: bytes | None = None) -> list[tuple[bytes, bytes]]:
    headers = [] if cookie is None else [(b"cookie", cookie)]
    scope = {"type": "http", "method": "GET", "path": "/", "headers": headers}
    sent: list[Message] = []

    async def receive() -> Message:  # pragma: no cover - never called
        raise AssertionError

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return list(sent[0]["headers"])


def reacting(action: Any, headers: list[tuple[bytes, bytes]] | None = None) -> Any:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        action(scope["session"])
        await send({"type": "http.response.start", "status": 200, "headers": headers or []})
        await send({"type": "http.response.body", "body": b""})

    return app


async def test_vary_cookie_only_when_the_session_was_accessed() -> None:
    untouched = await raw_run(SessionMiddleware(reacting(lambda s: None), "k"))
    assert untouched == []
    read = SessionMiddleware(reacting(lambda s: s.get("user"), [(b"vary", b"Origin")]), "k")
    assert await raw_run(read) == [(b"vary", b"Origin, Cookie")]
    marked = await raw_run(SessionMiddleware(reacting(lambda s: s.mark_accessed()), "k"))
    assert marked == [(b"vary", b"Cookie")]
    written = await raw_run(SessionMiddleware(reacting(lambda s: s.update(a=1)), "k"))
    assert written[0] == (b"vary", b"Cookie")
    assert written[1][0] == b"set-cookie"


async def test_an_unmodified_session_is_not_signed_again() -> None:
    app = SessionMiddleware(reacting(lambda s: s.update(a=1)), "k")
    cookie = (await raw_run(app))[1][1].split(b";")[0]
    # read only: same cookie, not re-signed, but the response varies on it
    assert await raw_run(SessionMiddleware(reacting(lambda s: s["a"]), "k"), cookie) == [
        (b"vary", b"Cookie")
    ]
    # modified, even to the same value: signed again (a refreshed expiry)
    same = await raw_run(SessionMiddleware(reacting(lambda s: s.update(a=1)), "k"), cookie)
    assert [name for name, _ in same] == [b"vary", b"set-cookie"]
    refreshed = SessionMiddleware(reacting(lambda s: s.mark_modified()), "k")
    assert [name for name, _ in await raw_run(refreshed, cookie)] == [b"vary", b"set-cookie"]


async def test_a_replaced_session_mapping_varies_and_is_compared() -> None:
    async def replace(scope: Scope, receive: Receive, send: Send) -> None:
        scope["session"] = {"a": 1}
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    first = await raw_run(SessionMiddleware(replace, "k"))
    assert first[0] == (b"vary", b"Cookie")
    cookie = first[1][1].split(b";")[0]
    assert await raw_run(SessionMiddleware(replace, "k"), cookie) == [(b"vary", b"Cookie")]


async def test_partitioned_cookie_attribute() -> None:
    app = SessionMiddleware(
        reacting(lambda s: s.update(a=1)), "k", https_only=True, partitioned=True
    )
    (_, (_, set_cookie)) = await raw_run(app)
    assert set_cookie.endswith(b"; httponly; samesite=lax; secure; partitioned")
    plain = SessionMiddleware(reacting(lambda s: s.update(a=1)), "k")
    assert b"partitioned" not in (await raw_run(plain))[1][1]


async def test_vary_cookie_on_every_response_that_read_or_wrote_the_session() -> None:
    """The round-2 attack: a shared cache serving one user's session page to others."""
    cases: list[Any] = [
        lambda s: "user" in s,
        lambda s: bool(s),
        lambda s: s == {},
        lambda s: dict(s),
        lambda s: s | {},
        lambda s: s.__setitem__("user", 1),
        lambda s: s.pop("user", None),
        lambda s: s.clear(),
    ]
    for action in cases:
        headers = await raw_run(SessionMiddleware(reacting(action), "k"))
        assert headers[0] == (b"vary", b"Cookie"), action
    assert {"a": 1} | Session({"b": 2}) == {"a": 1, "b": 2}
    assert (Session({"b": 2}) | {"a": 1}) == {"b": 2, "a": 1}
    assert type(Session() | {}) is dict
    with pytest.raises(TypeError):
        hash(Session())
