"""docs/deploy.md, run: redis-server, nginx (the page's configuration) and the demo on
two uvicorn worker processes sharing state through Redis.

Every process listens on a free 127.0.0.1 port, keeps its files in a temporary
directory and is stopped by its own process id. The test client connects to nginx from
127.0.0.2 (still loopback), so that the forwarded client differs from the proxy's.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

ROOT = Path(__file__).resolve().parents[2]
SBIN = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])  # nginx's home
BINARIES = {name: shutil.which(name, path=SBIN) for name in ("nginx", "redis-server", "openssl")}
MISSING = [name for name, path in BINARIES.items() if path is None]
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        bool(MISSING),
        reason=f"needs {', '.join(MISSING)} on PATH (Debian: apt-get install nginx "
        "redis-server openssl; .ci/run installs them)",
    ),
]
CLIENT_ADDRESS = "127.0.0.2"  # the "browser": another loopback address than nginx's
PUBLIC_HOST = "public.example"
ATTEMPTS = 30  # connections tried to reach both workers (the kernel picks the worker)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, process: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{what} did not start") from None
            time.sleep(0.1)


def stop(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    """Stop one process we started, by its id."""
    if process.poll() is None:
        os.kill(process.pid, sig)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:  # pragma: no cover - a hung process
        process.kill()
        process.wait()


def nginx_config_from_docs() -> str:
    """The ```nginx block of docs/deploy.md that follows its marker comment."""
    text = (ROOT / "docs" / "deploy.md").read_text()
    after = text.split("<!-- nginx-config:", 1)[1]
    match = re.search(r"```nginx\n(.*?)```", after, re.DOTALL)
    assert match is not None
    return match.group(1)


@dataclass
class Stack:
    url: str  # nginx, https
    upstream: str  # the demo, straight (for checks only)
    log: Path

    def client(self) -> httpx.Client:
        transport = httpx.HTTPTransport(local_address=CLIENT_ADDRESS, verify=False)
        return httpx.Client(
            base_url=self.url, transport=transport, headers={"host": PUBLIC_HOST}, timeout=10
        )


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("deploy")
    tmp.chmod(0o755)  # nginx's workers may run as another user
    started: list[tuple[subprocess.Popen[bytes], int]] = []
    try:
        # redis-server: no persistence, loopback only
        redis_port = free_port()
        redis = subprocess.Popen(
            [str(BINARIES["redis-server"]), "--port", str(redis_port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", str(tmp),
             "--logfile", str(tmp / "redis.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        started.append((redis, signal.SIGTERM))
        wait_for_port(redis_port, redis, "redis-server")

        # the demo on two uvicorn workers (uvicorn applies X-Forwarded-For/-Proto itself)
        app_port = free_port()
        env = dict(
            os.environ,
            PYTHONUNBUFFERED="1",
            REDIS_URL=f"redis://127.0.0.1:{redis_port}/0",
            DEMO_REDIS_PREFIX=f"test-{os.getpid()}:",
            DEMO_SECRET_KEY="shared-by-every-worker",
            DEMO_TRUSTED_PROXIES="127.0.0.1",
        )
        log = tmp / "uvicorn.log"
        with log.open("wb") as out:
            app = subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "examples.demo.main:app", "--host",
                 "127.0.0.1", "--port", str(app_port), "--workers", "2",
                 "--forwarded-allow-ips", "127.0.0.1", "--timeout-graceful-shutdown", "5"],
                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
        started.append((app, signal.SIGINT))
        wait_for_port(app_port, app, "uvicorn")

        # nginx with the configuration of docs/deploy.md and a self-signed certificate
        subprocess.run(
            [str(BINARIES["openssl"]), "req", "-x509", "-newkey", "rsa:2048", "-nodes",
             "-days", "1", "-subj", f"/CN={PUBLIC_HOST}", "-keyout", str(tmp / "key.pem"),
             "-out", str(tmp / "cert.pem")],
            check=True, capture_output=True, timeout=30,
        )  # fmt: skip
        nginx_port = free_port()
        site = (
            nginx_config_from_docs()
            .replace("server 127.0.0.1:8000;", f"server 127.0.0.1:{app_port};")
            .replace("listen 443 ssl", f"listen 127.0.0.1:{nginx_port} ssl")
            .replace("/etc/ssl/example.com/fullchain.pem", str(tmp / "cert.pem"))
            .replace("/etc/ssl/example.com/privkey.pem", str(tmp / "key.pem"))
        )
        user = "user root;\n" if os.geteuid() == 0 else ""
        temp_paths = "\n".join(
            f"    {kind}_temp_path {tmp / kind};"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        (tmp / "nginx.conf").write_text(
            f"{user}daemon off;\nworker_processes 1;\npid {tmp / 'nginx.pid'};\n"
            f"error_log {tmp / 'nginx-error.log'} warn;\nevents {{}}\n"
            f"http {{\n    access_log off;\n{temp_paths}\n{site}\n}}\n"
        )
        nginx = subprocess.Popen(
            [str(BINARIES["nginx"]), "-p", str(tmp), "-c", str(tmp / "nginx.conf"),
             "-e", str(tmp / "nginx-error.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        started.append((nginx, signal.SIGQUIT))
        wait_for_port(nginx_port, nginx, "nginx")
        yield Stack(f"https://127.0.0.1:{nginx_port}", f"http://127.0.0.1:{app_port}", log)
    finally:
        for process, sig in reversed(started):
            stop(process, sig)
    output = log.read_text()
    assert output.count("Application startup complete") == 2, output
    assert "Traceback" not in output, output


def on_other_worker(client: httpx.Client, path: str, not_on: str) -> httpx.Response:
    """A response to GET ``path`` from another worker than ``not_on`` (bounded tries)."""
    for _ in range(ATTEMPTS):
        response = client.get(path)
        if response.headers["x-demo-worker"] != not_on:
            return response
    pytest.fail(f"every one of {ATTEMPTS} requests went to worker {not_on}")


def test_forwarded_client_host_scheme_and_port(stack: Stack) -> None:
    port = stack.url.rsplit(":", 1)[1]
    with stack.client() as client:
        # what the client itself claims is overwritten by nginx, the edge proxy
        spoofed = {"x-forwarded-for": "6.6.6.6", "x-forwarded-host": "evil.example"}
        seen = client.get("/api/whoami", headers=spoofed).json()
    assert seen["client"][0] == CLIENT_ADDRESS
    assert seen["scheme"] == "https"
    assert seen["host"] == f"{PUBLIC_HOST}:{port}"
    assert seen["server"] == [PUBLIC_HOST, int(port)]
    assert seen["url"] == f"https://{PUBLIC_HOST}:{port}/api/whoami"
    # straight to the app (no proxy): headers from an untrusted peer change nothing
    forged = {"x-forwarded-for": "6.6.6.6", "x-forwarded-proto": "https",
              "x-forwarded-host": "evil.example"}  # fmt: skip
    transport = httpx.HTTPTransport(local_address=CLIENT_ADDRESS)
    with httpx.Client(transport=transport) as direct_client:
        direct = direct_client.get(stack.upstream + "/api/whoami", headers=forged).json()
    assert direct["client"][0] == CLIENT_ADDRESS
    assert direct["scheme"] == "http"
    assert direct["host"] == stack.upstream.removeprefix("http://")


def test_login_on_one_worker_is_valid_on_the_other(stack: Stack) -> None:
    with stack.client() as client:
        login = client.post(
            "/login", data={"username": "demo", "password": "demo", "next": "/private"}
        )
        assert login.status_code == 303
        assert login.headers["location"] == "/private"
        other = on_other_worker(client, "/private", login.headers["x-demo-worker"])
        assert other.status_code == 200
        assert "Hello, <strong>demo</strong>" in other.text


def test_items_and_notifications_are_shared(stack: Stack) -> None:
    with stack.client() as client:
        created = client.post("/api/items", json={"name": "Shared", "price": 1})
        assert created.status_code == 201
        item_id = created.json()["id"]
        other = on_other_worker(client, f"/api/items/{item_id}", created.headers["x-demo-worker"])
        assert other.json()["name"] == "Shared"
        queued = client.post("/api/notify")
        text = queued.json()["queued"]
        for _ in range(ATTEMPTS):
            sent = on_other_worker(client, "/api/notify", queued.headers["x-demo-worker"])
            if text in sent.json()["sent"]:
                break
            time.sleep(0.1)
        else:
            pytest.fail("the notification never reached the other worker")


def test_chat_reaches_clients_on_the_other_worker(stack: Stack) -> None:
    url = stack.url.replace("https", "wss") + "/ws/chat"
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE

    async def chat() -> None:
        sockets: dict[str, Any] = {}  # worker id -> a socket connected to it
        opened: list[Any] = []
        try:
            for index in range(ATTEMPTS):
                ws = await websockets.connect(f"{url}?name=c{index}", ssl=context)
                opened.append(ws)
                sockets.setdefault(ws.response.headers["x-demo-worker"], ws)
                if len(sockets) == 2:
                    break
            else:
                pytest.fail(f"{ATTEMPTS} WebSockets all went to the same worker")
            sender, receiver = sockets.values()
            await sender.send("hello from the other worker")

            async def relayed() -> dict[str, Any]:
                while True:
                    message: dict[str, Any] = json.loads(await receiver.recv())
                    if message["text"] == "hello from the other worker":
                        return message

            message = await asyncio.wait_for(relayed(), timeout=10)
            assert message["from"] == f"c{opened.index(sender)}"
        finally:
            for ws in opened:
                await ws.close()

    asyncio.run(chat())


def test_server_sent_events_are_not_buffered(stack: Stack) -> None:
    with stack.client() as client, client.stream("GET", "/clock/stream") as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        started = time.monotonic()
        ticks: list[float] = []
        for line in response.iter_lines():
            if line.startswith("data:"):
                ticks.append(time.monotonic() - started)
                if len(ticks) == 2:
                    break
    # the first event arrives at once, the next about a second later: each event is
    # passed on as it is sent (a buffering proxy would hold them for minutes)
    assert ticks[0] < 2
    assert 0.5 < ticks[1] - ticks[0] < 3


def test_uploads_within_the_body_limit_pass_nginx(stack: Stack) -> None:
    with stack.client() as client:
        payload = b"x" * (2 * 1024 * 1024)  # over nginx's default 1 MiB
        response = client.post("/upload", files=[("files", ("data.bin", payload, "x/y"))])
        assert response.status_code == 200
