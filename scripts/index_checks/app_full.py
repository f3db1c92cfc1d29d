"""asgi-app[full]: the README example and the demo app run."""

import sys
from pathlib import Path

from asgi_app import App, JSONResponse, Route
from asgi_testkit import TestClient


async def homepage(request):
    return JSONResponse({"hello": "world"})


readme_app = App(routes=[Route("/", homepage)])
assert TestClient(readme_app).get("/").json() == {"hello": "world"}

sys.path.insert(0, str(Path.cwd()))
from examples.demo.main import app as demo  # noqa: E402

with TestClient(demo) as client:
    assert client.get("/").status_code == 200
    assert client.get("/api/items/1").json()["name"] == "Keyboard"
    login = client.post("/login", data={"username": "demo", "password": "demo", "next": "/private"})
    assert login.status_code == 200 and "Hello" in login.text, login.text
print("app[full]: README example and demo app run")
