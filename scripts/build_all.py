"""Build every distribution and check what a package index would receive.

For each package under packages/: build the sdist and the wheel from the source tree,
then build the wheel again from the sdist and require the two wheels to be identical
byte for byte (hatchling builds reproducibly). Then `twine check` everything and verify
that every sibling dependency range admits the sibling's current version.

Usage: python scripts/build_all.py [--outdir dist] [--no-twine]
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import tomllib
from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ROOT / "packages"
_VERSION_RE = re.compile(r'^__version__\s*=\s*"([^"]+)"', re.MULTILINE)


def package_dirs() -> list[Path]:
    return sorted(p for p in PACKAGES.iterdir() if (p / "pyproject.toml").is_file())


def current_versions() -> dict[str, Version]:
    versions: dict[str, Version] = {}
    for pkg in package_dirs():
        meta = tomllib.loads((pkg / "pyproject.toml").read_text())
        name = meta["project"]["name"]
        # the import package is the wheel's, not a spelling of the distribution name
        (source,) = meta["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
        init = pkg / source / "__init__.py"
        match = _VERSION_RE.search(init.read_text())
        if match is None:
            raise SystemExit(f"{init}: no __version__ = '...' line")
        versions[name] = Version(match.group(1))
    return versions


def check_sibling_ranges(versions: dict[str, Version]) -> list[str]:
    """Every requirement on a sibling (extras included) must admit its current version."""
    problems = []
    for pkg in package_dirs():
        project = tomllib.loads((pkg / "pyproject.toml").read_text())["project"]
        requirements = list(project.get("dependencies", []))
        for extra in project.get("optional-dependencies", {}).values():
            requirements += extra
        for text in requirements:
            req = Requirement(text)
            if req.name in versions:
                if not req.specifier:
                    problems.append(f"{project['name']}: {text!r} has no version range")
                elif not req.specifier.contains(versions[req.name], prereleases=True):
                    problems.append(
                        f"{project['name']}: {text!r} excludes {req.name} {versions[req.name]}"
                    )
    return problems


def build(pkg: Path, outdir: Path) -> tuple[Path, Path]:
    subprocess.run(
        [sys.executable, "-m", "build", "--sdist", "--wheel", "--outdir", str(outdir), str(pkg)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    (sdist,) = outdir.glob("*.tar.gz")
    (wheel,) = outdir.glob("*.whl")
    return sdist, wheel


def rebuild_from_sdist(sdist: Path, workdir: Path) -> Path:
    with tarfile.open(sdist) as tar:
        tar.extractall(workdir, filter="data")
    (source,) = [p for p in workdir.iterdir() if p.is_dir()]
    out = workdir / "wheel"
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(out), str(source)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    (wheel,) = out.glob("*.whl")
    return wheel


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outdir", default=str(ROOT / "dist"))
    parser.add_argument("--no-twine", action="store_true", help="skip twine check")
    args = parser.parse_args()
    outdir = Path(args.outdir)
    failures = check_sibling_ranges(current_versions())
    shutil.rmtree(outdir, ignore_errors=True)
    outdir.mkdir(parents=True)
    built: list[Path] = []
    for pkg in package_dirs():
        with tempfile.TemporaryDirectory() as tmp:
            sdist, wheel = build(pkg, Path(tmp) / "out")
            again = rebuild_from_sdist(sdist, Path(tmp) / "sdist")
            if again.read_bytes() != wheel.read_bytes():
                failures.append(f"{pkg.name}: the wheel built from the sdist differs")
            for artifact in (sdist, wheel):
                built.append(Path(shutil.copy2(artifact, outdir)))
        print(f"built {pkg.name}: {sdist.name}, {wheel.name}")
    if not args.no_twine:
        code = subprocess.call(
            [sys.executable, "-m", "twine", "check", "--strict", *map(str, built)]
        )
        if code:
            failures.append("twine check failed")
    for line in failures:
        print("FAIL:", line)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
