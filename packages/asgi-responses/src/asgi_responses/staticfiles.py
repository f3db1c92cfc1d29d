"""StaticFiles: serve the files of one or more directories, safely.

Mounting convention: ``scope["path"]`` is the full request path and
``scope["root_path"]`` the prefix the app is mounted at (what ASGI servers and
``asgi_routing.Mount`` do). The file looked up is ``path`` minus ``root_path``; a
``path`` that does not start with ``root_path`` is used whole (servers or frameworks
that strip the prefix themselves).
"""

from __future__ import annotations

import errno
import importlib.util
import os
import re
import stat
from collections.abc import Sequence
from urllib.parse import quote

import anyio.to_thread

from asgi_core.datastructures import Headers
from asgi_core.exceptions import HTTPException
from asgi_core.types import Receive, Scope, Send
from asgi_core.websockets import WebSocketClose
from asgi_responses._ranges import evaluate_preconditions, parse_http_date
from asgi_responses._threads import run_sync
from asgi_responses.responses import FileResponse, PlainTextResponse, RedirectResponse, Response

__all__ = ["NotModifiedResponse", "StaticFiles"]

PathLike = str | os.PathLike[str]
_DRIVE = re.compile(r"[A-Za-z]:")
_PACKAGE_FOLDERS = ("statics", "static")
# Filesystem errors that mean "no such file here" (a 404): missing, a file used as a
# directory, a name too long, a symlink loop, no permission to look. Any other OSError
# is a server problem and propagates (a 500).
_NOT_FOUND_ERRNOS = frozenset(
    {errno.ENOENT, errno.ENOTDIR, errno.ENAMETOOLONG, errno.ELOOP, errno.EACCES, errno.EPERM}
)


def _safe_parts(route_path: str) -> list[str] | None:
    """The path segments to join under a directory, or ``None`` if the path could
    escape it (``..``, backslashes, NUL bytes, drive letters)."""
    parts: list[str] = []
    for part in route_path.split("/"):
        if part in ("", "."):
            continue
        if part == ".." or "\\" in part or "\0" in part or _DRIVE.match(part):
            return None
        parts.append(part)
    return parts


class NotModifiedResponse(Response):
    """A 304 answer carrying only the headers RFC 9110 (section 15.4.5) lets a 304
    repeat from the 200 it stands for: those of :attr:`NOT_MODIFIED_HEADERS`."""

    NOT_MODIFIED_HEADERS = (
        "cache-control",
        "content-location",
        "date",
        "etag",
        "expires",
        "vary",
    )

    def __init__(self, headers: Headers) -> None:
        super().__init__(status_code=304)
        keep = {name.encode("latin-1") for name in self.NOT_MODIFIED_HEADERS}
        self.raw_headers = [(name, value) for name, value in headers.raw if name in keep]


class StaticFiles:
    """An ASGI app serving the files under ``directory`` and/or Python ``packages``.

    ``packages`` items are a package name (its ``statics`` folder, else its ``static``
    folder) or a ``(package, folder)`` tuple; directories are searched in order, the
    ``directory`` first. With ``html=True`` a directory serves its ``index.html``
    (redirecting ``/dir`` to ``/dir/``) and a missing file serves ``404.html`` when
    present. ``check_dir`` raises ``RuntimeError`` at once if ``directory`` is missing;
    :meth:`check_config` checks it again on the first request.

    Only GET and HEAD are allowed (405 with ``Allow``). Paths never escape the
    directories: ``..`` segments, backslashes, NUL bytes, drive letters, and symlinks
    leading outside (unless ``follow_symlink=True``) all give 404. :meth:`get_response`
    raises 404 and 405 as ``HTTPException``, so an application's exception handlers
    render them; used without an application (no ``scope["app"]``), StaticFiles sends
    them as plain-text responses itself. An unexpected filesystem error propagates (a
    500). Conditional requests (ETag, Last-Modified, 304) and Range requests are
    answered by :class:`~asgi_responses.FileResponse`. Filesystem calls run in a worker
    thread. A WebSocket connection is closed (1000).
    """

    def __init__(
        self,
        *,
        directory: PathLike | None = None,
        packages: Sequence[str | tuple[str, str]] | None = None,
        html: bool = False,
        check_dir: bool = True,
        follow_symlink: bool = False,
    ) -> None:
        self.directory = directory
        self.packages = packages
        self.html = html
        self.follow_symlink = follow_symlink
        self.config_checked = False
        if check_dir and directory is not None and not os.path.isdir(directory):
            raise RuntimeError(f"Directory '{directory}' does not exist")
        self.all_directories = self.get_directories(directory, packages)
        self._roots = [os.path.realpath(path) for path in self.all_directories]

    def get_directories(
        self,
        directory: PathLike | None = None,
        packages: Sequence[str | tuple[str, str]] | None = None,
    ) -> list[PathLike]:
        """The directories to search, in order."""
        directories: list[PathLike] = []
        if directory is not None:
            directories.append(directory)
        for package in packages or ():
            folders: tuple[str, ...]
            if isinstance(package, tuple):
                name, folders = package[0], (package[1],)
            else:
                name, folders = package, _PACKAGE_FOLDERS
            spec = importlib.util.find_spec(name)
            if spec is None or spec.origin is None:
                raise RuntimeError(f"Package {name!r} could not be found (is it installed?)")
            base = os.path.dirname(spec.origin)
            for folder in folders:
                path = os.path.join(base, folder)
                if os.path.isdir(path):
                    directories.append(path)
                    break
            else:
                raise RuntimeError(
                    f"Package {name!r} has no {' or '.join(map(repr, folders))} directory"
                )
        return directories

    def get_path(self, scope: Scope) -> str:
        """The request path relative to the mount point (see the module docstring),
        ``/``-separated and not normalised: :meth:`get_response` refuses ``..``."""
        path: str = scope["path"]
        root: str = scope.get("root_path", "")
        if root and path.startswith(root) and path[len(root) : len(root) + 1] in ("", "/"):
            return path[len(root) :]
        return path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind != "http":
            if kind == "websocket":
                await WebSocketClose()(scope, receive, send)
                return
            raise RuntimeError(f"StaticFiles only serves HTTP, not {kind!r}")
        if not self.config_checked:
            await self.check_config()
            self.config_checked = True
        try:
            response = await self.get_response(self.get_path(scope), scope)
        except HTTPException as exc:
            if "app" in scope:
                raise  # the application's exception handlers render it
            response = PlainTextResponse(exc.detail, exc.status_code, exc.headers)
        await response(scope, receive, send)

    async def check_config(self) -> None:
        """Check once, on the first request, that ``directory`` is a directory; raise
        ``RuntimeError`` rather than answer every request with 404."""
        if self.directory is None:
            return
        # The trailing separator makes the filesystem resolve it as a directory, and
        # keeps the one path asked about inside the directory.
        try:
            await anyio.to_thread.run_sync(os.stat, os.path.join(self.directory, ""))
        except FileNotFoundError:
            raise RuntimeError(
                f"StaticFiles directory '{self.directory}' does not exist."
            ) from None
        except NotADirectoryError:
            raise RuntimeError(f"StaticFiles path '{self.directory}' is not a directory.") from None

    async def get_response(self, path: str, scope: Scope) -> Response:
        """The response for ``path`` (relative to the mount point).

        Raises ``HTTPException`` 405 for a method other than GET and HEAD, and 404 when
        nothing answers ``path`` (missing, or a path that could leave the directories).
        """
        if scope["method"] not in ("GET", "HEAD"):
            raise HTTPException(405, headers={"Allow": "GET, HEAD"})
        found = await run_sync(self._resolve, path)
        if found is None:
            raise HTTPException(404)
        kind, full_path, stat_result = found
        if kind == "index" and not path.endswith("/"):
            return RedirectResponse(self._slash_url(scope))
        status_code = 404 if kind == "404" else 200
        return self.file_response(full_path, stat_result, scope, status_code)

    def file_response(
        self,
        full_path: PathLike,
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        """The response for a file found; override to add headers such as Cache-Control.

        A 200 that :meth:`is_not_modified` says the client has is a
        :class:`NotModifiedResponse`.
        """
        response = FileResponse(full_path, status_code=status_code, stat_result=stat_result)
        if status_code == 200 and self.is_not_modified(response.headers, Headers(scope=scope)):
            return NotModifiedResponse(response.headers)
        return response

    def is_not_modified(self, response_headers: Headers, request_headers: Headers) -> bool:
        """Whether the client's copy is current, so a 304 can answer instead.

        The RFC 9110 rules: If-None-Match (weak comparison) wins over
        If-Modified-Since, and a failed If-Match or If-Unmodified-Since is not a 304
        (the file response answers it with 412).
        """
        if_none_match = request_headers.get("if-none-match")
        if_modified_since = request_headers.get("if-modified-since")
        if if_none_match is None and if_modified_since is None:
            return False
        last_modified = _last_modified(response_headers.get("last-modified"))
        outcome = evaluate_preconditions(
            "GET",
            response_headers.get("etag", ""),
            last_modified,
            if_match=request_headers.get("if-match"),
            if_unmodified_since=request_headers.get("if-unmodified-since"),
            if_none_match=if_none_match,
            if_modified_since=if_modified_since if last_modified >= 0 else None,
        )
        return outcome == 304

    def lookup_path(self, path: str) -> tuple[str, os.stat_result | None]:
        """The full path and stat of ``path`` (relative, ``/``-separated) in the first
        directory that has it, else ``("", None)``.

        A path that could leave the directories is never found: ``..`` segments,
        backslashes, NUL bytes, drive letters, and (unless ``follow_symlink``) symlinks
        resolving outside. Raises ``OSError`` for an unexpected filesystem error.
        """
        parts = _safe_parts(path)
        if parts is None:
            return "", None
        for root in self._roots:
            full_path = os.path.join(root, *parts)
            try:
                if not self.follow_symlink:
                    full_path = os.path.realpath(full_path)
                    if os.path.commonpath((root, full_path)) != root:
                        continue
                return full_path, os.stat(full_path)
            except ValueError:  # not encodable for the filesystem (lone surrogates)
                continue
            except OSError as exc:
                if exc.errno not in _NOT_FOUND_ERRNOS:
                    raise
        return "", None

    def _resolve(self, path: str) -> tuple[str, str, os.stat_result] | None:
        """Find what answers ``path``: ("file" | "index" | "404", full path, stat).
        One worker-thread call makes every lookup a request needs."""
        parts = _safe_parts(path)
        if parts is None:
            return None
        relative = "/".join(parts)
        full_path, stat_result = self.lookup_path(relative)
        if stat_result is not None:
            if stat.S_ISREG(stat_result.st_mode):
                return "file", full_path, stat_result
            if self.html and stat.S_ISDIR(stat_result.st_mode):
                index = f"{relative}/index.html" if relative else "index.html"
                full_path, stat_result = self.lookup_path(index)
                if stat_result is not None and stat.S_ISREG(stat_result.st_mode):
                    return "index", full_path, stat_result
        if self.html:
            full_path, stat_result = self.lookup_path("404.html")
            if stat_result is not None and stat.S_ISREG(stat_result.st_mode):
                return "404", full_path, stat_result
        return None

    def _slash_url(self, scope: Scope) -> str:
        """The request's own path with a trailing slash (a relative URL: no Host needed)."""
        path: str = scope["path"]
        root: str = scope.get("root_path", "")
        if not path.startswith(root):
            path = root + path
        url = "/" + quote(path.lstrip("/"), safe="/!$&'()*+,;=:@~") + "/"
        query: bytes = scope.get("query_string", b"")
        if query:
            url += "?" + query.decode("latin-1")
        return url


def _last_modified(value: str | None) -> int:
    """Seconds since the epoch of a Last-Modified value, or -1."""
    if value is None:
        return -1
    parsed = parse_http_date(value)
    return -1 if parsed is None else parsed
