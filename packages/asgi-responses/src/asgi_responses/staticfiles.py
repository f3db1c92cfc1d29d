"""StaticFiles: serve the files of one or more directories, safely.

Mounting convention: ``scope["path"]`` is the full request path and
``scope["root_path"]`` the prefix the app is mounted at (what ASGI servers and
``asgi_routing.Mount`` do). The file looked up is ``path`` minus ``root_path``; a
``path`` that does not start with ``root_path`` is used whole (servers or frameworks
that strip the prefix themselves).
"""

from __future__ import annotations

import importlib.util
import os
import re
import stat
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from urllib.parse import quote

import anyio.to_thread

from asgi_core.exceptions import HTTPException
from asgi_core.types import Receive, Scope, Send
from asgi_responses.responses import FileResponse, PlainTextResponse, RedirectResponse, Response

__all__ = ["StaticFiles"]

PathLike = str | os.PathLike[str]
_DRIVE = re.compile(r"[A-Za-z]:")
_PACKAGE_FOLDERS = ("statics", "static")
_ALLOW = {"Allow": "GET, HEAD"}


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


class StaticFiles:
    """An ASGI app serving the files under ``directory`` and/or Python ``packages``.

    ``packages`` items are a package name (its ``statics`` folder, else its ``static``
    folder) or a ``(package, folder)`` tuple; directories are searched in order, the
    ``directory`` first. With ``html=True`` a directory serves its ``index.html``
    (redirecting ``/dir`` to ``/dir/``) and a missing file serves ``404.html`` when
    present. ``check_dir`` raises ``RuntimeError`` at once if ``directory`` is missing.

    Only GET and HEAD are allowed (405 with ``Allow`` otherwise). Paths never escape
    the directories: ``..`` segments, backslashes, NUL bytes, drive letters, and
    symlinks leading outside (unless ``follow_symlink=True``) all give 404. Errors are
    raised as ``HTTPException`` inside an app that sets ``scope["app"]`` (so its
    exception handlers render them) and sent as plain-text responses otherwise.
    Conditional requests (ETag, Last-Modified, 304) and Range requests are answered
    by :class:`~asgi_responses.FileResponse`. Filesystem calls run in a worker thread.
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
        """The request path relative to the mount point (see the module docstring)."""
        path: str = scope["path"]
        root: str = scope.get("root_path", "")
        if root and path.startswith(root) and path[len(root) : len(root) + 1] in ("", "/"):
            return path[len(root) :]
        return path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            raise RuntimeError(f"StaticFiles only serves HTTP, not {scope['type']!r}")
        if scope["method"] not in ("GET", "HEAD"):
            response = self._error(scope, 405, _ALLOW)
        else:
            response = await self.get_response(self.get_path(scope), scope)
        await response(scope, receive, send)

    async def get_response(self, path: str, scope: Scope) -> Response:
        """The response for ``path`` (relative to the mount point)."""
        parts = _safe_parts(path)
        if parts is None:
            return self._error(scope, 404)
        found = await anyio.to_thread.run_sync(self._resolve, parts)
        if found is None:
            return self._error(scope, 404)
        kind, full_path, stat_result = found
        if kind == "index" and not path.endswith("/"):
            return RedirectResponse(self._slash_url(scope))
        status_code = 404 if kind == "404" else 200
        return self.file_response(full_path, stat_result, scope, status_code)

    def file_response(
        self, full_path: str, stat_result: os.stat_result, scope: Scope, status_code: int = 200
    ) -> Response:
        """The response for a file found; override to add headers such as Cache-Control."""
        return FileResponse(full_path, status_code=status_code, stat_result=stat_result)

    def _lookup(self, parts: list[str]) -> tuple[str, os.stat_result] | None:
        """The first directory's existing path for ``parts`` and its stat, if any."""
        for root in self._roots:
            full_path = os.path.join(root, *parts)
            try:
                if not self.follow_symlink:
                    full_path = os.path.realpath(full_path)
                    if os.path.commonpath((root, full_path)) != root:
                        continue
                return full_path, os.stat(full_path)
            except (OSError, ValueError):  # missing, unreadable, or not encodable
                continue
        return None

    def _resolve(self, parts: list[str]) -> tuple[str, str, os.stat_result] | None:
        """Find what answers ``parts``: ("file" | "index" | "404", path, stat)."""
        found = self._lookup(parts)
        if found is not None:
            full_path, stat_result = found
            if stat.S_ISREG(stat_result.st_mode):
                return "file", full_path, stat_result
            if self.html and stat.S_ISDIR(stat_result.st_mode):
                index = self._lookup([*parts, "index.html"])
                if index is not None and stat.S_ISREG(index[1].st_mode):
                    return "index", *index
        if self.html:
            page = self._lookup(["404.html"])
            if page is not None and stat.S_ISREG(page[1].st_mode):
                return "404", *page
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

    def _error(
        self, scope: Scope, status_code: int, headers: Mapping[str, str] | None = None
    ) -> Response:
        if "app" in scope:
            raise HTTPException(status_code, headers=headers)
        return PlainTextResponse(HTTPStatus(status_code).phrase, status_code, headers)
