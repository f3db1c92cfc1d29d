"""Requests per second under uvicorn (httptools + uvloop), driven by wrk, on loopback.

    python benchmarks/server.py                     # 5 rounds x 5 s per run
    python benchmarks/server.py --duration 3 --rounds 2

One uvicorn worker per variant, each pinned to CPU 0 with taskset; wrk is pinned to
CPU 1 (needs 2 cores). The variants are interleaved round by round; the table shows
the median and min-max requests per second, and the server's CPU time per request:
utime + stime of the uvicorn process (``/proc/<pid>/stat``) read before and after each
wrk run, over the requests wrk completed. On a shared machine the CPU time per request
is the steadier figure: other jobs take the core away, which lowers req/s but not it.
Only 127.0.0.1 is ever contacted, every
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
_REQUESTS = re.compile(r"(\d+) requests in")
_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
_ERRORS = re.compile(r"Non-2xx or 3xx responses:\s*(\d+)|Socket errors:.*")
PATHS = {"plaintext": "/plaintext", "json": "/json", "users": "/users/42"}


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process so far, from /proc/<pid>/stat (Linux)."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    # fields[0] is the state (field 3); utime and stime are fields 14 and 15
    return (int(fields[11]) + int(fields[12])) / _TICK


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
def _servers(frameworks: list[str], cpu: str) -> Iterator[dict[str, tuple[int, int]]]:
    """Port and pid of one uvicorn per variant (taskset execs uvicorn: same pid)."""
    processes: list[subprocess.Popen[bytes]] = []
    ports: dict[str, tuple[int, int]] = {}
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
            ports[name] = (port, process.pid)
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


def _wrk(
    cpu: str, port: int, path: str, duration: int, connections: int, pid: int
) -> tuple[float, float]:
    """Requests per second, and the server's CPU microseconds per request."""
    command = ["taskset", "-c", cpu, "wrk", "-t1", f"-c{connections}", f"-d{duration}s"]
    command += [f"--timeout={max(2, duration)}s", f"http://127.0.0.1:{port}{path}"]
    before = cpu_seconds(pid)
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    after = cpu_seconds(pid)
    match = _RPS.search(out)
    requests = _REQUESTS.search(out)
    if match is None or requests is None:
        raise RuntimeError(f"no Requests/sec in wrk output:\n{out}")
    errors = _ERRORS.search(out)
    if errors is not None:
        raise RuntimeError(f"wrk saw errors on {path}:\n{out}")
    return float(match.group(1)), (after - before) * 1e6 / max(1, int(requests.group(1)))


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
    rps: dict[tuple[str, str], list[float]] = {(f, c): [] for f in frameworks for c in cases}
    cpu: dict[tuple[str, str], list[float]] = {(f, c): [] for f in frameworks for c in cases}
    with _servers(frameworks, args.server_cpu) as servers:
        for name in frameworks:  # warm-up, not recorded
            port, pid = servers[name]
            for case in cases:
                _wrk(args.client_cpu, port, PATHS[case], 1, args.connections, pid)
        for round_no in range(args.rounds):
            shift = round_no % len(frameworks)
            for case in cases:
                for name in frameworks[shift:] + frameworks[:shift]:
                    port, pid = servers[name]
                    r, c = _wrk(
                        args.client_cpu, port, PATHS[case], args.duration, args.connections, pid
                    )
                    rps[name, case].append(r)
                    cpu[name, case].append(c)
    print(machine())
    print(
        f"uvicorn (httptools, uvloop, 1 worker on CPU {args.server_cpu}), wrk -t1 "
        f"-c{args.connections} -d{args.duration:g}s on CPU {args.client_cpu}; "
        f"median (min-max) over {args.rounds} rounds"
    )
    others = [f for f in frameworks if f != "ours"] if "ours" in frameworks else []
    for title, data, fmt in (
        ("requests/s", rps, "{:,.0f}"),
        ("server CPU us per request (utime+stime)", cpu, "{:.1f}"),
    ):
        print()
        print(f"{title}:")
        print()
        print("| path | " + " | ".join(frameworks + [f"ours/{o}" for o in others]) + " |")
        print("|---" * (len(frameworks) + len(others) + 1) + "|")
        for case in cases:
            cells = []
            for name in frameworks:
                values = data[name, case]
                cells.append(
                    fmt.format(statistics.median(values))
                    + f" ({fmt.format(min(values))}-{fmt.format(max(values))})"
                )
            for other in others:
                ours = statistics.median(data["ours", case])
                cells.append(f"{ours / statistics.median(data[other, case]):.2f}x")
            print(f"| {PATHS[case]} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
