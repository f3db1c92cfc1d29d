"""The shared vocabulary of ASGI: types, datastructures, requests, websockets, exceptions,
status codes, background tasks, concurrency helpers, form parsing and config.
"""

__version__ = "0.1.0"
