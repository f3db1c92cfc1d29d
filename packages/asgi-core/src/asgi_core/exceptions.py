"""Exceptions that carry an HTTP status or a WebSocket close code to the client."""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus

__all__ = [
    "ASGIDeprecationWarning",
    "HTTPException",
    "StarletteDeprecationWarning",
    "WebSocketException",
]

_PHRASES: dict[int, str] = {status.value: status.phrase for status in HTTPStatus}


class HTTPException(Exception):
    """Abort handling a request with an HTTP error response.

    ``detail`` defaults to the status code's standard reason phrase ("Not Found"),
    or an empty string for a code that has none. ``headers`` are sent with the
    error response (for example ``WWW-Authenticate`` on a 401).
    """

    def __init__(
        self,
        status_code: int,
        detail: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        if detail is None:
            detail = _PHRASES.get(status_code, "")
        self.status_code = status_code
        self.detail = detail
        self.headers = headers
        super().__init__(status_code, detail)

    def __str__(self) -> str:
        return f"{self.status_code}: {self.detail}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status_code={self.status_code!r}, detail={self.detail!r})"


class WebSocketException(Exception):
    """Close a WebSocket with ``code`` (see ``asgi_core.status.WS_*``) and ``reason``."""

    def __init__(self, code: int, reason: str | None = None) -> None:
        self.code = code
        self.reason = reason or ""
        super().__init__(code, self.reason)

    def __str__(self) -> str:
        return f"{self.code}: {self.reason}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, reason={self.reason!r})"


class ASGIDeprecationWarning(UserWarning):
    """Warns that a name or behaviour of the framework is deprecated.

    Like Starlette's ``StarletteDeprecationWarning`` it derives from ``UserWarning``,
    not ``DeprecationWarning``: Python hides ``DeprecationWarning`` raised outside
    ``__main__`` by default, so an application's authors would never see it.
    Silence it with ``warnings.filterwarnings("ignore", category=ASGIDeprecationWarning)``.
    """


StarletteDeprecationWarning = ASGIDeprecationWarning
"""Starlette's name for :class:`ASGIDeprecationWarning`, so that ported code catching or
filtering it keeps working."""
