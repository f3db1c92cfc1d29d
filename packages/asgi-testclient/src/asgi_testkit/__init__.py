"""A sync and async test client for any ASGI application (HTTP, WebSocket, lifespan), built
on httpx.

Every name lives in ``asgi_testkit.testclient`` (Starlette's ``starlette.testclient``) and is
re-exported here.
"""

from .testclient import (
    ASGI2App,
    ASGI3App,
    ASGIInstance,
    AsyncTestClient,
    AsyncWebSocketTestSession,
    TestClient,
    WebSocketDenialResponse,
    WebSocketDisconnect,
    WebSocketTestSession,
)

__version__ = "0.1.0"

__all__ = [
    "ASGI2App",
    "ASGI3App",
    "ASGIInstance",
    "AsyncTestClient",
    "AsyncWebSocketTestSession",
    "TestClient",
    "WebSocketDenialResponse",
    "WebSocketDisconnect",
    "WebSocketTestSession",
]
