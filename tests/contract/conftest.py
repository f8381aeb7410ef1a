"""Fixtures for the store contract: one `store` fixture per implementation, and small factories.

Every test in test_store.py runs against MemoryStore and against SqliteStore on a fresh file in
`tmp_path`, so the two cannot drift apart.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.model import Delivery, Item, Story, StorySource
from bot.store.base import Store
from bot.store.memory import MemoryStore
from bot.store.sqlite import SqliteStore

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


@pytest.fixture(params=["memory", "sqlite"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    impl: Store = MemoryStore() if request.param == "memory" else SqliteStore(str(tmp_path / "d" / "t.db"))
    await impl.open()
    try:
        yield impl
    finally:
        await impl.close()
