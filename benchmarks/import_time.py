"""Import time of each framework's application module, with and without bytecode caches.

    python benchmarks/import_time.py            # 15 interleaved rounds
    python benchmarks/import_time.py --rounds 5 --frameworks ours,starlette

Each round starts one fresh interpreter per framework (in turn, so that drift on a
shared machine hits every framework alike) that imports what an application imports:

- ours: ``import asgi_app`` (App, routing, responses, middleware, requests);
- starlette: ``from starlette.applications import Starlette`` plus routing, responses
  and requests (what ``import asgi_app`` gives);
- blacksheep: ``from blacksheep import Application``; falcon: ``import falcon.asgi``.

The figure is the child's CPU time (user + system, from ``getrusage``), interpreter
start-up included (``python -c pass`` is reported for reference). "cached": every
module (standard library included) is read from bytecode written beforehand to a
private ``-X pycache_prefix`` directory; "no cache": the same with an empty prefix
directory and ``-B``, so every module is compiled from source, for every framework
alike. Nothing is written to the source tree.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile

STATEMENTS = {
    "python": "pass",
    "ours": "import asgi_app",
    "starlette": (
        "from starlette.applications import Starlette; import starlette.routing, "
        "starlette.responses, starlette.requests"
    ),
    "blacksheep": "from blacksheep import Application",
    "falcon": "import falcon.asgi",
}


def _cpu(command: list[str]) -> float:
    """CPU seconds (user + system) of one child run of ``command``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(command, check=True, stdin=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def measure(frameworks: list[str], rounds: int) -> dict[tuple[str, str], list[float]]:
    """Per (mode, framework): the CPU seconds of each round."""
    env_free = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    os.environ.clear()
    os.environ.update(env_free)
    times: dict[tuple[str, str], list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-imports-") as tmp:
        cached, empty = os.path.join(tmp, "cached"), os.path.join(tmp, "empty")
        os.mkdir(empty)
        modes = {
            "cached": [sys.executable, "-X", f"pycache_prefix={cached}"],
            "no cache": [sys.executable, "-B", "-X", f"pycache_prefix={empty}"],
        }
        for name in frameworks:  # write the caches (and fail early on a missing package)
            subprocess.run([*modes["cached"], "-c", STATEMENTS[name]], check=True)
        for _ in range(rounds):
            for mode, prefix in modes.items():
                for name in frameworks:
                    seconds = _cpu([*prefix, "-c", STATEMENTS[name]])
                    times.setdefault((mode, name), []).append(seconds)
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--frameworks", default="python,ours,starlette,blacksheep,falcon")
    args = parser.parse_args(argv)
    frameworks = args.frameworks.split(",")
    times = measure(frameworks, args.rounds)
    print(f"Import CPU time, ms: median (min-max) of {args.rounds} interleaved rounds\n")
    header = "| mode | " + " | ".join(frameworks)
    if "starlette" in frameworks and "ours" in frameworks:
        header += " | ours/starlette"
    print(header + " |")
    print("|" + "---|" * (header.count("|")))
    for mode in ("cached", "no cache"):
        cells = []
        for name in frameworks:
            values = times[mode, name]
            cells.append(
                f"{statistics.median(values) * 1000:.0f} "
                f"({min(values) * 1000:.0f}-{max(values) * 1000:.0f})"
            )
        row = f"| {mode} | " + " | ".join(cells)
        if "starlette" in frameworks and "ours" in frameworks:
            ratio = statistics.median(times[mode, "ours"]) / statistics.median(
                times[mode, "starlette"]
            )
            row += f" | {ratio:.2f}x"
        print(row + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
