"""The demo's shared state: in this process by default, in Redis when ``REDIS_URL`` is set.

One process (``uvicorn examples.demo.main:app``) keeps the items, the notification log
and the chat room in memory: nothing to install. Several processes (``--workers 2``,
several servers behind nginx) each have their own memory, their own lifespan and their
own WebSocket clients, so they share through Redis instead (redis-py's asyncio client,
asyncio only): items in a hash, notifications in a capped list, and chat messages on a
pub/sub channel that every worker listens to and relays to the sockets it holds.
Sessions need nothing shared but the secret key (``DEMO_SECRET_KEY``): the cookie is
signed, not stored.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, Protocol

import anyio

from asgi_core.websockets import WebSocket

SEED_ITEM = {"id": 1, "name": "Keyboard", "price": 49.5}
MAX_NOTIFICATIONS = 50

Deliver = Callable[[dict[str, Any]], Awaitable[None]]


class Engine(Protocol):
    """Where the demo keeps what every worker must see."""

    async def list_items(self) -> list[dict[str, Any]]: ...
    async def get_item(self, item_id: int) -> dict[str, Any] | None: ...
    async def add_item(self, name: str, price: float, limit: int) -> dict[str, Any] | None: ...
    async def add_notification(self, text: str) -> None: ...
    async def notifications(self) -> list[str]: ...
    async def publish(self, message: dict[str, Any]) -> None: ...


class MemoryEngine:
    """Everything in this process (the default): right for one worker only."""

    def __init__(self, deliver: Deliver) -> None:
        self._items: dict[int, dict[str, Any]] = {SEED_ITEM["id"]: dict(SEED_ITEM)}
        self._log: deque[str] = deque(maxlen=MAX_NOTIFICATIONS)
        self._deliver = deliver

    async def list_items(self) -> list[dict[str, Any]]:
        return list(self._items.values())

    async def get_item(self, item_id: int) -> dict[str, Any] | None:
        return self._items.get(item_id)

    async def add_item(self, name: str, price: float, limit: int) -> dict[str, Any] | None:
        if len(self._items) >= limit:
            return None
        item = {"id": max(self._items, default=0) + 1, "name": name, "price": price}
        self._items[item["id"]] = item
        return item

    async def add_notification(self, text: str) -> None:
        self._log.append(text)

    async def notifications(self) -> list[str]:
        return list(self._log)

    async def publish(self, message: dict[str, Any]) -> None:
        await self._deliver(message)


class RedisEngine:
    """Everything in Redis, chat through pub/sub: right for any number of workers."""

    def __init__(self, client: Any, prefix: str) -> None:
        self._redis = client
        self._items = prefix + "items"
        self._next_id = prefix + "items:last-id"
        self._log = prefix + "notifications"
        self.channel = prefix + "chat"

    async def seed(self) -> None:
        """Create the first item once, whichever worker starts first."""
        if await self._redis.set(self._next_id, SEED_ITEM["id"], nx=True):
            await self._redis.hset(self._items, str(SEED_ITEM["id"]), json.dumps(SEED_ITEM))

    async def list_items(self) -> list[dict[str, Any]]:
        values = await self._redis.hvals(self._items)
        return sorted((json.loads(value) for value in values), key=lambda item: item["id"])

    async def get_item(self, item_id: int) -> dict[str, Any] | None:
        value = await self._redis.hget(self._items, str(item_id))
        return None if value is None else json.loads(value)  # type: ignore[no-any-return]

    async def add_item(self, name: str, price: float, limit: int) -> dict[str, Any] | None:
        if await self._redis.hlen(self._items) >= limit:
            return None
        item = {"id": int(await self._redis.incr(self._next_id)), "name": name, "price": price}
        await self._redis.hset(self._items, str(item["id"]), json.dumps(item))
        return item

    async def add_notification(self, text: str) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            await pipe.rpush(self._log, text).ltrim(self._log, -MAX_NOTIFICATIONS, -1).execute()

    async def notifications(self) -> list[str]:
        return list(await self._redis.lrange(self._log, 0, -1))

    async def publish(self, message: dict[str, Any]) -> None:
        await self._redis.publish(self.channel, json.dumps(message))

    async def relay(self, pubsub: Any, deliver: Deliver) -> None:
        """Hand every message published by any worker to this worker's sockets."""
        while True:
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
            if message is not None and message["type"] == "message":
                await deliver(json.loads(message["data"]))


class Room:
    """The chat room: the sockets connected to this process; messages go through the
    engine, so that the sockets of every other worker get them too."""

    def __init__(self) -> None:
        self.sockets: set[WebSocket] = set()
        self.engine: Engine | None = None

    async def broadcast(self, message: dict[str, Any]) -> None:
        assert self.engine is not None, "the room is used before the lifespan started"
        await self.engine.publish(message)

    async def deliver(self, message: dict[str, Any]) -> None:
        """Send ``message`` to the sockets of this process."""
        for socket in list(self.sockets):
            try:
                await socket.send_json(message)
            except Exception:  # noqa: BLE001 - a socket that went away leaves the room
                self.sockets.discard(socket)


@asynccontextmanager
async def open_engine(room: Room, redis_url: str | None = None) -> AsyncIterator[Engine]:
    """The engine for this process, for as long as the lifespan runs: in memory, or the
    Redis server at ``redis_url`` (with a task relaying the chat channel)."""
    if not redis_url:
        room.engine = MemoryEngine(room.deliver)
        yield room.engine
        return
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        raise RuntimeError(
            "REDIS_URL is set, but the server runs trio: redis-py's client needs asyncio "
            "(use uvicorn, gunicorn with uvicorn workers, granian or hypercorn's asyncio "
            "worker class)."
        ) from None
    try:
        from redis import asyncio as aioredis
    except ImportError:  # pragma: no cover - depends on the environment
        raise RuntimeError("REDIS_URL is set: install redis>=5 (pip install redis)") from None
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    engine = RedisEngine(client, os.environ.get("DEMO_REDIS_PREFIX", "asgi-demo:"))
    try:
        await engine.seed()
        pubsub = client.pubsub()
        await pubsub.subscribe(engine.channel)  # before startup completes: no message lost
        try:
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(engine.relay, pubsub, room.deliver)
                room.engine = engine
                yield engine
                tasks.cancel_scope.cancel()
        finally:
            await pubsub.aclose()
    finally:
        await client.aclose()
