"""A sync and async test client for any ASGI application (HTTP, WebSocket, lifespan), built
on httpx.
"""

__version__ = "0.1.0"
