"""An ASGI router whose matching cost does not grow with the number of routes: routes,
mounts, hosts, convertors, lifespan, endpoints and OpenAPI schemas.
"""

__version__ = "0.1.0"
