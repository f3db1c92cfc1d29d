"""asgi-routing installed alone: a Router serves plain ASGI endpoints."""

from _asgi import call

from asgi_responses import JSONResponse
from asgi_routing import Mount, Route, Router


async def raw_endpoint(scope, receive, send):
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"raw " + scope["path"].encode()})


async def user(request):
    return JSONResponse({"id": request.path_params["user_id"]})


router = Router([Route("/users/{user_id:int}", user), Mount("/raw", app=raw_endpoint)])

assert call(router, path="/users/42")[::2] == (200, b'{"id":42}')
status, _, body = call(router, path="/raw/thing")
assert status == 200 and body.startswith(b"raw "), (status, body)
assert call(router, path="/nope")[0] == 404
assert call(router, "POST", path="/users/1")[0] == 405
print("routing alone: a Router served plain ASGI endpoints")
