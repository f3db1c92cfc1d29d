"""tests/observability: tracing, error reporting, metrics and logging around real apps.

The recipes of docs/observability.md are run from the document itself (`recipes.py`).
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = str(Path(__file__).resolve().parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)
