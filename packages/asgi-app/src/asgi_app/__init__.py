"""The full ASGI framework: ``App``, plus the public surface of asgi-core, asgi-responses,
asgi-routing, asgi-middleware and asgi-testkit that an application commonly needs.

``from asgi_app import App, Route, JSONResponse`` is all a small application imports.
``App`` lives in ``asgi_app.applications`` (Starlette's ``starlette.applications``);
everything else here is also importable from the distribution that defines it.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

from asgi_app.applications import App
from asgi_core.background import BackgroundTask, BackgroundTasks
from asgi_core.datastructures import (
    URL,
    Address,
    CommaSeparatedStrings,
    FormData,
    Headers,
    ImmutableMultiDict,
    MultiDict,
    MutableHeaders,
    QueryParams,
    Secret,
    State,
    UploadFile,
    URLPath,
)
from asgi_core.exceptions import HTTPException, WebSocketException
from asgi_core.requests import ClientDisconnect, HTTPConnection, Request
from asgi_core.websockets import WebSocket, WebSocketClose, WebSocketDisconnect, WebSocketState
from asgi_middleware import Middleware
from asgi_responses import (
    EventSourceResponse,
    FileResponse,
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    ServerSentEvent,
    StreamingResponse,
)
from asgi_responses.staticfiles import StaticFiles
from asgi_routing import Host, Mount, NoMatchFound, Route, Router, WebSocketRoute

if TYPE_CHECKING:
    from asgi_testkit import AsyncTestClient, TestClient

__version__ = "0.1.0"

# The test clients bring httpx along: a served application never pays for importing them.
_ON_FIRST_USE = {"AsyncTestClient": "asgi_testkit", "TestClient": "asgi_testkit"}


def __getattr__(name: str) -> Any:
    if name not in _ON_FIRST_USE:
        raise AttributeError(f"module 'asgi_app' has no attribute {name!r}")
    value = getattr(import_module(_ON_FIRST_USE[name]), name)
    globals()[name] = value
    return value


__all__ = [
    "URL",
    "Address",
    "App",
    "AsyncTestClient",
    "BackgroundTask",
    "BackgroundTasks",
    "ClientDisconnect",
    "CommaSeparatedStrings",
    "EventSourceResponse",
    "FileResponse",
    "FormData",
    "HTMLResponse",
    "HTTPConnection",
    "HTTPException",
    "Headers",
    "Host",
    "ImmutableMultiDict",
    "JSONResponse",
    "Middleware",
    "Mount",
    "MultiDict",
    "MutableHeaders",
    "NoMatchFound",
    "PlainTextResponse",
    "QueryParams",
    "RedirectResponse",
    "Request",
    "Response",
    "Route",
    "Router",
    "Secret",
    "ServerSentEvent",
    "State",
    "StaticFiles",
    "StreamingResponse",
    "TestClient",
    "URLPath",
    "UploadFile",
    "WebSocket",
    "WebSocketClose",
    "WebSocketDisconnect",
    "WebSocketException",
    "WebSocketRoute",
    "WebSocketState",
]
