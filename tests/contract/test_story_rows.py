"""Stories read back exactly as saved however a save rewrites their rows, and a store that cached a
story sees another store's (another worker's) later save of it.

The stores keep a cache of stories by change number (bot/store/story_cache.py) and a save
rewrites only the sources after those the stored story shares: these tests read through the
store that saved, through a second store on the same database (rows only, nothing cached), and
after the other store grew the story.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from datetime import timedelta, timezone
from pathlib import Path

import pytest

from bot.model import Story
from bot.store.base import Store
from bot.store.postgres import PostgresStore
from bot.store.sqlite import SqliteStore
from bot.store.story_cache import Staging, StoryCache
from tests.contract.conftest import T0, at, emptied_schema, make_source, make_story


async def _reads(store: Store, story: Story) -> None:
    """Every way of reading a story gives `story` back, from the store and from its rows."""
    await _read(store, story)
    twin = SqliteStore(store.path) if isinstance(store, SqliteStore) else (
        PostgresStore(store.url, pool_size=2) if isinstance(store, PostgresStore) else None)
    if twin is not None:  # a store with nothing cached: what the rows hold
        await twin.open()
        try:
            await _read(twin, story)
        finally:
            await twin.close()


async def _read(store: Store, story: Story) -> None:
    assert await store.story(story.id) == story
    assert await store.story_of_item(story.sources[-1].item_key) == story
    assert story in await store.latest_stories(10, story.watch)
    if story.keys:
        assert story in await store.story_candidates(story.watch, story.keys, T0 - timedelta(days=1), 10)


def _grow(story: Story, key: str, published: object, **over: object) -> Story:
    sources = tuple(sorted((*story.sources, make_source(key, published, **over)), key=lambda s: s.published))
    return dataclasses.replace(story, sources=sources, last_published=max(s.published for s in sources))


async def test_a_story_reads_back_after_appends_insertions_and_rewrites(store: Store) -> None:
    s = make_story("s1", keys=("k1",), items=("i1",), score=0.5, features='{"n": 1}')
    await store.save_story(s)
    await _reads(store, s)
    for key, minutes in [("i2", 10), ("i3", 20), ("i0", 5), ("i4", 20)]:  # appended, then one in the middle
        s = _grow(s, key, at(minutes), new_facts=(f"fact {key}",))
        await store.save_story(s)
        await _reads(store, s)
    assert [x.item_key for x in s.sources] == ["i1", "i0", "i2", "i3", "i4"]
    s = dataclasses.replace(s, keys=("k2", "k1"), sources=s.sources[:2] + s.sources[3:], title="rewritten")
    await store.save_story(s)  # fewer sources, other keys
    await _reads(store, s)
    assert await store.story_candidates("dprk", ["k2"], T0, 10) == [s]
    s = dataclasses.replace(s, keys=())
    await store.save_story(s)
    assert await store.story_candidates("dprk", ["k1", "k2"], T0, 10) == []
    await store.save_story(s)  # the same story again: no change
    await _reads(store, s)


async def test_a_story_saved_with_other_offsets_reads_back_in_utc_as_its_rows_say(tmp_path: Path) -> None:
    plus3 = timezone(timedelta(hours=3))
    story = make_story("s1", keys=("k1",), last=T0.astimezone(plus3))
    story = dataclasses.replace(story, sources=(make_source("i1", T0.astimezone(plus3)),),
                                keys=list(story.keys))  # type: ignore[arg-type]  # a list, as a caller might
    db = str(tmp_path / "t.db")
    writer, reader = SqliteStore(db), SqliteStore(db)
    await writer.open()
    await reader.open()
    try:
        await writer.save_story(story)
        fresh = await reader.story("s1")
        assert fresh is not None and fresh.last_published.utcoffset() == timedelta(0)
        got = await writer.story("s1")  # the rows' story, not the object saved
        assert got == fresh and repr(got) == repr(fresh)
    finally:
        await writer.close()
        await reader.close()


@pytest.fixture(params=["sqlite", "postgres"])
async def two(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[tuple[Store, Store]]:
    """Two stores on one database, as two workers (or a worker and a command) have."""
    pair: tuple[Store, Store]
    if request.param == "sqlite":
        pair = (SqliteStore(str(tmp_path / "t.db")), SqliteStore(str(tmp_path / "t.db")))
    else:
        url = await emptied_schema(request.getfixturevalue("postgres_server"))
        pair = (PostgresStore(url, pool_size=2), PostgresStore(url, pool_size=2))
    for s in pair:
        await s.open()
    try:
        yield pair
    finally:
        for s in pair:
            await s.close()


async def test_a_cached_story_grown_by_another_worker_is_read_again(two: tuple[Store, Store]) -> None:
    a, b = two
    s = make_story("s1", keys=("k1",), items=("i1",))
    await a.save_story(s)
    await _reads(a, s)
    await _reads(b, s)  # both have it cached now
    grown = _grow(s, "i2", at(10))
    await b.save_story(grown)
    await _reads(a, grown)
    regrown = _grow(grown, "i0", at(5))  # a grows it from its own copy, which is b's
    await a.save_story(regrown)
    await _reads(b, regrown)
    await _reads(a, regrown)


async def test_rows_written_after_another_workers_save_are_whole(two: tuple[Store, Store]) -> None:
    """A save based on rows another worker has since changed rewrites them all."""
    a, b = two
    s = make_story("s1", keys=("k1",), items=("i1",))
    await a.save_story(s)
    await b.save_story(_grow(s, "i2", at(10)))  # a's cache is now behind the rows
    mine = _grow(s, "i3", at(20))
    await a.save_story(mine)
    await _reads(b, mine)
    await _reads(a, mine)


def test_the_cache_is_bounded_and_keeps_a_write_only_once_it_commits() -> None:
    cache = StoryCache(size=2)
    stories = [make_story(f"s{n}") for n in range(3)]
    for n, s in enumerate(stories):
        cache.put(n, s)
    assert len(cache) == 2 and cache.get("s0", 0) is None and cache.get("s2", 2) is stories[2]
    assert cache.get("s2", 3) is None  # saved again since: read again
    cache.begin()
    cache.put(7, stories[0])
    assert cache.get("s0", 7) is stories[0]  # the transaction sees its own save
    cache.rollback()
    assert cache.get("s0", 7) is None  # rolled back: the number may name another content next
    cache.begin()
    cache.put(8, stories[0])
    cache.commit()
    assert cache.get("s0", 8) is stories[0]


def test_a_batch_staging_serves_its_own_stories_and_caches_them_only_on_commit() -> None:
    cache = StoryCache()
    s0, s1 = make_story("s0"), make_story("s1")
    cache.put(1, s0)
    view = Staging(cache)
    view.put(2, s1)
    assert view.get("s1", 2) is s1 and view.get("s0", 1) is s0  # its own first, then the cache
    assert cache.get("s1", 2) is None  # not committed yet
    view.commit()
    assert cache.get("s1", 2) is s1
