"""ASGI response classes, server-sent events, static files and Jinja2 templates; usable
from any ASGI framework.

Each name lives in the public module of its concept and is re-exported here:
``asgi_responses.responses`` (the response classes), ``asgi_responses.sse``
(server-sent events) and ``asgi_responses.staticfiles`` (StaticFiles).
``asgi_responses.templating`` (Jinja2Templates) needs the ``templates`` extra, so it is
imported from there only.
"""

from asgi_responses.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    MalformedRangeHeader,
    PlainTextResponse,
    RangeNotSatisfiable,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from asgi_responses.sse import EventSourceResponse, ServerSentEvent
from asgi_responses.staticfiles import NotModifiedResponse, StaticFiles

__version__ = "0.1.0"

__all__ = [
    "EventSourceResponse",
    "FileResponse",
    "HTMLResponse",
    "JSONResponse",
    "MalformedRangeHeader",
    "NotModifiedResponse",
    "PlainTextResponse",
    "RangeNotSatisfiable",
    "RedirectResponse",
    "Response",
    "ServerSentEvent",
    "StaticFiles",
    "StreamingResponse",
]
