"""What the demo shows about where it runs: which worker answered, and the client,
scheme and host the application sees behind a proxy (docs/deploy.md)."""

from __future__ import annotations

import os

from asgi_core.datastructures import MutableHeaders
from asgi_core.requests import Request
from asgi_core.types import ASGIApp, Message, Receive, Scope, Send
from asgi_responses import JSONResponse


async def whoami(request: Request) -> JSONResponse:
    """
    summary: The client, scheme, host and worker the application sees
    responses:
      200:
        description: What the request looks like from inside the application.
    """
    client = request.client
    return JSONResponse(
        {
            "client": None if client is None else [client.host, client.port],
            "scheme": request.url.scheme,
            "host": request.headers.get("host"),
            "server": list(request.scope.get("server") or ()),
            "url": str(request.url),
            "worker": os.getpid(),
        }
    )


class WorkerHeaderMiddleware:
    """Adds ``X-Demo-Worker: <process id>`` to responses and WebSocket handshakes, to
    show (and to test) which worker answered."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.worker = str(os.getpid()).encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return

        async def send_with_worker(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).append("x-demo-worker", self.worker.decode())
            elif message["type"] == "websocket.accept":
                headers = list(message.get("headers", []))
                message = {**message, "headers": [*headers, (b"x-demo-worker", self.worker)]}
            await send(message)

        await self.app(scope, receive, send_with_worker)
