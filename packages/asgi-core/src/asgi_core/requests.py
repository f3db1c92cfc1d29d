"""The incoming connection: :class:`HTTPConnection` (shared with WebSockets) and
:class:`Request` (an HTTP request with its body).

Everything is parsed lazily and cached on the instance: a handler that never looks
at the cookies never pays for parsing them.

Reading the body is bounded by the scope's :class:`~asgi_core.limits.RequestLimits`
(Starlette has no such bounds): ``body()``, ``json()`` and urlencoded forms hold at
most ``max_buffered_size`` bytes in memory, and every way of reading the body stops at
``max_body_size``. A request over a limit gets ``HTTPException(413)``, refused before a
byte is read when its ``Content-Length`` already says so; a malformed body gets
``HTTPException(400)``.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator, Iterator, Mapping
from contextlib import aclosing
from types import MappingProxyType, TracebackType
from typing import Any, Generic, NoReturn, TypeVar, cast, overload

import anyio

from asgi_core._parsers import (
    ParseError,
    is_json_media_type,
    parse_content_type,
    parse_cookie,
    parse_json,
)
from asgi_core.datastructures import (
    URL,
    Address,
    FormData,
    Headers,
    QueryParams,
    State,
)
from asgi_core.exceptions import HTTPException
from asgi_core.formparsers import FormParser as FormParser  # importable from here, as before
from asgi_core.formparsers import (
    MultiPartException,
    MultiPartParser,
    _new_object,
    _urlencoded_form,
)
from asgi_core.limits import DEFAULT_LIMITS, LIMITS_KEY, RequestLimits, get_limits
from asgi_core.types import Message, Receive, Scope, Send

if sys.version_info >= (3, 13):  # pragma: no cover - one branch per Python version
    from typing import TypeVar as _DefaultTypeVar
else:  # pragma: no cover
    from typing_extensions import TypeVar as _DefaultTypeVar

__all__ = [
    "SERVER_PUSH_HEADERS_TO_COPY",
    "ClientDisconnect",
    "HTTPConnection",
    "Request",
    "StateT",
    "cookie_parser",
    "empty_receive",
    "empty_send",
]

_T = TypeVar("_T")

StateT = _DefaultTypeVar("StateT", bound=Mapping[str, Any] | State, default=State)
"""The type of ``connection.state``: ``Request[MyState]`` types ``request.state`` as
``MyState`` (a ``TypedDict`` read by item, or a ``State``); ``State`` by default."""

SERVER_PUSH_HEADERS_TO_COPY = {
    "accept",
    "accept-encoding",
    "accept-language",
    "cache-control",
    "user-agent",
}
"""The request headers :meth:`Request.send_push_promise` copies into the push promise."""

cookie_parser = parse_cookie
"""Parse a ``Cookie`` header into a dict, the way browsers send cookies (never raises)."""

_UNSET: Any = object()
_URLENCODED = b"application/x-www-form-urlencoded"
_MULTIPART_BOUNDARY = b"multipart/form-data; boundary="
_MULTIPART_BOUNDARY_LENGTH = len(_MULTIPART_BOUNDARY)
_NO_PARAMS: Mapping[str, str] = MappingProxyType({})


class _cached(Generic[_T]):
    """``functools.cached_property`` without its lock (Python < 3.12 takes one on
    every first access, a measurable cost per request): the value computed on first
    access is stored in the instance's ``__dict__``, which later lookups read directly.
    """

    def __init__(self, func: Callable[[Any], _T]) -> None:
        self._func = func
        self._name = func.__name__
        self.__doc__ = func.__doc__

    @overload
    def __get__(self, instance: None, owner: type | None = None) -> _cached[_T]: ...

    @overload
    def __get__(self, instance: object, owner: type | None = None) -> _T: ...

    def __get__(self, instance: object, owner: type | None = None) -> _T | _cached[_T]:
        if instance is None:
            return self
        value = instance.__dict__[self._name] = self._func(instance)
        return value


class ClientDisconnect(Exception):
    """The client went away while the request body was being read."""


async def empty_receive() -> NoReturn:
    """The ``receive`` of a request built without one: using it is a programming error."""
    raise RuntimeError("Receive channel has not been made available")


async def empty_send(message: Message) -> NoReturn:
    """The ``send`` of a request built without one: using it is a programming error."""
    raise RuntimeError("Send channel has not been made available")


class HTTPConnection(Mapping[str, Any], Generic[StateT]):
    """What HTTP requests and WebSocket connections share: URL, headers, cookies...

    It is a read-only mapping over the ASGI ``scope``. ``HTTPConnection[S]`` (and
    ``Request[S]``, ``WebSocket[S]``) types ``state`` as ``S``, see :data:`StateT`.
    """

    def __init__(self, scope: Scope, receive: Receive | None = None) -> None:
        if scope["type"] not in ("http", "websocket"):
            raise ValueError(
                f'HTTPConnection needs an "http" or "websocket" scope, not {scope["type"]!r}.'
            )
        self.scope = scope

    def __getitem__(self, key: str) -> Any:
        return self.scope[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.scope)

    def __len__(self) -> int:
        return len(self.scope)

    # Connections compare and hash by identity, not as the mappings they wrap.
    __eq__ = object.__eq__
    __hash__ = object.__hash__

    @property
    def app(self) -> Any:
        """The application that received the connection (``scope["app"]``)."""
        return self.scope["app"]

    @_cached
    def url(self) -> URL:
        """The full URL the client asked for."""
        return URL(scope=self.scope)

    @_cached
    def base_url(self) -> URL:
        """The URL of the application's root (its ``root_path``), with a trailing slash."""
        root = self.scope.get("app_root_path", self.scope.get("root_path", ""))
        if not root.endswith("/"):
            root += "/"
        return self.url.replace(path=root, query="", fragment="")

    @_cached
    def headers(self) -> Headers:
        """The request headers (case-insensitive, multi-valued)."""
        return Headers(scope=self.scope)

    @_cached
    def query_params(self) -> QueryParams:
        """The parsed query string."""
        return QueryParams(self.scope.get("query_string", b""))

    @property
    def path_params(self) -> dict[str, Any]:
        """The parameters the router matched in the path."""
        params: dict[str, Any] = self.scope.get("path_params", {})
        return params

    @_cached
    def cookies(self) -> dict[str, str]:
        """The request cookies, parsed the way browsers send them.

        Several ``Cookie`` headers (as HTTP/2 allows) are read as one; malformed
        pairs are skipped, never an error.
        """
        values = [value for key, value in self.headers.raw if key == b"cookie"]
        if not values:
            return {}
        return parse_cookie("; ".join(value.decode("latin-1") for value in values))

    @_cached
    def client(self) -> Address | None:
        """The client's ``(host, port)``, or ``None`` when the server did not say."""
        client = self.scope.get("client")
        if client is None:
            return None
        return Address(*client)

    def _set_by(self, key: str, middleware: str) -> Any:
        """``scope[key]``, which ``middleware`` sets; ``AssertionError`` without it."""
        if key not in self.scope:
            raise AssertionError(f"{middleware} must be installed to access request.{key}")
        return self.scope[key]

    @property
    def session(self) -> dict[str, Any]:
        """The session dict (needs ``SessionMiddleware``)."""
        session: dict[str, Any] = self._set_by("session", "SessionMiddleware")
        return session

    @property
    def auth(self) -> Any:
        """The credentials (needs ``AuthenticationMiddleware``)."""
        return self._set_by("auth", "AuthenticationMiddleware")

    @property
    def user(self) -> Any:
        """The authenticated user (needs ``AuthenticationMiddleware``)."""
        return self._set_by("user", "AuthenticationMiddleware")

    @_cached
    def state(self) -> StateT:
        """Per-request state, shared through ``scope["state"]`` with the lifespan's:
        ``request.state.db`` or ``request.state["db"]``."""
        return cast(StateT, State(self.scope.setdefault("state", {})))

    def url_for(self, name: str, /, **path_params: Any) -> URL:
        """The absolute URL of the route called ``name`` (needs a router in the scope)."""
        router = self.scope.get("router")
        if router is None:
            raise RuntimeError(
                "url_for() needs a router: it works inside an App or a Router "
                '(scope["router"] is not set).'
            )
        url_path = router.url_path_for(name, **path_params)
        url: URL = url_path.make_absolute_url(base_url=self.base_url)
        return url


class _AwaitableOrContextManager(Generic[_T]):
    """``await request.form()`` or ``async with request.form() as form:``.

    :meth:`Request.form` builds it with ``object.__new__`` and sets both slots: no
    ``__init__`` call (measured: 480 instructions of a form's ~31,000).
    """

    __slots__ = ("_awaitable", "_close")

    _awaitable: Awaitable[_T]
    _close: Callable[[], Awaitable[None]]

    def __await__(self) -> Generator[Any, None, _T]:
        return self._awaitable.__await__()

    async def __aenter__(self) -> _T:
        return await self._awaitable

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._close()


class Request(HTTPConnection[StateT]):
    """An HTTP request: the connection plus its method and body."""

    # Per-request state starts as class defaults: creating a Request stays cheap.
    _body: bytes | None = None
    _json: Any = _UNSET
    _form: FormData | None = None
    _stream_consumed = False
    _is_disconnected = False
    _peeked: Message | None = None

    def __init__(self, scope: Scope, receive: Receive = empty_receive, send: Send = empty_send):
        if scope["type"] != "http":
            raise ValueError(f'Request needs an "http" scope, not {scope["type"]!r}.')
        self.scope = scope
        self._receive = receive
        self._send = send

    @property
    def method(self) -> str:
        """The request method, upper case (``"GET"``)."""
        method: str = self.scope["method"]
        return method

    @property
    def receive(self) -> Receive:
        """The ASGI ``receive`` callable."""
        return self._receive

    def _raw_header(self, name: bytes) -> bytes | None:
        """The first value of header ``name`` (lower-case), read from the scope."""
        headers = self.scope.get("headers")
        if type(headers) is not list:
            headers = self.headers.raw
        # find_header(headers, name), inlined: every body read looks up a header or two.
        for key, value in headers:
            if key == name:
                return value
        return None

    def _start_reading(self, limit: int | None) -> None:
        """Mark the body as being read; refuse a declared length over ``limit``."""
        if self._stream_consumed:
            raise RuntimeError("Stream consumed")
        self._stream_consumed = True
        if limit is not None and _declares_over(self._raw_header(b"content-length"), limit):
            raise _too_large(limit)

    async def _next_message(self) -> Message:
        message = self._peeked
        if message is not None:
            self._peeked = None
            return message
        return await self._receive()

    def _disconnected(self) -> NoReturn:
        self._is_disconnected = True
        raise ClientDisconnect()

    async def _chunks(self, limit: int | None) -> AsyncGenerator[bytes, None]:
        """The body's chunks, refusing more than ``limit`` bytes with a 413."""
        if self._body is not None:
            yield self._body
            return
        self._start_reading(limit)
        received = 0
        while True:
            message = await self._next_message()
            kind = message["type"]
            if kind == "http.request":
                chunk: bytes = message.get("body", b"")
                if chunk:
                    received += len(chunk)
                    if limit is not None and received > limit:
                        raise _too_large(limit)
                    yield chunk
                if not message.get("more_body", False):
                    return
            elif kind == "http.disconnect":
                self._disconnected()

    async def stream(self) -> AsyncGenerator[bytes, None]:
        """Yield the body chunk by chunk, as it arrives, then a final ``b""``.

        Can be consumed once (``RuntimeError("Stream consumed")`` after), unless the
        body was already read with ``body()``. Raises :class:`ClientDisconnect` if
        the client goes away, and ``HTTPException(413)`` past ``max_body_size``.
        Closing it part-way (``aclose()``) closes the reading it drives as well.
        """
        async with aclosing(self._chunks(get_limits(self.scope).max_body_size)) as chunks:
            async for chunk in chunks:
                yield chunk
        yield b""

    async def body(self) -> bytes:
        """The whole body, read once and cached.

        At most ``max_buffered_size`` bytes (and ``max_body_size``) are held in
        memory; a larger body gets ``HTTPException(413)``. Use :meth:`stream` to
        process larger bodies chunk by chunk.
        """
        if self._body is None:
            self._body = await self._read_body(_buffer_limit(get_limits(self.scope)))
        return self._body

    async def _read_body(self, limit: int, started: bool = False) -> bytes:
        """The whole body, at most ``limit`` bytes (413 past it), not cached.

        ``started``: the caller has called ``_start_reading`` already.
        """
        # The loop of _chunks, inlined: body() and urlencoded forms are on the hot path.
        if not started:
            self._start_reading(limit)
        chunks: list[bytes] = []
        received = 0
        while True:
            # _next_message(), inlined.
            message = self._peeked
            if message is None:
                message = await self._receive()
            else:
                self._peeked = None
            kind = message["type"]
            if kind == "http.request":
                chunk: bytes = message.get("body", b"")
                if chunk:
                    received += len(chunk)
                    if received > limit:
                        raise _too_large(limit)
                    chunks.append(chunk)
                if not message.get("more_body", False):
                    break
            elif kind == "http.disconnect":
                self._disconnected()
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    async def json(self) -> Any:
        """The body parsed as JSON, cached.

        Unlike Starlette, the ``Content-Type`` is checked first: the body is parsed
        when there is none, or when it is ``application/json`` or any ``*/*+json``
        type. Any other type - notably ``text/plain``,
        ``application/x-www-form-urlencoded`` and ``multipart/form-data``, which a
        browser sends cross-site without a CORS preflight - gets
        ``HTTPException(415)``, so a JSON endpoint cannot be reached by a
        cross-site form post.

        A body that is empty, not UTF-8, not JSON (``NaN`` and ``Infinity``, which
        Python's ``json`` reads, are not JSON), or nested deeper than
        ``max_json_depth`` gets ``HTTPException(400)``; nesting is checked before
        parsing, so hostile documents cost linear time and never recurse deeply.
        """
        if self._json is _UNSET:
            raw_type = self._raw_header(b"content-type")
            if raw_type is not None:
                media_type, _ = parse_content_type(raw_type.decode("latin-1"))
                if not is_json_media_type(media_type):
                    raise HTTPException(
                        415,
                        detail="Unsupported Content-Type for a JSON body: "
                        "send Content-Type: application/json.",
                    )
            body = await self.body()
            try:
                self._json = parse_json(body, max_depth=get_limits(self.scope).max_json_depth)
            except ParseError as exc:
                raise HTTPException(400, detail=str(exc)) from None
        return self._json

    def form(
        self,
        *,
        max_files: int | float | None = None,
        max_fields: int | float | None = None,
        max_part_size: int | None = None,
    ) -> _AwaitableOrContextManager[FormData]:
        """The body parsed as a form, cached; await it or use ``async with``.

        ``application/x-www-form-urlencoded`` bodies are parsed without any extra
        dependency; ``multipart/form-data`` needs ``asgi-core[forms]``. Any other
        Content-Type gives an empty form. ``max_files``, ``max_fields`` and
        ``max_part_size`` default to the request limits (1000, 1000, 1 MiB); a
        value given here wins; ``max_part_size`` bounds a multipart text part and
        each urlencoded field name and value. Multipart text fields together are
        held to ``max_buffered_size``, like a buffered body.

        Too many files or fields or a malformed body raises
        :class:`~asgi_core.formparsers.MultiPartException` (``status_code`` 400), a
        part over its size limit one with ``status_code`` 413; inside an
        application (a scope with an ``"app"``) it becomes an ``HTTPException``
        with that status. A body over the request limits is ``HTTPException(413)``,
        as for :meth:`body`. Used with ``async with``, uploaded files are closed on
        exit.
        """
        wrapper: _AwaitableOrContextManager[FormData] = _new_object(_AwaitableOrContextManager)
        wrapper._awaitable = self._get_form(max_files, max_fields, max_part_size)
        wrapper._close = self.close
        return wrapper

    async def _get_form(
        self,
        max_files: int | float | None,
        max_fields: int | float | None,
        max_part_size: int | None,
    ) -> FormData:
        form = self._form
        if form is not None:
            return form
        scope = self.scope
        limits = scope.get(LIMITS_KEY, DEFAULT_LIMITS)
        if type(limits) is not RequestLimits:  # get_limits(scope), inlined
            limits = get_limits(scope)
        # The Content-Type and Content-Length (first of each), in one pass.
        raw_type = raw_length = None
        headers = scope.get("headers")
        if type(headers) is not list:
            headers = self.headers.raw
        for key, value in headers:
            if key == b"content-type":
                if raw_type is None:
                    raw_type = value
            elif key == b"content-length" and raw_length is None:
                raw_length = value
        if raw_type == _URLENCODED:
            # What parse_content_type() gives for the type browsers send, known ahead.
            media_type, params = "application/x-www-form-urlencoded", _NO_PARAMS
        elif (
            raw_type is not None
            and raw_type.startswith(_MULTIPART_BOUNDARY)
            and (boundary := raw_type[_MULTIPART_BOUNDARY_LENGTH:]).replace(b"-", b"").isalnum()
        ):
            # The same for the form browsers and HTTP clients send, with a boundary of
            # letters, digits and "-" (a fresh one per request: nothing to cache).
            media_type, params = "multipart/form-data", {"boundary": boundary.decode("ascii")}
        else:
            media_type, params = parse_content_type(
                "" if raw_type is None else raw_type.decode("latin-1")
            )
        try:
            if media_type == "application/x-www-form-urlencoded":
                # FormParser(...).parse() over _chunks(), without the stream: the body
                # is read whole as body() reads it (not cached: the form consumes the
                # stream, as in Starlette), then parsed in one pass.
                cap = _buffer_limit(limits)
                body = self._body
                if body is None:
                    # _start_reading(cap), inlined, with the Content-Length found above.
                    if self._stream_consumed:
                        raise RuntimeError("Stream consumed")
                    self._stream_consumed = True
                    if _declares_over(raw_length, cap):
                        raise _too_large(cap)
                    if self._peeked is None:
                        # The common case, without _read_body's frame: the first message
                        # holds the whole body.
                        message = await self._receive()
                        if message["type"] == "http.request" and not message.get(
                            "more_body", False
                        ):
                            body = message.get("body", b"")
                            if len(body) > cap:
                                raise _too_large(cap)
                        else:
                            self._peeked = message
                    if body is None:
                        body = await self._read_body(cap, started=True)
                if max_fields is None:
                    max_fields = limits.max_fields
                if max_part_size is None:
                    max_part_size = limits.max_part_size
                form = _urlencoded_form(body, params, max_fields, max_part_size, cap)
            elif media_type == "multipart/form-data":
                chunks = self._chunks(limits.max_body_size)
                parser = MultiPartParser(
                    self.headers,
                    chunks,
                    max_files=limits.max_files if max_files is None else max_files,
                    max_fields=limits.max_fields if max_fields is None else max_fields,
                    max_part_size=(
                        limits.max_part_size if max_part_size is None else max_part_size
                    ),
                    spool_max_size=limits.spool_max_size,
                    max_buffered_size=limits.max_buffered_size,
                    content_type_params=params,
                    max_upload_memory=limits.max_upload_memory,
                    max_upload_disk=limits.max_upload_disk,
                )
                # A parser that stops early (400, 413) leaves the body unread: close
                # the reading now rather than when the garbage collector finds it.
                async with aclosing(chunks):
                    form = await parser.parse()
            else:
                form = FormData()
        except MultiPartException as exc:
            if "app" in scope:
                raise HTTPException(exc.status_code, detail=exc.message) from None
            raise
        self._form = form
        return form

    async def close(self) -> None:
        """Close the uploaded files of a parsed form."""
        if self._form is not None:
            await self._form.close()

    async def is_disconnected(self) -> bool:
        """Whether the client has gone away, checked without waiting.

        A body message that arrives while checking is kept for :meth:`stream`,
        not lost.
        """
        if not self._is_disconnected and self._peeked is None:
            message: Message = {}
            with anyio.CancelScope() as scope:
                scope.cancel()
                message = await self._receive()
            if message.get("type") == "http.disconnect":
                self._is_disconnected = True
            elif message:
                self._peeked = message
        return self._is_disconnected

    async def send_push_promise(self, path: str) -> None:
        """Ask an HTTP/2 server to push ``path`` (a no-op without server support)."""
        if "http.response.push" in self.scope.get("extensions", {}):
            raw_headers: list[tuple[bytes, bytes]] = []
            for name in sorted(SERVER_PUSH_HEADERS_TO_COPY):
                for value in self.headers.getlist(name):
                    raw_headers.append((name.encode("latin-1"), value.encode("latin-1")))
            await self._send({"type": "http.response.push", "path": path, "headers": raw_headers})

    async def send_early_hints(self, link: str, /, *additional_links: str) -> None:
        """Send a 103 Early Hints response carrying ``Link`` header values, such as
        ``'</style.css>; rel=preload; as=style'``, before the final response.

        Needs the server's ``http.response.early_hint`` extension; a no-op without it,
        or when the request has no ``send`` channel.
        """
        if "http.response.early_hint" in self.scope.get("extensions", {}) and (
            self._send is not empty_send
        ):
            links = [value.encode("latin-1") for value in (link, *additional_links)]
            await self._send({"type": "http.response.early_hint", "links": links})


def _buffer_limit(limits: RequestLimits) -> int:
    """What a buffered read may hold: ``max_buffered_size``, or less if the body is capped."""
    if limits.max_body_size is not None and limits.max_body_size < limits.max_buffered_size:
        return limits.max_body_size
    return limits.max_buffered_size


def _declares_over(value: bytes | None, limit: int) -> bool:
    """Whether a Content-Length ``value`` declares more than ``limit`` bytes. Only plain
    digits (around whitespace, stripped only when present) count; a huge number is over
    any limit (and int() of a very long string is slow)."""
    return (
        value is not None
        and (value.isdigit() or (value := value.strip()).isdigit())
        and (len(value) > 18 or int(value) > limit)
    )


def _too_large(limit: int) -> HTTPException:
    return HTTPException(413, detail=f"Request body is too large (limit: {limit} bytes).")
