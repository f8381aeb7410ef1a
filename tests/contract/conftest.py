"""Fixtures for the store contract: one `store` fixture per implementation, and small factories.

Every contract test runs against MemoryStore, SqliteStore on a fresh file in `tmp_path`, and
PostgresStore on an emptied schema of one throwaway PostgreSQL server started per session
(tests/postgres_server.py), so the three cannot drift apart. Tests of what only PostgreSQL
promises (migrations, workers racing) take a new schema each (`new_schema`).
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from bot.model import Delivery, Item, Story, StorySource
from bot.store.base import Store
from bot.store.memory import MemoryStore
from bot.store.postgres import PostgresStore
from bot.store.sqlite import SqliteStore
from tests.postgres_server import PgServer, start

T0 = datetime(2024, 11, 4, 6, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    """T0 plus some minutes: tests speak in offsets, never in wall-clock time."""
    return T0 + timedelta(minutes=minutes)


def make_item(key: str, **over: Any) -> Item:
    fields: dict[str, Any] = {
        "key": key,
        "feed": "wire",
        "source": "Wire",
        "url": f"https://news.example/{key}",
        "title": f"Title {key}",
        "summary": f"Summary of {key}",
        "published": T0,
        "fetched": T0,
        "lang": "en",
        "guid": key,
        "title_hash": f"h-{key}",
    }
    fields.update(over)
    return Item(**fields)


def make_source(item_key: str, published: datetime = T0, **over: Any) -> StorySource:
    fields: dict[str, Any] = {
        "item_key": item_key,
        "outlet": "Wire",
        "url": f"https://news.example/{item_key}",
        "lang": "en",
        "published": published,
        "title": f"Title {item_key}",
    }
    fields.update(over)
    return StorySource(**fields)


def make_story(story_id: str, *, watch: str = "dprk", last: datetime = T0,
               keys: tuple[str, ...] = (), items: tuple[str, ...] = (), **over: Any) -> Story:
    sources = tuple(make_source(k, last) for k in (items or (f"{story_id}-i1",)))
    fields: dict[str, Any] = {
        "id": story_id,
        "watch": watch,
        "title": f"Story {story_id}",
        "summary": "",
        "first_published": min(last, T0),
        "last_published": last,
        "sources": sources,
        "keys": keys,
    }
    fields.update(over)
    return Story(**fields)


def make_delivery(story_id: str, destination: str = "ops", *, kind: str = "alert",
                  created: datetime = T0, **over: Any) -> Delivery:
    fields: dict[str, Any] = {
        "id": f"{kind}:{story_id}:{destination}",
        "destination": destination,
        "kind": kind,
        "created": created,
        "story_id": story_id if kind == "alert" else None,
    }
    fields.update(over)
    return Delivery(**fields)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PgServer]:
    server = start()
    try:
        yield server
    finally:
        server.stop()


_schemas = itertools.count(1)


async def new_schema(server: PgServer) -> str:
    """The URL of a new, empty schema (asyncpg passes unknown URL parameters as server settings)."""
    name = f"t{next(_schemas)}"
    conn = await asyncpg.connect(server.url)
    try:
        await conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE; CREATE SCHEMA {name}")
    finally:
        await conn.close()
    return f"{server.url}?search_path={name}"


async def emptied_schema(server: PgServer) -> str:
    """The URL of the contract schema, migrated once per session and emptied before each test:
    a fresh database in all but its tables' creation, which would cost more than most tests."""
    conn = await asyncpg.connect(server.url)
    try:
        await conn.execute("CREATE SCHEMA IF NOT EXISTS contract")
        tables = [r[0] for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'contract' "
                                                 "AND tablename <> 'schema_version'")]
        if tables:  # DELETE, not TRUNCATE: on tables this small it is a hundred times quicker
            await conn.execute("; ".join(f"DELETE FROM contract.{t}" for t in tables))
    finally:
        await conn.close()
    return f"{server.url}?search_path=contract"


@pytest.fixture
async def sqlite(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    """One SqliteStore on a fresh file, for what only SQLite does."""
    store = SqliteStore(str(tmp_path / "t.db"))
    await store.open()
    try:
        yield store
    finally:
        await store.close()


@pytest.fixture(params=["memory", "sqlite", "postgres"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    impl: Store
    if request.param == "memory":
        impl = MemoryStore()
    elif request.param == "sqlite":
        impl = SqliteStore(str(tmp_path / "d" / "t.db"))
    else:
        impl = PostgresStore(await emptied_schema(request.getfixturevalue("postgres_server")), pool_size=4)
    await impl.open()
    try:
        yield impl
    finally:
        await impl.close()
