"""Our distributions, and whether a package index already knows their names.

A distribution name is ours on an index when the index lists no release of it, or only
releases that our own changelog records as released (a dated heading `## 0.1.0 (2027-01-05)`).
Anything else means the name belongs to another project: publishing under it would make
`pip install NAME` (and every dependency on NAME) resolve to their code, not ours.

The index is asked through pip, as a user's machine would ask it (`pip index versions`),
with pip's own configuration: the default index unless configured otherwise.

Usage: python scripts/pypi_names.py [pip index options, e.g. --index-url URL]
"""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ROOT / "packages"
_RELEASED = re.compile(r"^## (\S+) \((\d{4}-\d{2}-\d{2})\)\s*$", re.MULTILINE)
_AVAILABLE = re.compile(r"^Available versions: (.+)$", re.MULTILINE)
# A project every index of Python packages has: if pip cannot see it, the index is down.
PROBE = "pip"


@dataclass(frozen=True)
class Distribution:
    name: str  # as published, e.g. "asgi-testkit"
    folder: Path  # e.g. packages/asgi-testclient
    import_name: str  # e.g. "asgi_testkit"

    @property
    def released(self) -> set[str]:
        """Versions our changelog records as released (dated headings)."""
        log = (self.folder / "CHANGELOG.md").read_text()
        return {m.group(1) for m in _RELEASED.finditer(log)}


def distributions(packages: Path = PACKAGES) -> list[Distribution]:
    found = []
    for folder in sorted(p for p in packages.iterdir() if (p / "pyproject.toml").is_file()):
        meta = tomllib.loads((folder / "pyproject.toml").read_text())
        name = meta["project"]["name"]
        (src,) = meta["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
        found.append(Distribution(name, folder, Path(src).name))
    return found


def by_name(name: str, packages: Path = PACKAGES) -> Distribution:
    """The distribution published as `name` (or kept in the folder `packages/name`)."""
    for dist in distributions(packages):
        if name in (dist.name, dist.folder.name):
            return dist
    known = ", ".join(d.name for d in distributions(packages))
    raise SystemExit(f"no distribution named {name!r} under packages/ (known: {known})")


def index_versions(name: str, pip_args: list[str]) -> list[str]:
    """The versions the index lists for `name` (empty when it has none), asked through pip."""
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "index", "versions", name, *pip_args],
        capture_output=True,
        text=True,
    )
    match = _AVAILABLE.search(proc.stdout)
    if match:
        return [v.strip() for v in match.group(1).split(",") if v.strip()]
    if "No matching distribution found" in proc.stdout + proc.stderr:
        return []
    raise SystemExit(f"pip could not ask the index about {name!r}:\n{proc.stdout}{proc.stderr}")


def name_clashes(pip_args: list[str], packages: Path = PACKAGES) -> dict[str, str]:
    """Distribution name -> what is wrong, for each name the index gives to another project."""
    if not index_versions(PROBE, pip_args):
        raise SystemExit(
            f"the package index does not answer (pip sees no {PROBE!r}); check the network "
            "or pip's index configuration before releasing"
        )
    problems = {}
    for dist in distributions(packages):
        foreign = [v for v in index_versions(dist.name, pip_args) if v not in dist.released]
        if foreign:
            problems[dist.name] = (
                f"{dist.name} ({dist.folder.relative_to(packages.parent)}): the package index "
                f"already has {dist.name} {', '.join(foreign[:5])}, which we never released; "
                "that name belongs to another project, pick a distribution name the index "
                "does not know"
            )
    return problems


def main() -> int:
    problems = name_clashes(sys.argv[1:])
    for dist in distributions():
        print(f"FAIL: {problems[dist.name]}" if dist.name in problems else f"ok   {dist.name}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
