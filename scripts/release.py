"""Release one distribution: bump, changelog, tag, build, check, publish.

    python scripts/release.py asgi-core 0.1.1 --dry-run      # everything but tag and upload
    python scripts/release.py asgi-core 0.1.1 --repository-url https://upload.example/

First, the package index is asked (through pip) about all six distribution names: a name
the index gives to another project stops the release, dry run included
(scripts/pypi_names.py). The dry run works on a temporary copy of the repository, so it
changes nothing here.
A real run edits the version and the changelog heading in this tree, commits them,
tags `<distribution>-v<version>`, builds, runs `twine check` and uploads with twine.
"""

from __future__ import annotations

import argparse
import datetime
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from packaging.version import Version

sys.path.insert(0, str(Path(__file__).resolve().parent))
import build_all
import pypi_names

ROOT = Path(__file__).resolve().parent.parent


def bump(repo: Path, dist: pypi_names.Distribution, new: Version) -> None:
    """Set the version and date the changelog; refuse what would break a sibling."""
    pkg = repo / "packages" / dist.folder.name
    init = pkg / "src" / dist.import_name / "__init__.py"
    text = init.read_text()
    match = build_all._VERSION_RE.search(text)
    if match is None:
        raise SystemExit(f"{init}: no __version__")
    old = Version(match.group(1))
    if new < old:  # equal: the first release of the version already in the tree
        raise SystemExit(f"{dist.name}: {new} is older than the current {old}")
    init.write_text(text.replace(match.group(0), f'__version__ = "{new}"'))
    changelog = pkg / "CHANGELOG.md"
    log = changelog.read_text()
    heading = f"## {new} (unreleased)"
    if not re.search(f"^{re.escape(heading)}$", log, re.MULTILINE):
        raise SystemExit(f"{changelog}: add a '{heading}' section describing the release first")
    today = datetime.date.today().isoformat()
    changelog.write_text(log.replace(heading, f"## {new} ({today})", 1))
    build_all.PACKAGES = repo / "packages"
    problems = build_all.check_sibling_ranges(build_all.current_versions())
    if problems:
        raise SystemExit("sibling ranges must be widened first:\n  " + "\n  ".join(problems))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("distribution", help="e.g. asgi-core")
    parser.add_argument("version", type=Version)
    parser.add_argument("--dry-run", action="store_true")
    parser.add_argument("--repository-url", default=None, help="twine upload target")
    parser.add_argument(
        "--index-option",
        action="append",
        default=[],
        help="an option for `pip index versions` when checking names (repeat for several)",
    )
    args = parser.parse_args()
    dist = pypi_names.by_name(args.distribution)
    clashes = pypi_names.name_clashes(args.index_option)
    if clashes:
        raise SystemExit("refusing to release:\n  " + "\n  ".join(clashes.values()))
    print("distribution names: all six are ours on the package index")
    tag = f"{dist.name}-v{args.version}"
    with tempfile.TemporaryDirectory() as tmp:
        repo = ROOT
        if args.dry_run:
            repo = Path(tmp) / "repo"
            shutil.copytree(ROOT / "packages", repo / "packages")
        bump(repo, dist, args.version)
        out = Path(tmp) / "dist"
        sdist, wheel = build_all.build(repo / "packages" / dist.folder.name, out)
        subprocess.run(
            [sys.executable, "-m", "twine", "check", "--strict", str(sdist), str(wheel)], check=True
        )
        if args.dry_run:
            print(f"dry run: would commit, tag {tag} and upload {sdist.name}, {wheel.name}")
            return 0
        subprocess.run(["git", "commit", "-am", f"Release {tag}"], cwd=ROOT, check=True)
        subprocess.run(["git", "tag", "-a", tag, "-m", tag], cwd=ROOT, check=True)
        upload = [sys.executable, "-m", "twine", "upload", str(sdist), str(wheel)]
        if args.repository_url:
            upload += ["--repository-url", args.repository_url]
        subprocess.run(upload, check=True)
        print(f"released {tag}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
