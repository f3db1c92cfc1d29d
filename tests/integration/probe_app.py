"""A bare ASGI app that reports what the server gives it: run by test_servers.py to
check the feature table of docs/deploy.md against the real servers."""

from __future__ import annotations

import json
from typing import Any

SEEN: dict[str, Any] = {"lifespan": False}


async def app(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                SEEN["lifespan"] = True
                await send({"type": "lifespan.startup.complete"})
            else:
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] == "websocket":
        await receive()
        await send({"type": "websocket.accept"})
        extensions = sorted(scope.get("extensions") or {})
        await send({"type": "websocket.send", "text": json.dumps(extensions)})
        await send({"type": "websocket.close", "code": 1000})
        return
    extensions = scope.get("extensions") or {}
    report = {
        "lifespan": SEEN["lifespan"],
        "http_version": scope["http_version"],
        "extensions": sorted(extensions),
        "client": list(scope.get("client") or ()),
        "server": list(scope.get("server") or ()),
        "scheme": scope["scheme"],
        "state": "state" in scope,
    }
    body = json.dumps(report).encode()
    if scope["path"] == "/trailers" and "http.response.trailers" in extensions:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "trailers": True,
                "headers": [(b"content-type", b"application/json"), (b"trailer", b"x-check")],
            }
        )
        await send({"type": "http.response.body", "body": body})
        await send({"type": "http.response.trailers", "headers": [(b"x-check", b"ok")]})
        return
    if scope["path"] == "/hints" and "http.response.early_hint" in extensions:
        await send({"type": "http.response.early_hint", "links": [b"</style.css>; rel=preload"]})
    if scope["path"] == "/pathsend" and "http.response.pathsend" in extensions:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.pathsend", "path": __file__})
        return
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": body})
