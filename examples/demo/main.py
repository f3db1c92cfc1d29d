"""The showcase app: every part of the framework in one small, readable program.

Serve it with ``hatch run demo:serve`` (or ``uvicorn examples.demo.main:app``) and open
http://127.0.0.1:8000.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio

from asgi_app import (
    App,
    BackgroundTask,
    EventSourceResponse,
    HTTPConnection,
    HTTPException,
    JSONResponse,
    Middleware,
    Mount,
    PlainTextResponse,
    RedirectResponse,
    Request,
    Response,
    Route,
    ServerSentEvent,
    WebSocket,
    WebSocketDisconnect,
    WebSocketRoute,
)
from asgi_core.config import Config
from asgi_core.datastructures import URL, Secret, UploadFile
from asgi_middleware.authentication import (
    AuthCredentials,
    AuthenticationBackend,
    AuthenticationMiddleware,
    SimpleUser,
    requires,
)
from asgi_middleware.compression import CompressionMiddleware
from asgi_middleware.cors import CORSMiddleware
from asgi_middleware.csrf import CSRFConfig, register_csrf_globals
from asgi_middleware.proxy_headers import ProxyHeadersMiddleware
from asgi_middleware.sessions import SessionMiddleware
from asgi_middleware.websocket_origin import WebSocketOriginMiddleware
from asgi_responses.staticfiles import StaticFiles
from asgi_responses.templating import Jinja2Templates
from asgi_routing.schemas import SchemaGenerator
from examples.demo.deployment import WorkerHeaderMiddleware, whoami
from examples.demo.shared_state import Room, open_engine

HERE = Path(__file__).parent
logger = logging.getLogger(__name__)
DEFAULT_SECRET_KEY = "change-me-in-production"  # public: anyone can sign a session with it


def read_secret_key(config: Config) -> Secret:
    """``DEMO_SECRET_KEY``, or the demo's public default with a loud warning: with the
    default, anyone who has read this file can forge a session cookie and log in."""
    value = config("DEMO_SECRET_KEY", default=None)
    if not value or value == DEFAULT_SECRET_KEY:
        logger.warning(
            "WARNING: DEMO_SECRET_KEY is not set, so the demo signs its session cookies "
            "with the public default key %r: anyone can forge a login. Set DEMO_SECRET_KEY "
            "to a long random secret before exposing the demo, for example with "
            "DEMO_SECRET_KEY=$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')",
            DEFAULT_SECRET_KEY,
        )
        value = DEFAULT_SECRET_KEY
    return Secret(value)


def human_size(size: int) -> str:
    """A byte count the way the demo states every size, in the page and in the 413:
    ``5 MiB``, ``2.5 MiB``, ``64 KiB``. Rounded down, so a stated limit is never more
    than the real one."""
    for unit, scale in (("MiB", 1024 * 1024), ("KiB", 1024)):
        if size >= scale:
            tenths = size * 10 // scale
            whole, tenth = divmod(tenths, 10)
            return f"{whole} {unit}" if tenth == 0 else f"{whole}.{tenth} {unit}"
    return f"{size} bytes"


config = Config()
SECRET_KEY = read_secret_key(config)
# the largest request body the demo reads, uploads included (refused with 413 past it)
MAX_UPLOAD_BYTES = config("DEMO_MAX_UPLOAD_BYTES", cast=int, default=5 * 1024 * 1024)
MAX_UPLOAD_FILES = 3
MAX_ITEMS = 1000  # the demo keeps everything in memory: bounded, so it can be exposed
USERS = {"demo": "demo"}  # the demo's only account: user "demo", password "demo"
# forms also carry a signed CSRF token (docs/csrf.md); the origin checks are always on
CSRF_TOKENS = config("DEMO_CSRF_TOKENS", cast=bool, default=False)
# several workers share items, notifications and chat through Redis (docs/deploy.md)
REDIS_URL = config("REDIS_URL", default="")
# the proxies whose X-Forwarded-* headers are believed (nginx on the same machine)
TRUSTED_PROXIES = config("DEMO_TRUSTED_PROXIES", default="127.0.0.1")

templates = Jinja2Templates(directory=HERE / "templates")
register_csrf_globals(templates)  # {{ csrf_input() }} in forms, {{ csrf_token() }} for scripts
templates.env.filters["human_size"] = human_size  # {{ max_bytes | human_size }}
schemas = SchemaGenerator(
    {"openapi": "3.0.0", "info": {"title": "asgi-app demo API", "version": "1.0"}}
)


@asynccontextmanager
async def lifespan(app: App) -> AsyncIterator[dict[str, Any]]:
    room = Room()
    async with open_engine(room, REDIS_URL) as store:  # in memory unless REDIS_URL is set
        yield {"store": store, "room": room}


class SessionAuth(AuthenticationBackend):
    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, SimpleUser] | None:
        username = conn.session.get("user")
        if username is None:
            return None
        return AuthCredentials(["authenticated"]), SimpleUser(username)


# -- pages -------------------------------------------------------------------------------


async def home(request: Request) -> Any:
    return templates.TemplateResponse(request, "index.html", {"title": "Home"})


async def upload_page(request: Request) -> Any:
    context = {"title": "Upload", "max_bytes": MAX_UPLOAD_BYTES, "max_files": MAX_UPLOAD_FILES}
    if request.method == "GET":
        return templates.TemplateResponse(request, "upload.html", context)
    async with request.form(max_files=MAX_UPLOAD_FILES, max_fields=20) as form:
        files = []
        for upload in form.getlist("files"):
            if not isinstance(upload, UploadFile) or not upload.filename:
                continue
            digest = hashlib.sha256()
            while chunk := await upload.read(64 * 1024):
                digest.update(chunk)
            files.append(
                {"name": upload.filename, "size": upload.size, "sha256": digest.hexdigest()}
            )
        context.update(note=str(form.get("note", "")), files=files)
    return templates.TemplateResponse(request, "upload.html", context)


async def login(request: Request) -> Any:
    context: dict[str, Any] = {"title": "Log in", "next": request.query_params.get("next", "/")}
    if request.method == "POST":
        form = await request.form()
        username, password = str(form.get("username", "")), str(form.get("password", ""))
        if USERS.get(username) == password:
            request.session["user"] = username
            return RedirectResponse(local_target(request, str(form.get("next", "/"))), 303)
        context["error"] = "Unknown user or wrong password (try demo / demo)."
        return templates.TemplateResponse(request, "login.html", context, status_code=401)
    return templates.TemplateResponse(request, "login.html", context)


def local_target(request: Request, target: str) -> str:
    """The path to go to after login: same origin only, or an open redirect would let
    anyone forge a login link that sends users elsewhere."""
    url = URL(target)
    if url.netloc and (url.scheme, url.netloc) != (request.url.scheme, request.url.netloc):
        return "/"
    path = url.path if url.path.startswith("/") and not url.path.startswith("//") else "/"
    return path + (f"?{url.query}" if url.query else "")


async def logout(request: Request) -> Any:
    request.session.clear()
    return RedirectResponse("/", status_code=303)


@requires("authenticated", redirect="login")
async def private(request: Request) -> Any:
    return templates.TemplateResponse(request, "private.html", {"title": "Private"})


async def chat_page(request: Request) -> Any:
    return templates.TemplateResponse(request, "chat.html", {"title": "Chat"})


async def clock_page(request: Request) -> Any:
    return templates.TemplateResponse(request, "clock.html", {"title": "Clock"})


# -- JSON API ----------------------------------------------------------------------------


async def list_items(request: Request) -> JSONResponse:
    """
    summary: List the items
    responses:
      200:
        description: Every item.
    """
    return JSONResponse(await request.state.store.list_items())


async def create_item(request: Request) -> JSONResponse:
    """
    summary: Create an item
    requestBody:
      content:
        application/json:
          schema: {type: object, properties: {name: {type: string}, price: {type: number}}}
    responses:
      201:
        description: The new item.
      400:
        description: Invalid JSON or missing fields.
      409:
        description: The demo's item store is full.
    """
    data = await request.json()
    if not isinstance(data, dict) or not isinstance(data.get("name"), str):
        raise HTTPException(400, detail='Expected a JSON object with a "name" string.')
    price = data.get("price", 0)
    if not isinstance(price, int | float) or isinstance(price, bool):
        raise HTTPException(400, detail='"price" must be a number.')
    item = await request.state.store.add_item(data["name"], price, MAX_ITEMS)
    if item is None:
        raise HTTPException(409, detail=f"The demo holds at most {MAX_ITEMS} items.")
    return JSONResponse(item, status_code=201)


async def get_item(request: Request) -> JSONResponse:
    """
    summary: Fetch one item
    responses:
      200:
        description: The item.
      404:
        description: No such item.
    """
    item = await request.state.store.get_item(request.path_params["item_id"])
    if item is None:
        raise HTTPException(404, detail="No such item.")
    return JSONResponse(item)


async def notification_log(request: Request) -> JSONResponse:
    """
    summary: The notifications sent so far (the latest 50)
    responses:
      200:
        description: The texts, oldest first, under "sent".
    """
    return JSONResponse({"sent": await request.state.store.notifications()})


async def notify(request: Request) -> JSONResponse:
    """
    summary: Queue a notification, sent by a background task after the response
    responses:
      202:
        description: Accepted; GET /api/notify lists it once it is sent.
    """
    store = request.state.store

    async def send_notification(text: str) -> None:
        await anyio.sleep(0.1)  # stands for a slow e-mail or webhook call
        await store.add_notification(text)

    text = f"notification at {time.strftime('%H:%M:%S')}"
    return JSONResponse(
        {"queued": text}, status_code=202, background=BackgroundTask(send_notification, text)
    )


def openapi_yaml(request: Request) -> bytes:
    """The schema of the app serving ``request``, as YAML, from the endpoints' docstrings."""
    return bytes(schemas.OpenAPIResponse(request).body)


async def openapi(request: Request) -> Response:
    """The schema for tools (Swagger UI, code generators): YAML, ``application/yaml``."""
    return Response(openapi_yaml(request), media_type="application/yaml")


async def schema_page(request: Request) -> Any:
    """The same schema for people: a page that shows it (escaped) instead of a download."""
    context = {"title": "OpenAPI schema", "schema": openapi_yaml(request).decode("utf-8")}
    return templates.TemplateResponse(request, "schema.html", context)


# -- errors ------------------------------------------------------------------------------

BYTE_COUNT = re.compile(r"\b(\d+) bytes\b")


async def content_too_large(request: Request, exc: Exception) -> Response:
    """Every 413 in the demo's words, with sizes as the upload page states them (the
    framework's messages count bytes): the upload page again, with the limit in MiB, or
    the reason as text (JSON under /api). The connection closes: the body is unread."""
    assert isinstance(exc, HTTPException)
    headers = {**(exc.headers or {}), "Connection": "close"}
    if request.url.path == request.url_for("upload").path:
        limit = human_size(MAX_UPLOAD_BYTES)
        context = {
            "title": "Upload",
            "max_bytes": MAX_UPLOAD_BYTES,
            "max_files": MAX_UPLOAD_FILES,
            "error": f"Nothing was uploaded: the limit is {limit} in one request.",
        }
        return templates.TemplateResponse(
            request, "upload.html", context, status_code=413, headers=headers
        )
    detail = BYTE_COUNT.sub(lambda found: human_size(int(found[1])), exc.detail)
    if request.url.path.startswith("/api/"):
        return JSONResponse({"detail": detail}, status_code=413, headers=headers)
    return PlainTextResponse(detail, status_code=413, headers=headers)


# -- real time ---------------------------------------------------------------------------


async def chat(websocket: WebSocket) -> None:
    room: Room = websocket.state.room
    await websocket.accept()
    name = websocket.query_params.get("name", "guest")[:32] or "guest"
    room.sockets.add(websocket)
    await room.broadcast({"from": "server", "text": f"{name} joined"})
    try:
        while True:
            text = (await websocket.receive_text())[:1000]
            await room.broadcast({"from": name, "text": text})
    except WebSocketDisconnect:
        room.sockets.discard(websocket)
        await room.broadcast({"from": "server", "text": f"{name} left"})


async def clock(request: Request) -> EventSourceResponse:
    async def ticks() -> AsyncIterator[ServerSentEvent]:
        count = 0
        while True:
            count += 1
            yield ServerSentEvent(data=time.strftime("%H:%M:%S"), event="tick", id=str(count))
            await anyio.sleep(1)

    return EventSourceResponse(ticks(), ping=15)


routes = [
    Route("/", home, name="home"),
    Route("/upload", upload_page, methods=["GET", "POST"], name="upload"),
    Route("/login", login, methods=["GET", "POST"], name="login"),
    Route("/logout", logout, methods=["POST"], name="logout"),
    Route("/private", private, name="private"),
    Route("/chat", chat_page, name="chat"),
    Route("/clock", clock_page, name="clock"),
    Route("/clock/stream", clock, name="clock_stream"),
    WebSocketRoute("/ws/chat", chat, name="chat_ws"),
    Mount(
        "/api",
        routes=[
            Route("/items", list_items, methods=["GET"], name="items"),
            Route("/items", create_item, methods=["POST"]),
            Route("/items/{item_id:int}", get_item, name="item"),
            Route("/notify", notification_log, methods=["GET"], name="notifications"),
            Route("/notify", notify, methods=["POST"], name="notify"),
            Route("/whoami", whoami, name="whoami"),
        ],
        name="api",
    ),
    Route("/schema", schema_page, include_in_schema=False, name="schema"),
    Route("/openapi.yaml", openapi, include_in_schema=False, name="openapi"),
    Mount("/static", app=StaticFiles(directory=HERE / "static"), name="static"),
]

app = App(
    routes=routes,
    middleware=[
        # behind nginx: the browser's address, scheme and host (docs/deploy.md)
        Middleware(ProxyHeadersMiddleware, trusted_hosts=TRUSTED_PROXIES),
        Middleware(WorkerHeaderMiddleware),
        Middleware(CORSMiddleware, allow_origins=["http://localhost:3000"], allow_methods=["*"]),
        Middleware(CompressionMiddleware, minimum_size=500),
        Middleware(SessionMiddleware, secret_key=str(SECRET_KEY), same_site="lax"),
        Middleware(AuthenticationMiddleware, backend=SessionAuth()),
        # the chat socket carries the session cookie: refuse cross-site handshakes
        Middleware(WebSocketOriginMiddleware),
    ],
    lifespan=lifespan,
    # Every body read (forms, uploads, JSON) stops at MAX_UPLOAD_BYTES with a 413 that
    # content_too_large words, passing through the middleware above (CORS, compression);
    # a declared Content-Length over it is refused unread.
    max_body_size=MAX_UPLOAD_BYTES,
    exception_handlers={413: content_too_large},
    # unsafe requests from other sites get 403: the login, upload, logout and API posts
    csrf=CSRFConfig(
        trusted_origins=["http://localhost:3000"],  # the frontend CORS allows, above
        secret=str(SECRET_KEY) if CSRF_TOKENS else None,
    ),
)
