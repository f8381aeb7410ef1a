"""What only PostgresStore promises: migrations applied once under a lock by workers starting
together, refusals that never show the URL's password, and several workers on one database —
one article stored once however many store it at the same moment, and change numbers that a
digest reading concurrently never skips."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime

import asyncpg
import pytest

from bot.store import postgres
from bot.store.pg_migrations import MIGRATIONS
from bot.store.postgres import PostgresStore
from bot.store.sqlite import DatabaseMissing, DatabaseUnusable
from tests.contract.conftest import make_delivery, make_item, make_story, new_schema
from tests.postgres_server import PgServer


@pytest.fixture
async def url(postgres_server: PgServer) -> str:
    return await new_schema(postgres_server)


async def opened(url: str, n: int) -> list[PostgresStore]:
    stores = [PostgresStore(url, pool_size=4) for _ in range(n)]
    await asyncio.gather(*(s.open() for s in stores))
    return stores


async def close_all(stores: list[PostgresStore]) -> None:
    await asyncio.gather(*(s.close() for s in stores))


async def test_workers_starting_together_migrate_once(url: str) -> None:
    stores = await opened(url, 5)
    try:
        conn = await asyncpg.connect(url)
        try:
            assert await conn.fetchval("SELECT version FROM schema_version") == len(MIGRATIONS)
            assert await conn.fetchval("SELECT COUNT(*) FROM schema_version") == 1
        finally:
            await conn.close()
        await stores[0].set_meta("k", "v")
        assert await stores[4].get_meta("k") == "v"
    finally:
        await close_all(stores)


async def test_a_reader_never_creates_the_schema(url: str) -> None:
    with pytest.raises(DatabaseMissing) as info:
        await PostgresStore(url, create=False).open()
    assert "deskwatch run" in str(info.value) and "\n" not in str(info.value)
    conn = await asyncpg.connect(url)
    try:
        assert await conn.fetchval("SELECT to_regclass('schema_version')") is None
    finally:
        await conn.close()
    [writer] = await opened(url, 1)
    await writer.close()
    reader = PostgresStore(url, create=False)
    await reader.open()  # made by a writer: a reader uses it
    await reader.close()


async def test_a_newer_schema_is_refused(url: str) -> None:
    [store] = await opened(url, 1)
    await store.close()
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("UPDATE schema_version SET version = $1", len(MIGRATIONS) + 1)
    finally:
        await conn.close()
    with pytest.raises(DatabaseUnusable, match="newer than this deskwatch"):
        await PostgresStore(url).open()


async def test_a_refusal_names_the_database_without_its_password() -> None:
    store = PostgresStore("postgresql://desk:hunter2-secret@127.0.0.1:1/deskwatch?password=other-secret")
    with pytest.raises(DatabaseUnusable) as info:
        await store.open()
    message = str(info.value)
    assert "postgresql://desk@127.0.0.1:1/deskwatch" in message, message
    assert "secret" not in message and "secret" not in repr(store) and "\n" not in message


async def test_one_article_stored_by_two_workers_at_once_is_new_once(url: str) -> None:
    stores = await opened(url, 3)
    try:
        for n in range(5):  # the same article under other keys (a GUID per feed), as three workers see it
            batches = [[make_item(f"r{n}-w{w}-{k}", url=f"https://news.example/a{n}-{k}", title_hash=f"h{n}-{k}")
                        for k in range(4)] for w in range(3)]
            results = await asyncio.gather(*(s.add_items(b) for s, b in zip(stores, batches, strict=True)))
            new = [i.url for added in results for i in added.new]
            assert sorted(new) == sorted({i.url for b in batches for i in b}), n
    finally:
        await close_all(stores)


async def test_a_digest_reading_while_workers_save_skips_no_change(url: str) -> None:
    """Numbers follow commit order: whatever `top` a read returns, no later commit takes a number
    at or below it, so reading on from `top` sees every save exactly once."""
    writers = await opened(url, 3)
    [reader] = await opened(url, 1)
    saves = 40
    try:
        async def write(w: int, store: PostgresStore) -> None:
            for n in range(saves):
                story = make_story(f"s{w}-{n % 7}", items=(f"i{w}-{n}",))
                await store.save_story(dataclasses.replace(story, title=f"v{n}"))

        async def read(done: asyncio.Event) -> list[tuple[str, str]]:
            seen: list[tuple[str, str]] = []
            after = 0
            while True:
                finished = done.is_set()
                stories, after = await reader.stories_changed("dprk", after)
                seen += [(s.id, s.title) for s in stories]
                if finished:
                    return seen
                await asyncio.sleep(0)

        done = asyncio.Event()
        reading = asyncio.create_task(read(done))
        await asyncio.gather(*(write(w, s) for w, s in enumerate(writers)))
        done.set()
        seen = await reading
        # every story's last version was read, and no version was read twice
        finals = {(f"s{w}-{n % 7}", f"v{n}") for w in range(3) for n in range(saves - 7, saves)}
        assert finals <= set(seen)
        assert len(seen) == len(set(seen))
        _, top = await reader.stories_changed("dprk", 0)
        assert top == 3 * saves
    finally:
        await close_all([*writers, reader])


async def plan(conn: asyncpg.Connection, sql: str, *args: object) -> str:
    return "\n".join(r[0] for r in await conn.fetch(sql, *args))


async def test_search_and_candidate_lookups_use_their_indexes(url: str) -> None:
    [store] = await opened(url, 1)
    await store.close()
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(
            "INSERT INTO items (key, feed, source, url, title, summary, published, fetched, lang, tier, title_hash, "
            "words) SELECT 'k' || g, 'f', 's', 'u' || g, 't', 's', now(), now(), 'en', 'wire', 'h' || g, "
            "array_to_tsvector(ARRAY['w' || g, 'common']) FROM generate_series(1, 5000) g")
        await conn.execute(
            "INSERT INTO stories (id, watch, title, summary, first_published, last_published) "
            "SELECT 's' || g, 'dprk', 't', '', now(), now() FROM generate_series(1, 5000) g")
        await conn.execute("INSERT INTO story_keys SELECT 'key' || g % 1000, 'dprk', now(), 's' || g "
                           "FROM generate_series(1, 5000) g")
        await conn.execute("ANALYZE")
        # Whether the index can serve the query (on a table this small a scan is cheaper anyway;
        # on a desk's years of items the planner takes the index by itself).
        await conn.execute("SET enable_seqscan = off")
        search = await plan(conn, "EXPLAIN " + postgres._SEARCH, "'w123':*", None, 20)
        candidates = await plan(conn,
            "EXPLAIN " + postgres._CANDIDATES, ["key12", "key13"], "dprk", datetime(2024, 1, 1, tzinfo=UTC), 10)
    finally:
        await conn.close()
    assert "items_words" in search, search
    assert "story_keys_pkey" in candidates, candidates


async def test_workers_queueing_overlapping_rows_in_any_order_queue_each_once(url: str) -> None:
    stores = await opened(url, 2)
    try:
        for n in range(10):
            batch = [make_delivery(f"s{n}-{k}", dest) for k in range(6) for dest in ("ops", "desk")]
            counts = await asyncio.gather(stores[0].enqueue(batch), stores[1].enqueue(batch[::-1]))
            assert sum(counts) == len(batch)  # no deadlock, and each row queued by one of them
        assert await stores[0].pending_count() == 10 * 12
    finally:
        await close_all(stores)
