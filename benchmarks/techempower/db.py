"""The database code both TechEmpower apps share (asyncpg), and the data it expects.

The apps differ only in the framework around these functions, so that the table
compares frameworks, not database code. Requirements followed (TechEmpower Framework
Benchmarks, test types 2-5): one row of ``World`` per query, fetched with its own query,
at a random id in 1..10000; ``queries`` clamped to 1..500 (missing or not an integer:
1); updates read each row, give it a new random number and write the rows back (a
batch is allowed); fortunes read the whole ``Fortune`` table and add one row at
request time before sorting by message.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass
from typing import Any

import asyncpg

WORLD_ROWS = 10_000
MAX_QUERIES = 500
EXTRA_FORTUNE = "Additional fortune added at request time."
# The twelve rows of TechEmpower's Fortune table (data, id -> message).
FORTUNES = [
    (1, "fortune: No such file or directory"),
    (2, "A computer scientist is someone who fixes things that aren't broken."),
    (3, "After enough decimal places, nobody gives a damn."),
    (4, "A bad random number generator: 1, 1, 1, 1, 1, 4.33e+67, 1, 1, 1"),
    (5, "A computer program does what you tell it to do, not what you want it to do."),
    (6, "Emacs is a nice operating system, but I prefer UNIX. \u2014 Tom Christaensen"),
    (7, "Any program that runs right is obsolete."),
    (8, "A list is only as strong as its weakest link. \u2014 Donald Knuth"),
    (9, "Feature: A bug with seniority."),
    (10, "Computers make very fast, very accurate mistakes."),
    (11, '<script>alert("This should not be displayed in a browser alert box.");</script>'),
    (12, "\u30d5\u30ec\u30fc\u30e0\u30ef\u30fc\u30af\u306e\u30d9\u30f3\u30c1\u30de\u30fc\u30af"),
]
JSON_MESSAGE = {"message": "Hello, World!"}
PLAINTEXT = "Hello, World!"

_SELECT_WORLD = "SELECT id, randomnumber FROM world WHERE id = $1"
_UPDATE_WORLD = "UPDATE world SET randomnumber = $2 WHERE id = $1"
_SELECT_FORTUNES = "SELECT id, message FROM fortune"


def clamp_queries(value: str | None) -> int:
    """The ``queries`` parameter: an integer in 1..500 (anything else is 1)."""
    try:
        count = int(value) if value is not None else 1
    except ValueError:
        return 1
    return min(max(count, 1), MAX_QUERIES)


def random_id() -> int:
    return random.randint(1, WORLD_ROWS)


@dataclass
class Fortune:
    id: int
    message: str


class Database:
    """One asyncpg pool, opened by the app's lifespan from ``$TFB_DSN``."""

    def __init__(self) -> None:
        self.pool: Any = None

    async def open(self) -> None:
        size = int(os.environ.get("TFB_POOL", "16"))
        self.pool = await asyncpg.create_pool(os.environ["TFB_DSN"], min_size=size, max_size=size)

    async def close(self) -> None:
        if self.pool is not None:
            await self.pool.close()
            self.pool = None

    async def world(self) -> dict[str, int]:
        async with self.pool.acquire() as connection:
            row_id, number = await connection.fetchrow(_SELECT_WORLD, random_id())
        return {"id": row_id, "randomNumber": number}

    async def worlds(self, count: int) -> list[dict[str, int]]:
        async with self.pool.acquire() as connection:
            statement = await connection.prepare(_SELECT_WORLD)
            worlds = []
            for _ in range(count):
                row_id, number = await statement.fetchrow(random_id())
                worlds.append({"id": row_id, "randomNumber": number})
        return worlds

    async def update(self, count: int) -> list[dict[str, int]]:
        async with self.pool.acquire() as connection:
            statement = await connection.prepare(_SELECT_WORLD)
            worlds = []
            for _ in range(count):
                row_id, _old = await statement.fetchrow(random_id())
                worlds.append({"id": row_id, "randomNumber": random_id()})
            # one batch, in id order so that concurrent batches cannot deadlock
            rows = sorted((w["id"], w["randomNumber"]) for w in worlds)
            await connection.executemany(_UPDATE_WORLD, rows)
        return worlds

    async def fortunes(self) -> list[Fortune]:
        async with self.pool.acquire() as connection:
            rows = await connection.fetch(_SELECT_FORTUNES)
        fortunes = [Fortune(row_id, message) for row_id, message in rows]
        fortunes.append(Fortune(0, EXTRA_FORTUNE))
        fortunes.sort(key=lambda fortune: fortune.message)
        return fortunes


async def create(dsn_admin: str, dsn: str, name: str) -> None:
    """Create database ``name`` and fill it as TechEmpower does: ``World`` with 10,000
    rows of random numbers in 1..10000, ``Fortune`` with its twelve rows."""
    admin = await asyncpg.connect(dsn_admin)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await admin.execute(f"CREATE DATABASE \"{name}\" ENCODING 'UTF8' TEMPLATE template0")
    finally:
        await admin.close()
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(
            "CREATE TABLE world (id integer NOT NULL PRIMARY KEY,"
            " randomnumber integer NOT NULL DEFAULT 0)"
        )
        await connection.copy_records_to_table(
            "world",
            records=[(i, random_id()) for i in range(1, WORLD_ROWS + 1)],
            columns=["id", "randomnumber"],
        )
        await connection.execute(
            "CREATE TABLE fortune (id integer NOT NULL PRIMARY KEY, message varchar(2048) NOT NULL)"
        )
        await connection.executemany("INSERT INTO fortune VALUES ($1, $2)", FORTUNES)
        await connection.execute("ANALYZE")
    finally:
        await connection.close()
