"""The data structures requests, responses and routing share.

URLs, headers, query parameters, form data and uploaded files, plus a few small helpers
(``Address``, ``Secret``, ``CommaSeparatedStrings``, ``State``). Everything that parses
does so lazily: building a ``URL`` or ``Headers`` from a scope costs next to nothing until
a component or a header is asked for.
"""

from __future__ import annotations

import io
import ipaddress
import re
import shlex
from collections.abc import (
    ItemsView,
    Iterable,
    Iterator,
    KeysView,
    Mapping,
    Sequence,
    ValuesView,
)
from typing import Any, BinaryIO, NamedTuple, TypeVar, overload
from urllib.parse import SplitResult, parse_qsl, quote, urlencode, urlsplit

import anyio.to_thread

from asgi_core.hosts import format_host, is_valid_host
from asgi_core.types import Scope

__all__ = [
    "URL",
    "Address",
    "CommaSeparatedStrings",
    "FormData",
    "Headers",
    "ImmutableMultiDict",
    "MultiDict",
    "MutableHeaders",
    "QueryParams",
    "Secret",
    "State",
    "URLPath",
    "UploadFile",
    "find_header",
]

_KeyType = TypeVar("_KeyType")
_CovariantValueType = TypeVar("_CovariantValueType", covariant=True)

_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}
_SECURE_SCHEMES = frozenset({"https", "wss"})
_MASK = "********"

# Characters a query string may carry verbatim; everything else is percent-encoded.
_QUERY_SAFE = "".join(chr(code) for code in range(0x21, 0x7F) if chr(code) != "#")
_ASCII = "".join(chr(code) for code in range(0x80))
_QUERY_UNSAFE_RE = re.compile(r"[^\x21-\x22\x24-\x7e]")
# Characters of a decoded path that would end it or that URL parsers silently drop.
_PATH_UNSAFE_RE = re.compile(r"[?#\t\r\n]")
_PATH_ESCAPES = {"?": "%3F", "#": "%23", "\t": "%09", "\r": "%0D", "\n": "%0A"}
# Control characters (all but HTAB): CR and LF would inject another header, and no
# server sends a field value holding any of them (RFC 9110, section 5.5).
_HEADER_FORBIDDEN_RE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
# "scheme://authority", as urlsplit finds them (the scheme is optional).
_AUTHORITY_RE = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*:)?//([^/?#]*)")
_ONE_SOURCE = "Headers() takes at most one of 'headers', 'raw' and 'scope'."


def find_header(headers: Iterable[tuple[bytes, bytes]], name: bytes) -> bytes | None:
    """The first value of header ``name`` in raw ASGI ``headers``, ``None`` if absent.

    ``name`` must be lower case, as ASGI servers send header names.
    """
    for key, value in headers:
        if key == name:
            return value
    return None


def _url_from_scope(scope: Scope) -> str:
    """Build the request URL of an HTTP or WebSocket scope."""
    scheme: str = scope.get("scheme", "http")
    path: str = scope.get("path", "")
    root_path: str = scope.get("root_path", "")
    if root_path and not path.startswith(root_path):
        # Servers that predate the ASGI clarification send the path without root_path.
        path = root_path + path
    if _PATH_UNSAFE_RE.search(path):
        path = _PATH_UNSAFE_RE.sub(lambda match: _PATH_ESCAPES[match.group()], path)
    if path and path[0] != "/":
        # Never let the path become part of the authority.
        path = "/" + path

    authority: str | None = None
    host_header = find_header(scope.get("headers") or (), b"host")
    if host_header is not None:
        value = host_header.decode("latin-1")
        if is_valid_host(value):
            authority = value
    if authority is None:
        server = scope.get("server")
        if server and server[1] is not None:
            host, port = format_host(server[0], None), server[1]
            if is_valid_host(host):
                authority = format_host(host, None if _DEFAULT_PORTS.get(scheme) == port else port)

    if authority is not None:
        url = f"{scheme}://{authority}{path}"
    elif path:
        # A relative URL: collapse leading slashes so it never reads as "//other-host".
        url = "/" + path.lstrip("/\\")
    else:
        url = ""

    query_string: bytes = scope.get("query_string", b"")
    if query_string:
        query = query_string.decode("latin-1")
        if _QUERY_UNSAFE_RE.search(query):
            query = quote(query_string, safe=_QUERY_SAFE)
        url += "?" + query
    return url


def _decode_query(query: bytes) -> str:
    """A raw query string as text: non-ASCII bytes become percent escapes, like in URLs."""
    try:
        return query.decode("ascii")
    except UnicodeDecodeError:
        return quote(query, safe=_ASCII)


def _parse_query(query: str) -> list[tuple[str, str]]:
    """Parse a query string: blank values kept, bad escapes and bad UTF-8 replaced."""
    return parse_qsl(query, keep_blank_values=True, errors="replace")


def _encode_query(items: Iterable[tuple[str, str]]) -> str:
    return urlencode(list(items), errors="surrogatepass")


def _is_ipv6(host: str) -> bool:
    try:
        ipaddress.IPv6Address(host)
    except ValueError:
        return False
    return True


class URL:
    """An immutable URL, parsed only when one of its components is asked for.

    ``URL("https://example.org/path?q=1")``, ``URL(scope=scope)`` (the request's URL)
    or ``URL(scheme="https", netloc="example.org", path="/")``. Components of a malformed
    URL raise ``ValueError`` when accessed.
    """

    __slots__ = ("_components", "_url")

    _url: str
    _components: SplitResult | None

    def __init__(self, url: str = "", scope: Scope | None = None, **components: Any) -> None:
        if scope is not None:
            if url or components:
                raise ValueError("URL() takes either 'scope' or a url/components, not both.")
            url = _url_from_scope(scope)
        elif components:
            if url:
                raise ValueError("URL() takes either a url or components, not both.")
            url = str(URL("").replace(**components))
        self._url = url
        self._components = None

    @property
    def components(self) -> SplitResult:
        components = self._components
        if components is None:
            components = self._components = urlsplit(self._url)
        return components

    @property
    def scheme(self) -> str:
        return self.components.scheme

    @property
    def netloc(self) -> str:
        return self.components.netloc

    @property
    def path(self) -> str:
        return self.components.path

    @property
    def query(self) -> str:
        return self.components.query

    @property
    def fragment(self) -> str:
        return self.components.fragment

    @property
    def username(self) -> str | None:
        return self.components.username

    @property
    def password(self) -> str | None:
        return self.components.password

    @property
    def hostname(self) -> str | None:
        return self.components.hostname

    @property
    def port(self) -> int | None:
        return self.components.port

    @property
    def is_secure(self) -> bool:
        return self.scheme in _SECURE_SCHEMES

    def replace(self, **kwargs: Any) -> URL:
        """A copy with some components replaced.

        Accepts ``scheme``, ``netloc``, ``path``, ``query``, ``fragment`` and the netloc
        parts ``username``, ``password``, ``hostname`` and ``port`` (``None`` removes one).
        """
        if {"username", "password", "hostname", "port"} & kwargs.keys():
            hostname = kwargs.pop("hostname", None)
            port = kwargs.pop("port", self.port)
            username = kwargs.pop("username", self.username)
            password = kwargs.pop("password", self.password)
            if hostname is None:
                hostname = self.netloc.rpartition("@")[2]
                if ":" in hostname and not hostname.endswith("]"):
                    hostname = hostname.rpartition(":")[0]
            elif ":" in hostname and not hostname.startswith("[") and _is_ipv6(hostname):
                hostname = f"[{hostname}]"
            netloc = hostname
            if port is not None:
                netloc = f"{netloc}:{port}"
            if username is not None:
                userinfo = username if password is None else f"{username}:{password}"
                netloc = f"{userinfo}@{netloc}"
            kwargs["netloc"] = netloc
        return self.__class__(self.components._replace(**kwargs).geturl())

    def include_query_params(self, **kwargs: Any) -> URL:
        """A copy with these query parameters set (replacing any with the same name)."""
        params = MultiDict(_parse_query(self.query))
        params.update({str(key): str(value) for key, value in kwargs.items()})
        return self.replace(query=_encode_query(params.multi_items()))

    def replace_query_params(self, **kwargs: Any) -> URL:
        """A copy whose query string holds exactly these parameters."""
        return self.replace(
            query=_encode_query((str(key), str(value)) for key, value in kwargs.items())
        )

    def remove_query_params(self, keys: str | Sequence[str]) -> URL:
        """A copy without the named query parameters."""
        remove = {keys} if isinstance(keys, str) else set(keys)
        items = [(key, value) for key, value in _parse_query(self.query) if key not in remove]
        return self.replace(query=_encode_query(items))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (str, URL)):
            return self._url == str(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._url)

    def __str__(self) -> str:
        return self._url

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({_mask_password(self._url)!r})"


def _mask_password(url: str) -> str:
    """``url`` with the password of its userinfo masked, by string surgery: never
    raises, even when the rest of the authority is malformed (a port that is not a
    number, a bad IP literal)."""
    match = _AUTHORITY_RE.match(url)
    if match is None:
        return url
    userinfo, at, _ = match.group(2).rpartition("@")
    username, colon, password = userinfo.partition(":")
    if not at or not colon or not password:
        return url
    start = match.start(2)
    return f"{url[:start]}{username}:{_MASK}{url[start + len(userinfo) :]}"


class URLPath(str):
    """A path produced by URL reversal, which can be made absolute against a base URL.

    ``protocol`` is ``"http"``, ``"websocket"`` or ``""`` (keep the base URL's scheme);
    ``host`` overrides the base URL's netloc when given.
    """

    protocol: str
    host: str

    def __new__(cls, path: str, protocol: str = "", host: str = "") -> URLPath:
        if protocol not in ("http", "websocket", ""):
            raise ValueError(f"protocol must be 'http', 'websocket' or '', not {protocol!r}.")
        return str.__new__(cls, path)

    def __init__(self, path: str, protocol: str = "", host: str = "") -> None:
        self.protocol = protocol
        self.host = host

    def make_absolute_url(self, base_url: str | URL) -> URL:
        """The absolute URL of this path under ``base_url``.

        When neither ``host`` nor ``base_url`` gives an authority, the result is the
        relative URL of the path (``/name``) rather than a malformed ``http:///name``.
        """
        if isinstance(base_url, str):
            base_url = URL(base_url)
        if self.protocol == "http":
            scheme = "https" if base_url.is_secure else "http"
        elif self.protocol == "websocket":
            scheme = "wss" if base_url.is_secure else "ws"
        else:
            scheme = base_url.scheme
        netloc = self.host or base_url.netloc
        path = base_url.path.rstrip("/") + str(self)
        if not netloc:
            # No authority is known (say, a malformed Host and no server address):
            # a relative URL, whose leading slashes are collapsed so that it never
            # reads as "//other-host".
            return URL("/" + path.lstrip("/\\"))
        return URL(scheme=scheme, netloc=netloc, path=path)


class Secret:
    """A string that does not show itself in ``repr()`` (tracebacks, logs)."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}('**********')"

    def __str__(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)


class CommaSeparatedStrings(Sequence[str]):
    """A list of strings read from ``"a, b, 'c, d'"`` (quotes group) or from a sequence."""

    def __init__(self, value: str | Sequence[str]) -> None:
        if isinstance(value, str):
            splitter = shlex.shlex(value, posix=True)
            splitter.whitespace = ","
            splitter.whitespace_split = True
            splitter.commenters = ""
            self._items = [item for item in (token.strip() for token in splitter) if item]
        else:
            self._items = list(value)

    def __len__(self) -> int:
        return len(self._items)

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[str]: ...

    def __getitem__(self, index: int | slice) -> str | Sequence[str]:
        return self._items[index]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self._items!r})"

    def __str__(self) -> str:
        """Each item quoted (its ``repr``), joined by ``", "``: ``'a', 'b'``."""
        return ", ".join(map(repr, self._items))


class ImmutableMultiDict(Mapping[_KeyType, _CovariantValueType]):
    """A read-only mapping where a key may hold several values.

    ``d[key]`` gives the last value for the key, ``d.getlist(key)`` all of them in order,
    ``d.multi_items()`` every pair in order.
    """

    _dict: dict[_KeyType, _CovariantValueType]
    _list: list[tuple[_KeyType, _CovariantValueType]]

    def __init__(
        self,
        *args: ImmutableMultiDict[_KeyType, _CovariantValueType]
        | Mapping[_KeyType, _CovariantValueType]
        | Iterable[tuple[_KeyType, _CovariantValueType]],
        **kwargs: Any,
    ) -> None:
        if len(args) > 1:
            raise TypeError(f"{self.__class__.__name__}() takes at most one positional argument.")
        items = _items_of(args[0]) if args else []
        if kwargs:
            items += kwargs.items()
        self._list = items
        self._dict = dict(items)

    def getlist(self, key: Any) -> list[_CovariantValueType]:
        return [value for item_key, value in self._list if item_key == key]

    def keys(self) -> KeysView[_KeyType]:
        return self._dict.keys()

    def values(self) -> ValuesView[_CovariantValueType]:
        return self._dict.values()

    def items(self) -> ItemsView[_KeyType, _CovariantValueType]:
        return self._dict.items()

    def multi_items(self) -> list[tuple[_KeyType, _CovariantValueType]]:
        return list(self._list)

    def __getitem__(self, key: _KeyType) -> _CovariantValueType:
        return self._dict[key]

    def __contains__(self, key: Any) -> bool:
        return key in self._dict

    def __iter__(self) -> Iterator[_KeyType]:
        return iter(self._dict)

    def __len__(self) -> int:
        return len(self._dict)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ImmutableMultiDict):
            return NotImplemented
        return _grouped(self._list) == _grouped(other._list)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.multi_items()!r})"


def _items_of(value: Any) -> list[Any]:
    if isinstance(value, ImmutableMultiDict):
        return value.multi_items()
    if isinstance(value, Mapping):
        return list(value.items())
    return list(value)


def _grouped(items: Iterable[tuple[Any, Any]]) -> dict[Any, list[Any]]:
    grouped: dict[Any, list[Any]] = {}
    for key, value in items:
        grouped.setdefault(key, []).append(value)
    return grouped


class MultiDict(ImmutableMultiDict[Any, Any]):
    """A mutable ``ImmutableMultiDict``."""

    def __setitem__(self, key: Any, value: Any) -> None:
        self.setlist(key, [value])

    def __delitem__(self, key: Any) -> None:
        del self._dict[key]
        self._list = [(k, v) for k, v in self._list if k != key]

    def pop(self, key: Any, default: Any = None) -> Any:
        self._list = [(k, v) for k, v in self._list if k != key]
        return self._dict.pop(key, default)

    def popitem(self) -> tuple[Any, Any]:
        key, value = self._dict.popitem()
        self._list = [(k, v) for k, v in self._list if k != key]
        return key, value

    def poplist(self, key: Any) -> list[Any]:
        values = self.getlist(key)
        self.pop(key)
        return values

    def clear(self) -> None:
        self._dict.clear()
        self._list.clear()

    def setdefault(self, key: Any, default: Any = None) -> Any:
        if key not in self._dict:
            self._dict[key] = default
            self._list.append((key, default))
        return self._dict[key]

    def setlist(self, key: Any, values: list[Any]) -> None:
        if not values:
            self.pop(key, None)
            return
        self._list = [(k, v) for k, v in self._list if k != key]
        self._list.extend((key, value) for value in values)
        self._dict[key] = values[-1]

    def append(self, key: Any, value: Any) -> None:
        self._list.append((key, value))
        self._dict[key] = value

    def update(
        self,
        *args: MultiDict | Mapping[Any, Any] | Iterable[tuple[Any, Any]],
        **kwargs: Any,
    ) -> None:
        """Replace the values of every key ``args``/``kwargs`` mention with theirs."""
        value = MultiDict(*args, **kwargs)
        self._list = [(k, v) for k, v in self._list if k not in value._dict]
        self._list.extend(value._list)
        self._dict.update(value._dict)


class QueryParams(ImmutableMultiDict[str, str]):
    """Query string parameters, from a query string (``str`` or ``bytes``) or pairs.

    Parsing keeps blank values, decodes ``+`` as a space and never raises: malformed
    percent escapes stay as they are and invalid UTF-8 becomes U+FFFD.
    """

    def __init__(
        self,
        *args: ImmutableMultiDict[Any, Any]
        | Mapping[Any, Any]
        | Iterable[tuple[Any, Any]]
        | str
        | bytes,
        **kwargs: Any,
    ) -> None:
        if len(args) > 1:
            raise TypeError("QueryParams() takes at most one positional argument.")
        value = args[0] if args else []
        if isinstance(value, str):
            items = _parse_query(value)
        elif isinstance(value, (bytes, bytearray, memoryview)):
            items = _parse_query(_decode_query(bytes(value)))
        else:
            items = [(str(k), str(v)) for k, v in _items_of(value)]
        if kwargs:
            items += [(str(k), str(v)) for k, v in kwargs.items()]
        self._list = items
        self._dict = dict(items)

    def __str__(self) -> str:
        return _encode_query(self._list)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({str(self)!r})"


class UploadFile:
    """An uploaded file: the file object plus its filename, size and part headers.

    The async methods run the file operation in a worker thread only when the file lives
    on disk, or when a write would roll a spooled file over to disk; a spooled file
    still in memory (or a ``BytesIO``) is used in-line.
    """

    def __init__(
        self,
        file: BinaryIO,
        *,
        size: int | None = None,
        filename: str | None = None,
        headers: Headers | None = None,
    ) -> None:
        self.file = file
        self.size = size
        self.filename = filename
        self.headers = headers if headers is not None else Headers()

    @property
    def content_type(self) -> str | None:
        return self.headers.get("content-type")

    @property
    def _in_memory(self) -> bool:
        rolled = getattr(self.file, "_rolled", None)
        if rolled is None:
            return isinstance(self.file, io.BytesIO)
        return not rolled

    def _writes_in_memory(self, size: int) -> bool:
        """Whether writing ``size`` bytes stays in memory (no rollover to disk)."""
        if not self._in_memory:
            return False
        max_size = getattr(self.file, "_max_size", 0)
        return not max_size or self.file.tell() + size <= max_size

    async def write(self, data: bytes) -> None:
        """Write ``data``; in a worker thread if the file is on disk or would roll over.

        The write that makes a spooled file cross its ``max_size`` copies it to a
        new temporary file, so it runs in a worker thread like on-disk writes.
        """
        if self.size is not None:
            self.size += len(data)
        if self._writes_in_memory(len(data)):
            self.file.write(data)
        else:
            await anyio.to_thread.run_sync(self.file.write, data)

    async def read(self, size: int = -1) -> bytes:
        if self._in_memory:
            return self.file.read(size)
        return await anyio.to_thread.run_sync(self.file.read, size)

    async def seek(self, offset: int) -> None:
        if self._in_memory:
            self.file.seek(offset)
        else:
            await anyio.to_thread.run_sync(self.file.seek, offset)

    async def close(self) -> None:
        if self._in_memory:
            self.file.close()
        else:
            await anyio.to_thread.run_sync(self.file.close)

    def __repr__(self) -> str:
        return (
            f"{self.__class__.__name__}(filename={self.filename!r}, "
            f"size={self.size!r}, headers={self.headers!r})"
        )


class FormData(ImmutableMultiDict[str, UploadFile | str]):
    """Parsed form fields: strings, and ``UploadFile`` objects for file parts."""

    def __init__(
        self,
        *args: FormData | Mapping[str, UploadFile | str] | Iterable[tuple[str, UploadFile | str]],
        **kwargs: UploadFile | str,
    ) -> None:
        super().__init__(*args, **kwargs)

    async def close(self) -> None:
        """Close every uploaded file."""
        for _, value in self._list:
            if isinstance(value, UploadFile):
                await value.close()


def _lookup_name(key: str) -> bytes | None:
    """The raw form of a header name for lookups (``None`` matches nothing)."""
    try:
        return key.lower().encode("latin-1")
    except UnicodeEncodeError:
        return None


def _encode_header(key: str, value: str) -> tuple[bytes, bytes]:
    """Encode a header pair, refusing what a server could not send (or would send as
    another header): characters beyond latin-1 and control characters but HTAB."""
    try:
        name = key.lower().encode("latin-1")
    except UnicodeEncodeError:
        raise ValueError(f"Header name {key!r} is not latin-1 encodable.") from None
    try:
        raw_value = value.encode("latin-1")
    except UnicodeEncodeError:
        raise ValueError(
            f"Header {key!r}: value {value!r} is not latin-1 encodable; encode it first "
            "(for example with urllib.parse.quote or RFC 8187)."
        ) from None
    if _HEADER_FORBIDDEN_RE.search(value) or _HEADER_FORBIDDEN_RE.search(key):
        raise ValueError(
            f"Header {key!r}: {value!r} contains a control character (such as CR, LF or "
            "NUL), which cannot be sent."
        )
    return name, raw_value


class Headers(Mapping[str, str]):
    """Immutable, case-insensitive, multi-valued HTTP headers.

    ``Headers({"Content-Type": "text/plain"})``, ``Headers(raw=[(b"name", b"value")])``
    (names lower-case, as ASGI requires) or ``Headers(scope=scope)``, which reads the
    scope's header list in place. Values are decoded as latin-1.
    """

    __slots__ = ("_list",)

    _list: list[tuple[bytes, bytes]]

    def __init__(
        self,
        headers: Mapping[str, str] | None = None,
        raw: list[tuple[bytes, bytes]] | None = None,
        scope: Scope | None = None,
    ) -> None:
        if headers is not None:
            if raw is not None or scope is not None:
                raise TypeError(_ONE_SOURCE)
            self._list = [_encode_header(key, value) for key, value in headers.items()]
        elif raw is not None:
            if scope is not None:
                raise TypeError(_ONE_SOURCE)
            self._list = raw
        elif scope is not None:
            scope_headers = scope.get("headers")
            if type(scope_headers) is not list:
                # ASGI allows any iterable; keep one list in the scope so edits show there.
                scope_headers = scope["headers"] = list(scope_headers or ())
            self._list = scope_headers
        else:
            self._list = []

    @property
    def raw(self) -> list[tuple[bytes, bytes]]:
        return self._list

    def keys(self) -> list[str]:  # type: ignore[override]
        return [key.decode("latin-1") for key, _ in self._list]

    def values(self) -> list[str]:  # type: ignore[override]
        return [value.decode("latin-1") for _, value in self._list]

    def items(self) -> list[tuple[str, str]]:  # type: ignore[override]
        return [(key.decode("latin-1"), value.decode("latin-1")) for key, value in self._list]

    def getlist(self, key: str) -> list[str]:
        name = _lookup_name(key)
        return [value.decode("latin-1") for item_key, value in self._list if item_key == name]

    def mutablecopy(self) -> MutableHeaders:
        return MutableHeaders(raw=list(self._list))

    def __getitem__(self, key: str) -> str:
        try:
            name = key.lower().encode("latin-1")
        except UnicodeEncodeError:
            raise KeyError(key) from None
        # find_header(self._list, name), inlined: the call would cost a tenth of this
        # lookup, which every header read goes through.
        for item_key, value in self._list:
            if item_key == name:
                return value.decode("latin-1")
        raise KeyError(key)

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        name = _lookup_name(key)
        return any(item_key == name for item_key, _ in self._list)

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self._list)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Headers):
            return NotImplemented
        return sorted(map(tuple, self._list)) == sorted(map(tuple, other._list))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        as_dict = dict(self.items())
        if len(as_dict) == len(self):
            return f"{self.__class__.__name__}({as_dict!r})"
        return f"{self.__class__.__name__}(raw={self.raw!r})"


class MutableHeaders(Headers):
    """Headers that can be changed; ``raw`` (and a scope's list) reflect every change.

    Names and values holding a control character (CR, LF, NUL... all but HTAB) or a
    character beyond latin-1 are refused with a ``ValueError`` naming the header.
    """

    __slots__ = ()

    def __setitem__(self, key: str, value: str) -> None:
        """Set a header, replacing every existing value of it."""
        pair = _encode_header(key, value)
        name = pair[0]
        items = self._list
        position = -1
        duplicates = False
        for index, item in enumerate(items):
            if item[0] == name:
                if position < 0:
                    position = index
                else:
                    duplicates = True
        if position < 0:
            items.append(pair)
            return
        items[position] = pair
        if duplicates:
            # In place: a scope's header list must stay the same list object.
            items[position + 1 :] = [item for item in items[position + 1 :] if item[0] != name]

    def __delitem__(self, key: str) -> None:
        """Remove every value of a header (no error if it is absent)."""
        name = _lookup_name(key)
        # In place and in one pass: a scope's header list must stay the same list object.
        self._list[:] = [item for item in self._list if item[0] != name]

    def __ior__(self, other: Mapping[str, str]) -> MutableHeaders:
        if not isinstance(other, Mapping):
            return NotImplemented
        self.update(other)
        return self

    def __or__(self, other: Mapping[str, str]) -> MutableHeaders:
        if not isinstance(other, Mapping):
            return NotImplemented
        new = self.mutablecopy()
        new.update(other)
        return new

    def setdefault(self, key: str, value: str) -> str:
        """The header's value if present, else set it to ``value`` and return that."""
        name, raw_value = _encode_header(key, value)
        for item_key, item_value in self._list:
            if item_key == name:
                return item_value.decode("latin-1")
        self._list.append((name, raw_value))
        return value

    def update(self, other: Mapping[str, str] | Iterable[tuple[str, str]]) -> None:
        """Set every header of ``other`` (each replacing existing values)."""
        pairs = other.items() if isinstance(other, Mapping) else other
        for key, value in pairs:
            self[key] = value

    def append(self, key: str, value: str) -> None:
        """Add a header, keeping existing values of the same name."""
        self._list.append(_encode_header(key, value))

    def add_vary_header(self, vary: str) -> None:
        """Merge header names into ``Vary``, without repeating any already listed."""
        tokens: list[str] = []
        seen: set[str] = set()
        for token in ",".join([*self.getlist("vary"), vary]).split(","):
            token = token.strip()
            if token and token.lower() not in seen:
                seen.add(token.lower())
                tokens.append(token)
        self["vary"] = "*" if "*" in seen else ", ".join(tokens)


class Address(NamedTuple):
    """A client or server address: ``host`` and ``port``."""

    host: str
    port: int


class State:
    """Arbitrary state over a dict, by attribute or by item: ``state.db = ...`` and
    ``state["db"] = ...`` are the same entry; ``del``, ``in``, ``len()`` and iteration
    over the names work too. A missing attribute raises ``AttributeError``, a missing
    item ``KeyError``.
    """

    _state: dict[str, Any]

    def __init__(self, state: dict[str, Any] | None = None) -> None:
        super().__setattr__("_state", {} if state is None else state)

    def __setattr__(self, key: str, value: Any) -> None:
        self._state[key] = value

    def __getattr__(self, key: str) -> Any:
        try:
            return self.__dict__["_state"][key]
        except KeyError:
            raise AttributeError(
                f"{self.__class__.__name__!r} object has no attribute {key!r}"
            ) from None

    def __delattr__(self, key: str) -> None:
        try:
            del self._state[key]
        except KeyError:
            raise AttributeError(
                f"{self.__class__.__name__!r} object has no attribute {key!r}"
            ) from None

    def __getitem__(self, key: str) -> Any:
        return self._state[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self._state[key] = value

    def __delitem__(self, key: str) -> None:
        del self._state[key]

    def __contains__(self, key: object) -> bool:
        return key in self._state

    def __iter__(self) -> Iterator[str]:
        return iter(self._state)

    def __len__(self) -> int:
        return len(self._state)
