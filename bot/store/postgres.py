"""The PostgreSQL Store (asyncpg): several deskwatch workers on one database.

Same contract as SQLite (bot/store/base.py, one contract suite). Each write is one transaction
committed before the call returns, except inside `batch()` (one connection and transaction for
the task's calls). Stories are cached by change number (story_cache.py). Where SQLite relies on
its single writer, this store says so in SQL: items of a batch are classified under advisory
locks on their keys, URLs and title hashes (two workers storing one article agree it is one),
and story change numbers come from a counter row whose lock orders them by commit. Schema:
pg_migrations.py; rows and search: pg_rows.py. The URL may hold a password: it is never logged
nor put in an error (`safe_url`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from bot.core import schedule
from bot.core.identity import IdentityVerdict, classify, headline_span
from bot.core.trend import count_between
from bot.model import Delivery, FeedState, Item, ItemEvent, Match, Mute, Story, Subscription
from bot.settings import MAX_INTERVAL
from bot.store import pg_retention as retention
from bot.store import pg_rows as rows
from bot.store import pg_work as work
from bot.store.base import Added, Pruned, began_by
from bot.store.pg_migrations import MIGRATIONS, migrate
from bot.store.pg_rows import DELIVERY_COLS, FEED_COLS, ITEM_COLS, ITEM_SELECT, Row, count, marks, opt_utc, utc
from bot.store.sqlite import DatabaseMissing, DatabaseUnusable
from bot.store.story_cache import Staging, StoryCache, exact, same_keys, shared_sources

Conn = Any  # asyncpg.Connection
_CHANGES = "store:story_changes"  # meta: the last change number handed out (migration v5)
_ACTIVE = ["pending", "sending"]

_INSERT_ITEM = (f"INSERT INTO items ({', '.join(ITEM_COLS)}, processed, words) VALUES ({marks(1, len(ITEM_COLS))}, "
                f"FALSE, array_to_tsvector(${len(ITEM_COLS) + 1}::text[])) ON CONFLICT (key) DO NOTHING")
_UPSERT_FEED = (f"INSERT INTO feeds ({', '.join(FEED_COLS)}) VALUES ({marks(1, len(FEED_COLS))}) ON CONFLICT (name) "
                f"DO UPDATE SET {', '.join(f'{n} = excluded.{n}' for n in FEED_COLS[1:])}")
_DELIVERY_VALUES = f"INSERT INTO deliveries ({', '.join(DELIVERY_COLS)}) VALUES ({marks(1, len(DELIVERY_COLS))})"
_UPSERT_MATCH = ("INSERT INTO matches VALUES ($1, $2, $3, $4, $5) ON CONFLICT (item_key, watch) DO UPDATE "
                 "SET relevant = excluded.relevant, score = excluded.score, reasons = excluded.reasons")
_UPSERT_STORY = (
    "INSERT INTO stories (id, watch, title, summary, first_published, last_published, score, features, keys) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (id) DO UPDATE SET watch = excluded.watch, "
    "title = excluded.title, summary = excluded.summary, first_published = excluded.first_published, "
    "last_published = excluded.last_published, score = excluded.score, features = excluded.features, "
    "keys = excluded.keys")
# The last statement of save_story: the counter row stays locked until commit, so the next save
# (any worker) takes its number after this one commits. A digest that read the counter at N has
# therefore seen every story numbered N or less, and none is ever numbered below N later.
_TAKE_CHANGE = (
    "WITH n AS (INSERT INTO meta (key, value) VALUES ($2, '1') ON CONFLICT (key) DO UPDATE "
    "SET value = (meta.value::bigint + 1)::text RETURNING value::bigint AS v) "
    "UPDATE stories SET changed = n.v FROM n WHERE stories.id = $1 RETURNING n.v")
# The word index first (MATERIALIZED), then the newest: the planner cannot estimate how rare a
# prefix is and would otherwise walk every item newest first looking for twenty that match.
_SEARCH = (f"WITH hits AS MATERIALIZED (SELECT {ITEM_SELECT} FROM items WHERE words @@ $1::text::tsquery) "
           "SELECT * FROM hits WHERE $2::timestamptz IS NULL OR published >= $2 "
           "ORDER BY published DESC, id DESC LIMIT $3")
_CANDIDATES = (
    "SELECT story_id, COUNT(*) AS shared, MAX(last_published) AS last FROM story_keys "
    "WHERE key = ANY($1::text[]) AND watch = $2 AND last_published >= $3 "
    "GROUP BY story_id ORDER BY shared DESC, last DESC, story_id LIMIT $4")

_LATEST_OF_WATCH = "SELECT id FROM stories WHERE watch = $1 ORDER BY last_published DESC, id LIMIT $2"
# The latest stories a report is compared with: updated since its window opened, begun by its end
_LATEST_IN_WINDOW = ("SELECT id FROM stories WHERE watch = $1 AND last_published >= $2 "
                     "AND ($3::timestamptz IS NULL OR first_published <= $3) ORDER BY last_published DESC, id LIMIT $4")
# The most recently updated story holding an item (of one watch, when $2 is not null).
_HOLDING = ("SELECT s.id FROM story_sources x JOIN stories s ON s.id = x.story_id "
            "WHERE x.item_key = $1 AND ($2::text IS NULL OR s.watch = $2) ORDER BY s.last_published DESC, s.id LIMIT 1")


class PostgresStore:
    """Store on a PostgreSQL database; see bot/store/base.py for the contract. `create=False`
    (commands that only read) never creates nor upgrades the schema."""

    def __init__(self, url: str, pool_size: int = 10, *, create: bool = True) -> None:
        self.url = url
        self.pool_size = pool_size
        self.create = create
        self._pool: asyncpg.Pool | None = None
        self._cache = StoryCache()  # stories by id and change number (another worker's save moves it on)
        self._batch: ContextVar[tuple[Conn, Staging] | None] = ContextVar(f"pg-batch-{id(self)}", default=None)

    def __repr__(self) -> str:
        return f"PostgresStore({rows.safe_url(self.url)!r})"  # never the password

    # --- plumbing --------------------------------------------------------------------------------
    @asynccontextmanager
    async def batch(self) -> AsyncIterator[None]:
        """One connection and one READ COMMITTED transaction for the calls this task awaits
        inside; other tasks and workers go on with their own (they see it once committed). A call
        that fails inside aborts the transaction: let its error end the batch."""
        if self._batch.get() is not None:
            yield  # nested: part of the open one
            return
        if self._pool is None:
            raise RuntimeError("PostgresStore is not open")
        async with self._pool.acquire() as conn:
            view = Staging(self._cache)
            token = self._batch.set((conn, view))
            try:
                async with conn.transaction():
                    yield
            finally:
                self._batch.reset(token)
            view.commit()  # committed: its loads and saves may serve later reads

    def _view(self) -> StoryCache | Staging:
        """Where stories loaded or saved now are cached: the open batch's staging, else the cache."""
        batch = self._batch.get()
        return self._cache if batch is None else batch[1]

    @asynccontextmanager
    async def _tx(self, isolation: str = "read_committed", readonly: bool = False) -> AsyncIterator[Conn]:
        if self._pool is None:
            raise RuntimeError("PostgresStore is not open")
        batch = self._batch.get()
        if batch is not None:  # inside a batch: its transaction (and its isolation) serves
            yield batch[0]
            return
        async with self._pool.acquire() as conn, conn.transaction(isolation=isolation, readonly=readonly):
            yield conn

    async def _exec(self, sql: str, *args: Any) -> int:
        async with self._tx() as c:
            return count(await c.execute(sql, *args))

    async def _rows(self, sql: str, *args: Any) -> list[Row]:
        if self._pool is None:
            raise RuntimeError("PostgresStore is not open")
        batch = self._batch.get()
        return list(await (self._pool if batch is None else batch[0]).fetch(sql, *args))

    # --- lifecycle -------------------------------------------------------------------------------
    async def open(self) -> None:
        """Connect and migrate; raise DatabaseUnusable (DatabaseMissing for create=False and no
        schema) with a one-line message that names the database without its password."""
        if self._pool is not None:
            return
        where = rows.safe_url(self.url)
        try:
            # at least 2: the story lock holds one connection while the merge it guards uses another
            pool = await asyncpg.create_pool(self.url, min_size=1, max_size=max(self.pool_size, 2))
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, ValueError) as exc:
            # The exception's own text never holds the password; the URL is not repeated in it.
            raise DatabaseUnusable(f"cannot connect to {where} ({type(exc).__name__}: {exc}): check the "
                                   "URL, that the server runs and that the user may log in") from None
        try:
            async with pool.acquire() as conn:
                version = await (migrate(conn) if self.create else _version(conn))
        except BaseException as exc:
            await pool.close()
            if isinstance(exc, RuntimeError):  # the schema is newer than this code
                raise DatabaseUnusable(f"cannot use {where}: {exc}; upgrade deskwatch") from exc
            raise
        if version == 0:
            await pool.close()
            raise DatabaseMissing(f"there are no deskwatch tables in {where} yet: run `deskwatch run` or "
                                  "`deskwatch once` first")
        if version < len(MIGRATIONS):
            await pool.close()
            raise DatabaseUnusable(f"the schema in {where} is older than this deskwatch: run `deskwatch run` "
                                   "once to upgrade it")
        self._pool = pool

    async def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()

    # --- feeds -----------------------------------------------------------------------------------
    async def sync_feeds(self, feeds: Sequence[tuple[str, str]]) -> None:
        if feeds:
            async with self._tx() as c:
                await c.executemany(
                    "INSERT INTO feeds (name, url) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET "
                    "url = excluded.url, etag = NULL, last_modified = NULL, body_hash = NULL "
                    "WHERE feeds.url <> excluded.url", feeds)

    async def feed_state(self, name: str) -> FeedState | None:
        found = await self._rows("SELECT * FROM feeds WHERE name = $1", name)
        return rows.feed(found[0]) if found else None

    async def feed_states(self) -> list[FeedState]:
        return [rows.feed(r) for r in await self._rows("SELECT * FROM feeds ORDER BY name")]

    async def due_feeds(self, now: datetime) -> list[FeedState]:
        # The rule (which survives clock steps) is core/schedule's, as in the other stores.
        return schedule.due_feeds([rows.feed(r) for r in await self._rows("SELECT * FROM feeds")], now, MAX_INTERVAL)

    async def save_feed_state(self, state: FeedState) -> None:
        await self._exec(_UPSERT_FEED, *rows.feed_params(state))

    # --- items -----------------------------------------------------------------------------------
    async def add_items(self, items: Sequence[Item]) -> Added:
        if not items:
            return Added(())
        new: list[Item] = []
        dups: list[tuple[Item, IdentityVerdict]] = []
        async with self._tx() as c:
            # Another worker storing the same article waits here, then sees it (READ COMMITTED:
            # each statement below reads what was committed before it started).
            await c.execute("SELECT pg_advisory_xact_lock(k) FROM unnest($1::bigint[]) AS k", rows.item_locks(items))
            for i in items:
                lo, hi = headline_span(i)  # a recurring headline's older rows are never twins
                twins = await c.fetch(
                    f"SELECT {ITEM_SELECT} FROM items WHERE key = $1 OR (url = $2 AND url <> '') "
                    "OR (title_hash = $3 AND title_hash <> '' AND published BETWEEN $4 AND $5) ORDER BY id",
                    i.key, i.url, i.title_hash, lo, hi)
                verdict = classify(i, [rows.item(r) for r in twins])
                if verdict.kind != "duplicate":
                    await c.execute(_INSERT_ITEM, *rows.item_params(i), rows.item_words(i))
                if verdict.kind == "new":
                    new.append(i)
                else:
                    dups.append((i, verdict))
        return Added(tuple(new), tuple(dups))

    async def unprocessed_items(self, limit: int = 1000) -> list[Item]:
        found = await self._rows(f"SELECT {ITEM_SELECT} FROM items WHERE NOT processed ORDER BY id LIMIT $1", limit)
        return [rows.item(r) for r in found]

    async def mark_processed(self, keys: Sequence[str]) -> None:
        if keys:
            await self._exec("UPDATE items SET processed = TRUE WHERE key = ANY($1::text[])", list(keys))

    async def item(self, key: str) -> Item | None:
        found = await self._rows(f"SELECT {ITEM_SELECT} FROM items WHERE key = $1", key)
        return rows.item(found[0]) if found else None

    async def known_keys(self, keys: Sequence[str]) -> set[str]:
        if not keys:
            return set()
        found = await self._rows("SELECT key FROM items WHERE key = ANY($1::text[])", list(dict.fromkeys(keys)))
        return {r["key"] for r in found}

    async def item_by_url(self, url: str) -> Item | None:
        if not url:
            return None
        found = await self._rows(f"SELECT {ITEM_SELECT} FROM items WHERE url = $1 AND url <> '' ORDER BY id LIMIT 1",
                                 url)
        return rows.item(found[0]) if found else None

    async def latest_items(self, limit: int, watch: str | None = None) -> list[Item]:
        if watch is None:
            found = await self._rows(f"SELECT {ITEM_SELECT} FROM items ORDER BY published DESC, id DESC LIMIT $1",
                                     max(limit, 0))
        else:  # items the watch found relevant
            found = await self._rows(
                f"SELECT {ITEM_SELECT} FROM items i WHERE EXISTS (SELECT 1 FROM matches m WHERE m.item_key = i.key "
                "AND m.watch = $1 AND m.relevant) ORDER BY published DESC, id DESC LIMIT $2", watch, max(limit, 0))
        return [rows.item(r) for r in found]

    async def index_for_search(self) -> int:
        return 0  # indexed with each item

    async def search_items(self, query: str, since: datetime | None, limit: int) -> list[Item]:
        match = rows.tsquery(query)
        if match is None or limit <= 0:
            return []
        found = await self._rows(_SEARCH, match, opt_utc(since), limit)
        return [rows.item(r) for r in found]

    async def record_events(self, events: Sequence[ItemEvent]) -> None:
        if events:
            async with self._tx() as c:
                await c.executemany(
                    "INSERT INTO item_events (item_key, at, event, detail, story_id, destination) "
                    "VALUES ($1, $2, $3, $4, $5, $6)",
                    [(e.item_key, utc(e.at), e.event, e.detail, e.story_id, e.destination) for e in events])

    async def item_events(self, key: str) -> list[ItemEvent]:
        return [rows.event(r) for r in await self._rows(
            "SELECT * FROM item_events WHERE item_key = $1 ORDER BY at, id", key)]

    async def save_match(self, item_key: str, match: Match) -> None:
        await self._exec(_UPSERT_MATCH, item_key, match.watch, match.relevant, match.score, list(match.reasons))

    async def save_matches(self, matches: Sequence[tuple[str, Match]]) -> None:
        if matches:
            async with self._tx() as c:
                await c.executemany(_UPSERT_MATCH, [(k, m.watch, m.relevant, m.score, list(m.reasons))
                                                    for k, m in matches])

    async def matches(self, item_key: str) -> list[Match]:
        found = await self._rows("SELECT * FROM matches WHERE item_key = $1 ORDER BY watch", item_key)
        return [Match(r["watch"], r["relevant"], r["score"], tuple(r["reasons"])) for r in found]

    # --- stories ---------------------------------------------------------------------------------
    async def save_story(self, story: Story) -> None:
        s = story
        async with self._tx() as c:
            # What the rows hold now (locked until commit), when the cache knows: then only the
            # sources after the part both share are rewritten, and the keys only when they moved.
            before = await c.fetchval("SELECT changed FROM stories WHERE id = $1 FOR UPDATE", s.id)
            view = self._view()
            old = view.get(s.id, before) if before is not None else None
            await c.execute(_UPSERT_STORY, s.id, s.watch, s.title, s.summary, utc(s.first_published),
                            utc(s.last_published), s.score, s.features, list(s.keys))
            keep = shared_sources(old, s)
            await c.execute("DELETE FROM story_sources WHERE story_id = $1 AND pos >= $2", s.id, keep)
            await c.executemany("INSERT INTO story_sources VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                                [(s.id, n, x.item_key, x.outlet, x.url, x.lang, utc(x.published), x.title, x.tier,
                                  list(x.new_facts)) for n, x in enumerate(s.sources[keep:], keep)])
            if not same_keys(old, s):
                await c.execute("DELETE FROM story_keys WHERE story_id = $1", s.id)
                await c.execute("INSERT INTO story_keys SELECT DISTINCT k, $2::text, $3::timestamptz, $4::text "
                                "FROM unnest($1::text[]) AS k ON CONFLICT DO NOTHING",
                                list(s.keys), s.watch, utc(s.last_published), s.id)
            change = await c.fetchval(_TAKE_CHANGE, s.id, _CHANGES)
        if exact(s):  # committed (or staged until its batch commits): a later read of it is a hit
            view.put(int(change), s)

    async def story(self, story_id: str) -> Story | None:
        async with self._tx(isolation="repeatable_read", readonly=True) as c:  # the story and its sources at once
            found = await _load_stories(c, [story_id], self._view())
        return found[0] if found else None

    async def _story_ids(self, sql: str, *args: Any) -> list[Story]:
        async with self._tx(isolation="repeatable_read", readonly=True) as c:
            return await _load_stories(c, [r[0] for r in await c.fetch(sql, *args)], self._view())

    async def story_of_item(self, item_key: str, watch: str | None = None) -> Story | None:
        found = await self._story_ids(_HOLDING, item_key, watch)
        return found[0] if found else None

    async def story_candidates(self, watch: str, keys: Sequence[str], since: datetime, limit: int) -> list[Story]:
        unique = list(dict.fromkeys(keys))
        if not unique or limit <= 0:
            return []
        return await self._story_ids(_CANDIDATES, unique, watch, utc(since), limit)

    async def candidate_stories(self, watch: str, keys: Sequence[str], since: datetime, limit: int,
                                latest: int, until: datetime | None = None) -> tuple[list[Story], list[Story]]:
        _, keyed, recent = await self._context(None, watch, keys, since, limit, latest, until)
        return keyed, recent

    async def story_or_candidates(self, item_key: str, watch: str, keys: Sequence[str], since: datetime,
                                  limit: int, latest: int, until: datetime | None = None
                                  ) -> tuple[Story | None, list[Story], list[Story]]:
        return await self._context(item_key, watch, keys, since, limit, latest, until)

    async def _context(self, item_key: str | None, watch: str, keys: Sequence[str], since: datetime, limit: int,
                       latest: int, until: datetime | None) -> tuple[Story | None, list[Story], list[Story]]:
        """story_or_candidates in one snapshot; without an item key, only the candidates."""
        unique = list(dict.fromkeys(keys))
        async with self._tx(isolation="repeatable_read", readonly=True) as c:
            held = [r[0] for r in await c.fetch(_HOLDING, item_key, watch)] if item_key is not None else []
            keyed = [r[0] for r in await c.fetch(_CANDIDATES, unique, watch, utc(since), limit)
                     ] if unique and limit > 0 else []
            recent = [r[0] for r in await c.fetch(_LATEST_IN_WINDOW, watch, utc(since), opt_utc(until),
                                                  max(latest, 0))]
            found = {s.id: s for s in await _load_stories(c, list(dict.fromkeys([*held, *keyed, *recent])),
                                                          self._view())}
        return (found.get(held[0]) if held else None, began_by([found[i] for i in keyed if i in found], until),
                [found[i] for i in recent if i in found])

    async def latest_stories(self, limit: int, watch: str | None = None) -> list[Story]:
        if watch is None:
            return await self._story_ids("SELECT id FROM stories ORDER BY last_published DESC, id LIMIT $1",
                                         max(limit, 0))
        return await self._story_ids(_LATEST_OF_WATCH, watch, max(limit, 0))

    async def stories_changed(self, watch: str, after: int, since: datetime | None = None
                              ) -> tuple[list[Story], int]:
        # One snapshot for the counter and the stories: every story numbered up to `top` is in it.
        async with self._tx(isolation="repeatable_read", readonly=True) as c:
            top = int(await c.fetchval("SELECT value::bigint FROM meta WHERE key = $1", _CHANGES) or 0)
            sql = "SELECT id FROM stories s WHERE changed > $1 AND changed <= $2 AND watch = $3"
            args: list[Any] = [after, top, watch]
            if since is not None:  # published since then, or holding a report first seen since then
                sql += (" AND (last_published >= $4 OR EXISTS (SELECT 1 FROM story_sources x JOIN items i "
                        "ON i.key = x.item_key WHERE x.story_id = s.id AND i.fetched >= $4))")
                args.append(utc(since))
            ids = [r[0] for r in await c.fetch(sql + " ORDER BY changed", *args)]
            return await _load_stories(c, ids, self._view()), top

    async def activity(self, watch: str, bounds: Sequence[datetime]) -> list[tuple[int, int]]:
        if len(bounds) < 2:
            return []
        span = (watch, utc(bounds[0]), utc(bounds[-1]))
        async with self._tx(isolation="repeatable_read", readonly=True) as c:
            items = await c.fetch("SELECT i.published FROM items i JOIN matches m ON m.item_key = i.key AND "
                                  "m.watch = $1 WHERE m.relevant AND i.published >= $2 AND i.published < $3", *span)
            firsts = await c.fetch("SELECT first_published FROM stories WHERE watch = $1 AND first_published >= $2 "
                                   "AND first_published < $3", *span)
        return list(zip(count_between([r[0] for r in items], bounds),
                        count_between([r[0] for r in firsts], bounds), strict=True))

    # --- subscriptions and mutes -----------------------------------------------------------------
    async def subscriptions(self) -> list[Subscription]:
        found = await self._rows("SELECT * FROM subscriptions ORDER BY watch, destination")
        return [Subscription(r["watch"], r["destination"], r["mode"], r["schedule"], r["timezone"], r["origin"])
                for r in found]

    async def add_subscription(self, sub: Subscription) -> None:
        await self._exec("INSERT INTO subscriptions VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (watch, destination) "
                         "DO UPDATE SET mode = excluded.mode, schedule = excluded.schedule, "
                         "timezone = excluded.timezone, origin = excluded.origin",
                         sub.watch, sub.destination, sub.mode, sub.schedule, sub.timezone, sub.origin)

    async def remove_subscription(self, watch: str, destination: str) -> bool:
        return await self._exec("DELETE FROM subscriptions WHERE watch = $1 AND destination = $2",
                                watch, destination) > 0

    async def add_mute(self, mute: Mute) -> None:
        await self._exec("INSERT INTO mutes VALUES ($1, $2, $3) ON CONFLICT (destination, term) DO UPDATE "
                         "SET until = excluded.until", mute.destination, mute.term, opt_utc(mute.until))

    async def remove_mute(self, destination: str, term: str) -> bool:
        return await self._exec("DELETE FROM mutes WHERE destination = $1 AND term = $2", destination, term) > 0

    async def mutes(self, now: datetime) -> list[Mute]:
        found = await self._rows("SELECT * FROM mutes WHERE until IS NULL OR until > $1 ORDER BY destination, term",
                                 utc(now))
        return [Mute(r["destination"], r["term"], r["until"]) for r in found]

    # --- deliveries ------------------------------------------------------------------------------
    async def enqueue(self, deliveries: Sequence[Delivery], meta: Mapping[str, str] | None = None) -> int:
        if not deliveries:
            return 0
        added = 0
        async with self._tx() as c:
            # In id order: two workers queueing overlapping rows then wait for each other in one
            # order and never deadlock (a stable sort keeps the first of two rows with one id).
            for d in sorted(deliveries, key=lambda d: d.id):
                if await c.fetchval(f"{_DELIVERY_VALUES} ON CONFLICT (id) DO NOTHING RETURNING 1",
                                    *rows.delivery_params(d)):
                    await _link_delivery(c, d)
                    added += 1
            if added and meta:
                await c.executemany("INSERT INTO meta VALUES ($1, $2) ON CONFLICT (key) DO UPDATE "
                                    "SET value = excluded.value", list(meta.items()))
        return added

    async def delivery(self, delivery_id: str) -> Delivery | None:
        found = await self._rows("SELECT * FROM deliveries WHERE id = $1", delivery_id)
        return rows.delivery(found[0]) if found else None

    async def save_delivery(self, delivery: Delivery) -> None:
        updates = ", ".join(f"{n} = excluded.{n}" for n in DELIVERY_COLS[1:])
        async with self._tx() as c:
            await c.execute(f"{_DELIVERY_VALUES} ON CONFLICT (id) DO UPDATE SET {updates}",
                            *rows.delivery_params(delivery))
            await _link_delivery(c, delivery)

    async def due_deliveries(self, now: datetime, limit: int = 500) -> list[Delivery]:
        found = await self._rows(
            "SELECT * FROM deliveries WHERE status = ANY($1::text[]) AND (next_attempt IS NULL OR next_attempt <= $2) "
            "ORDER BY created, id LIMIT $3", _ACTIVE, utc(now), max(limit, 0))
        return [rows.delivery(r) for r in found]

    async def alert_deliveries_for_story(self, story_id: str) -> list[Delivery]:
        found = await self._rows("SELECT * FROM deliveries WHERE story_id = $1 AND kind = 'alert' ORDER BY created, id",
                                 story_id)
        return [rows.delivery(r) for r in found]

    async def reopen_alerts(self, story_id: str, version: int) -> None:
        await self._exec("UPDATE deliveries SET status = 'pending', next_attempt = NULL, attempts = 0, last_error = '' "
                         "WHERE story_id = $1 AND kind = 'alert' AND status = 'sent' AND sent_version < $2",
                         story_id, version)

    async def deliveries_for_item(self, item_key: str) -> list[Delivery]:
        found = await self._rows(
            "SELECT * FROM deliveries WHERE id IN (SELECT l.delivery_id FROM story_sources x JOIN delivery_stories l "
            "ON l.story_id = x.story_id WHERE x.item_key = $1) ORDER BY created, id", item_key)
        return [rows.delivery(r) for r in found]

    async def pending_count(self) -> int:
        found = await self._rows("SELECT COUNT(*) FROM deliveries WHERE status = ANY($1::text[])", _ACTIVE)
        return int(found[0][0])

    # --- destination health and meta -------------------------------------------------------------
    async def set_destination_health(self, name: str, ok: bool, message: str, at: datetime) -> None:
        await self._exec("INSERT INTO destination_health VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO UPDATE "
                         "SET ok = excluded.ok, message = excluded.message, at = excluded.at",
                         name, ok, message, utc(at))

    async def destination_health(self) -> dict[str, tuple[bool, str, datetime]]:
        found = await self._rows("SELECT * FROM destination_health ORDER BY name")
        return {r["name"]: (r["ok"], r["message"], r["at"]) for r in found}

    async def get_meta(self, key: str) -> str | None:
        found = await self._rows("SELECT value FROM meta WHERE key = $1", key)
        return str(found[0][0]) if found else None

    async def set_meta(self, key: str, value: str) -> None:
        await self._exec("INSERT INTO meta VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                         key, value)

    # --- leases: each one statement; ON CONFLICT reads the latest committed row, so two workers
    # racing for a lease cannot both win ---------------------------------------------------------
    async def take_lease(self, name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
        return await self._exec(
            "INSERT INTO leases (name, holder, expires) VALUES ($1, $2, $3) ON CONFLICT (name) DO UPDATE "
            "SET holder = excluded.holder, expires = excluded.expires "
            "WHERE leases.holder = excluded.holder OR leases.expires <= $4",
            name, holder, utc(now + ttl), utc(now)) > 0

    async def renew_lease(self, name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
        return await self._exec("UPDATE leases SET expires = $1 WHERE name = $2 AND holder = $3",
                                utc(now + ttl), name, holder) > 0

    async def release_lease(self, name: str, holder: str) -> bool:
        return await self._exec("DELETE FROM leases WHERE name = $1 AND holder = $2", name, holder) > 0

    async def lease_holder(self, name: str, now: datetime) -> str | None:
        found = await self._rows("SELECT holder FROM leases WHERE name = $1 AND expires > $2", name, utc(now))
        return str(found[0][0]) if found else None

    # --- several workers: feeds and outbox rows claimed with a lease (pg_work.py) -----------------
    # Not in the Store protocol yet: the pipeline and the outbox still take the whole-pass lease.
    async def lease_due_feeds(self, worker: str, now: datetime, ttl: timedelta, limit: int) -> list[FeedState]:
        """Due feeds (the due_feeds rule and order) that no worker holds, each now leased to
        `worker` until now + ttl; no worker gets them again until the lease is released or
        expires."""
        async with self._tx() as c:
            return await work.lease_due_feeds(c, worker, now, ttl, limit, MAX_INTERVAL)

    async def release_feed(self, name: str, worker: str) -> bool:
        """Give a feed's lease back (after its state is saved); False if `worker` lost it."""
        return await self.release_lease(work.FEED + name, worker)

    async def claim_deliveries(self, worker: str, now: datetime, ttl: timedelta, limit: int = 500
                               ) -> list[Delivery]:
        """Due outbox rows (the due_deliveries rule and order) that no worker holds, each now
        leased to `worker` until now + ttl."""
        async with self._tx() as c:
            return await work.claim_deliveries(c, worker, now, ttl, limit)

    async def release_delivery(self, delivery_id: str, worker: str) -> bool:
        """Give a row's lease back (after its new state is saved); False if `worker` lost it."""
        return await self.release_lease(work.DELIVERY + delivery_id, worker)

    @asynccontextmanager
    async def story_lock(self, name: str = "stories") -> AsyncIterator[None]:
        """Mutual exclusion across workers for the block (match → merge → route must see the
        story another worker is growing: today's in-process Context.story_lock). A session
        advisory lock on a connection held for the block: a worker that dies drops it with its
        connection, so nothing waits for an expiry. It holds one pooled connection: the block's own
        store calls need pool_size >= 2."""
        if self._pool is None:
            raise RuntimeError("PostgresStore is not open")
        key = rows.lock_key(f"story:{name}")
        # asyncpg resets a connection it gets back (pg_advisory_unlock_all), so even a block
        # cancelled while waiting for the lock leaves it free
        async with self._pool.acquire() as conn:
            await conn.execute("SELECT pg_advisory_lock($1)", key)
            try:
                yield
            finally:
                await conn.execute("SELECT pg_advisory_unlock($1)", key)

    # --- retention: in short steps, each its own transaction (pg_retention.py) -------------------
    async def prune(self, before: datetime) -> Pruned:
        cut, done = utc(before), Pruned()
        while n := await self._step(retention.finished_deliveries, cut):
            done += Pruned(deliveries=n)
        while n := await self._step(retention.stories, cut):
            done += Pruned(stories=n)
        while (step := await self._step(retention.items, cut))[0]:
            done += Pruned(items=step[0], events=step[1], matches=step[2])
        while n := await self._step(retention.orphan_events, cut):
            done += Pruned(events=n)
        return done + Pruned(meta=await self._step(retention.meta, cut))

    async def _step(self, fn: Any, before: datetime) -> Any:
        async with self._tx() as c:
            return await fn(c, before)


async def _version(conn: Conn) -> int:
    """The schema version without creating anything (0 when there is no schema)."""
    if await conn.fetchval("SELECT to_regclass('schema_version')") is None:
        return 0
    return int(await conn.fetchval("SELECT version FROM schema_version") or 0)


async def _load_stories(c: Conn, ids: Sequence[str], cache: StoryCache | Staging) -> list[Story]:
    """The stories of `ids` that exist, in that order; only those not cached at their current
    change number are rebuilt from their rows."""
    if not ids:
        return []
    found: dict[str, Story] = {}
    missing: list[str] = []
    for r in await c.fetch("SELECT id, changed FROM stories WHERE id = ANY($1::text[])", list(ids)):
        hit = cache.get(r["id"], r["changed"])
        if hit is None:
            missing.append(r["id"])
        else:
            found[r["id"]] = hit
    for _ in range(3):  # a batch reads committed rows statement by statement: retry a torn read
        built, torn = await _build_stories(c, missing)
        if not torn:
            break
    for story, changed in built:
        if not torn:
            cache.put(changed, story)
        found[story.id] = story
    return [found[i] for i in ids if i in found]


async def _build_stories(c: Conn, ids: Sequence[str]) -> tuple[list[tuple[Story, int]], bool]:
    """Stories rebuilt from their rows, each with its change number; and whether a save committed
    between the two reads (a source read under another change number than its story's row)."""
    if not ids:
        return [], False
    sources: dict[str, list[Any]] = {}
    seen: dict[str, int] = {}
    for r in await c.fetch("SELECT x.*, s.changed AS story_changed FROM story_sources x JOIN stories s ON s.id = "
                           "x.story_id WHERE x.story_id = ANY($1::text[]) ORDER BY x.story_id, x.pos", list(ids)):
        sources.setdefault(r["story_id"], []).append(rows.source(r))
        seen[r["story_id"]] = r["story_changed"]
    built, torn = [], False
    for r in await c.fetch("SELECT * FROM stories WHERE id = ANY($1::text[])", list(ids)):
        torn = torn or seen.get(r["id"], r["changed"]) != r["changed"]
        built.append((Story(id=r["id"], watch=r["watch"], title=r["title"], summary=r["summary"],
                            first_published=r["first_published"], last_published=r["last_published"],
                            sources=tuple(sources.get(r["id"], ())), score=r["score"], features=r["features"],
                            keys=tuple(r["keys"])), r["changed"]))
    return built, torn


async def _link_delivery(c: Conn, d: Delivery) -> None:
    """The delivery's story links made equal to its stories, writing only the difference (a
    flood digest is saved once per story it gathers)."""
    ids = list(dict.fromkeys([*([d.story_id] if d.story_id else []), *d.story_ids]))
    await c.execute("DELETE FROM delivery_stories WHERE delivery_id = $1 AND story_id <> ALL($2::text[])", d.id, ids)
    if ids:
        await c.execute("INSERT INTO delivery_stories SELECT s, $2::text FROM unnest($1::text[]) AS s "
                        "ON CONFLICT DO NOTHING", ids, d.id)
