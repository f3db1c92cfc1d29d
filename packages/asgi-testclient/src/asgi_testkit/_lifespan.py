"""The server side of the ASGI lifespan protocol."""

from __future__ import annotations

from typing import Any

import anyio

from asgi_core.types import ASGIApp, Message

from ._task import AppTask

__all__ = ["Lifespan"]


class Lifespan(AppTask):
    """Runs the app's lifespan: ``run`` is its task, ``startup``/``shutdown`` drive it.

    An exception the app (or a middleware around it) raises during startup is raised
    to the test, whenever it happens. An app that returns without answering does not
    support lifespan; that is tolerated, as servers do. Must be created in the event loop.
    """

    def __init__(self, app: ASGIApp, timeout: float | None) -> None:
        super().__init__(app, timeout)
        self.state: dict[str, Any] = {}
        self._supported = True

    async def run(self) -> None:
        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}}
        scope["state"] = self.state
        await self._run(scope, self._to_app.receive, self._from_app_in.send)

    async def _next(self, phase: str) -> Message | None:
        try:
            with anyio.fail_after(self._timeout):
                return await self._from_app.receive()
        except anyio.EndOfStream:
            return None
        except TimeoutError:
            await self.aclose()
            raise TimeoutError(
                f"The ASGI app did not complete lifespan {phase} within {self._timeout} s. "
                "If it is just slow, pass a larger timeout (or timeout=None) to the test client."
            ) from None

    async def _step(self, phase: str) -> None:
        await self._to_app_in.send({"type": f"lifespan.{phase}"})
        message = await self._next(phase)
        if message is None:
            if self._error is not None:
                raise self._error
            # The app returned without answering: it does not support lifespan.
            self._supported = False
            return
        kind = message["type"]
        if kind == f"lifespan.{phase}.complete":
            return
        if kind == f"lifespan.{phase}.failed":
            await self._wait_finished(phase)
            if self._error is not None:
                raise self._error
            raise RuntimeError(f"Lifespan {phase} failed: {message.get('message', '')}")
        await self.aclose()
        raise RuntimeError(f"Unexpected ASGI message {kind!r} during lifespan {phase}.")

    async def _wait_finished(self, phase: str) -> None:
        try:
            with anyio.fail_after(self._timeout):
                await self._finished.wait()
        except TimeoutError:
            await self.aclose()
            raise TimeoutError(
                f"The ASGI app's lifespan did not return within {self._timeout} s after {phase}."
            ) from None

    async def startup(self) -> None:
        """Send ``lifespan.startup`` and wait for the app's answer."""
        try:
            await self._step("startup")
        except BaseException:
            # A failed startup ends the lifespan: no shutdown follows.
            self._close_streams()
            raise

    async def shutdown(self) -> None:
        """Send ``lifespan.shutdown``, wait for the answer, then for the app to return."""
        try:
            if self._supported:
                await self._step("shutdown")
            await self._wait_finished("shutdown")
        finally:
            self._close_streams()
        if self._error is not None:
            raise self._error
