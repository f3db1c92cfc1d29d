"""asgi-core installed alone: a Request parses what a bare ASGI app receives."""

from _asgi import call

from asgi_core.exceptions import HTTPException
from asgi_core.requests import Request


async def app(scope, receive, send):
    request = Request(scope, receive)
    try:
        data = await request.json()
        status, body = 200, f"{data['name']} {request.cookies.get('k')}".encode()
    except HTTPException as exc:
        status, body = exc.status_code, str(exc.detail).encode()
    await send({"type": "http.response.start", "status": status, "headers": []})
    await send({"type": "http.response.body", "body": body})


json_headers = [("content-type", "application/json"), ("cookie", "k=v; junk")]
status, _, body = call(app, "POST", headers=json_headers, body=b'{"name": "ada"}')
assert (status, body) == (200, b"ada v"), (status, body)
status, _, _ = call(app, "POST", headers=[("content-type", "text/plain")], body=b"{}")
assert status == 415, status
status, _, _ = call(app, "POST", headers=json_headers, body=b"[" * 100_000)
assert status == 400, status
print("core alone: a Request parsed JSON and cookies, and refused bad bodies")
