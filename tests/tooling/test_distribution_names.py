"""Distribution names must be ours on the package index: release refuses a taken name, and
the install rehearsal refuses any installed file of ours that was not built here.

Every index here is a PEP 503 folder on disk (file:// URLs), and pip runs with no
configuration of its own, so nothing leaves the machine.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import clone_install_check
import index_check
import pypi_names
import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def isolated_pip(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("PIP_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)


def make_index(root: Path, projects: dict[str, list[str]]) -> str:
    """A simple index listing `projects` (name -> file names); returns its URL."""
    for name, files in projects.items():
        folder = root / "simple" / name
        folder.mkdir(parents=True)
        links = "".join(f'<a href="{f}">{f}</a>\n' for f in files)
        (folder / "index.html").write_text(f"<!DOCTYPE html><html><body>{links}</body></html>")
    return (root / "simple").as_uri()


def test_every_name_is_ours_when_the_index_does_not_know_it(tmp_path: Path) -> None:
    url = make_index(tmp_path, {"pip": ["pip-24.0.tar.gz"]})
    assert pypi_names.name_clashes([f"--index-url={url}"]) == {}


def test_a_name_another_project_holds_is_a_clash_that_names_the_project(tmp_path: Path) -> None:
    url = make_index(
        tmp_path, {"pip": ["pip-24.0.tar.gz"], "asgi-core": ["asgi_core-0.3.1.tar.gz"]}
    )
    clashes = pypi_names.name_clashes([f"--index-url={url}"])
    assert list(clashes) == ["asgi-core"]
    assert "already has asgi-core 0.3.1, which we never released" in clashes["asgi-core"]
    assert "packages/asgi-core" in clashes["asgi-core"]


def test_a_version_our_changelog_dates_as_released_is_ours(tmp_path: Path) -> None:
    packages = tmp_path / "repo" / "packages"
    shutil.copytree(ROOT / "packages", packages, ignore=shutil.ignore_patterns("__pycache__"))
    log = packages / "asgi-core" / "CHANGELOG.md"
    log.write_text(log.read_text().replace("## 0.1.0 (unreleased)", "## 0.1.0 (2027-01-05)"))
    url = make_index(
        tmp_path, {"pip": ["pip-24.0.tar.gz"], "asgi-core": ["asgi_core-0.1.0.tar.gz"]}
    )
    assert pypi_names.name_clashes([f"--index-url={url}"], packages) == {}


def test_an_index_that_does_not_answer_stops_the_check(tmp_path: Path) -> None:
    url = make_index(tmp_path, {"unrelated": ["unrelated-1.0.tar.gz"]})
    with pytest.raises(SystemExit, match="does not answer"):
        pypi_names.name_clashes([f"--index-url={url}"])


def test_the_release_dry_run_refuses_a_taken_name(tmp_path: Path) -> None:
    url = make_index(
        tmp_path,
        {"pip": ["pip-24.0.tar.gz"], "asgi-testkit": ["asgi_testkit-0.1.0.tar.gz"]},
    )
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "release.py"), "asgi-testkit", "0.1.0",
         "--dry-run", f"--index-option=--index-url={url}"],
        capture_output=True, text=True, cwd=ROOT,
    )  # fmt: skip
    assert proc.returncode != 0
    assert "refusing to release" in proc.stderr
    assert "asgi-testkit (packages/asgi-testclient): the package index already has" in proc.stderr


def test_release_names_a_distribution_by_name_or_folder() -> None:
    assert pypi_names.by_name("asgi-testkit").folder.name == "asgi-testclient"
    assert pypi_names.by_name("asgi-testclient").import_name == "asgi_testkit"
    with pytest.raises(SystemExit, match="known: asgi-app, asgi-core"):
        pypi_names.by_name("starlette")


def wheel(folder: Path, name: str, version: str, payload: str) -> Path:
    """A minimal, installable wheel of `name` whose module holds `payload`."""
    module = name.replace("-", "_")
    path = folder / f"{module}-{version}-py3-none-any.whl"
    info = f"{module}-{version}.dist-info"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(f"{module}/__init__.py", payload)
        zf.writestr(
            f"{info}/METADATA", f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
        )
        zf.writestr(
            f"{info}/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        )
        zf.writestr(f"{info}/RECORD", "")
    return path


def pip_report(tmp_path: Path, links: Path, requirement: str) -> dict[str, object]:
    report = tmp_path / "report.json"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--dry-run", "--ignore-installed",
         "--no-index", "--find-links", str(links), "--report", str(report), requirement],
        check=True,
    )  # fmt: skip
    return dict(json.loads(report.read_text()))


def test_the_rehearsal_refuses_a_same_named_file_from_another_project(tmp_path: Path) -> None:
    ours_dir, theirs_dir = tmp_path / "ours", tmp_path / "theirs"
    ours_dir.mkdir()
    theirs_dir.mkdir()
    wheel(ours_dir, "asgi-testkit", "0.1.0", "OURS = True\n")
    expected = index_check.built_here(ours_dir)
    # another project publishes the same name and version: only the hash tells them apart
    theirs = wheel(theirs_dir, "asgi-testkit", "0.1.0", "THEIRS = True\n")
    problems = index_check.foreign_installs(
        pip_report(tmp_path, theirs_dir, "asgi-testkit"), expected
    )
    assert len(problems) == 1
    assert "is not the asgi-testkit 0.1.0 built here" in problems[0]
    assert hashlib.sha256(theirs.read_bytes()).hexdigest() in problems[0]
    assert (
        index_check.foreign_installs(pip_report(tmp_path, ours_dir, "asgi-testkit"), expected) == []
    )


def test_the_rehearsal_refuses_a_newer_release_of_our_name(tmp_path: Path) -> None:
    ours_dir, both = tmp_path / "ours", tmp_path / "both"
    ours_dir.mkdir()
    both.mkdir()
    shutil.copy2(wheel(ours_dir, "asgi-core", "0.1.0", ""), both)
    wheel(both, "asgi-core", "0.3.1", "")  # what an index with a squatter offers as well
    problems = index_check.foreign_installs(
        pip_report(tmp_path, both, "asgi-core"), index_check.built_here(ours_dir)
    )
    assert problems
    assert "asgi-core 0.3.1" in problems[0]


def test_the_readme_clone_install_commands_each_have_a_check_program() -> None:
    commands = clone_install_check.readme_commands()
    assert len(commands) == 6
    programs = {clone_install_check.scenario_for(c)[1] for c in commands}
    assert programs == {s[1] for s in index_check.SCENARIOS}
    assert all(
        c.startswith(("python3 -m pip install ./packages/", 'python3 -m pip install "./packages/'))
        for c in commands
    )
