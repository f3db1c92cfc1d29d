"""ASGI response classes, server-sent events, static files and Jinja2 templates; usable
from any ASGI framework.
"""

from asgi_responses._files import FileResponse
from asgi_responses._responses import (
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from asgi_responses._sse import EventSourceResponse, ServerSentEvent

__version__ = "0.1.0"

__all__ = [
    "EventSourceResponse",
    "FileResponse",
    "HTMLResponse",
    "JSONResponse",
    "PlainTextResponse",
    "RedirectResponse",
    "Response",
    "ServerSentEvent",
    "StreamingResponse",
]
