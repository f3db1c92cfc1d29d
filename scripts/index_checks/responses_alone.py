"""asgi-responses installed alone: FileResponse and StaticFiles from a raw ASGI app."""

import tempfile
from pathlib import Path

from _asgi import call

from asgi_responses import FileResponse
from asgi_responses.staticfiles import StaticFiles

folder = Path(tempfile.mkdtemp())
(folder / "hello.txt").write_bytes(b"hello, world")
static = StaticFiles(directory=folder)


async def app(scope, receive, send):
    if scope["path"] == "/download":
        response = FileResponse(folder / "hello.txt", filename="hello.txt")
        await response(scope, receive, send)
    else:
        await static(scope, receive, send)


status, headers, body = call(app, path="/download")
assert (status, body) == (200, b"hello, world"), (status, body)
assert headers["content-disposition"] == 'attachment; filename="hello.txt"', headers
status, headers, body = call(app, path="/hello.txt", headers=[("range", "bytes=0-4")])
assert (status, body) == (206, b"hello"), (status, body)
assert call(app, path="/../etc/passwd")[0] == 404
assert call(app, path="/hello.txt", headers=[("if-none-match", headers["etag"])])[0] == 304
print("responses alone: FileResponse and StaticFiles served from a raw ASGI app")
