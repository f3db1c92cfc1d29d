"""The full ASGI framework: ``App``, plus the public surface of asgi-core, asgi-responses,
asgi-routing, asgi-middleware and asgi-testkit that an application commonly needs.

``from asgi_app import App, Route, JSONResponse`` is all a small application imports.
``App`` lives in ``asgi_app.applications`` (Starlette's ``starlette.applications``);
everything else here is also importable from the distribution that defines it.
"""

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
from asgi_testkit import AsyncTestClient, TestClient

__version__ = "0.1.0"

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
