"""The code blocks of docs/observability.md, run as written.

Each Python block in the document is preceded by ``<!-- recipe: NAME -->``; the tests
execute a block by name in a namespace of their choosing (a later block may use the
names an earlier one defined, as the document's reader does).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

DOC = Path(__file__).resolve().parents[2] / "docs" / "observability.md"

_TAGGED = re.compile(r"<!-- recipe: ([\w-]+) -->\n```python\n(.*?)^```", re.S | re.M)
_ANY_PYTHON = re.compile(r"^```python$", re.M)


def blocks() -> dict[str, str]:
    """Every tagged Python block of the document, by name."""
    text = DOC.read_text()
    found = dict(_TAGGED.findall(text))
    untagged = len(_ANY_PYTHON.findall(text)) - len(found)
    assert untagged == 0, f"{untagged} Python block(s) in {DOC.name} without a recipe tag"
    return found


def run_recipe(name: str, namespace: dict[str, Any] | None = None) -> dict[str, Any]:
    """Execute the block ``name`` in ``namespace`` (a fresh module-like one by default)."""
    namespace = {"__name__": f"recipe_{name.replace('-', '_')}"} if namespace is None else namespace
    code = compile(blocks()[name], f"{DOC.name}[{name}]", "exec")
    exec(code, namespace)
    return namespace
