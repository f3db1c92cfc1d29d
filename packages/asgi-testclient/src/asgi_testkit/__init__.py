"""A sync and async test client for any ASGI application (HTTP, WebSocket, lifespan), built
on httpx.
"""

from ._client import AsyncTestClient, TestClient
from ._exceptions import WebSocketDenialResponse, WebSocketDisconnect
from ._websocket import AsyncWebSocketTestSession, WebSocketTestSession

__version__ = "0.1.0"

__all__ = [
    "AsyncTestClient",
    "AsyncWebSocketTestSession",
    "TestClient",
    "WebSocketDenialResponse",
    "WebSocketDisconnect",
    "WebSocketTestSession",
    "__version__",
]
