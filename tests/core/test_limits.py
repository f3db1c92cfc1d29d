import dataclasses

import pytest

from asgi_core.limits import DEFAULT_LIMITS, LIMITS_KEY, RequestLimits, get_limits


def test_defaults_are_safe() -> None:
    limits = RequestLimits()
    assert limits.max_body_size is None
    assert limits.max_buffered_size == 2_621_440
    assert limits.max_json_depth == 64
    assert limits.max_fields == 1000
    assert limits.max_files == 1000
    assert limits.max_part_size == 1_048_576
    assert limits.spool_max_size == 1_048_576


def test_limits_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        DEFAULT_LIMITS.max_body_size = 10  # type: ignore[misc]


def test_get_limits_without_key_gives_defaults() -> None:
    assert get_limits({"type": "http"}) == RequestLimits()


def test_get_limits_reads_the_scope() -> None:
    scope = {"type": "http"}
    scope[LIMITS_KEY] = dataclasses.replace(get_limits(scope), max_body_size=10)
    assert get_limits(scope).max_body_size == 10
    assert get_limits(scope).max_json_depth == 64


def test_get_limits_ignores_foreign_values() -> None:
    assert get_limits({LIMITS_KEY: {"max_body_size": 1}}) is DEFAULT_LIMITS


def test_key_is_namespaced() -> None:
    assert LIMITS_KEY == "asgi_app.limits"
