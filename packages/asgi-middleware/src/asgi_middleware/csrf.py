"""Cross-site request forgery (CSRF) protection for any ASGI app.

A browser attaches cookies to requests that any page sends, so a page on another site
can submit a form (or a ``fetch``) to your app as the logged-in user. ``SameSite``
cookies do not stop sibling subdomains (they are the same *site*), state changes behind
``GET``, or browsers that ignore the attribute. :class:`CSRFMiddleware` refuses
requests with an unsafe method that the browser says come from elsewhere:

1. ``Sec-Fetch-Site`` (Fetch Metadata, sent by every current browser): ``same-origin``
   and ``none`` (typed or bookmarked) pass; ``cross-site`` is refused, and
   ``same-site`` too unless ``allow_same_site``, except from a trusted origin.
2. Without it, ``Origin`` (else ``Referer``) must be the request's own origin (its
   scheme and ``Host``) or a trusted origin. ``Origin: null`` is cross-site.
3. A request without any of these comes from a non-browser client: allowed, unless
   ``require_origin``.

With a ``secret`` (needs ``pip install 'asgi-middleware[csrf]'``, itsdangerous) a signed
double-submit token is required as well: a signed, HttpOnly cookie, and the token in the
``X-CSRF-Token`` header or the ``csrf_token`` form field. The form field is read from a
bounded prefix of the body, which is then replayed to the app untouched.
"""

from __future__ import annotations

import base64
import hmac
import importlib
import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, Literal, cast
from urllib.parse import unquote_plus

from asgi_core.datastructures import Secret, find_header
from asgi_core.limits import get_limits
from asgi_core.requests import HTTPConnection, cookie_parser
from asgi_core.types import ASGIApp, Message, Receive, Scope, Send
from asgi_middleware import Middleware
from asgi_middleware._chain import Wraps
from asgi_middleware._headers import add_vary
from asgi_middleware._origins import (
    compile_origin_regex,
    normalized_origins,
    origin_trusted,
    parse_origin,
    request_origin,
    url_origin,
)
from asgi_middleware._responses import send_plain

if TYPE_CHECKING:
    from itsdangerous import Signer

__all__ = [
    "CSRF_SCOPE_KEY",
    "DENIED_PREFIX",
    "SAFE_METHODS",
    "CSRFConfig",
    "CSRFMiddleware",
    "get_csrf_token",
    "register_csrf_globals",
]

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE", "QUERY"})
"""Methods that must not change state: never checked."""

CSRF_SCOPE_KEY = "asgi_app.csrf"
"""Where the token of the current request lives in the scope (token mode only)."""

DENIED_PREFIX = "Forbidden (CSRF check failed): "
"""The start of every 403 body; the rest says which check failed."""

_SALT = "asgi_middleware.csrf"
_TOKEN_BYTES = 32
_MASKED_TOKEN = re.compile(r"[A-Za-z0-9_-]{86}")  # base64url of mask + masked token
_COOKIE_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_COOKIE_PATH = re.compile(r"/[\x21-\x2b\x2d-\x3a\x3c-\x7e]*")  # no controls, spaces, ',' ';'
_COOKIE_DOMAIN = re.compile(
    r"\.?[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*"
)
_SAME_SITE = ("lax", "strict", "none")
# One route-path parameter: "{name}" or "{name:convertor}".
_PARAM = re.compile(r"{([A-Za-z_][A-Za-z0-9_]*)(?::([A-Za-z_][A-Za-z0-9_]*))?}")
# Parameters of a multipart part's Content-Disposition header.
_DISPOSITION_PARAM = re.compile(
    rb';[ \t]*(name|filename)[ \t]*=[ \t]*(?:"([^"]*)"|([^; \t]*))', re.I
)
_BOUNDARY = re.compile(rb';[ \t]*boundary[ \t]*=[ \t]*(?:"([^"]{1,70})"|([^; \t"]{1,70}))', re.I)
_FORM_URLENCODED = b"application/x-www-form-urlencoded"
_MULTIPART = b"multipart/form-data"


def _itsdangerous() -> Any:
    try:
        return importlib.import_module("itsdangerous")
    except ImportError:
        raise ImportError(
            "CSRFMiddleware's token mode (secret=...) needs itsdangerous: "
            "pip install 'asgi-middleware[csrf]'"
        ) from None


def _compile_exempt(path: str | re.Pattern[str]) -> re.Pattern[str]:
    """A route path (``/hooks/{name}``, ``/files/{rest:path}``) as a full-match regex."""
    if isinstance(path, re.Pattern):
        return path
    if not path.startswith("/"):
        raise ValueError(f"Exempt path {path!r} must start with '/'")
    pattern = []
    position = 0
    for match in _PARAM.finditer(path):
        pattern.append(re.escape(path[position : match.start()]))
        pattern.append(".*" if match.group(2) == "path" else "[^/]+")
        position = match.end()
    pattern.append(re.escape(path[position:]))
    return re.compile("".join(pattern))


@dataclass(frozen=True)
class CSRFConfig:
    """The settings of :class:`CSRFMiddleware`, validated when created.

    ``App(csrf=CSRFConfig(...))`` uses them; ``App(csrf=True)`` is ``CSRFConfig()``.
    The fields are the middleware's keyword arguments.
    """

    trusted_origins: Sequence[str] = ()
    trusted_origin_regex: str | re.Pattern[str] | None = None
    allow_same_site: bool = False
    require_origin: bool = False
    exempt_paths: Sequence[str | re.Pattern[str]] = ()
    secret: str | Secret | None = None
    cookie_name: str = "csrftoken"
    header_name: str = "X-CSRF-Token"
    field_name: str = "csrf_token"
    cookie_path: str = "/"
    cookie_domain: str | None = None
    cookie_secure: bool | None = None
    cookie_same_site: Literal["lax", "strict", "none"] = "lax"
    cookie_max_age: int | None = None
    max_buffered_size: int | None = None

    def __post_init__(self) -> None:
        # Freeze the sequences (a generator is read once, here).
        if isinstance(self.trusted_origins, str):
            raise ValueError("trusted_origins is a list of origins, not one string")
        object.__setattr__(self, "trusted_origins", tuple(self.trusted_origins))
        object.__setattr__(self, "exempt_paths", tuple(self.exempt_paths))
        if "*" in self.trusted_origins:
            raise ValueError("trusted_origins is a list of origins; '*' would turn CSRF off")
        normalized_origins(self.trusted_origins, strict=True)
        compile_origin_regex(self.trusted_origin_regex)
        for path in self.exempt_paths:
            _compile_exempt(path)
        if self.secret is not None:
            if not str(self.secret):
                raise ValueError("CSRF secret must not be empty (or None: no token)")
            _itsdangerous()
        self._validate_cookie()
        if not _HEADER_NAME.fullmatch(self.header_name):
            raise ValueError(f"Invalid header_name {self.header_name!r}")
        if not self.field_name:
            raise ValueError("field_name must not be empty")
        if self.max_buffered_size is not None and self.max_buffered_size < 0:
            raise ValueError("max_buffered_size must be a non-negative number of bytes")

    def _validate_cookie(self) -> None:
        name = self.cookie_name
        if not _COOKIE_NAME.fullmatch(name):
            raise ValueError(f"Invalid cookie_name {name!r}")
        if not _COOKIE_PATH.fullmatch(self.cookie_path):
            raise ValueError(f"Invalid cookie_path {self.cookie_path!r}: it must start with '/'")
        if self.cookie_domain is not None and not _COOKIE_DOMAIN.fullmatch(self.cookie_domain):
            raise ValueError(f"Invalid cookie_domain {self.cookie_domain!r}")
        if str(self.cookie_same_site).lower() not in _SAME_SITE:
            raise ValueError(
                f"Invalid cookie_same_site {self.cookie_same_site!r}: use 'lax', 'strict' or 'none'"
            )
        if self.cookie_max_age is not None and self.cookie_max_age <= 0:
            raise ValueError("cookie_max_age must be a positive number of seconds, or None")
        # Browsers only accept these prefixes with the attributes they promise.
        if name.startswith(("__Host-", "__Secure-")) and self.cookie_secure is not True:
            raise ValueError(f"A {name.split('-')[0]}- cookie needs cookie_secure=True")
        if name.startswith("__Host-") and (self.cookie_path != "/" or self.cookie_domain):
            raise ValueError("A __Host- cookie needs cookie_path='/' and no cookie_domain")

    def middleware(self) -> Middleware:
        """``Middleware(CSRFMiddleware, ...)`` with these settings."""
        return Middleware(
            CSRFMiddleware, **{field.name: getattr(self, field.name) for field in fields(self)}
        )


def get_csrf_token(conn: HTTPConnection | Scope) -> str:
    """The CSRF token to put in a form field or the header, for this request.

    ``conn`` is a request (ours, Starlette's: anything with a ``scope``) or a scope.
    Each call gives a different string (the token is masked with fresh random bytes,
    so it never repeats in compressed pages), all valid for the same cookie. ``""``
    when no :class:`CSRFMiddleware` with a ``secret`` is in front of the app (an
    origin-only check needs no token), so templates work either way.
    """
    scope = cast(Scope, getattr(conn, "scope", conn))
    token = scope.get(CSRF_SCOPE_KEY)
    return token.masked() if isinstance(token, _Token) else ""


def register_csrf_globals(templates: Any) -> None:
    """Add ``csrf_token()`` and ``csrf_input()`` to a Jinja2 environment's globals.

    ``templates`` is a ``Jinja2Templates`` (ours or Starlette's) or a
    ``jinja2.Environment``. In a template rendered with a ``request`` in its context,
    ``{{ csrf_input() }}`` is the hidden form field and ``{{ csrf_token() }}`` the bare
    token (for a ``<meta>`` that scripts read); both are empty without a ``secret``.
    Needs jinja2 (``pip install 'asgi-responses[templates]'``).
    """
    try:
        jinja2 = importlib.import_module("jinja2")
        markupsafe = importlib.import_module("markupsafe")
    except ImportError:
        raise ImportError(
            "register_csrf_globals() needs jinja2: pip install 'asgi-responses[templates]'"
        ) from None
    env = getattr(templates, "env", templates)

    def csrf_token(context: Any) -> str:
        return get_csrf_token(context["request"])

    def csrf_input(context: Any) -> Any:
        scope: Scope = context["request"].scope
        token = get_csrf_token(scope)
        if not token:
            return markupsafe.Markup("")
        name = scope[CSRF_SCOPE_KEY].field_name
        return markupsafe.Markup('<input type="hidden" name="{}" value="{}">').format(name, token)

    env.globals["csrf_token"] = jinja2.pass_context(csrf_token)
    env.globals["csrf_input"] = jinja2.pass_context(csrf_input)


class _Token:
    """The token of one request: read from the cookie, or made (and set) on first use."""

    __slots__ = ("_middleware", "_raw", "_scope", "field_name", "new_cookie", "used")

    def __init__(self, middleware: CSRFMiddleware, scope: Scope, raw: bytes | None) -> None:
        self._middleware = middleware
        self._scope = scope
        self._raw = raw
        self.field_name = middleware.config.field_name
        self.new_cookie = False
        self.used = False

    def raw(self) -> bytes:
        raw = self._raw
        if raw is None:
            raw = self._middleware.cookie_token(self._scope)
            if raw is None:
                raw = secrets.token_bytes(_TOKEN_BYTES)
                self.new_cookie = True
            self._raw = raw
        return raw

    def masked(self) -> str:
        self.used = True
        raw = self.raw()
        mask = secrets.token_bytes(_TOKEN_BYTES)
        return base64.urlsafe_b64encode(mask + _xor(mask, raw)).decode("ascii").rstrip("=")


def _xor(left: bytes, right: bytes) -> bytes:
    return (int.from_bytes(left, "big") ^ int.from_bytes(right, "big")).to_bytes(len(left), "big")


def _unmask(token: str) -> bytes | None:
    if _MASKED_TOKEN.fullmatch(token) is None:
        return None
    data = base64.urlsafe_b64decode(token + "==")
    return _xor(data[:_TOKEN_BYTES], data[_TOKEN_BYTES:])


class _UrlencodedScan:
    """Finds one field of an ``application/x-www-form-urlencoded`` body as it arrives."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.start = 0  # where the current pair starts
        self.searched = 0  # where to look for the next "&"

    def scan(self, data: bytearray, final: bool) -> str | None:
        while True:
            end = data.find(b"&", self.searched)
            if end < 0:
                self.searched = len(data)
                if not final:
                    return None
                end = len(data)
            key, _, value = bytes(data[self.start : end]).partition(b"=")
            if unquote_plus(key.decode("latin-1")) == self.name:
                return unquote_plus(value.decode("latin-1"))
            if end == len(data):
                return None
            self.start = self.searched = end + 1


class _MultipartScan:
    """Finds one text field of a ``multipart/form-data`` body as it arrives."""

    def __init__(self, name: str, boundary: bytes) -> None:
        self.name = name.encode("utf-8")
        self.delimiter = b"--" + boundary
        self.next_part = b"\r\n--" + boundary
        self.position = 0  # where the current piece starts
        self.searched = 0  # where to look for the end of the part's headers
        self.state = "preamble"  # then "headers", "body" or "done"
        self.body_start = 0
        self.wanted = False

    def scan(self, data: bytearray, final: bool) -> str | None:
        while True:
            if self.state == "preamble":
                index = data.find(self.delimiter, self.position)
                if index < 0:
                    self.position = max(0, len(data) - len(self.delimiter) + 1)
                    return None
                self.position = index + len(self.delimiter)
                self.state = "headers"
            elif self.state == "headers":
                if data[self.position : self.position + 2] == b"--":
                    self.state = "done"
                    return None
                end = data.find(b"\r\n\r\n", max(self.position, self.searched))
                if end < 0:
                    self.searched = max(self.position, len(data) - 3)
                    return None
                self.wanted = self._is_wanted(bytes(data[self.position : end]))
                self.position = self.body_start = end + 4
                self.state = "body"
            elif self.state == "body":
                index = data.find(self.next_part, self.position)
                if index < 0:
                    self.position = max(self.body_start, len(data) - len(self.next_part) + 1)
                    return None
                if self.wanted:
                    return bytes(data[self.body_start : index]).decode("latin-1")
                self.position = index + len(self.next_part)
                self.state = "headers"
            else:
                return None

    def _is_wanted(self, headers: bytes) -> bool:
        for line in headers.split(b"\r\n"):
            name, _, value = line.partition(b":")
            if name.strip().lower() != b"content-disposition":
                continue
            params = {key.lower(): quoted or token for key, quoted, token in
                      _DISPOSITION_PARAM.findall(value)}  # fmt: skip
            return params.get(b"name") == self.name and b"filename" not in params
        return False


class _Refusal(Exception):
    """A check failed: the status and the reason the response gives."""

    def __init__(self, reason: str, status: int = 403, close: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.close = close


class _Gone(Exception):
    """The client went away while the form was read."""


class CSRFMiddleware(Wraps):
    """Refuse (403) unsafe requests that a browser sends from another site.

    GET, HEAD, OPTIONS, TRACE and QUERY pass untouched (at the cost of one set
    lookup); WebSocket and lifespan scopes too (see ``WebSocketOriginMiddleware``).
    For the other methods, in order:

    - ``exempt_paths``: route paths (``"/hooks/{provider}"``, ``"/api/{rest:path}"``)
      or compiled regexes matched against the path below ``root_path``: not checked.
    - ``Sec-Fetch-Site``: ``same-origin`` and ``none`` pass; ``cross-site`` (and
      ``same-site`` unless ``allow_same_site``) is refused unless ``Origin`` is a
      trusted origin.
    - Otherwise ``Origin``, else ``Referer``: must be the request's own origin (scheme
      and ``Host``) or trusted (``trusted_origins``, ``trusted_origin_regex``).
      ``Origin: null``, several ``Origin`` headers or a malformed one are refused.
    - No such header at all (a non-browser client): allowed, refused with
      ``require_origin=True``.
    - With a ``secret``: the signed token cookie (``cookie_name``) must match the token
      in the ``header_name`` header or the ``field_name`` field of an urlencoded or
      multipart form, read from at most ``max_buffered_size`` bytes of the body (by
      default the request's ``RequestLimits.max_buffered_size``, 2.5 MiB); the body is
      then replayed to the app untouched; past the bound without the field: 413.

    A refusal is a ``text/plain`` response starting with :data:`DENIED_PREFIX` that
    says which check failed. In token mode, :func:`get_csrf_token` gives the token
    for forms; the cookie is set on the response that first asked for it.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        trusted_origins: Sequence[str] = (),
        trusted_origin_regex: str | re.Pattern[str] | None = None,
        allow_same_site: bool = False,
        require_origin: bool = False,
        exempt_paths: Iterable[str | re.Pattern[str]] = (),
        secret: str | Secret | None = None,
        cookie_name: str = "csrftoken",
        header_name: str = "X-CSRF-Token",
        field_name: str = "csrf_token",
        cookie_path: str = "/",
        cookie_domain: str | None = None,
        cookie_secure: bool | None = None,
        cookie_same_site: Literal["lax", "strict", "none"] = "lax",
        cookie_max_age: int | None = None,
        max_buffered_size: int | None = None,
    ) -> None:
        self.app = app
        self.config = config = CSRFConfig(
            trusted_origins=trusted_origins,
            trusted_origin_regex=trusted_origin_regex,
            allow_same_site=allow_same_site,
            require_origin=require_origin,
            exempt_paths=tuple(exempt_paths),
            secret=secret,
            cookie_name=cookie_name,
            header_name=header_name,
            field_name=field_name,
            cookie_path=cookie_path,
            cookie_domain=cookie_domain,
            cookie_secure=cookie_secure,
            cookie_same_site=cookie_same_site,
            cookie_max_age=cookie_max_age,
            max_buffered_size=max_buffered_size,
        )
        self.trusted_origins = normalized_origins(config.trusted_origins, strict=True)
        self.trusted_origin_regex = compile_origin_regex(config.trusted_origin_regex)
        self._exempt = tuple(_compile_exempt(path) for path in config.exempt_paths)
        self._header = header_name.lower().encode("latin-1")
        self._signer: Signer | None = None
        if secret is not None:
            itsdangerous = _itsdangerous()
            self._signer = itsdangerous.Signer(str(secret), salt=_SALT)
            self._bad_signature: type[Exception] = itsdangerous.BadSignature
        attributes = f"; Path={cookie_path}; HttpOnly; SameSite={cookie_same_site.lower()}"
        if cookie_domain is not None:
            attributes += f"; Domain={cookie_domain}"
        if cookie_max_age is not None:
            attributes += f"; Max-Age={cookie_max_age}"
        self._cookie_attributes = attributes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._call(scope, receive, send)
            return
        raw: bytes | None = None
        if scope["method"] not in SAFE_METHODS and not self._exempted(scope):
            try:
                self._check_origin(scope)
                if self._signer is not None:
                    raw, receive = await self._check_token(scope, receive)
            except _Refusal as refusal:
                headers = [(b"connection", b"close")] if refusal.close else []
                await send_plain(send, refusal.status, DENIED_PREFIX + refusal.reason, headers)
                return
            except _Gone:
                return
        if self._signer is None:
            await self._call(scope, receive, send)
            return
        token = _Token(self, scope, raw)
        scope[CSRF_SCOPE_KEY] = token

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start" and token.used:
                headers = list(message.get("headers", ()))
                add_vary(headers, b"Cookie")
                if token.new_cookie:
                    headers.append((b"set-cookie", self._set_cookie(scope, token.raw())))
                message = {**message, "headers": headers}
            await send(message)

        await self._call(scope, receive, send_with_cookie)

    def _exempted(self, scope: Scope) -> bool:
        if not self._exempt:
            return False
        path: str = scope["path"]
        root_path: str = scope.get("root_path", "")
        if root_path and path.startswith(root_path):
            path = path[len(root_path) :] or "/"
        return any(pattern.fullmatch(path) for pattern in self._exempt)

    # -- origin checks --------------------------------------------------------------

    def _trusted(self, origin: str, scope: Scope, host: bytes | None) -> bool:
        parsed = parse_origin(origin)
        return parsed is not None and origin_trusted(
            parsed,
            own=request_origin(scope, host),
            origins=self.trusted_origins,
            regex=self.trusted_origin_regex,
        )

    def _check_origin(self, scope: Scope) -> None:
        site = origin = referer = host = None
        origins = hosts = 0
        for key, value in scope["headers"]:
            if key == b"sec-fetch-site":
                site = value
            elif key == b"origin":
                origin = value
                origins += 1
            elif key == b"referer":
                referer = value
            elif key == b"host":
                host = value
                hosts += 1
        if hosts != 1:
            host = None
        if site in (b"same-origin", b"none"):
            return
        if origins > 1:
            raise _Refusal("several Origin headers")
        origin_text = None if origin is None else origin.decode("latin-1")
        if site in (b"cross-site", b"same-site"):
            if site == b"same-site" and self.config.allow_same_site:
                return
            # The request's own origin is never cross-site: only a trusted one passes.
            parsed = None if origin_text is None else parse_origin(origin_text)
            if parsed is not None and origin_trusted(
                parsed, own=None, origins=self.trusted_origins, regex=self.trusted_origin_regex
            ):
                return
            raise _Refusal(
                f"the browser sent this request from another site "
                f"(Sec-Fetch-Site: {site.decode('latin-1')}) and its Origin is not trusted"
            )
        if origin_text is not None:
            if origin_text == "null":
                raise _Refusal("Origin: null (a sandboxed or cross-site page)")
            if not self._trusted(origin_text, scope, host):
                raise _Refusal(
                    f"Origin {origin_text!r} is neither this site's origin nor a trusted one"
                )
            return
        if referer is not None:
            referer_origin = url_origin(referer.decode("latin-1"))
            if referer_origin is None or not origin_trusted(
                referer_origin,
                own=request_origin(scope, host),
                origins=self.trusted_origins,
                regex=self.trusted_origin_regex,
            ):
                raise _Refusal("the Referer is neither on this site's origin nor a trusted one")
            return
        if self.config.require_origin:
            raise _Refusal("no Sec-Fetch-Site, Origin or Referer header (required)")

    # -- the token ------------------------------------------------------------------

    def cookie_token(self, scope: Scope) -> bytes | None:
        """The token in the request's signed cookie, or ``None`` (missing, forged)."""
        assert self._signer is not None
        values = [value.decode("latin-1") for key, value in scope["headers"] if key == b"cookie"]
        cookie = cookie_parser("; ".join(values)).get(self.config.cookie_name) if values else None
        if not cookie:
            return None
        try:
            encoded = self._signer.unsign(cookie)
            raw = base64.urlsafe_b64decode(encoded + b"=" * (-len(encoded) % 4))
        except (self._bad_signature, ValueError):
            return None
        return raw if len(raw) == _TOKEN_BYTES else None

    def _set_cookie(self, scope: Scope, raw: bytes) -> bytes:
        assert self._signer is not None
        encoded = base64.urlsafe_b64encode(raw).rstrip(b"=")
        value = self._signer.sign(encoded).decode("ascii")
        secure = self.config.cookie_secure
        if secure is None:
            secure = scope.get("scheme") == "https"
        flags = "; Secure" if secure else ""
        return f"{self.config.cookie_name}={value}{self._cookie_attributes}{flags}".encode(
            "latin-1"
        )

    async def _check_token(self, scope: Scope, receive: Receive) -> tuple[bytes, Receive]:
        raw = self.cookie_token(scope)
        if raw is None:
            raise _Refusal(
                f"the CSRF cookie {self.config.cookie_name!r} is missing or invalid "
                "(load the page with the form again)"
            )
        submitted_header = find_header(scope["headers"], self._header)
        if submitted_header is not None:
            submitted: str | None = submitted_header.decode("latin-1")
        else:
            submitted, receive = await self._read_field(scope, receive)
        if submitted is None:
            raise _Refusal(
                f"no CSRF token: send it in the {self.config.header_name} header or the "
                f"{self.config.field_name!r} form field"
            )
        unmasked = _unmask(submitted.strip())
        if unmasked is None or not hmac.compare_digest(unmasked, raw):
            raise _Refusal("the CSRF token does not match the CSRF cookie")
        return raw, receive

    async def _read_field(self, scope: Scope, receive: Receive) -> tuple[str | None, Receive]:
        """The token field of a form body, and a ``receive`` that replays what was read."""
        content_type = find_header(scope["headers"], b"content-type") or b""
        media_type, _, params = content_type.partition(b";")
        media_type = media_type.strip().lower()
        scanner: _UrlencodedScan | _MultipartScan
        if media_type == _FORM_URLENCODED:
            scanner = _UrlencodedScan(self.config.field_name)
        elif media_type == _MULTIPART:
            match = _BOUNDARY.search(b";" + params)
            if match is None:
                return None, receive
            boundary = match.group(1) or match.group(2)
            scanner = _MultipartScan(self.config.field_name, boundary)
        else:
            return None, receive
        limit = self.config.max_buffered_size
        if limit is None:
            limit = get_limits(scope).max_buffered_size
        body = bytearray()
        more_body = True
        found: str | None = None
        while more_body:
            message = await receive()
            if message["type"] != "http.request":
                raise _Gone
            body += message.get("body", b"")
            more_body = message.get("more_body", False)
            found = scanner.scan(body, not more_body)
            if found is not None:
                break
            if len(body) > limit:
                raise _Refusal(
                    f"the {self.config.field_name!r} field is not in the first {limit} bytes "
                    f"of the form: put it first, or send the {self.config.header_name} header",
                    status=413,
                    close=True,
                )
        return found, _replay(bytes(body), more_body, receive)


def _replay(body: bytes, more_body: bool, receive: Receive) -> Receive:
    """``receive`` that gives ``body`` first (one message), then the rest of the request."""
    pending: list[Message] = [{"type": "http.request", "body": body, "more_body": more_body}]

    async def replay() -> Message:
        if pending:
            return pending.pop()
        return await receive()

    return replay
