"""`python -m asgi_app.migrate`: Starlette imports rewritten to this project's.

The samples in migrate_samples/ are real-looking Starlette applications (`*.starlette.txt`,
kept out of the linters' way) and their exact expected migration (`*.migrated.txt`).
"""

from __future__ import annotations

import ast
import difflib
import importlib
import importlib.util
import os
import pkgutil
import runpy
import shutil
import subprocess
import sys
import warnings
from pathlib import Path
from types import ModuleType

import pytest

from asgi_app import migrate
from asgi_app.migrate import MODULES, NAMES, RENAMED, main, migrate_source

SAMPLES = Path(__file__).resolve().parent / "migrate_samples"
SURFACE = Path(__file__).resolve().parents[1] / "compat" / "test_surface.py"
NAMED = ["small_app", "every_module"]


def before(name: str) -> str:
    return (SAMPLES / f"{name}.starlette.txt").read_text()


def after(name: str) -> str:
    return (SAMPLES / f"{name}.migrated.txt").read_text()


def load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"migrate_sample_{path.stem}", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Starlette's deprecation warnings
        spec.loader.exec_module(module)
    return module


# the table ---------------------------------------------------------------------------


def test_the_table_is_what_starlette_and_this_project_give() -> None:
    pytest.importorskip("starlette")
    sys.path.insert(0, str(SAMPLES))
    try:
        import generate_table
    finally:
        sys.path.remove(str(SAMPLES))
    assert generate_table.current_block() == generate_table.generated_block(), (
        "the name table is stale: run python tests/app/migrate_samples/generate_table.py"
    )


def test_every_public_starlette_module_has_a_counterpart() -> None:
    starlette = pytest.importorskip("starlette")
    found = {"starlette.middleware"}
    for info in pkgutil.walk_packages(starlette.__path__, "starlette."):
        if not any(part.startswith("_") for part in info.name.split(".")):
            found.add(info.name)
    assert found == set(MODULES)
    for here in MODULES.values():
        importlib.import_module(here)


def test_every_mapped_name_exists_in_its_home() -> None:
    for key, home in NAMES.items():
        if home:
            name = key.split(":")[1]
            assert hasattr(importlib.import_module(home), RENAMED.get(name, name)), key


def test_names_without_counterpart_are_known_differences() -> None:
    tree = ast.parse(SURFACE.read_text())
    listed: set[str] = set()
    for node in tree.body:
        target = getattr(node, "target", None)
        if isinstance(target, ast.Name) and target.id in ("ALLOWLIST", "KNOWN_GAPS"):
            assert isinstance(node, ast.AnnAssign)
            assert isinstance(node.value, ast.Dict)
            listed.update(ast.literal_eval(k) for k in node.value.keys if k is not None)
    missing = [key.split(":")[1] for key, home in NAMES.items() if not home]
    assert missing
    for name in missing:
        assert any(f"{module}:{name}" in listed for module in MODULES), name


# the samples -------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMED)
def test_sample_is_rewritten_exactly(name: str) -> None:
    result = migrate_source(before(name))
    assert result.text == after(name)
    assert result.problems == []
    compile(result.text, f"{name}.py", "exec")
    again = migrate_source(result.text)
    assert again.text == result.text
    assert (again.imports, again.uses, again.problems) == (0, 0, [])


@pytest.mark.parametrize("name", NAMED)
def test_migrated_sample_answers_as_the_original_does(name: str, tmp_path: Path) -> None:
    pytest.importorskip("starlette")
    original = tmp_path / f"{name}_starlette.py"
    migrated = tmp_path / f"{name}_migrated.py"
    original.write_text(before(name))
    migrated.write_text(after(name))
    theirs = load(original)
    ours = load(migrated)
    assert not any(m.startswith("starlette") for m in vars(ours) if isinstance(m, str))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = theirs.answers()
    assert ours.answers() == expected


def test_rename_app_imports_app_and_renames_its_uses() -> None:
    source = (
        "from starlette.applications import Starlette\n"
        "from starlette import applications\n"
        "import starlette\n"
        "app = Starlette()\n"
        "other: Starlette = applications.Starlette()\n"
        "third = starlette.applications.Starlette\n"
    )
    result = migrate_source(source, rename_app=True)
    assert result.text == (
        "from asgi_app.applications import App\n"
        "from asgi_app import applications\n"
        "import asgi_app.applications\n"
        "app = App()\n"
        "other: App = applications.App()\n"
        "third = asgi_app.applications.App\n"
    )
    assert (result.imports, result.uses) == (3, 4)
    assert migrate_source(source).text.startswith(
        "from asgi_app.applications import App as Starlette\n"
    )


@pytest.mark.parametrize(
    "clash",
    [
        "App = 1\n",
        "from x import App\n",
        "def App(): pass\n",
        "def f(App): pass\n",
        "print(App)\n",
    ],
)
def test_rename_app_keeps_the_local_name_when_app_is_taken(clash: str) -> None:
    source = "from starlette.applications import Starlette\napp = Starlette()\n" + clash
    result = migrate_source(source, rename_app=True)
    assert result.text.startswith("from asgi_app.applications import App as Starlette\napp = ")
    assert "app = Starlette()" in result.text


# rewriting rules ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        # a name imported from a module other than its home, with an alias
        (
            "from starlette.responses import Headers as H\n",
            "from asgi_core.datastructures import Headers as H\n",
        ),
        (
            "from starlette.applications import Starlette as S, Starlette\n",
            "from asgi_app.applications import App as S, App as Starlette\n",
        ),
        # the package's submodules, the middleware package itself
        (
            "from starlette import status, middleware\n",
            "from asgi_core import status\nimport asgi_middleware as middleware\n",
        ),
        (
            "from starlette import middleware as mw\nx = mw.cors.CORSMiddleware\n",
            "import asgi_middleware as mw\nx = mw.cors.CORSMiddleware\n",
        ),
        # a star import keeps its star
        ("from starlette.status import *\n", "from asgi_core.status import *\n"),
        # one line with other statements: split with semicolons
        (
            "import os; from starlette.routing import Route, URLPath; import sys\n",
            "import os; from asgi_routing.routing import Route; "
            "from asgi_core.datastructures import URLPath; import sys\n",
        ),
        (
            "if True: from starlette import status, responses\n",
            "if True: from asgi_core import status; from asgi_responses import responses\n",
        ),
        # comments of a split import stay with their names
        (
            "from starlette.routing import (  # routing\n"
            "    Route,\n"
            "    URLPath,  # path\n"
            "    # after the last name\n"
            ")  # done\n",
            "from asgi_routing.routing import (\n"
            "    # routing\n"
            "    Route,\n"
            ")\n"
            "from asgi_core.datastructures import (\n"
            "    URLPath,  # path\n"
            "    # after the last name\n"
            ")  # done\n",
        ),
        (
            "from starlette import (\n    middleware,  # mw\n    status,\n)\n",
            "import asgi_middleware as middleware  # mw\nfrom asgi_core import (\n    status,\n)\n",
        ),
        # a bare `import starlette`: the modules its uses need, one per line
        (
            "import starlette\n"
            "a = starlette.status.HTTP_200_OK\n"
            "b = starlette.responses.Response\n",
            "import asgi_core.status\n"
            "import asgi_responses.responses\n"
            "a = asgi_core.status.HTTP_200_OK\n"
            "b = asgi_responses.responses.Response\n",
        ),
        (
            "import starlette as s  # all of it\nx = s.middleware.cors.CORSMiddleware\n",
            "import asgi_middleware.cors  # all of it\nx = asgi_middleware.cors.CORSMiddleware\n",
        ),
        # `import starlette.x` also gives the modules of other uses of `starlette.`
        (
            "import starlette.status; x = starlette.routing.Route\n",
            "import asgi_core.status; import asgi_routing.routing; "
            "x = asgi_routing.routing.Route\n",
        ),
        (
            "import starlette.routing\nx = starlette.routing.URLPath\n",
            "import asgi_routing.routing\nimport asgi_core.datastructures\n"
            "x = asgi_core.datastructures.URLPath\n",
        ),
        (
            "import starlette.status, os\nstatus = starlette.status\n",
            "import asgi_core.status, os\nstatus = asgi_core.status\n",
        ),
        # a module bound to a local name: names with another home get their own import
        (
            "def f():\n"
            "    import starlette.routing as r\n"
            "    return r.URLPath, r.Route, r, r.URLPath\n",
            "def f():\n"
            "    import asgi_routing.routing as r\n"
            "    import asgi_core.datastructures\n"
            "    return asgi_core.datastructures.URLPath, r.Route, r, "
            "asgi_core.datastructures.URLPath\n",
        ),
        # Windows newlines and a non-ASCII column before a span are kept
        (
            "from starlette.requests import Request\r\nx = 'é'; import starlette.status\r\n",
            "from asgi_core.requests import Request\r\nx = 'é'; import asgi_core.status\r\n",
        ),
        # nothing from Starlette: nothing changes
        ("from . import starlette\nimport starlettex\nx = 1\n", None),
    ],
)
def test_rewrites(source: str, expected: str | None) -> None:
    result = migrate_source(source)
    assert result.text == (source if expected is None else expected)
    assert result.problems == []
    compile(result.text, "<migrated>", "exec")
    assert migrate_source(result.text).text == result.text


# Names without a counterpart: deliberate differences (tests/compat ALLOWLIST), which stay.
@pytest.mark.parametrize(
    ("source", "line", "message"),
    [
        (
            "import x\nfrom starlette.middleware.errors import ServerErrorMiddleware, JS\n",
            2,
            "`starlette.middleware.errors.JS` has no counterpart here (docs/migration.md)",
        ),
        (
            "from starlette.routing import anyio\n",
            1,
            "`anyio` is not a public name of `starlette.routing`",
        ),
        ("from starlette import __version__\n", 1, "is not a public name of `starlette`"),
        ("from starlette._utils import get_route_path\n", 1, "is not a public name"),
        ("from starlette._utils import *\n", 1, "`starlette._utils` has no counterpart here"),
        ("import starlette._utils\n", 1, "`starlette._utils` has no counterpart here"),
        (
            "import importlib\n\nimportlib.import_module('starlette.status')\n",
            3,
            "dynamic import of `starlette.status` (here: `asgi_core.status`): rewrite by hand",
        ),
        ("__import__('starlette')\n", 1, "dynamic import of `starlette`: rewrite by hand"),
        ("import starlette\nprint(starlette.__version__)\n", 2, "used as the Starlette package"),
        ("import starlette\n", 1, "`import starlette`: nothing here to import instead"),
        (
            "import starlette.middleware.errors\nx = starlette.middleware.errors.JS\n",
            2,
            "`starlette.middleware.errors.JS` has no counterpart here",
        ),
        (
            "import starlette.routing\nx = starlette.routing.anyio\n",
            2,
            "`anyio` is not a public name of `starlette.routing`",
        ),
        (
            "from starlette.middleware import errors\nx = errors.JS\n",
            2,
            "`starlette.middleware.errors.JS` has no counterpart here",
        ),
        (
            "import starlette.status\nx = (starlette .status).HTTP_200_OK\n",
            2,
            "could not rewrite `starlette.status` (unusual formatting)",
        ),
        (
            "import starlette.routing\nx = (starlette.routing) .URLPath\n",
            2,
            "could not rewrite `starlette.routing.URLPath` (unusual formatting)",
        ),
        (
            "from starlette import routing\nx = (routing) .URLPath\n",
            2,
            "could not rewrite `routing.URLPath` (unusual formatting)",
        ),
        (
            "if 1: from starlette import (middleware,  # c\n status)\n",
            1,
            "could not split this import (comments): rewrite it by hand",
        ),
    ],
)
def test_reports_what_it_cannot_map(source: str, line: int, message: str) -> None:
    result = migrate_source(source)
    assert any(p.line == line and message in p.message for p in result.problems)
    compile(result.text, "<migrated>", "exec")


def test_dynamic_imports_of_other_modules_are_not_reported() -> None:
    source = "import importlib\nimportlib.import_module('json')\nimportlib.import_module(x)\n"
    source += "importlib.import_module()\nimportlib.reload(importlib)\n"
    assert migrate_source(source).problems == []


# the command -------------------------------------------------------------------------


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "app" / "views").mkdir(parents=True)
    (root / "app" / "__init__.py").write_text(before("small_app"))
    (root / "app" / "views" / "every.py").write_text(before("every_module"))
    (root / "app" / "plain.py").write_text("import os\n")
    for skipped in (".venv", "__pycache__"):
        (root / skipped).mkdir()
        (root / skipped / "lib.py").write_text("import starlette.status\n")
    return root


def test_check_diff_then_write(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files = {p: p.read_text() for p in project.rglob("*.py")}
    assert main(["--check", str(project)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (
        "2 file(s) to change: 49 import(s) and 5 use(s) rewritten; 0 problem(s) to fix by hand\n"
    )
    assert main(["--diff", str(project / "app")]) == 0
    out, err = capsys.readouterr()
    assert {p: p.read_text() for p in files} == files  # nothing written
    init = (project / "app" / "__init__.py").as_posix()
    assert out.startswith(f"--- {init}\n+++ {init}\n")
    expected = "".join(
        difflib.unified_diff(
            before("small_app").splitlines(keepends=True),
            after("small_app").splitlines(keepends=True),
            init,
            init,
        )
    )
    assert out.startswith(expected)
    assert main([str(project)]) == 0
    assert capsys.readouterr().err.startswith("2 file(s) changed: 49 import(s)")
    assert (project / "app" / "__init__.py").read_text() == after("small_app")
    assert (project / "app" / "views" / "every.py").read_text() == after("every_module")
    assert (project / ".venv" / "lib.py").read_text() == "import starlette.status\n"
    assert main(["--check", str(project)]) == 0
    assert capsys.readouterr().err.startswith("0 file(s) to change")
    assert main([str(project)]) == 0  # idempotent
    assert (project / "app" / "__init__.py").read_text() == after("small_app")


def test_check_fails_on_problems_alone(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "dyn.py"
    path.write_text("import importlib\nimportlib.import_module('starlette.routing')\n")
    assert main(["--check", str(path)]) == 1
    err = capsys.readouterr().err
    assert f"{path}:2: dynamic import of `starlette.routing`" in err
    assert err.endswith(
        "0 file(s) to change: 0 import(s) and 0 use(s) rewritten; 1 problem(s) to fix by hand\n"
    )
    assert main([str(path)]) == 0


def test_relative_paths_get_git_style_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("main.py").write_text("from starlette.requests import Request")  # no final newline
    assert main(["--diff", "main.py"]) == 0
    assert capsys.readouterr().out == (
        "--- a/main.py\n+++ b/main.py\n@@ -1 +1 @@\n"
        "-from starlette.requests import Request\n\\ No newline at end of file\n"
        "+from asgi_core.requests import Request\n\\ No newline at end of file\n"
    )


def test_encodings_are_kept(tmp_path: Path) -> None:
    latin = tmp_path / "latin.py"
    latin.write_bytes(b"# -*- coding: latin-1 -*-\nx = '\xe9'; from starlette.types import Scope\n")
    bom = tmp_path / "bom.py"
    bom.write_bytes(b"\xef\xbb\xbfimport starlette.status\r\n")
    assert main([str(latin), str(bom)]) == 0
    assert latin.read_bytes() == (
        b"# -*- coding: latin-1 -*-\nx = '\xe9'; from asgi_core.types import Scope\n"
    )
    assert bom.read_bytes() == b"\xef\xbb\xbfimport asgi_core.status\r\n"


def test_invalid_python_is_reported_and_skipped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "broken.py"
    path.write_text("from starlette.requests import Request\ndef (:\n")
    assert main([str(path)]) == 0
    assert main(["--check", str(path)]) == 1
    assert f"{path}:2: not valid Python, skipped" in capsys.readouterr().err
    assert path.read_text().startswith("from starlette")


def test_a_missing_path_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main([str(tmp_path / "nope")])
    assert exc.value.code == 2
    assert "no such file or folder" in capsys.readouterr().err


def test_runs_as_a_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "app.py"
    path.write_text("from starlette.applications import Starlette\n")
    monkeypatch.setattr(sys, "argv", ["migrate", "--rename-app", str(path)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # already imported by this test
        with pytest.raises(SystemExit) as exc:
            runpy.run_module("asgi_app.migrate", run_name="__main__")
    assert exc.value.code == 0
    assert path.read_text() == "from asgi_app.applications import App\n"
    assert "python -m asgi_app.migrate" in (migrate.__doc__ or "")


def test_copying_samples_keeps_them_apart(tmp_path: Path) -> None:
    # the samples are text files: the linters never see Starlette-formatted code
    for name in NAMED:
        shutil.copy(SAMPLES / f"{name}.starlette.txt", tmp_path / f"{name}.py")
    assert main(["--check", str(tmp_path)]) == 1


def test_the_guide_example_runs_as_written(tmp_path: Path) -> None:
    guide = (Path(__file__).resolve().parents[2] / "docs" / "migration.md").read_text()
    section = guide.split("## Migrate with one command", 1)[1].split("\n## ", 1)[0]
    script = section.split("```sh\n", 1)[1].split("```", 1)[0]
    shown = section.split("```text\n", 1)[1].split("```", 1)[0]
    env = dict(os.environ, PATH=str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"])
    run = subprocess.run(
        ["bash", "-e", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    diff, summary = shown.rsplit("\n", 2)[0] + "\n", shown.rsplit("\n", 2)[1]
    assert run.stdout == diff + "left to migrate\n"
    assert run.stderr.splitlines()[0] == summary
    migrated = (tmp_path / "demo" / "app.py").read_text()
    assert "starlette." not in migrated
    compile(migrated, "app.py", "exec")
