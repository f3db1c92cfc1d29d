"""ASGI response classes, server-sent events, static files and Jinja2 templates; usable
from any ASGI framework.
"""

__version__ = "0.1.0"
