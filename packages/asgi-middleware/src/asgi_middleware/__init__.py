"""Pure ASGI middleware that works around any ASGI app: CORS, compression, sessions,
trusted hosts, proxy headers, errors, authentication, body limits, WSGI.
"""

__version__ = "0.1.0"
