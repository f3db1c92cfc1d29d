"""Run the whole test suite, one pytest process per suite.

Each distribution's own tests must cover it completely (100% of lines and branches):
another package's tests never count toward a package's coverage, so every package is
measured in a process of its own. The cross-package suites (app end to end, interop
with other frameworks, security regressions, integration with real servers) run after.

Usage: python scripts/run_tests.py [--only SUITE ...] [-- extra pytest args]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# (suite folder under tests/, package whose coverage it gates or None)
SUITES: list[tuple[str, str | None]] = [
    ("core", "asgi_core"),
    ("responses", "asgi_responses"),
    ("routing", "asgi_routing"),
    ("middleware", "asgi_middleware"),
    ("testclient", "asgi_testkit"),
    ("app", "asgi_app"),
    ("interop", None),
    ("security", None),
    ("compat", None),
    ("tooling", None),
    ("observability", None),
    ("docs", None),
    ("integration", None),
]


def has_tests(folder: Path) -> bool:
    return any(folder.rglob("test_*.py"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", default=None, help="suites to run")
    args, extra = parser.parse_known_args()
    if extra and extra[0] == "--":
        extra = extra[1:]
    selected = [s for s in SUITES if args.only is None or s[0] in args.only]
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    failed: list[str] = []
    browser_skipped = 0
    with tempfile.TemporaryDirectory() as tmp:
        for name, package in selected:
            folder = ROOT / "tests" / name
            if not has_tests(folder):
                print(f"--- tests/{name}: no tests yet, skipped", flush=True)
                continue
            junit = Path(tmp) / f"{name}.xml"
            cmd = [sys.executable, "-m", "pytest", str(folder), f"--junitxml={junit}"]
            if package is not None:
                cmd += [
                    f"--cov={package}",
                    "--cov-branch",
                    "--cov-report=term-missing:skip-covered",
                    "--cov-fail-under=100",
                ]
            cmd += extra
            print(
                f"--- tests/{name}" + (f" (coverage gate: {package})" if package else ""),
                flush=True,
            )
            # a private data file: concurrent runs in one tree must not mix their data
            env = dict(os.environ, COVERAGE_FILE=str(Path(tmp) / f".coverage.{name}"))
            code = subprocess.call(cmd, cwd=ROOT, env=env)
            if junit.exists():
                suite = ET.parse(junit).getroot()
                for node in suite.iter("testsuite"):
                    for key in totals:
                        totals[key] += int(node.get(key, 0))
                skips = (f"{n.get('message', '')} {n.text}" for n in suite.iter("skipped"))
                browser_skipped += sum("chromium" in message for message in skips)
            if code != 0:
                failed.append(name)
    passed = totals["tests"] - totals["failures"] - totals["errors"] - totals["skipped"]
    print()
    if failed:
        print("suites that failed (tests or coverage): " + ", ".join(failed))
    if totals["tests"] == 0:
        print("no test ran")
        return 1
    if browser_skipped:
        print(
            "note: the real-browser tests were skipped: chromium and chromedriver are not "
            "installed (Debian: apt-get install chromium chromium-driver)"
        )
    bad = totals["failures"] + totals["errors"]
    print(f"{passed} passed, {bad} failed, {totals['skipped']} skipped")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
