"""Instructions per request under ``valgrind --tool=callgrind``.

    python benchmarks/callgrind.py                       # every case, every variant
    python benchmarks/callgrind.py --cases plaintext,json --frameworks ours,starlette

One child process per variant and group of cases runs under callgrind. For each case it
builds the table, checks the answer, warms up, then runs ``--short`` and then ``--long``
requests; a call of ``os.getppid()`` between the phases makes callgrind dump its
counters (``--dump-before=getppid``), so each phase has its own instruction total.
Instructions per request = (long phase - short phase) / (long - short): start-up,
imports and the fixed cost of a phase cancel out. Deterministic: PYTHONHASHSEED is
fixed. The big route tables run fewer requests (Starlette scans 10,000 routes in about
66 million instructions per request); Falcon's 10,000-route table is skipped unless
``--all`` is given (adding the routes alone takes Falcon about 100 s of CPU, over an
hour under callgrind). A variant without a case's table (Falcon: gzip, sessions)
shows "-". Needs valgrind (Debian: ``apt-get install -y valgrind``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor

from workload import (
    CASES_BY_NAME,
    FRAMEWORKS,
    LAYER_CASES,
    MISSING,
    ROUTE_CASES,
    check,
    load,
    machine,
    markdown_table,
    null_send,
)

_TOTALS = re.compile(r"^totals:\s*(\d+)", re.MULTILINE)
WARMUP = 200
# (warm-up, short, long) for the cases where the defaults would take hours under callgrind
COUNTS = {"routes1000": (50, 50, 250), "routes10000": (10, 10, 40)}
SLOW = {("falcon", "routes10000")}


def counts(case_name: str, short: int, long: int) -> tuple[int, int, int]:
    """Warm-up, short and long request counts for a case."""
    return COUNTS.get(case_name, (WARMUP, short, long))


async def _child(framework: str, case_names: list[str], short: int, long: int) -> None:
    apps = load(framework)
    for case_name in case_names:
        case = CASES_BY_NAME[case_name]
        app = apps[case.table]
        problem = await check(app, case)
        if problem is not None:
            raise SystemExit(f"{framework} {case.label}: {problem}")
        warmup, n_short, n_long = counts(case_name, short, long)
        scope = case.scope
        make_receive = case.receive  # a fresh receive per request, as a server gives
        for _ in range(warmup):
            await app(scope.copy(), make_receive(), null_send)
        for phase, n in (("setup", 0), ("short", n_short), ("long", n_long)):
            for _ in range(n):
                await app(scope.copy(), make_receive(), null_send)
            os.getppid()  # the marker: callgrind dumps the phase's counters here
            print(f"{phase} {case_name} {n}", flush=True)


def _phases(framework: str, case_names: list[str], short: int, long: int) -> dict[str, float] | str:
    """Instructions per request of each case in one child run, or why it failed."""
    with tempfile.TemporaryDirectory(prefix="bench-callgrind-") as tmp:
        out = os.path.join(tmp, "cg.out")
        command = [
            "valgrind",
            "--tool=callgrind",
            "--dump-before=getppid",
            f"--callgrind-out-file={out}",
            sys.executable,
            os.path.abspath(__file__),
            "--child",
            framework,
            ",".join(case_names),
            str(short),
            str(long),
        ]
        env = dict(os.environ, PYTHONHASHSEED="0")
        done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
        labels = done.stdout.split("\n")[:-1]
        if done.returncode != 0:
            lines = [line for line in done.stderr.splitlines() if not line.startswith("==")]
            return f"{framework} {','.join(case_names)}: exit {done.returncode}: " + " / ".join(
                lines[-3:]
            )
        totals: dict[tuple[str, str], tuple[int, int]] = {}
        for index, label in enumerate(labels, start=1):
            phase, case_name, n = label.split()
            with open(f"{out}.{index}", encoding="utf-8") as fh:
                match = _TOTALS.search(fh.read())
            if match is None:
                return f"{framework} {case_name}: no totals in callgrind dump {index}"
            totals[phase, case_name] = (int(n), int(match.group(1)))
    result: dict[str, float] = {}
    for case_name in case_names:
        (n_short, short_total), (n_long, long_total) = (
            totals["short", case_name],
            totals["long", case_name],
        )
        result[case_name] = (long_total - short_total) / (n_long - n_short)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", default=",".join(CASES_BY_NAME))
    parser.add_argument("--frameworks", default=",".join(FRAMEWORKS))
    parser.add_argument("--short", type=int, default=100, help="requests in the short run")
    parser.add_argument("--long", type=int, default=1100, help="requests in the long run")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--all", action="store_true", help="include Falcon's 10,000 routes")
    parser.add_argument(
        "--child", nargs=4, metavar=("FRAMEWORK", "CASES", "SHORT", "LONG"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.child:
        framework, case_names, short, long = args.child
        asyncio.run(_child(framework, case_names.split(","), int(short), int(long)))
        return 0
    if shutil.which("valgrind") is None:
        print("valgrind not found: apt-get install -y valgrind", file=sys.stderr)
        return 2
    cases = args.cases.split(",")
    frameworks = args.frameworks.split(",")
    tables = {f: load(f) for f in frameworks}
    runs: dict[tuple[str, str], tuple[int, int, int]] = {}
    for c in cases:
        for f in frameworks:
            if CASES_BY_NAME[c].table in tables[f] and (args.all or (f, c) not in SLOW):
                runs[f, c] = counts(c, args.short, args.long)
    # one child per variant and group of cases; the slow groups first
    groups = [
        [c for c in cases if CASES_BY_NAME[c] not in ROUTE_CASES + LAYER_CASES],
        [c for c in cases if CASES_BY_NAME[c] in ROUTE_CASES],
        [c for c in cases if CASES_BY_NAME[c] in LAYER_CASES],
    ]
    jobs = [
        (f, [c for c in group if (f, c) in runs], args.short, args.long)
        for group in groups[1:] + groups[:1]
        for f in frameworks
    ]
    jobs = [job for job in jobs if job[1]]
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        outcomes = list(pool.map(lambda job: _phases(*job), jobs))
    per_request: dict[tuple[str, str], float] = {}
    failures = [outcome for outcome in outcomes if isinstance(outcome, str)]
    for (f, _, _, _), outcome in zip(jobs, outcomes, strict=True):
        if not isinstance(outcome, str):
            per_request.update({(f, c): value for c, value in outcome.items()})

    def cell(c: str, f: str) -> str | None:
        if (f, c) in per_request:
            return f"{per_request[f, c]:,.0f}"
        if (f, c) in runs:
            return "FAILED"
        return "n/a" if (f, c) in SLOW and CASES_BY_NAME[c].table in tables[f] else None

    print(machine())
    print(
        f"Instructions per request (callgrind, {args.long} - {args.short} requests; "
        + ", ".join(f"{c}: {lg} - {sh}" for c, (_, sh, lg) in COUNTS.items())
        + f"); {MISSING} = the framework lacks the feature"
    )
    for first, group in zip(("case", "route table", "layers"), groups, strict=True):
        if group:
            print()
            print(
                "\n".join(
                    markdown_table(
                        [CASES_BY_NAME[c] for c in group],
                        frameworks,
                        cell,
                        lambda c, f: per_request.get((f, c)),
                        first,
                    )
                )
            )
    for failure in failures:
        print(f"FAILED: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
