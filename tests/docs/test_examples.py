"""Every ```python block of the READMEs and of docs/*.md, run as written (issue #24).

Each block runs in a fresh interpreter (a subprocess whose working directory is an empty
temporary folder), in a clean module namespace. A block preceded by ``<!-- continues -->``
continues the previous Python block of the same file: it runs after it, in its namespace.
A block whose first line names a file (``# main.py -- ...``) is also written to that file
in the working directory before any block of its document runs, so that another block
can import it (``from main import app``). Then:

- the ``test_*`` functions the block defines are called (async ones on asyncio), as a
  reader running it under pytest would;
- a block that defines a module-level ASGI ``app`` and has no test code of its own (no
  ``test_*`` function, no ``assert``, no ``TestClient``) is driven with
  ``asgi_testkit.TestClient``: ``GET /`` must not answer a 5xx.

A block that is not meant to run (a traceback, another tool's configuration) must use
another fence language (```text, ```ini, ...). The blocks of docs/observability.md tagged
``<!-- recipe: NAME -->`` are run by tests/observability (they need the OpenTelemetry,
Sentry and Prometheus SDKs wired to in-memory exporters) and are left to those tests;
docs/migration.md has no Python block (its shell example is run by tests/app/test_migrate.py).
"""

from __future__ import annotations

import asyncio
import inspect
import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = [
    ROOT / "README.md",
    *sorted(ROOT.glob("packages/*/README.md")),
    *sorted(ROOT.glob("docs/*.md")),
]

CONTINUES = "<!-- continues -->"
# a block owned by another suite, with the suite that runs it
OWNED = {re.compile(r"<!-- recipe: [\w-]+ -->"): "tests/observability/recipes.py"}

_FRAGMENT = (
    "a fragment of the README: it uses a `client` / `app` with routes (/ws, /events, "
    "/items) that the README never defines"
)
# blocks that cannot run as written, by "file:line" of their fence, with the reason
ALLOWLIST: dict[str, str] = {
    "packages/asgi-testclient/README.md:80": _FRAGMENT,
    "packages/asgi-testclient/README.md:125": _FRAGMENT,
    "packages/asgi-testclient/README.md:137": _FRAGMENT,
    "packages/asgi-testclient/README.md:181": _FRAGMENT,
}

_FENCE = re.compile(r"^```(\S*)\s*$")


@dataclass(frozen=True)
class Block:
    path: Path
    line: int  # 1-based line of the opening fence
    source: str
    continues: bool
    owner: str | None

    @property
    def id(self) -> str:
        return f"{self.path.relative_to(ROOT).as_posix()}:{self.line}"


def extract(path: Path) -> list[Block]:
    """The ```python blocks of ``path``, in order."""
    lines = path.read_text().splitlines()
    blocks: list[Block] = []
    index = 0
    while index < len(lines):
        fence = _FENCE.match(lines[index])
        if fence is None:
            index += 1
            continue
        start = index
        end = start + 1
        while end < len(lines) and lines[end].rstrip() != "```":
            end += 1
        if fence.group(1) in ("python", "py"):
            before = lines[start - 1].strip() if start else ""
            owner = next((who for tag, who in OWNED.items() if tag.fullmatch(before)), None)
            source = "\n".join(lines[start + 1 : end]) + "\n"
            blocks.append(Block(path, start + 1, source, before == CONTINUES, owner))
        index = end + 1
    return blocks


def chain(blocks: list[Block], block: Block) -> list[Block]:
    """``block`` and the blocks it continues, first to last."""
    position = blocks.index(block)
    first = position
    while blocks[first].continues:
        assert first > 0, f"{block.id}: {CONTINUES} on the first Python block of the file"
        first -= 1
    return blocks[first : position + 1]


ALL = {path: extract(path) for path in DOCUMENTS}
BLOCKS = [block for blocks in ALL.values() for block in blocks]


def test_blocks_are_found() -> None:
    assert len(BLOCKS) > 40
    assert {block.id for block in BLOCKS} >= set(ALLOWLIST), "stale ALLOWLIST entries"
    # the blocks left to another suite are exactly the tagged ones of observability.md
    owned = {block.path.name for block in BLOCKS if block.owner is not None}
    assert owned == {"observability.md"}


def test_asgi_core_readme_answers_what_its_comment_promises(tmp_path: Path) -> None:
    (block,) = ALL[ROOT / "packages" / "asgi-core" / "README.md"]
    assert "400 on bad JSON, 415 on a non-JSON Content-Type" in block.source
    script = """
from asgi_testkit import TestClient

client = TestClient(app, raise_server_exceptions=False)
bad = client.post("/", content=b"{", headers={"content-type": "application/json"})
assert bad.status_code == 400, bad
form = client.post("/", data={"name": "form"})
assert form.status_code == 415, form
assert client.get("/").status_code in (400, 415)
good = client.post("/", json={"name": "json"})
assert (good.status_code, good.text) == (200, "hello json"), good
"""
    run([*chain(ALL[block.path], block)], extra=script, cwd=tmp_path)


@pytest.mark.parametrize("block", [b for b in BLOCKS if b.owner is None], ids=lambda b: b.id)
def test_example_runs_as_written(block: Block, tmp_path: Path) -> None:
    if block.id in ALLOWLIST:
        pytest.xfail(ALLOWLIST[block.id])
    run(chain(ALL[block.path], block), cwd=tmp_path)


_FILE = re.compile(r"# (\w+\.py)\b")


def run(blocks: list[Block], cwd: Path, extra: str = "") -> None:
    for other in ALL[blocks[-1].path]:
        named = _FILE.match(other.source)
        if named:
            (cwd / named.group(1)).write_text(other.source)
    payload = {
        "blocks": [[block.id, block.source] for block in blocks],
        "extra": extra,
    }
    done = subprocess.run(
        [sys.executable, __file__],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )
    assert done.returncode == 0, f"{blocks[-1].id} failed:\n{done.stdout}\n{done.stderr}"


# ---- the child side: run the blocks in a clean namespace ------------------------------

_TEST_CODE = re.compile(r"^\s*(?:async\s+)?def test_\w*|\bassert\b|\bTestClient\b", re.M)


def _main() -> None:
    payload = json.load(sys.stdin)
    sys.path.insert(0, ".")  # the files the document names, as in the reader's project
    namespace: dict[str, object] = {"__name__": "docs_example", "__builtins__": __builtins__}
    defined: set[str] = set()
    for name, source in payload["blocks"]:
        before = dict(namespace)
        exec(compile(source, name, "exec"), namespace)
        defined = {key for key, value in namespace.items() if before.get(key) is not value}
    last = payload["blocks"][-1][1]
    if payload["extra"]:
        exec(compile(payload["extra"], "<check>", "exec"), namespace)
        return
    tests = [namespace[key] for key in sorted(defined) if key.startswith("test_")]
    for test in tests:
        assert callable(test)
        required = [
            p
            for p in inspect.signature(test).parameters.values()
            if p.default is inspect.Parameter.empty
        ]
        assert not required, f"{test.__name__} needs fixtures {required}: not runnable as written"
        outcome = test()
        if inspect.iscoroutine(outcome):
            asyncio.run(outcome)
        print(f"ran {test.__name__}")
    if "app" in defined and not _TEST_CODE.search(last):
        from asgi_testkit import TestClient

        try:
            with TestClient(namespace["app"]) as client:  # type: ignore[arg-type]
                response = client.get("/")
        except Exception as exc:
            # a server's lifespan="auto": an app that fails the lifespan scope is served
            print(f"lifespan unsupported ({exc!r}): served without it")
            response = TestClient(namespace["app"]).get("/")  # type: ignore[arg-type]
        assert response.status_code < 500, f"GET / answered {response.status_code}"
        print(f"GET / -> {response.status_code}")


if __name__ == "__main__":
    _main()
