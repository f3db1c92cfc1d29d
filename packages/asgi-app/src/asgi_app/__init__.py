"""The full ASGI framework: ``App``, plus the public surface of asgi-core, asgi-responses,
asgi-routing, asgi-middleware and asgi-testkit that an application commonly needs.

``from asgi_app import App, Route, JSONResponse`` is all a small application imports.
Everything here is also importable from the distribution that defines it.
"""

from asgi_app._app import App
from asgi_core.background import BackgroundTask, BackgroundTasks
from asgi_core.datastructures import (
    URL,
    Address,
    CommaSeparatedStrings,
    FormData,
    Headers,
    MutableHeaders,
    QueryParams,
    Secret,
    State,
    UploadFile,
)
from asgi_core.exceptions import HTTPException, WebSocketException
from asgi_core.requests import ClientDisconnect, HTTPConnection, Request
from asgi_core.websockets import WebSocket, WebSocketDisconnect, WebSocketState
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
from asgi_routing import Host, Mount, NoMatchFound, Route, Router, WebSocketRoute

__version__ = "0.1.0"

__all__ = [
    "URL",
    "Address",
    "App",
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
    "JSONResponse",
    "Middleware",
    "Mount",
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
    "StreamingResponse",
    "UploadFile",
    "WebSocket",
    "WebSocketDisconnect",
    "WebSocketException",
    "WebSocketRoute",
    "WebSocketState",
]
