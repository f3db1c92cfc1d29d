"""An ASGI router whose matching cost does not grow with the number of routes: routes,
mounts, hosts, convertors, lifespan, endpoints and OpenAPI schemas.
"""

from asgi_routing.routing import (
    PARAM_FORMAT_REGEX,
    PARAM_REGEX,
    BaseRoute,
    Host,
    Match,
    Mount,
    NoMatchFound,
    Route,
    Router,
    WebSocketRoute,
    compile_path,
    get_name,
    replace_params,
    request_response,
    websocket_session,
)

__version__ = "0.1.0"

__all__ = [
    "PARAM_FORMAT_REGEX",
    "PARAM_REGEX",
    "BaseRoute",
    "Host",
    "Match",
    "Mount",
    "NoMatchFound",
    "Route",
    "Router",
    "WebSocketRoute",
    "compile_path",
    "get_name",
    "replace_params",
    "request_response",
    "websocket_session",
]
