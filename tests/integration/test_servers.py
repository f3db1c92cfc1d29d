"""The demo app under real ASGI servers, driven over real sockets."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from typing import Any

import httpx
import pytest
import websockets

pytestmark = pytest.mark.slow


def test_pages_and_static(server: Any) -> None:
    with httpx.Client(base_url=server.base_url) as client:
        home = client.get("/")
        assert home.status_code == 200
        assert home.headers["content-type"].startswith("text/html")
        assert "asgi-app demo" in home.text
        css = client.get("/static/style.css")
        assert css.status_code == 200
        assert css.headers["content-type"].startswith("text/css")


def test_static_range_and_conditional(server: Any) -> None:
    with httpx.Client(base_url=server.base_url) as client:
        full = client.get("/static/style.css", headers={"accept-encoding": "identity"})
        part = client.get(
            "/static/style.css", headers={"range": "bytes=0-9", "accept-encoding": "identity"}
        )
        assert part.status_code == 206
        assert part.content == full.content[:10]
        assert part.headers["content-range"] == f"bytes 0-9/{len(full.content)}"
        cached = client.get("/static/style.css", headers={"if-none-match": full.headers["etag"]})
        assert cached.status_code == 304
        assert cached.content == b""


def test_json_api(server: Any) -> None:
    with httpx.Client(base_url=server.base_url) as client:
        assert client.get("/api/items/1").json()["name"] == "Keyboard"
        created = client.post("/api/items", json={"name": "Mouse", "price": 20})
        assert created.status_code == 201
        item_id = created.json()["id"]
        assert client.get(f"/api/items/{item_id}").json()["name"] == "Mouse"
        assert client.get("/api/items/999").status_code == 404
        assert client.get("/api/items/abc").status_code == 404
        bad = client.post("/api/items", content=b"{", headers={"content-type": "application/json"})
        assert bad.status_code == 400
        cross_site = client.post(
            "/api/items", content=b'{"name": "x"}', headers={"content-type": "text/plain"}
        )
        assert cross_site.status_code == 415
        schema = client.get("/schema")
        assert "/api/items" in schema.text


def test_upload(server: Any) -> None:
    payload = bytes(range(256)) * 4000  # ~1 MB, rolls to disk
    with httpx.Client(base_url=server.base_url) as client:
        response = client.post(
            "/upload",
            data={"note": "hello"},
            files=[("files", ("data.bin", payload, "application/octet-stream"))],
        )
        assert response.status_code == 200
        assert hashlib.sha256(payload).hexdigest() in response.text
        too_big = client.post(
            "/upload", files=[("files", ("big.bin", b"x" * (6 * 1024 * 1024), "x/y"))]
        )
        assert too_big.status_code == 413


def test_sessions_across_requests(server: Any) -> None:
    with httpx.Client(base_url=server.base_url) as client:
        first = client.get("/private")
        assert first.status_code in (303, 307)
        assert "/login" in first.headers["location"]
        login = client.post(
            "/login", data={"username": "demo", "password": "demo", "next": "/private"}
        )
        assert login.status_code == 303
        page = client.get("/private")
        assert page.status_code == 200
        assert "Hello, <strong>demo</strong>" in page.text
        wrong = httpx.post(server.base_url + "/login", data={"username": "demo", "password": "x"})
        assert wrong.status_code == 401


def test_background_task_runs_after_response(server: Any) -> None:
    with httpx.Client(base_url=server.base_url) as client:
        queued = client.post("/api/notify").json()["queued"]
        for _ in range(100):
            if queued in client.get("/api/notify").json()["sent"]:
                break
            time.sleep(0.05)
        else:
            pytest.fail("the background task never ran")


def test_compression(server: Any) -> None:
    with httpx.Client(base_url=server.base_url) as client:
        response = client.get("/", headers={"accept-encoding": "gzip"})
        assert response.headers.get("content-encoding") == "gzip"
        assert "asgi-app demo" in response.text


def test_server_sent_events(server: Any) -> None:
    with httpx.Client(base_url=server.base_url) as client:
        with client.stream("GET", "/clock/stream") as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            lines: list[str] = []
            for line in response.iter_lines():
                lines.append(line)
                if line == "" and any(x.startswith("data:") for x in lines):
                    break
        assert "event: tick" in lines
        assert any(x.startswith("id: ") for x in lines)


def test_websocket_chat(server: Any) -> None:
    # the client side is the websockets library, which runs on asyncio; the server
    # side runs on whatever loop the server uses (hypercorn-trio included)
    url = server.base_url.replace("http", "ws") + "/ws/chat"

    async def chat() -> None:
        async with (
            websockets.connect(url + "?name=ada") as ada,
            websockets.connect(url + "?name=bob") as bob,
        ):
            assert json.loads(await ada.recv())["text"] == "ada joined"
            assert json.loads(await ada.recv())["text"] == "bob joined"
            assert json.loads(await bob.recv())["text"] == "bob joined"
            await bob.send("hi ada")
            assert json.loads(await ada.recv()) == {"from": "bob", "text": "hi ada"}
        # a page on another site may not open the chat as the visitor (CSWSH)
        with pytest.raises(websockets.InvalidStatus) as refused:
            async with websockets.connect(url, origin=websockets.Origin("https://evil.example")):
                pass
        assert refused.value.response.status_code == 403

    asyncio.run(chat())


def test_lifespan_shutdown_is_clean(launch: Any) -> None:
    running = launch("uvicorn-h11")
    assert httpx.get(running.base_url + "/api/items").status_code == 200
    output = running.stop()
    assert running.process.returncode == 0, output
    assert "Application startup complete" in output
    assert "Application shutdown complete" in output
    assert "Traceback" not in output
