"""The full ASGI framework: App, plus the public surface of asgi-core, asgi-responses,
asgi-routing, asgi-middleware and asgi-testclient.
"""

__version__ = "0.1.0"
