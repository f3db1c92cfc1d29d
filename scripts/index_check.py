"""Install each distribution from a package index, as users will once we publish.

1. Build every distribution (scripts/build_all.py).
2. Start pypiserver on 127.0.0.1 (an ephemeral port) and upload our distributions with
   twine.
3. In fresh virtualenvs, install from that local index AND pip's own configured index
   (the public one) together, the way a user's machine resolves once our packages are
   published: a project on the public index that uses one of our names would be a
   candidate too. pip's `--report` then says where every installed distribution came
   from, and each of ours must be the very file built here (same name, version and
   sha256); anything else fails the scenario. Then run a check program:
   - asgi-core alone: a Request parses a JSON body, a query string and cookies;
   - asgi-responses alone: FileResponse and StaticFiles serve from a raw ASGI app;
   - asgi-middleware alone: neither asgi-routing nor asgi-app gets installed; CORS, GZip
     and the body limit work around a raw ASGI app;
   - asgi-testkit alone: it tests a raw ASGI app;
   - asgi-routing alone: a Router serves plain ASGI endpoints;
   - asgi-app[full]: the README example and the demo app run.
   Each check asserts what got installed (pip list) and what the code did.

Usage: python scripts/index_check.py
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHECKS = Path(__file__).resolve().parent / "index_checks"

# (what to install, the check program, distributions that must / must not be installed)
SCENARIOS: list[tuple[str, str, set[str], set[str]]] = [
    (
        "asgi-core",
        "core_alone.py",
        {"asgi-core", "anyio"},
        {"asgi-responses", "asgi-routing", "asgi-middleware", "asgi-testkit", "asgi-app"},
    ),
    (
        "asgi-responses",
        "responses_alone.py",
        {"asgi-core", "asgi-responses"},
        {"asgi-routing", "asgi-middleware", "asgi-testkit", "asgi-app", "jinja2"},
    ),
    (
        "asgi-middleware",
        "middleware_alone.py",
        {"asgi-core", "asgi-responses", "asgi-middleware"},
        {"asgi-routing", "asgi-app", "asgi-testkit"},
    ),
    (
        "asgi-testkit",
        "testclient_alone.py",
        {"asgi-core", "asgi-testkit", "httpx"},
        {"asgi-responses", "asgi-routing", "asgi-middleware", "asgi-app"},
    ),
    (
        "asgi-routing",
        "routing_alone.py",
        {"asgi-core", "asgi-responses", "asgi-routing"},
        {"asgi-middleware", "asgi-app", "asgi-testkit"},
    ),
    (
        "asgi-app[full]",
        "app_full.py",
        {
            "asgi-core",
            "asgi-responses",
            "asgi-routing",
            "asgi-middleware",
            "asgi-testkit",
            "asgi-app",
            "jinja2",
            "python-multipart",
            "itsdangerous",
            "pyyaml",
        },
        set(),
    ),
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run(*cmd: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    print("+", " ".join(cmd), flush=True)
    return subprocess.run(cmd, check=True, text=True, **kwargs)  # type: ignore[call-overload]


def wait_for(url: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _normalize(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def built_here(dist: Path) -> dict[str, tuple[str, set[str]]]:
    """Our distribution name -> (version, sha256 of each file built for it)."""
    ours: dict[str, tuple[str, set[str]]] = {}
    for path in dist.iterdir():
        stem = path.name.removesuffix(".tar.gz").removesuffix(".whl")
        name, version = stem.split("-")[:2]
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        ours.setdefault(_normalize(name), (version, set()))[1].add(digest)
    return ours


def foreign_installs(report: dict[str, object], ours: dict[str, tuple[str, set[str]]]) -> list[str]:
    """What pip installed under one of our names that is not a file built here."""
    problems = []
    for item in report["install"]:  # type: ignore[attr-defined]
        name = _normalize(item["metadata"]["name"])
        if name not in ours:
            continue
        version, hashes = ours[name]
        info = item["download_info"]
        got = info.get("archive_info", {}).get("hashes", {}).get("sha256")
        if got is None:  # older pip: "sha256=<hex>"
            got = info.get("archive_info", {}).get("hash", "=").split("=", 1)[1]
        if item["metadata"]["version"] != version or got not in hashes:
            problems.append(
                f"{name} {item['metadata']['version']} from {info['url']} is not the {name} "
                f"{version} built here (sha256 {got}): another project on the index uses "
                "this name"
            )
    return problems


def main() -> int:
    python = sys.executable
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        dist, index = tmp / "dist", tmp / "index"
        index.mkdir()
        run(python, str(ROOT / "scripts" / "build_all.py"), "--outdir", str(dist), "--no-twine")
        ours = sorted(dist.iterdir())
        expected = built_here(dist)
        port = free_port()
        server = subprocess.Popen(
            [python, "-m", "pypiserver", "run", "-i", "127.0.0.1", "-p", str(port),
             "-a", ".", "-P", ".", "--disable-fallback", str(index)],
        )  # fmt: skip
        try:
            url = f"http://127.0.0.1:{port}"
            wait_for(url + "/simple/")
            run(
                python, "-m", "twine", "upload", "--non-interactive",
                "--repository-url", url + "/", "-u", "ci", "-p", "ci", *map(str, ours),
            )  # fmt: skip
            failures = 0
            for spec, program, present, absent in SCENARIOS:
                env_dir = tmp / ("venv-" + program.removesuffix(".py"))
                venv.EnvBuilder(with_pip=True).create(env_dir)
                vpy = str(env_dir / "bin" / "python")
                clean_env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
                report_file = tmp / ("report-" + program.removesuffix(".py") + ".json")
                run(
                    vpy, "-m", "pip", "install", "-q", "--disable-pip-version-check",
                    "--extra-index-url", url + "/simple/", "--report", str(report_file),
                    spec, env=clean_env,
                )  # fmt: skip
                foreign = foreign_installs(json.loads(report_file.read_text()), expected)
                if foreign:
                    print(f"FAIL {spec}: " + "; ".join(foreign))
                    failures += 1
                    continue
                listed = run(vpy, "-m", "pip", "list", "--format=json", capture_output=True)
                names = {d["name"].lower().replace("_", "-") for d in json.loads(listed.stdout)}
                missing, extra = present - names, absent & names
                if missing or extra:
                    print(f"FAIL {spec}: missing {sorted(missing)}, unexpected {sorted(extra)}")
                    failures += 1
                    continue
                code = subprocess.call([vpy, str(CHECKS / program)], cwd=ROOT)
                print(("ok  " if code == 0 else "FAIL") + f" {spec}: {program}", flush=True)
                failures += code != 0
        finally:
            server.terminate()
            server.wait(timeout=10)
    print(f"{len(SCENARIOS) - failures} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
