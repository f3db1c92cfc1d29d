"""asgi-middleware installed alone: its middleware wraps a bare ASGI callable."""

import gzip

from _asgi import call

from asgi_middleware.body_limit import RequestBodyLimitMiddleware
from asgi_middleware.cors import CORSMiddleware
from asgi_middleware.gzip import GZipMiddleware


async def raw_app(scope, receive, send):
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    payload = b"x" * 2000 if not body else b"got %d bytes" % len(body)
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain")]})  # fmt: skip
    await send({"type": "http.response.body", "body": payload})


app = CORSMiddleware(
    GZipMiddleware(RequestBodyLimitMiddleware(raw_app, max_body_size=100), minimum_size=500),
    allow_origins=["https://example.org"],
)

status, headers, body = call(app, headers=[("origin", "https://example.org")])
assert status == 200, status
assert headers["access-control-allow-origin"] == "https://example.org", headers
assert "content-encoding" not in headers  # the client did not ask for gzip

status, headers, body = call(app, headers=[("accept-encoding", "gzip")])
assert headers["content-encoding"] == "gzip", headers
assert gzip.decompress(body) == b"x" * 2000

preflight = [
    ("origin", "https://example.org"),
    ("access-control-request-method", "GET"),
]
status, headers, _ = call(app, "OPTIONS", headers=preflight)
assert status == 200 and headers["access-control-allow-origin"] == "https://example.org"

status, _, body = call(app, "POST", headers=[("content-length", "10")], body=b"0123456789")
assert (status, body) == (200, b"got 10 bytes"), (status, body)
status, _, _ = call(app, "POST", headers=[("content-length", "1000")], body=b"x" * 1000)
assert status == 413, status
print("middleware alone: CORS, GZip and body limit work around a raw ASGI app")
