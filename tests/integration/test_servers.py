"""The demo app under real ASGI servers, driven over real sockets."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
LIFESPANLESS = {"daphne"}  # servers that run no ASGI lifespan


def needs_lifespan(server: Any) -> None:
    """Skip on a server that runs no lifespan (the demo's state comes from it)."""
    if server.name in LIFESPANLESS:
        pytest.skip(
            f"{server.name} runs no ASGI lifespan, so the demo's lifespan state is missing "
            "(test_lifespanless_server_names_the_cause checks the error it gets instead)"
        )


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
    needs_lifespan(server)
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
    needs_lifespan(server)
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
    needs_lifespan(server)
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


def test_lifespanless_server_names_the_cause(launch: Any) -> None:
    running = launch("daphne")
    response = httpx.get(running.base_url + "/api/items")
    assert response.status_code == 500
    time.sleep(1)  # Daphne logs the application's exception after the response
    output = running.stop()
    assert "request.state has no 'store'" in output
    assert "the server never ran it" in output


def test_gunicorn_with_uvicorn_workers() -> None:
    """Two gunicorn workers (the uvicorn-worker package): each runs the lifespan."""
    port = _free_port()
    command = ["-m", "gunicorn", "examples.demo.main:app", "-k", "uvicorn_worker.UvicornWorker",
               "-w", "2", "-b", f"127.0.0.1:{port}", "--graceful-timeout", "5"]  # fmt: skip
    with _started(command, f"http://127.0.0.1:{port}/api/items") as (url, process):
        assert httpx.get(url).json()[0]["name"] == "Keyboard"
        # The first worker answers as soon as it is up; give the second one time to boot
        # (bounded): until both have answered, or 15 s.
        workers: set[str] = set()
        deadline = time.monotonic() + 15
        while len(workers) < 2 and time.monotonic() < deadline:
            workers.add(httpx.get(url).headers["x-demo-worker"])
            time.sleep(0.1)
    output = process.stdout.read() if process.stdout else ""
    assert output.count("Application startup complete") == 2, output
    assert "Traceback" not in output


# -- the feature table of docs/deploy.md, checked against the servers themselves ----------

PROBE = "tests.integration.probe_app:app"
PROBES = {
    "uvicorn": ["-m", "uvicorn", PROBE, "--host", "127.0.0.1", "--port", "{port}"],
    "gunicorn": ["-m", "gunicorn", PROBE, "-k", "uvicorn_worker.UvicornWorker",
                 "-b", "127.0.0.1:{port}"],
    "hypercorn": ["-m", "hypercorn", PROBE, "--bind", "127.0.0.1:{port}"],
    "granian": ["-m", "granian", "--interface", "asgi", "--host", "127.0.0.1",
                "--port", "{port}", PROBE],
    "daphne": ["-m", "daphne", "-b", "127.0.0.1", "-p", "{port}", PROBE],
}  # fmt: skip
# (lifespan, HTTP/2 over cleartext with prior knowledge, extensions on HTTP/1.1, on
# HTTP/2); every server but daphne announces websocket.http.response on WebSockets
FEATURES: dict[str, tuple[bool, bool, set[str], set[str]]] = {
    "uvicorn": (True, False, set(), set()),
    "gunicorn": (True, False, set(), set()),
    "hypercorn": (
        True,
        True,
        set(),
        {"http.response.early_hint", "http.response.push", "http.response.trailers"},
    ),
    "granian": (
        True,
        True,
        {"http.response.pathsend", "websocket.http.response"},
        {"http.response.pathsend", "websocket.http.response"},
    ),
    "daphne": (False, False, set(), set()),
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _Started:
    def __init__(self, command: list[str], ready_url: str) -> None:
        self.command, self.ready_url = command, ready_url
        self.process: subprocess.Popen[str] | None = None

    def __enter__(self) -> tuple[str, subprocess.Popen[str]]:
        env = dict(os.environ, PYTHONUNBUFFERED="1", DEMO_SECRET_KEY="integration-tests")
        self.process = process = subprocess.Popen(
            [sys.executable, *self.command],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(self.ready_url, timeout=1)
                return self.ready_url, process
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    self.__exit__()
                    raise RuntimeError(f"{self.command} did not start") from None
                time.sleep(0.1)

    def __exit__(self, *exc: object) -> None:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:  # pragma: no cover - a hung server
            self.process.kill()
            self.process.wait()


def _started(command: list[str], ready_url: str) -> _Started:
    return _Started(command, ready_url)


@pytest.fixture(scope="module", params=sorted(PROBES))
def probe(request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    port = _free_port()
    command = [arg.format(port=port) for arg in PROBES[request.param]]
    with _started(command, f"http://127.0.0.1:{port}/") as (url, _):
        yield request.param, url


def test_feature_table(probe: tuple[str, str]) -> None:
    name, url = probe
    lifespan, http2, extensions, h2_extensions = FEATURES[name]
    report = httpx.get(url).json()
    assert report["lifespan"] is lifespan
    assert report["state"] is lifespan  # "state" in the scope only with a lifespan
    assert set(report["extensions"]) == extensions
    try:
        with httpx.Client(http1=False, http2=True) as client:
            h2 = client.get(url)
    except (httpx.RemoteProtocolError, httpx.ReadError):
        # a server without HTTP/2 answers the preface with an error or closes on it
        assert not http2
    else:
        assert http2
        assert h2.http_version == "HTTP/2"
        assert set(h2.json()["extensions"]) == h2_extensions
    if "http.response.pathsend" in extensions:
        sent = httpx.get(url + "pathsend")
        assert sent.content == (ROOT / "tests/integration/probe_app.py").read_bytes()

    async def websocket() -> None:
        async with websockets.connect(url.replace("http", "ws", 1)) as ws:
            denial = "websocket.http.response" in set(json.loads(await ws.recv()))
            assert denial is (name != "daphne")

    asyncio.run(websocket())


def test_granian_reports_ports_as_strings(probe: tuple[str, str]) -> None:
    """Granian (2.x) puts the ports of ``client`` and ``server`` in the scope as strings,
    not ints as the ASGI spec says; the others follow the spec."""
    name, url = probe
    report = httpx.get(url).json()
    port_type = str if name == "granian" else int
    assert isinstance(report["client"][1], port_type)
    assert isinstance(report["server"][1], port_type)
