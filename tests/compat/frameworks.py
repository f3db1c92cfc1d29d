"""One namespace per framework, so that application code is written once for both.

    def build(fw):
        async def home(request):
            return fw.JSONResponse({"path": request.url.path})
        return fw.App(routes=[fw.Route("/", home)])

`fw.App` is `Starlette` for Starlette and `App` here; every other name is the same.
"""

from __future__ import annotations

import importlib
import warnings
from types import SimpleNamespace
from typing import Any

# name -> (Starlette module, our module); the attribute name is the same on both sides
NAMES: dict[str, tuple[str, str]] = {
    "App": ("starlette.applications:Starlette", "asgi_app.applications:App"),
    "BackgroundTask": ("starlette.background", "asgi_core.background"),
    "BackgroundTasks": ("starlette.background", "asgi_core.background"),
    "HTTPException": ("starlette.exceptions", "asgi_core.exceptions"),
    "WebSocketException": ("starlette.exceptions", "asgi_core.exceptions"),
    "Request": ("starlette.requests", "asgi_core.requests"),
    "WebSocket": ("starlette.websockets", "asgi_core.websockets"),
    "WebSocketDisconnect": ("starlette.websockets", "asgi_core.websockets"),
    "State": ("starlette.datastructures", "asgi_core.datastructures"),
    "URL": ("starlette.datastructures", "asgi_core.datastructures"),
    "Response": ("starlette.responses", "asgi_responses.responses"),
    "HTMLResponse": ("starlette.responses", "asgi_responses.responses"),
    "PlainTextResponse": ("starlette.responses", "asgi_responses.responses"),
    "JSONResponse": ("starlette.responses", "asgi_responses.responses"),
    "RedirectResponse": ("starlette.responses", "asgi_responses.responses"),
    "StreamingResponse": ("starlette.responses", "asgi_responses.responses"),
    "FileResponse": ("starlette.responses", "asgi_responses.responses"),
    "StaticFiles": ("starlette.staticfiles", "asgi_responses.staticfiles"),
    "Jinja2Templates": ("starlette.templating", "asgi_responses.templating"),
    "Route": ("starlette.routing", "asgi_routing.routing"),
    "WebSocketRoute": ("starlette.routing", "asgi_routing.routing"),
    "Mount": ("starlette.routing", "asgi_routing.routing"),
    "Host": ("starlette.routing", "asgi_routing.routing"),
    "Router": ("starlette.routing", "asgi_routing.routing"),
    "HTTPEndpoint": ("starlette.endpoints", "asgi_routing.endpoints"),
    "WebSocketEndpoint": ("starlette.endpoints", "asgi_routing.endpoints"),
    "Middleware": ("starlette.middleware", "asgi_middleware"),
    "BaseHTTPMiddleware": ("starlette.middleware.base", "asgi_middleware.base"),
    "CORSMiddleware": ("starlette.middleware.cors", "asgi_middleware.cors"),
    "GZipMiddleware": ("starlette.middleware.gzip", "asgi_middleware.gzip"),
    "SessionMiddleware": ("starlette.middleware.sessions", "asgi_middleware.sessions"),
    "TrustedHostMiddleware": ("starlette.middleware.trustedhost", "asgi_middleware.trustedhost"),
    "HTTPSRedirectMiddleware": (
        "starlette.middleware.httpsredirect",
        "asgi_middleware.httpsredirect",
    ),
}


def _load(spec: str, name: str) -> Any:
    module, _, attr = spec.partition(":")
    return getattr(importlib.import_module(module), attr or name)


def namespace(framework: str) -> SimpleNamespace:
    """Every name of NAMES from `framework` ("starlette" or "ours")."""
    side = 0 if framework == "starlette" else 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loaded = {name: _load(specs[side], name) for name, specs in NAMES.items()}
    return SimpleNamespace(name=framework, **loaded)
