"""The benchmark application written three ways: raw ASGI, this framework, Starlette.

Every module exposes ``APPS`` (one ASGI app per table: ``main``, ``routes1000``,
``routes10``, ``middleware``) and ``app`` (the ``main`` one, for uvicorn).
"""
