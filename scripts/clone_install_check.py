"""Run README.md's "install from a clone" commands exactly as written, each in a fresh venv.

Each command line of the block after the `<!-- clone-install` marker is run from the
repository's root with the virtualenv's python in place of `python3`. Then pip's report
must show every one of our distributions coming from this clone (never from an index),
no distribution of ours that the command did not ask for, directly or through a
dependency, and the same check program as the index rehearsal must pass.

Usage: python scripts/clone_install_check.py
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

import index_check

ROOT = Path(__file__).resolve().parent.parent
OURS = {
    "asgi-core",
    "asgi-responses",
    "asgi-routing",
    "asgi-middleware",
    "asgi-testkit",
    "asgi-app",
}


def readme_commands(readme: Path = ROOT / "README.md") -> list[str]:
    """The pip command lines of the README's clone-install block."""
    text = readme.read_text()
    start = text.index("<!-- clone-install")
    block = text[text.index("```sh\n", start) + len("```sh\n") :]
    block = block[: block.index("```")]
    return [line for line in block.splitlines() if line and not line.startswith("#")]


def scenario_for(command: str) -> tuple[str, str, set[str], set[str]]:
    """The index rehearsal's scenario for the last package a command installs."""
    last = shlex.split(command)[-1].split("[")[0].rsplit("/", 1)[-1]
    wanted = "asgi-testkit" if last == "asgi-testclient" else last
    for scenario in index_check.SCENARIOS:
        if scenario[0].split("[")[0] == wanted:
            return scenario
    raise SystemExit(f"README command installs {last!r}, which has no check program")


def main() -> int:
    commands = readme_commands()
    failures = 0
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        for number, command in enumerate(commands):
            _spec, program, present, absent = scenario_for(command)
            env_dir = tmp / f"venv{number}"
            venv.EnvBuilder(with_pip=True).create(env_dir)
            vpy = str(env_dir / "bin" / "python")
            words = shlex.split(command)
            assert words[:4] == ["python3", "-m", "pip", "install"], command
            report = tmp / f"report{number}.json"
            clean_env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
            cmd = [vpy, *words[1:4], "-q", "--report", str(report), *words[4:]]
            print("+", command, flush=True)
            if subprocess.call(cmd, cwd=ROOT, env=clean_env):
                print(f"FAIL: {command}")
                failures += 1
                continue
            installed = json.loads(report.read_text())["install"]
            names = {index_check._normalize(i["metadata"]["name"]): i for i in installed}
            problems = [f"{n} missing" for n in sorted(present & OURS - names.keys())]
            problems += [f"{n} installed" for n in sorted(absent & OURS & names.keys())]
            for name in sorted(OURS & names.keys()):
                url = names[name]["download_info"]["url"]
                if not url.startswith((ROOT / "packages").as_uri()):
                    problems.append(f"{name} came from {url}, not from this clone")
            code = (
                0
                if problems
                else subprocess.call([vpy, str(index_check.CHECKS / program)], cwd=ROOT)
            )
            ok = not problems and code == 0
            print(("ok  " if ok else "FAIL") + f" {command} {'; '.join(problems)}", flush=True)
            failures += not ok
    print(f"{len(commands) - failures} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
