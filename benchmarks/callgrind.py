"""Instructions per request under ``valgrind --tool=callgrind``.

    python benchmarks/callgrind.py                       # every case, every variant
    python benchmarks/callgrind.py --cases plaintext,json --frameworks ours,starlette

For each case and variant the same child process runs twice under callgrind, with
``--short`` and ``--long`` requests after the same warm-up; instructions per request
are the difference of the two totals over the difference of the counts, so start-up,
imports and the warm-up cancel out. Deterministic: PYTHONHASHSEED is fixed.
Needs valgrind (Debian: ``apt-get install -y valgrind``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

from workload import CASES_BY_NAME, FRAMEWORKS, check, load, machine, null_send

_COLLECTED = re.compile(r"Collected\s*:\s*(\d+)")
WARMUP = 200


async def _child(framework: str, case_name: str, count: int) -> None:
    case = CASES_BY_NAME[case_name]
    app = load(framework)[case.table]
    problem = await check(app, case)
    if problem is not None:
        raise SystemExit(f"{framework} {case.label}: {problem}")
    scope = case.scope
    make_receive = case.receive  # a fresh receive per request, as a server gives
    for _ in range(WARMUP + count):
        await app(scope.copy(), make_receive(), null_send)


def _instructions(framework: str, case_name: str, count: int) -> int | str:
    """The total instruction count of one child run, or why it failed."""
    command = [
        "valgrind",
        "--tool=callgrind",
        "--callgrind-out-file=/dev/null",
        sys.executable,
        os.path.abspath(__file__),
        "--child",
        framework,
        case_name,
        str(count),
    ]
    env = dict(os.environ, PYTHONHASHSEED="0")
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    match = _COLLECTED.search(done.stderr)
    if done.returncode != 0 or match is None:
        lines = [line for line in done.stderr.splitlines() if not line.startswith("==")]
        return f"{framework} {case_name} x{count}: exit {done.returncode}: " + " / ".join(
            lines[-3:]
        )
    return int(match.group(1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", default=",".join(CASES_BY_NAME))
    parser.add_argument("--frameworks", default=",".join(FRAMEWORKS))
    parser.add_argument("--short", type=int, default=100, help="requests in the short run")
    parser.add_argument("--long", type=int, default=1100, help="requests in the long run")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument(
        "--child", nargs=3, metavar=("FRAMEWORK", "CASE", "N"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.child:
        framework, case_name, count = args.child
        asyncio.run(_child(framework, case_name, int(count)))
        return 0
    if shutil.which("valgrind") is None:
        print("valgrind not found: apt-get install -y valgrind", file=sys.stderr)
        return 2
    cases = args.cases.split(",")
    frameworks = args.frameworks.split(",")
    jobs = [(f, c, n) for c in cases for f in frameworks for n in (args.short, args.long)]
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        totals = dict(zip(jobs, pool.map(lambda job: _instructions(*job), jobs), strict=True))
    per_request: dict[tuple[str, str], float] = {}
    failures = [total for total in totals.values() if isinstance(total, str)]
    for c in cases:
        for f in frameworks:
            long_total, short_total = totals[f, c, args.long], totals[f, c, args.short]
            if isinstance(long_total, int) and isinstance(short_total, int):
                per_request[f, c] = (long_total - short_total) / (args.long - args.short)
    print(machine())
    print(f"Instructions per request (callgrind, {args.long} - {args.short} requests)")
    print()
    header = "| case | " + " | ".join(frameworks)
    ratios = "ours" in frameworks and {"raw", "starlette"} & set(frameworks)
    if ratios:
        header += " | ours/raw | ours/starlette"
    print(header + " |")
    print("|---" * (len(frameworks) + 1 + (2 if ratios else 0)) + "|")
    for c in cases:
        row = f"| {CASES_BY_NAME[c].label} | " + " | ".join(
            f"{per_request[f, c]:,.0f}" if (f, c) in per_request else "FAILED" for f in frameworks
        )
        if ratios:
            for other in ("raw", "starlette"):
                if ("ours", c) in per_request and (other, c) in per_request:
                    row += f" | {per_request['ours', c] / per_request[other, c]:.2f}x"
                else:
                    row += " | n/a"
        print(row + " |")
    for failure in failures:
        print(f"FAILED: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
