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

ALLOWLIST: dict[str, str] = {}

KNOWN_GAPS: dict[str, int] = {
    "starlette.applications:AppType": 18,
    "starlette.applications:P": 18,
    "starlette.applications:Starlette.__init__": 18,
    "starlette.concurrency:run_until_first_complete": 17,
    "starlette.config:undefined": 17,
    "starlette.endpoints:WebSocketEndpoint.decode": 18,
    "starlette.exceptions:StarletteDeprecationWarning": 17,
    "starlette.formparsers:FormMessage": 17,
    "starlette.formparsers:FormParser.__init__": 17,
    "starlette.formparsers:FormParser.on_field_data": 17,
    "starlette.formparsers:FormParser.on_field_end": 17,
    "starlette.formparsers:FormParser.on_field_name": 17,
    "starlette.formparsers:FormParser.on_field_start": 17,
    "starlette.formparsers:MultiPartException.__init__": 17,
    "starlette.formparsers:MultiPartParser.__init__": 17,
    "starlette.formparsers:MultiPartParser.max_part_size": 17,
    "starlette.formparsers:MultiPartParser.on_end": 17,
    "starlette.formparsers:MultiPartParser.on_header_end": 17,
    "starlette.formparsers:MultiPartParser.on_header_field": 17,
    "starlette.formparsers:MultiPartParser.on_header_value": 17,
    "starlette.formparsers:MultiPartParser.on_headers_finished": 17,
    "starlette.formparsers:MultiPartParser.on_part_begin": 17,
    "starlette.formparsers:MultiPartParser.on_part_data": 17,
    "starlette.formparsers:MultiPartParser.on_part_end": 17,
    "starlette.formparsers:MultiPartParser.spool_max_size": 17,
    "starlette.formparsers:MultipartPart": 17,
    "starlette.middleware.base:AsyncContentStream": 19,
    "starlette.middleware.base:BodyStreamGenerator": 19,
    "starlette.middleware.base:T": 19,
    "starlette.middleware.body_limit:MAX_BODY_SIZE_SCOPE_KEY": 19,
    "starlette.middleware.body_limit:RequestBodyLimitMiddleware.__init__": 19,
    "starlette.middleware.body_limit:RequestBodyLimitResponder": 19,
    "starlette.middleware.cors:CORSMiddleware.__init__": 19,
    "starlette.middleware.cors:CORSMiddleware.allow_explicit_origin": 19,
    "starlette.middleware.cors:CORSMiddleware.preflight_response": 19,
    "starlette.middleware.cors:CORSMiddleware.send": 19,
    "starlette.middleware.cors:CORSMiddleware.simple_response": 19,
    "starlette.middleware.errors:CENTER_LINE": 19,
    "starlette.middleware.errors:FRAME_TEMPLATE": 19,
    "starlette.middleware.errors:JS": 19,
    "starlette.middleware.errors:LINE": 19,
    "starlette.middleware.errors:STYLES": 19,
    "starlette.middleware.errors:ServerErrorMiddleware.format_line": 19,
    "starlette.middleware.errors:ServerErrorMiddleware.generate_frame_html": 19,
    "starlette.middleware.errors:ServerErrorMiddleware.generate_html": 19,
    "starlette.middleware.errors:ServerErrorMiddleware.generate_plain_text": 19,
    "starlette.middleware.errors:TEMPLATE": 19,
    "starlette.middleware.exceptions:ExceptionMiddleware.http_exception": 19,
    "starlette.middleware.gzip:DEFAULT_EXCLUDED_CONTENT_TYPES": 19,
    "starlette.middleware.gzip:GZipMiddleware.__init__": 19,
    "starlette.middleware.gzip:GZipResponder": 19,
    "starlette.middleware.gzip:IdentityResponder": 19,
    "starlette.middleware.gzip:unattached_send": 19,
    "starlette.middleware.opentelemetry": 20,
    "starlette.middleware.sessions:Session": 19,
    "starlette.middleware.sessions:SessionMiddleware.__init__": 19,
    "starlette.middleware.wsgi:WSGIResponder": 19,
    "starlette.middleware.wsgi:build_environ": 19,
    "starlette.requests:Request.form": 17,
    "starlette.requests:Request.send_early_hints": 17,
    "starlette.requests:SERVER_PUSH_HEADERS_TO_COPY": 17,
    "starlette.requests:StateT": 17,
    "starlette.requests:cookie_parser": 17,
    "starlette.responses:AsyncContentStream": 17,
    "starlette.responses:FileResponse.__init__": 17,
    "starlette.responses:FileResponse.delete_cookie": 17,
    "starlette.responses:FileResponse.generate_multipart": 17,
    "starlette.responses:FileResponse.max_ranges": 17,
    "starlette.responses:HTMLResponse.delete_cookie": 17,
    "starlette.responses:JSONResponse.__init__": 17,
    "starlette.responses:JSONResponse.delete_cookie": 17,
    "starlette.responses:MalformedRangeHeader": 17,
    "starlette.responses:PlainTextResponse.delete_cookie": 17,
    "starlette.responses:RangeNotSatisfiable": 17,
    "starlette.responses:RedirectResponse.delete_cookie": 17,
    "starlette.responses:Response.delete_cookie": 17,
    "starlette.responses:StreamingResponse.delete_cookie": 17,
    "starlette.responses:StreamingResponse.listen_for_disconnect": 17,
    "starlette.responses:SyncContentStream": 17,
    "starlette.routing:Mount.__init__": 18,
    "starlette.routing:PARAM_FORMAT_REGEX": 18,
    "starlette.routing:PARAM_REGEX": 18,
    "starlette.routing:Router.__init__": 18,
    "starlette.routing:replace_params": 18,
    "starlette.schemas:OpenAPIResponse.delete_cookie": 18,
    "starlette.staticfiles:NotModifiedResponse": 17,
    "starlette.staticfiles:StaticFiles.check_config": 17,
    "starlette.staticfiles:StaticFiles.is_not_modified": 17,
    "starlette.staticfiles:StaticFiles.lookup_path": 17,
    "starlette.testclient:ASGI2App": 19,
    "starlette.testclient:ASGI3App": 19,
    "starlette.testclient:ASGIInstance": 19,
    "starlette.testclient:TestClient.__init__": 19,
    "starlette.testclient:TestClient.lifespan": 19,
    "starlette.testclient:TestClient.portal": 19,
    "starlette.testclient:TestClient.wait_shutdown": 19,
    "starlette.testclient:TestClient.wait_startup": 19,
    "starlette.testclient:TestClient.websocket_connect": 19,
    "starlette.testclient:WebSocketTestSession.__init__": 19,
    "starlette.types:ExceptionHandler": 17,
    "starlette.types:HTTPExceptionHandler": 17,
    "starlette.types:WebSocketExceptionHandler": 17,
    "starlette.websockets:WebSocketDisconnected": 17,
}


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
