"""Real servers on ephemeral loopback ports, serving the demo app."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
APP = "examples.demo.main:app"

SERVERS = {
    "uvicorn": ["-m", "uvicorn", APP, "--host", "127.0.0.1", "--port", "{port}",
                "--lifespan", "on", "--log-level", "info"],
    "uvicorn-h11": ["-m", "uvicorn", APP, "--host", "127.0.0.1", "--port", "{port}",
                    "--http", "h11", "--loop", "asyncio", "--lifespan", "on"],
    "hypercorn-asyncio": ["-m", "hypercorn", APP, "--bind", "127.0.0.1:{port}",
                          "--worker-class", "asyncio"],
    "hypercorn-trio": ["-m", "hypercorn", APP, "--bind", "127.0.0.1:{port}",
                       "--worker-class", "trio"],
    "granian": ["-m", "granian", "--interface", "asgi", "--host", "127.0.0.1",
                "--port", "{port}", APP],
    # Daphne runs no lifespan: test_servers.py checks the error the demo's state gives
    "daphne": ["-m", "daphne", "-b", "127.0.0.1", "-p", "{port}", APP],
}  # fmt: skip


@dataclass
class Server:
    name: str
    base_url: str
    process: subprocess.Popen[str]

    def stop(self) -> str:
        """Stop like an operator would (SIGINT) and return everything it printed."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        try:
            output, _ = self.process.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            output, _ = self.process.communicate()
        return output


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(name: str) -> Server:
    port = _free_port()
    args = [arg.format(port=port) for arg in SERVERS[name]]
    env = dict(os.environ, PYTHONUNBUFFERED="1", DEMO_SECRET_KEY="integration-tests")
    process = subprocess.Popen(
        [sys.executable, *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    server = Server(name, f"http://127.0.0.1:{port}", process)
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(server.base_url + "/static/style.css", timeout=1)
            return server
        except httpx.TransportError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not start:\n{server.stop()}") from None
            time.sleep(0.1)


@pytest.fixture(scope="module", params=sorted(SERVERS))
def server(request: pytest.FixtureRequest) -> Iterator[Server]:
    running = start_server(request.param)
    yield running
    output = running.stop()
    assert "Traceback" not in output, output


@pytest.fixture
def launch() -> Callable[[str], Server]:
    """Start a server by name inside a test (the test stops it)."""
    return start_server


@pytest.fixture(scope="module")
def launch_module() -> Iterator[Callable[[str], Server]]:
    """Start servers by name for a whole module; they are stopped (and checked) after it."""
    started: list[Server] = []

    def launch(name: str) -> Server:
        server = start_server(name)
        started.append(server)
        return server

    yield launch
    for server in started:
        output = server.stop()
        assert "Traceback" not in output, output
