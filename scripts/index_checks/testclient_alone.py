"""asgi-testkit installed alone: it tests a bare ASGI callable."""

from asgi_testkit import TestClient


async def app(scope, receive, send):
    assert scope["type"] == "http"
    headers = [(b"content-type", b"text/plain"), (b"set-cookie", b"seen=1")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": scope["path"].encode()})


client = TestClient(app)
response = client.get("/hello")
assert response.status_code == 200
assert response.text == "/hello"
assert client.cookies["seen"] == "1"
print("testclient alone: tested a raw ASGI app")
