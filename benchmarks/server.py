"""Requests per second under uvicorn (httptools + uvloop), driven by wrk, on loopback.

    python benchmarks/server.py                     # 5 rounds x 5 s per run
    python benchmarks/server.py --duration 3 --rounds 2

One uvicorn worker per variant, each pinned to CPU 0 with taskset; wrk is pinned to
CPU 1 (needs 2 cores). The variants are interleaved round by round; the table shows
the median and min-max requests per second. Only 127.0.0.1 is ever contacted, every
run is bounded in time, and every server is stopped at the end.
Needs wrk (Debian: ``apt-get install -y wrk``) and taskset (util-linux).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator

from workload import FRAMEWORKS, machine

HERE = os.path.dirname(os.path.abspath(__file__))
_RPS = re.compile(r"Requests/sec:\s*([\d.]+)")
_ERRORS = re.compile(r"Non-2xx or 3xx responses:\s*(\d+)|Socket errors:.*")
PATHS = {"plaintext": "/plaintext", "json": "/json"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_for(port: int, process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"uvicorn exited with {process.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.1)
    raise RuntimeError(f"uvicorn did not listen on {port} within {timeout} s")


@contextlib.contextmanager
def _servers(frameworks: list[str], cpu: str) -> Iterator[dict[str, int]]:
    processes: list[subprocess.Popen[bytes]] = []
    ports: dict[str, int] = {}
    try:
        for name in frameworks:
            port = _free_port()
            command = ["taskset", "-c", cpu, sys.executable, "-m", "uvicorn"]
            command += [f"{FRAMEWORKS[name]}:app", "--app-dir", HERE, "--host", "127.0.0.1"]
            command += ["--port", str(port), "--workers", "1", "--loop", "uvloop"]
            command += ["--http", "httptools", "--no-access-log", "--log-level", "warning"]
            process = subprocess.Popen(command, cwd=HERE)
            processes.append(process)
            _wait_for(port, process)
            ports[name] = port
        yield ports
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wrk(cpu: str, port: int, path: str, duration: int, connections: int) -> float:
    command = ["taskset", "-c", cpu, "wrk", "-t1", f"-c{connections}", f"-d{duration}s"]
    command += [f"--timeout={max(2, duration)}s", f"http://127.0.0.1:{port}{path}"]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    match = _RPS.search(out)
    if match is None:
        raise RuntimeError(f"no Requests/sec in wrk output:\n{out}")
    errors = _ERRORS.search(out)
    if errors is not None:
        raise RuntimeError(f"wrk saw errors on {path}:\n{out}")
    return float(match.group(1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frameworks", default=",".join(FRAMEWORKS))
    parser.add_argument("--cases", default=",".join(PATHS))
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--server-cpu", default="0")
    parser.add_argument("--client-cpu", default="1")
    args = parser.parse_args(argv)
    for tool in ("wrk", "taskset"):
        if shutil.which(tool) is None:
            print(f"{tool} not found: apt-get install -y {tool}", file=sys.stderr)
            return 2
    frameworks = args.frameworks.split(",")
    cases = args.cases.split(",")
    results: dict[tuple[str, str], list[float]] = {(f, c): [] for f in frameworks for c in cases}
    with _servers(frameworks, args.server_cpu) as ports:
        for name in frameworks:  # warm-up, not recorded
            for case in cases:
                _wrk(args.client_cpu, ports[name], PATHS[case], 1, args.connections)
        for round_no in range(args.rounds):
            shift = round_no % len(frameworks)
            for case in cases:
                for name in frameworks[shift:] + frameworks[:shift]:
                    rps = _wrk(
                        args.client_cpu, ports[name], PATHS[case], args.duration, args.connections
                    )
                    results[name, case].append(rps)
    print(machine())
    print(
        f"uvicorn (httptools, uvloop, 1 worker on CPU {args.server_cpu}), wrk -t1 "
        f"-c{args.connections} -d{args.duration:g}s on CPU {args.client_cpu}; "
        f"requests/s, median (min-max) over {args.rounds} rounds"
    )
    print()
    print("| path | " + " | ".join(frameworks) + " | ours/raw | ours/starlette |")
    print("|---" * (len(frameworks) + 3) + "|")
    for case in cases:
        cells = []
        for name in frameworks:
            values = results[name, case]
            cells.append(
                f"{statistics.median(values):,.0f} ({min(values):,.0f}-{max(values):,.0f})"
            )
        row = f"| {PATHS[case]} | " + " | ".join(cells)
        for other in ("raw", "starlette"):
            if "ours" in frameworks and other in frameworks:
                ours = statistics.median(results["ours", case])
                row += f" | {ours / statistics.median(results[other, case]):.2f}x"
            else:
                row += " | n/a"
        print(row + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
