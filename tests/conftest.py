"""Shared fixtures: every async test runs once on asyncio and once on trio."""

from __future__ import annotations

import os

import pytest
from hypothesis import settings

# Under CI, property tests draw the same examples every run (and keep no example
# database), so the 100% coverage gate cannot depend on luck; locally they explore.
settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)
