"""Starlette 1.10's public surface, held against ours.

Every public name of each Starlette module, every member of its classes, and every
signature (parameter names, order, kind, defaults) must match the module that stands for
it here, except:

- ALLOWLIST: deliberate differences. Each carries its reason and is documented in
  docs/migration.md (a test below checks that the key appears there).
- KNOWN_GAPS: differences not closed yet, each with the issue that closes it. This list
  only shrinks: an entry that no longer differs fails the test until it is removed.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # Starlette warns on importing its deprecated modules
    from surface import differences, key_of

MIGRATION = Path(__file__).resolve().parents[2] / "docs" / "migration.md"

ALLOWLIST: dict[str, str] = {
    "starlette.applications:Starlette.__init__": (
        "keyword-only settings after Starlette's parameters (`limits`: the request body "
        "limits; the security settings such as `csrf`, `websocket_origins` and "
        "`allowed_hosts`); Starlette's parameters and their order are unchanged"
    ),
    "starlette.formparsers:FormParser.__init__": (
        "keyword-only `max_size` (the buffered body limit, 413) and `content_type_params` "
        "after Starlette's parameters, whose names, order and defaults are unchanged"
    ),
    "starlette.formparsers:FormParser.on_field_data": (
        "the urlencoded parser is this package's own linear-time pure function (no "
        "python-multipart needed), not python-multipart's callback-driven "
        "QuerystringParser: there are no parser callbacks to implement or override"
    ),
    "starlette.formparsers:FormParser.on_field_end": (
        "the urlencoded parser is this package's own linear-time pure function (no "
        "python-multipart needed), not python-multipart's callback-driven "
        "QuerystringParser: there are no parser callbacks to implement or override"
    ),
    "starlette.formparsers:FormParser.on_field_name": (
        "the urlencoded parser is this package's own linear-time pure function (no "
        "python-multipart needed), not python-multipart's callback-driven "
        "QuerystringParser: there are no parser callbacks to implement or override"
    ),
    "starlette.formparsers:FormParser.on_field_start": (
        "the urlencoded parser is this package's own linear-time pure function (no "
        "python-multipart needed), not python-multipart's callback-driven "
        "QuerystringParser: there are no parser callbacks to implement or override"
    ),
    "starlette.formparsers:MultiPartParser.__init__": (
        "keyword-only `spool_max_size`, `max_body_size`, `max_buffered_size` and "
        "`content_type_params` after Starlette's parameters, whose names, order and "
        "defaults are unchanged"
    ),
    "starlette.requests:Request.form": (
        "the defaults are None, meaning the request's RequestLimits (1000, 1000, 1 MiB by "
        "default, configurable per app and per route); a value given wins, as in Starlette"
    ),
    "starlette.responses:FileResponse.__init__": (
        "a keyword-only `method` after Starlette's parameters (answer as if the request "
        "had that method); Starlette's positional order is unchanged"
    ),
    "starlette.middleware.base:T": (
        "a type variable private to Starlette's implementation of call_next, not API"
    ),
    "starlette.middleware.errors:CENTER_LINE": (
        "the debug page is this project's own self-contained, script-free HTML "
        "(render_html_traceback, render_text_traceback): Starlette's template pieces "
        "are not API here"
    ),
    "starlette.middleware.errors:FRAME_TEMPLATE": (
        "the debug page is this project's own self-contained, script-free HTML "
        "(render_html_traceback, render_text_traceback): Starlette's template pieces "
        "are not API here"
    ),
    "starlette.middleware.errors:JS": (
        "the debug page is this project's own self-contained, script-free HTML "
        "(render_html_traceback, render_text_traceback): Starlette's template pieces "
        "are not API here"
    ),
    "starlette.middleware.errors:LINE": (
        "the debug page is this project's own self-contained, script-free HTML "
        "(render_html_traceback, render_text_traceback): Starlette's template pieces "
        "are not API here"
    ),
    "starlette.middleware.errors:STYLES": (
        "the debug page is this project's own self-contained, script-free HTML "
        "(render_html_traceback, render_text_traceback): Starlette's template pieces "
        "are not API here"
    ),
    "starlette.middleware.errors:TEMPLATE": (
        "the debug page is this project's own self-contained, script-free HTML "
        "(render_html_traceback, render_text_traceback): Starlette's template pieces "
        "are not API here"
    ),
    "starlette.middleware.errors:ServerErrorMiddleware.format_line": (
        "the debug page is this project's own self-contained, script-free HTML "
        "(render_html_traceback, render_text_traceback): Starlette's template pieces "
        "are not API here"
    ),
    "starlette.middleware.errors:ServerErrorMiddleware.generate_frame_html": (
        "the debug page is this project's own self-contained, script-free HTML "
        "(render_html_traceback, render_text_traceback): Starlette's template pieces "
        "are not API here"
    ),
    "starlette.middleware.errors:ServerErrorMiddleware.generate_html": (
        "the debug page is this project's own self-contained, script-free HTML "
        "(render_html_traceback, render_text_traceback): Starlette's template pieces "
        "are not API here"
    ),
    "starlette.middleware.errors:ServerErrorMiddleware.generate_plain_text": (
        "the debug page is this project's own self-contained, script-free HTML "
        "(render_html_traceback, render_text_traceback): Starlette's template pieces "
        "are not API here"
    ),
    "starlette.routing:Mount.__init__": (
        "a keyword-only `redirect_slash` after Starlette's parameters (whether the bare "
        "prefix redirects to the prefix with a slash); Starlette's order is unchanged"
    ),
    "starlette.routing:Router.__init__": (
        "a keyword-only `relative_redirects` after Starlette's parameters (path-only "
        "`Location` for slash redirects); Starlette's order is unchanged"
    ),
    "starlette.middleware.wsgi:WSGIResponder": (
        "the WSGI app runs in a worker thread with both bodies streamed through "
        "bounded channels: there is no per-request responder class"
    ),
    "starlette.middleware.wsgi:build_environ": (
        "the request body is streamed to the WSGI app (wsgi_input), never read into "
        "memory first, so the environ is built around a stream, not from bytes"
    ),
    "starlette.testclient:TestClient.__init__": (
        "one extra parameter after Starlette's, `timeout=30.0` (seconds, None to wait "
        "forever): a hung app fails the test with a TimeoutError instead of hanging the run"
    ),
}

KNOWN_GAPS: dict[str, int] = {}


@pytest.fixture(scope="module")
def found() -> dict[str, str]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {key_of(line): line for line in differences()}


def test_no_difference_outside_the_allowlist_and_the_known_gaps(found: dict[str, str]) -> None:
    unexplained = [line for key, line in found.items() if key not in ALLOWLIST | KNOWN_GAPS]
    assert unexplained == [], "\n".join(unexplained)


def test_every_allowlisted_or_known_difference_still_exists(found: dict[str, str]) -> None:
    stale = sorted(set(ALLOWLIST) - set(found)) + sorted(set(KNOWN_GAPS) - set(found))
    assert stale == [], "no longer different, remove from the lists: " + ", ".join(stale)


def test_no_entry_is_both_deliberate_and_a_gap() -> None:
    assert set(ALLOWLIST) & set(KNOWN_GAPS) == set()


def test_every_deliberate_difference_has_a_reason_and_is_documented() -> None:
    documented = MIGRATION.read_text()
    for key, reason in ALLOWLIST.items():
        assert len(reason) > 20, key
        assert f"`{key}`" in documented, f"{key} is not documented in docs/migration.md"
