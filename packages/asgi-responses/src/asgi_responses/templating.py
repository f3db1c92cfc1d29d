"""Jinja2Templates: render Jinja2 templates into HTML responses.

Needs the ``templates`` extra: ``pip install "asgi-responses[templates]"``. Without
it, importing this module raises ``ImportError`` naming the extra, where the
application imports it, before it serves anything.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

try:
    import jinja2
except ImportError as exc:  # the extra is not installed
    raise ImportError(
        'Jinja2Templates needs jinja2: pip install "asgi-responses[templates]"'
    ) from exc

from asgi_core.background import BackgroundTask
from asgi_core.types import Receive, Scope, Send
from asgi_responses.responses import HTMLResponse

if TYPE_CHECKING:
    from asgi_core.requests import Request

__all__ = ["Jinja2Templates"]

PathLike = str | os.PathLike[str]
ContextProcessor = Callable[["Request"], Mapping[str, Any]]


class _TemplateResponse(HTMLResponse):
    """An HTML response that keeps the ``template`` and ``context`` it rendered."""

    def __init__(
        self,
        template: jinja2.Template,
        context: dict[str, Any],
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
        background: BackgroundTask | None = None,
    ) -> None:
        self.template = template
        self.context = context
        content = template.render(context)
        super().__init__(content, status_code, headers, media_type, background)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if "http.response.debug" in scope.get("extensions", {}):
            await send(
                {
                    "type": "http.response.debug",
                    "info": {"template": self.template, "context": self.context},
                }
            )
        await super().__call__(scope, receive, send)


@jinja2.pass_context
def _url_for(context: Mapping[str, Any], name: str, /, **path_params: Any) -> Any:
    request: Request = context["request"]
    return request.url_for(name, **path_params)


class Jinja2Templates:
    """Templates from ``directory`` (one path or several), or a ready ``env``.

    Autoescaping is on for ``.html``, ``.htm`` and ``.xml`` templates (and for
    templates from strings) when this class builds the environment. ``url_for`` is
    available in templates (it calls ``request.url_for``, so it needs a router in the
    scope). ``context_processors`` are functions of the request whose returned dicts
    are merged into every context.
    """

    def __init__(
        self,
        directory: PathLike | Sequence[PathLike] | None = None,
        *,
        context_processors: Sequence[ContextProcessor] | None = None,
        env: jinja2.Environment | None = None,
    ) -> None:
        if (directory is None) == (env is None):
            raise ValueError("Jinja2Templates needs either 'directory' or 'env', not both")
        if env is None:
            env = jinja2.Environment(
                loader=jinja2.FileSystemLoader(directory),  # type: ignore[arg-type]
                autoescape=jinja2.select_autoescape(("html", "htm", "xml")),
            )
        self.env = env
        self.context_processors = list(context_processors or ())
        env.globals.setdefault("url_for", _url_for)

    def get_template(self, name: str) -> jinja2.Template:
        return self.env.get_template(name)

    def TemplateResponse(
        self,
        request: Request,
        name: str,
        context: Mapping[str, Any] | None = None,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
        background: BackgroundTask | None = None,
    ) -> HTMLResponse:
        """Render template ``name`` with ``context`` (plus ``request``) as a response.

        The request comes first: the older ``TemplateResponse(name, {"request":
        request})`` form raises ``TypeError`` saying how to write the call.
        """
        try:
            template = self.get_template(name)
        except Exception:
            first: object = request  # the typed signature cannot see the old call form
            second: object = name
            if isinstance(first, str) and not isinstance(second, str):
                raise TypeError(
                    f"TemplateResponse() takes the request first: write "
                    f"templates.TemplateResponse(request, {first!r}, context), not "
                    f"TemplateResponse({first!r}, {{'request': request, ...}})."
                ) from None
            raise
        full_context = dict(context or {})
        full_context.setdefault("request", request)
        for processor in self.context_processors:
            full_context.update(processor(request))
        return _TemplateResponse(
            template,
            full_context,
            status_code=status_code,
            headers=headers,
            media_type=media_type,
            background=background,
        )
