"""The default Store: stdlib sqlite3 driven from one dedicated worker thread.

Every call runs on a single-thread executor, so the event loop never blocks and all access to the
connection is serialised. Each write is one transaction committed before the call returns (the
outbox relies on it: a row written survives a SIGKILL right after) — except inside `batch()`,
where the calls of one task are one transaction, its answerless writes ride along with its next
call, and other tasks wait for the commit. Stories are cached by change number (story_cache.py).
Rows <-> dataclasses: `sqlite_rows.py`; schema: `migrations.py`; search syntax: `fts.py`.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from bot.core import schedule
from bot.core.identity import IdentityVerdict, classify, headline_span
from bot.core.trend import count_between
from bot.model import (
    Delivery,
    FeedState,
    Item,
    ItemEvent,
    Match,
    Mute,
    Story,
    StorySource,
    Subscription,
)
from bot.settings import MAX_INTERVAL
from bot.store import retention
from bot.store.base import Added, Pruned, began_by
from bot.store.fts import fts_query
from bot.store.migrations import migrate
from bot.store.sqlite_rows import (
    DELIVERY_COLS,
    FEED_COLS,
    ITEM_COLS,
    as_json,
    as_tuple,
    at_time,
    delivery_of,
    delivery_params,
    event_of,
    feed_of,
    feed_params,
    item_of,
    item_params,
    maybe_time,
    placeholders,
    source_of,
    ts,
)
from bot.store.story_cache import StoryCache, exact, same_keys, shared_sources

T = TypeVar("T")
Conn = sqlite3.Connection

_ACTIVE = ("pending", "sending")


def _twins(c: Conn, i: Item) -> list[Item]:
    """Stored items sharing the key, the URL or (within headline_span) the title hash, in storage
    order: a recurring headline's older rows are not read at all (index v7)."""
    # `<> ''` lets the planner use the partial indexes (and an empty value never matches).
    lo, hi = headline_span(i)
    rows = c.execute(
        "SELECT * FROM items WHERE key = ? UNION SELECT * FROM items WHERE url = ? AND url <> '' "
        "UNION SELECT * FROM items WHERE title_hash = ? AND title_hash <> '' AND published BETWEEN ? AND ? "
        "ORDER BY id", (i.key, i.url, i.title_hash, ts(lo), ts(hi))).fetchall()
    return [item_of(r) for r in rows]


_SEARCH = ("SELECT i.* FROM items_fts JOIN items i ON i.id = items_fts.rowid WHERE items_fts MATCH ? "
           "AND i.published >= ? ORDER BY i.published DESC, i.id DESC LIMIT ?")


def _search(c: Conn, query: str, match: str, since: str, limit: int) -> list[sqlite3.Row]:
    try:
        return c.execute(_SEARCH, (match, since, limit)).fetchall()
    except sqlite3.OperationalError as e:
        if "phrase" not in str(e):
            raise
    # A word the tokenizer splits where Python sees none (fts.fts_query): ask it where.
    c.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.fts_probe USING fts5(x, "
              "tokenize='unicode61 remove_diacritics 2', detail=none)")

    def splits(ch: str) -> bool:
        try:
            c.execute("SELECT 1 FROM temp.fts_probe WHERE fts_probe MATCH ?", (f'"a{ch}b"',)).fetchall()
        except sqlite3.OperationalError:
            return True
        return False

    pieces = fts_query(query, splits)
    return c.execute(_SEARCH, (pieces, since, limit)).fetchall() if pieces is not None else []


SEARCH_BATCH = 500  # items indexed per transaction: other writes wait for no more than one


def _index_pending(c: Conn, limit: int) -> int:
    """Write up to `limit` stored items not indexed yet (oldest first) to the search index."""
    hi = c.execute("SELECT max(id) FROM (SELECT id FROM search_pending ORDER BY id LIMIT ?)", (limit,)).fetchone()[0]
    if hi is None:
        return 0
    c.execute("INSERT INTO items_fts(rowid, title, summary) SELECT i.id, i.title, i.summary FROM search_pending p "
              "JOIN items i ON i.id = p.id WHERE p.id <= ? ORDER BY p.id", (hi,))
    return int(c.execute("DELETE FROM search_pending WHERE id <= ?", (hi,)).rowcount)


def _add_items(c: Conn, items: Sequence[Item]) -> Added:
    new: list[Item] = []
    dups: list[tuple[Item, IdentityVerdict]] = []
    # processed = 0 until the pipeline has matched and routed the item (see unprocessed_items);
    # the key's UNIQUE constraint stays the last word should the rule ever let a repeat through.
    sql = f"INSERT INTO items ({','.join(ITEM_COLS)}, processed) VALUES ({placeholders(len(ITEM_COLS))}, 0)"
    for i in items:
        verdict = classify(i, _twins(c, i))  # rows inserted earlier in this batch are visible here
        if verdict.kind != "duplicate":
            c.execute(sql, item_params(i))
        if verdict.kind == "new":
            new.append(i)
        else:
            dups.append((i, verdict))
    return Added(tuple(new), tuple(dups))


_KEYS_PER_QUERY = 500  # bound parameters per statement, well under SQLite's limit (999 before 3.32)


def _known_keys(c: Conn, keys: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for n in range(0, len(keys), _KEYS_PER_QUERY):
        part = keys[n:n + _KEYS_PER_QUERY]
        found.update(r[0] for r in c.execute(f"SELECT key FROM items WHERE key IN ({placeholders(len(part))})", part))
    return found


def _load_stories(c: Conn, ids: Sequence[str], cache: StoryCache | None = None) -> list[Story]:
    """The stories of `ids` that exist, in that order; with a cache, only those not cached at
    their current change number are rebuilt from their rows (in one read snapshot)."""
    if not ids:
        return []
    if cache is None:
        return [story for story, _ in _build_stories(c, ids)]
    own = not c.in_transaction
    if own:
        c.execute("BEGIN")
    try:
        found: dict[str, Story] = {}
        missing = []
        for story_id, changed in c.execute(f"SELECT id, changed FROM stories WHERE id IN ({placeholders(len(ids))})",
                                           ids).fetchall():
            hit = cache.get(story_id, changed)
            if hit is None:
                missing.append(story_id)
            else:
                found[story_id] = hit
        if missing:
            for story, changed in _build_stories(c, missing):
                cache.put(changed, story)
                found[story.id] = story
    finally:
        if own:
            c.execute("COMMIT")
    return [found[i] for i in ids if i in found]


def _build_stories(c: Conn, ids: Sequence[str]) -> list[tuple[Story, int]]:
    """Stories rebuilt from their rows and sources, each with its change number."""
    marks = placeholders(len(ids))
    rows = {r["id"]: r for r in c.execute(f"SELECT * FROM stories WHERE id IN ({marks})", ids)}
    sources: dict[str, list[StorySource]] = {}
    for r in c.execute(f"SELECT * FROM story_sources WHERE story_id IN ({marks}) ORDER BY story_id, pos",
                       ids):
        sources.setdefault(r["story_id"], []).append(source_of(r))
    return [(Story(id=r["id"], watch=r["watch"], title=r["title"], summary=r["summary"],
                      first_published=at_time(r["first_published"]), last_published=at_time(r["last_published"]),
                      sources=tuple(sources.get(r["id"], ())), score=r["score"], features=r["features"],
                      keys=as_tuple(r["keys"])), r["changed"])
               for r in (rows.get(i) for i in ids) if r is not None]


def _story_ids(c: Conn, sql: str, params: Sequence[Any], cache: StoryCache | None = None) -> list[Story]:
    return _load_stories(c, [r[0] for r in c.execute(sql, params)], cache)


_CHANGES = "store:story_changes"  # meta: the last change number handed out (migration v5)


def _top_change(c: Conn) -> int:
    row = c.execute("SELECT CAST(value AS INTEGER) FROM meta WHERE key = ?", (_CHANGES,)).fetchone()
    return int(row[0]) if row else 0


def _save_story(c: Conn, s: Story, cache: StoryCache | None = None) -> None:
    last = ts(s.last_published)
    # The next change number, taken in this write transaction (so numbers follow commit order)
    # from a counter that only grows: pruned stories never give theirs back.
    # What the rows hold now, when the cache knows: then only the sources after the part both
    # share are rewritten (a merge usually appends one) and the keys only when they moved.
    before = c.execute("SELECT changed FROM stories WHERE id = ?", (s.id,)).fetchone()
    old = cache.get(s.id, before[0]) if cache is not None and before is not None else None
    change = c.execute("INSERT INTO meta (key, value) VALUES (?, '1') ON CONFLICT(key) DO UPDATE SET "
                       "value = CAST(CAST(value AS INTEGER) + 1 AS TEXT) RETURNING CAST(value AS INTEGER)",
                       (_CHANGES,)).fetchone()[0]
    c.execute(
        "INSERT INTO stories (id, watch, title, summary, first_published, last_published, score, "
        "features, keys, changed) VALUES (?,?,?,?,?,?,?,?,?,?) ON CONFLICT(id) DO UPDATE SET watch=excluded.watch, "
        "title=excluded.title, summary=excluded.summary, first_published=excluded.first_published, "
        "last_published=excluded.last_published, score=excluded.score, features=excluded.features, "
        "keys=excluded.keys, changed=excluded.changed",
        (s.id, s.watch, s.title, s.summary, ts(s.first_published), last, s.score, s.features,
         as_json(s.keys), change))
    keep = shared_sources(old, s)
    c.execute("DELETE FROM story_sources WHERE story_id = ? AND pos >= ?", (s.id, keep))
    c.executemany("INSERT INTO story_sources VALUES (?,?,?,?,?,?,?,?,?,?)",
                  [(s.id, n, x.item_key, x.outlet, x.url, x.lang, ts(x.published), x.title, x.tier,
                    as_json(x.new_facts)) for n, x in enumerate(s.sources[keep:], keep)])
    if not same_keys(old, s):
        c.execute("DELETE FROM story_keys WHERE story_id = ?", (s.id,))
        c.executemany("INSERT OR IGNORE INTO story_keys VALUES (?,?,?,?)",
                      [(k, s.watch, last, s.id) for k in s.keys])
    if cache is not None and exact(s):
        cache.put(change, s)


def _changed(c: Conn, watch: str, after: int, since: datetime | None,
             cache: StoryCache | None = None) -> tuple[list[Story], int]:
    # One read transaction: the stories and the highest change number come from one snapshot.
    own = not c.in_transaction  # else inside a batch, whose transaction is a snapshot already
    if own:
        c.execute("BEGIN")
    try:
        top = _top_change(c)
        params: tuple[str | None, ...] = ()
        if since is None:
            sql = "SELECT id FROM stories WHERE changed > ? AND changed <= ? AND watch = ? ORDER BY changed"
        else:  # published since then, or holding a report first seen since then (a feed that lags)
            sql = ("SELECT id FROM stories s WHERE changed > ? AND changed <= ? AND watch = ? AND (last_published >= ? "
                   "OR EXISTS (SELECT 1 FROM story_sources x JOIN items i ON i.key = x.item_key "
                   "WHERE x.story_id = s.id AND i.fetched >= ?)) ORDER BY changed")
            params = (ts(since), ts(since))
        stories = _story_ids(c, sql, (after, top, watch, *params), cache)
    finally:
        if own:
            c.execute("COMMIT")
    return stories, int(top)


def _activity(c: Conn, watch: str, bounds: Sequence[datetime]) -> list[tuple[int, int]]:
    if len(bounds) < 2:
        return []
    span = (watch, ts(bounds[0]), ts(bounds[-1]))
    items = c.execute("SELECT i.published FROM items i JOIN matches m ON m.item_key = i.key AND m.watch = ? "
                      "WHERE m.relevant = 1 AND i.published >= ? AND i.published < ?", span).fetchall()
    firsts = c.execute("SELECT first_published FROM stories WHERE watch = ? AND first_published >= ? "
                       "AND first_published < ?", span).fetchall()
    return list(zip(count_between([at_time(r[0]) for r in items], bounds),
                    count_between([at_time(r[0]) for r in firsts], bounds), strict=True))


_LATEST_OF_WATCH = "SELECT id FROM stories WHERE watch = ? ORDER BY last_published DESC, id LIMIT ?"
# The latest stories a report is compared with: updated since its window opened, begun by its end
_LATEST_IN_WINDOW = ("SELECT id FROM stories WHERE watch = ? AND last_published >= ? AND first_published <= ? "
                     "ORDER BY last_published DESC, id LIMIT ?")
_NO_END = datetime(9999, 12, 31, tzinfo=UTC)
_HOLDING = ("SELECT s.id FROM story_sources x JOIN stories s ON s.id = x.story_id WHERE x.item_key = ?{} "
            "ORDER BY s.last_published DESC, s.id LIMIT 1")


def _holding(c: Conn, item_key: str, watch: str | None, cache: StoryCache) -> Story | None:
    """The most recently updated story holding the item (of `watch` only, when given)."""
    if watch is None:
        found = _story_ids(c, _HOLDING.format(""), (item_key,), cache)
    else:
        found = _story_ids(c, _HOLDING.format(" AND s.watch = ?"), (item_key, watch), cache)
    return found[0] if found else None


def candidates_sql(n_keys: int) -> str:
    """The candidate lookup: one range of the story_keys primary key per key, then a group-by."""
    return ("SELECT story_id, COUNT(*) AS shared, MAX(last_published) AS last FROM story_keys "
            f"WHERE key IN ({placeholders(n_keys)}) AND watch = ? AND last_published >= ? "
            "GROUP BY story_id ORDER BY shared DESC, last DESC, story_id LIMIT ?")


def _candidates(c: Conn, watch: str, keys: Sequence[str], since: datetime, limit: int,
                cache: StoryCache | None = None) -> list[Story]:
    keys = list(dict.fromkeys(keys))
    if not keys or limit <= 0:
        return []
    return _story_ids(c, candidates_sql(len(keys)), [*keys, watch, ts(since), limit], cache)


def _run(c: Conn, sql: str, params: Sequence[Any]) -> None:
    c.execute(sql, params)  # the cursor stays on the store's thread (see SqliteStore._call)


def _link_delivery(c: Conn, d: Delivery) -> None:
    """The delivery's story links made equal to its stories: only the difference is written (a
    flood digest is saved once per story it gathers; rewriting all its links each time made a
    burst quadratic in the digest's length)."""
    ids = dict.fromkeys([*([d.story_id] if d.story_id else []), *d.story_ids])
    have = {r[0] for r in c.execute("SELECT story_id FROM delivery_stories WHERE delivery_id = ?", (d.id,))}
    gone = [(s, d.id) for s in have if s not in ids]
    if gone:
        c.executemany("DELETE FROM delivery_stories WHERE story_id = ? AND delivery_id = ?", gone)
    new = [(s, d.id) for s in ids if s not in have]
    if new:
        c.executemany("INSERT INTO delivery_stories VALUES (?, ?)", new)


def _enqueue(c: Conn, deliveries: Sequence[Delivery], meta: Mapping[str, str]) -> int:
    sql = f"INSERT OR IGNORE INTO deliveries VALUES ({placeholders(len(DELIVERY_COLS))})"
    added = 0
    for d in deliveries:
        if c.execute(sql, delivery_params(d)).rowcount:
            _link_delivery(c, d)
            added += 1
    if added:
        c.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", list(meta.items()))
    return added


def _save_delivery(c: Conn, d: Delivery) -> None:
    updates = ", ".join(f"{n} = excluded.{n}" for n in DELIVERY_COLS[1:])
    c.execute(f"INSERT INTO deliveries VALUES ({placeholders(len(DELIVERY_COLS))}) "
              f"ON CONFLICT(id) DO UPDATE SET {updates}", delivery_params(d))
    _link_delivery(c, d)


class _Batch:
    """An open `SqliteStore.batch()`: its queued writes, and the event set when it ends."""

    def __init__(self) -> None:
        self.pending: list[Callable[[], object]] = []
        self.done = asyncio.Event()

    def take(self) -> list[Callable[[], object]]:
        pending, self.pending = self.pending, []
        return pending


class DatabaseUnusable(RuntimeError):
    """SqliteStore.open() cannot use the file; the message is one line for the operator.
    (A RuntimeError, as migrate's "newer than this deskwatch" refusal was before it.)"""


class DatabaseMissing(DatabaseUnusable):
    """SqliteStore(create=False).open() found no file: a read-only command never creates one."""


class SqliteStore:
    """Store on one SQLite file (or ":memory:"); see bot/store/base.py for the contract.
    `create=False` (commands that only read) opens an existing file and never makes one."""

    def __init__(self, path: str, busy_timeout_ms: int = 5000, *, create: bool = True) -> None:
        self.path = path
        self.create = create
        self._busy_timeout_ms = busy_timeout_ms
        self._conn: Conn | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._cache = StoryCache()  # touched only on the store's thread
        self._active: _Batch | None = None  # the batch whose transaction holds the connection
        self._owner: ContextVar[_Batch | None] = ContextVar(f"sqlite-batch-{id(self)}", default=None)
        self._batch_open = False  # the store's thread is inside a batch's transaction
        self._waiting = 0  # calls of other tasks waiting for the active batch to commit

    # --- plumbing --------------------------------------------------------------------------------
    def _connect(self) -> Conn:
        target, uri = self.path, self.path.startswith("file:")
        if self.path != ":memory:" and not uri:
            if not self.create:  # mode=rw: SQLite itself refuses to create the file, even in a race
                if not os.path.exists(self.path):  # a folder there is "cannot open", below, not "missing"
                    raise DatabaseMissing(f"there is no database at {self.path} yet: run `deskwatch run` or "
                                          "`deskwatch once` first")
                target, uri = f"{Path(self.path).absolute().as_uri()}?mode=rw", True
            else:
                os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
        conn = sqlite3.connect(target, isolation_level=None, uri=uri)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")  # with WAL: durable against a process crash
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_ms)}")
        migrate(conn)
        return conn

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        if self._executor is None:
            raise RuntimeError("SqliteStore is not open")
        job = partial(fn, *args)
        mine = self._owner.get()
        if mine is not None:  # a call of this task's batch: inside its transaction
            await self._activate(mine)
            job = partial(self._in_batch, mine.take(), job)
        else:
            await self._after_batch()
        result = await asyncio.get_running_loop().run_in_executor(self._executor, job)
        # A cursor must never leave the worker thread: freeing it here would touch the connection
        # from the wrong thread (SQLITE_MISUSE at random under load). Fail loudly in development.
        if isinstance(result, sqlite3.Cursor):
            raise TypeError("SqliteStore internal call returned a cursor; return plain values")
        return result

    def _c(self) -> Conn:
        assert self._conn is not None, "SqliteStore is not open"
        return self._conn

    def _tx(self, fn: Callable[..., T], *args: Any) -> T:
        conn = self._c()
        if self._batch_open:  # one write inside a batch: undone alone if it fails
            conn.execute("SAVEPOINT one_write")
            try:
                result = fn(conn, *args)
            except BaseException:
                conn.execute("ROLLBACK TO one_write")
                conn.execute("RELEASE one_write")
                self._cache.rollback()  # what it staged may name rows that are gone
                self._cache.begin()
                raise
            conn.execute("RELEASE one_write")
            return result
        conn.execute("BEGIN IMMEDIATE")
        self._cache.begin()
        try:
            result = fn(conn, *args)
            conn.execute("COMMIT")
        except BaseException:
            self._cache.rollback()
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        self._cache.commit()
        return result

    async def _write(self, fn: Callable[..., T], *args: Any) -> T:
        return await self._call(self._tx, fn, *args)

    async def _later(self, fn: Callable[..., None], *args: Any) -> None:
        """A write whose caller needs no answer: inside a batch it is queued and runs, in order,
        at the start of the batch's next call (or its commit), saving a hop to the thread."""
        mine = self._owner.get()
        if mine is not None:
            mine.pending.append(partial(self._tx, fn, *args))
        else:
            await self._write(fn, *args)

    # --- batches: one transaction for a group of calls (bot/store/base.py) -------------------------
    # A batch takes the connection at its first hop to the thread (until then it only queues
    # writes, and others go on), and holds it until it commits: meanwhile the calls of other
    # tasks wait, for they would run inside its transaction.
    async def _after_batch(self) -> None:
        while self._active is not None:
            self._waiting += 1
            try:
                await self._active.done.wait()
            finally:
                self._waiting -= 1

    async def _activate(self, batch: _Batch) -> None:
        if self._active is batch:
            return
        if self._waiting:  # let the calls held by the last batch go first: batches back to back
            await asyncio.sleep(0)  # (one per item) would otherwise starve every other task
        await self._after_batch()
        self._active = batch

    @asynccontextmanager
    async def batch(self) -> AsyncIterator[None]:
        if self._owner.get() is not None:
            yield  # nested: part of the open batch
            return
        if self._executor is None:
            raise RuntimeError("SqliteStore is not open")
        mine = _Batch()
        token = self._owner.set(mine)
        loop = asyncio.get_running_loop()
        try:
            try:
                yield
            except BaseException:
                mine.pending.clear()
                if self._active is mine:
                    # Submitted before anything else can be: the next call finds the connection
                    # clean even if this task is cancelled while it waits.
                    await asyncio.shield(loop.run_in_executor(self._executor, self._end_batch, [], False))
                raise
            if mine.pending or self._active is mine:
                await self._activate(mine)
                await asyncio.shield(loop.run_in_executor(self._executor, self._end_batch, mine.take(), True))
        finally:
            self._owner.reset(token)
            if self._active is mine:
                self._active = None
            mine.done.set()

    def _in_batch(self, pending: list[Callable[[], object]], job: Callable[[], T]) -> T:
        if not self._batch_open:
            self._c().execute("BEGIN IMMEDIATE")
            self._batch_open = True
            self._cache.begin()
        for write in pending:
            write()
        return job()

    def _end_batch(self, pending: list[Callable[[], object]], commit: bool) -> None:
        try:
            if commit and pending:
                self._in_batch(pending, lambda: None)
            if self._batch_open and commit:
                self._c().execute("COMMIT")
                self._cache.commit()
        except BaseException:
            commit = False
            raise
        finally:
            if self._batch_open and not commit:
                if self._c().in_transaction:
                    self._c().execute("ROLLBACK")
                self._cache.rollback()
            self._batch_open = False

    async def _exec(self, sql: str, params: Sequence[Any] = ()) -> int:
        return await self._write(lambda c: c.execute(sql, params).rowcount)

    async def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        return await self._call(lambda: self._c().execute(sql, params).fetchall())

    async def _read(self, fn: Callable[..., T], *args: Any) -> T:
        return await self._call(lambda: fn(self._c(), *args))

    # --- lifecycle -------------------------------------------------------------------------------
    async def open(self) -> None:
        """Open (creating or migrating) the file; raise DatabaseUnusable, whose message names the
        file and what to do, when it is damaged, unreadable or newer than this code."""
        if self._executor is not None:
            return
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="deskwatch-sqlite")
        try:
            self._conn = await self._call(self._connect)
        except BaseException as exc:
            self._executor.shutdown(wait=True)
            self._executor = None
            where = f"the database {self.path}"
            if isinstance(exc, DatabaseUnusable):
                raise
            if isinstance(exc, RuntimeError):  # migrate(): the file's schema is newer than ours
                raise DatabaseUnusable(f"cannot use {where}: {exc}; upgrade deskwatch, or restore a backup "
                                       "made by this version") from exc
            if isinstance(exc, sqlite3.OperationalError | OSError):  # cannot open, locked, no space
                raise DatabaseUnusable(f"cannot open {where} ({exc}): check the path, its permissions and "
                                       "free space, and that no other program locks it; if the file is "
                                       "damaged, restore a backup") from exc
            if isinstance(exc, sqlite3.DatabaseError):  # "file is not a database", "malformed"
                raise DatabaseUnusable(f"cannot use {where} ({exc}): the file is damaged or is not a "
                                       "deskwatch database; restore a backup, or move it away to start "
                                       "an empty one") from exc
            raise

    async def thread_cpu(self) -> float:
        """CPU seconds the store's thread has used so far (for benchmarks)."""
        return await self._call(time.thread_time)

    async def close(self) -> None:
        if self._executor is None:
            return
        if self._conn is not None:
            await self._call(self._conn.close)
            self._conn = None
        self._executor.shutdown(wait=True)
        self._executor = None

    # --- feeds -----------------------------------------------------------------------------------
    async def sync_feeds(self, feeds: Sequence[tuple[str, str]]) -> None:
        def run(c: Conn) -> None:
            for name, url in feeds:
                c.execute("INSERT INTO feeds (name, url) VALUES (?, ?) ON CONFLICT(name) DO UPDATE "
                          "SET url = excluded.url, etag = NULL, last_modified = NULL, body_hash = NULL "
                          "WHERE feeds.url <> excluded.url", (name, url))
        await self._write(run)

    async def feed_state(self, name: str) -> FeedState | None:
        rows = await self._rows("SELECT * FROM feeds WHERE name = ?", (name,))
        return feed_of(rows[0]) if rows else None

    async def feed_states(self) -> list[FeedState]:
        return [feed_of(r) for r in await self._rows("SELECT * FROM feeds ORDER BY name")]

    async def due_feeds(self, now: datetime) -> list[FeedState]:
        # The rule (which survives clock steps) is core/schedule's; feeds are few, so read them all.
        # The store does not see [polling]: MAX_INTERVAL is the largest max_interval config allows.
        states = [feed_of(r) for r in await self._rows("SELECT * FROM feeds")]
        return schedule.due_feeds(states, now, MAX_INTERVAL)

    async def save_feed_state(self, state: FeedState) -> None:
        await self._exec(f"INSERT OR REPLACE INTO feeds ({','.join(FEED_COLS)}) "
                         f"VALUES ({placeholders(len(FEED_COLS))})", feed_params(state))

    # --- items -----------------------------------------------------------------------------------
    async def add_items(self, items: Sequence[Item]) -> Added:
        return await self._write(_add_items, items) if items else Added(())

    async def unprocessed_items(self, limit: int = 1000) -> list[Item]:
        rows = await self._rows("SELECT * FROM items WHERE processed = 0 ORDER BY id LIMIT ?", (limit,))
        return [item_of(r) for r in rows]

    async def mark_processed(self, keys: Sequence[str]) -> None:
        if keys:
            await self._later(_run, f"UPDATE items SET processed = 1 WHERE key IN ({placeholders(len(keys))})",
                              list(keys))

    async def item(self, key: str) -> Item | None:
        rows = await self._rows("SELECT * FROM items WHERE key = ?", (key,))
        return item_of(rows[0]) if rows else None

    async def known_keys(self, keys: Sequence[str]) -> set[str]:
        return await self._read(_known_keys, list(dict.fromkeys(keys))) if keys else set()

    async def item_by_url(self, url: str) -> Item | None:
        if not url:
            return None
        rows = await self._rows("SELECT * FROM items WHERE url = ? AND url <> '' ORDER BY id LIMIT 1",
                                (url,))
        return item_of(rows[0]) if rows else None

    async def latest_items(self, limit: int, watch: str | None = None) -> list[Item]:
        if watch is None:
            rows = await self._rows("SELECT * FROM items ORDER BY published DESC, id DESC LIMIT ?", (limit,))
        else:  # items the watch found relevant
            rows = await self._rows(
                "SELECT i.* FROM items i JOIN matches m ON m.item_key = i.key WHERE m.watch = ? "
                "AND m.relevant = 1 ORDER BY i.published DESC, i.id DESC LIMIT ?", (watch, limit))
        return [item_of(r) for r in rows]

    async def index_for_search(self) -> int:
        total = 0
        while n := await self._write(_index_pending, SEARCH_BATCH):
            total += n
        return total

    async def search_items(self, query: str, since: datetime | None, limit: int) -> list[Item]:
        match = fts_query(query)
        if match is None or limit <= 0:
            return []
        await self.index_for_search()  # what the last cycles stored is found too
        return [item_of(r) for r in await self._read(_search, query, match, ts(since) or "", limit)]

    async def record_events(self, events: Sequence[ItemEvent]) -> None:
        rows = [(e.item_key, ts(e.at), e.event, e.detail, e.story_id, e.destination) for e in events]

        def run(c: Conn) -> None:
            # Return nothing: a Cursor handed back to the event-loop thread would be freed there,
            # resetting its statement from the wrong thread while the worker uses the connection
            # (seen as a random "bad parameter or other API misuse" under load).
            c.executemany("INSERT INTO item_events (item_key, at, event, detail, story_id, destination) "
                          "VALUES (?,?,?,?,?,?)", rows)

        if rows:
            await self._later(run)

    async def item_events(self, key: str) -> list[ItemEvent]:
        rows = await self._rows("SELECT * FROM item_events WHERE item_key = ? ORDER BY at, id", (key,))
        return [event_of(r) for r in rows]

    async def save_match(self, item_key: str, match: Match) -> None:
        await self.save_matches([(item_key, match)])

    async def save_matches(self, matches: Sequence[tuple[str, Match]]) -> None:
        rows = [(k, m.watch, int(m.relevant), m.score, as_json(m.reasons)) for k, m in matches]

        def run(c: Conn) -> None:  # returns nothing: see record_events
            c.executemany("INSERT OR REPLACE INTO matches VALUES (?,?,?,?,?)", rows)

        if rows:
            await self._later(run)

    async def matches(self, item_key: str) -> list[Match]:
        rows = await self._rows("SELECT * FROM matches WHERE item_key = ? ORDER BY watch", (item_key,))
        return [Match(r["watch"], bool(r["relevant"]), r["score"], as_tuple(r["reasons"])) for r in rows]

    # --- stories ---------------------------------------------------------------------------------
    async def save_story(self, story: Story) -> None:
        await self._later(_save_story, story, self._cache)

    async def story(self, story_id: str) -> Story | None:
        found = await self._read(_load_stories, [story_id], self._cache)
        return found[0] if found else None

    async def story_of_item(self, item_key: str, watch: str | None = None) -> Story | None:
        return await self._read(_holding, item_key, watch, self._cache)

    async def story_candidates(
        self, watch: str, keys: Sequence[str], since: datetime, limit: int
    ) -> list[Story]:
        return await self._read(_candidates, watch, keys, since, limit, self._cache)

    async def candidate_stories(self, watch: str, keys: Sequence[str], since: datetime, limit: int,
                                latest: int, until: datetime | None = None) -> tuple[list[Story], list[Story]]:
        _, keyed, recent = await self._read(self._context, None, watch, keys, since, limit, latest, until)
        return keyed, recent

    async def story_or_candidates(self, item_key: str, watch: str, keys: Sequence[str], since: datetime,
                                  limit: int, latest: int, until: datetime | None = None
                                  ) -> tuple[Story | None, list[Story], list[Story]]:
        return await self._read(self._context, item_key, watch, keys, since, limit, latest, until)

    def _context(self, c: Conn, item_key: str | None, watch: str, keys: Sequence[str], since: datetime, limit: int,
                 latest: int, until: datetime | None) -> tuple[Story | None, list[Story], list[Story]]:
        """story_or_candidates on the store's thread, in one snapshot (a batch is one already);
        without an item key, only the candidates."""
        own = not c.in_transaction
        if own:
            c.execute("BEGIN")
        try:
            held = _holding(c, item_key, watch, self._cache) if item_key is not None else None
            window = (watch, ts(since), ts(until or _NO_END), latest)
            return (held, began_by(_candidates(c, watch, keys, since, limit, self._cache), until),
                    _story_ids(c, _LATEST_IN_WINDOW, window, self._cache))
        finally:
            if own:
                c.execute("COMMIT")

    async def latest_stories(self, limit: int, watch: str | None = None) -> list[Story]:
        if watch is None:
            return await self._read(_story_ids, "SELECT id FROM stories ORDER BY last_published DESC, id "
                                    "LIMIT ?", (limit,), self._cache)
        return await self._read(_story_ids, _LATEST_OF_WATCH, (watch, limit), self._cache)

    async def stories_changed(self, watch: str, after: int, since: datetime | None = None
                              ) -> tuple[list[Story], int]:
        return await self._read(_changed, watch, after, since, self._cache)

    async def activity(self, watch: str, bounds: Sequence[datetime]) -> list[tuple[int, int]]:
        return await self._read(_activity, watch, bounds)

    # --- subscriptions and mutes -----------------------------------------------------------------
    async def subscriptions(self) -> list[Subscription]:
        rows = await self._rows("SELECT * FROM subscriptions ORDER BY watch, destination")
        return [Subscription(r["watch"], r["destination"], r["mode"], r["schedule"], r["timezone"],
                             r["origin"]) for r in rows]

    async def add_subscription(self, sub: Subscription) -> None:
        await self._exec("INSERT OR REPLACE INTO subscriptions VALUES (?,?,?,?,?,?)",
                         (sub.watch, sub.destination, sub.mode, sub.schedule, sub.timezone, sub.origin))

    async def remove_subscription(self, watch: str, destination: str) -> bool:
        return await self._exec("DELETE FROM subscriptions WHERE watch = ? AND destination = ?",
                                (watch, destination)) > 0

    async def add_mute(self, mute: Mute) -> None:
        await self._exec("INSERT OR REPLACE INTO mutes VALUES (?,?,?)",
                         (mute.destination, mute.term, ts(mute.until)))

    async def remove_mute(self, destination: str, term: str) -> bool:
        return await self._exec("DELETE FROM mutes WHERE destination = ? AND term = ?",
                                (destination, term)) > 0

    async def mutes(self, now: datetime) -> list[Mute]:
        rows = await self._rows("SELECT * FROM mutes WHERE until IS NULL OR until > ? "
                                "ORDER BY destination, term", (ts(now),))
        return [Mute(r["destination"], r["term"], maybe_time(r["until"])) for r in rows]

    # --- deliveries ------------------------------------------------------------------------------
    async def enqueue(self, deliveries: Sequence[Delivery], meta: Mapping[str, str] | None = None) -> int:
        return await self._write(_enqueue, deliveries, meta or {}) if deliveries else 0

    async def delivery(self, delivery_id: str) -> Delivery | None:
        rows = await self._rows("SELECT * FROM deliveries WHERE id = ?", (delivery_id,))
        return delivery_of(rows[0]) if rows else None

    async def save_delivery(self, delivery: Delivery) -> None:
        await self._later(_save_delivery, delivery)

    async def due_deliveries(self, now: datetime, limit: int = 500) -> list[Delivery]:
        rows = await self._rows(
            "SELECT * FROM deliveries WHERE status IN (?, ?) AND (next_attempt IS NULL OR "
            "next_attempt <= ?) ORDER BY created, id LIMIT ?", (*_ACTIVE, ts(now), limit))
        return [delivery_of(r) for r in rows]

    async def alert_deliveries_for_story(self, story_id: str) -> list[Delivery]:
        rows = await self._rows("SELECT * FROM deliveries WHERE story_id = ? AND kind = 'alert' "
                                "ORDER BY created, id", (story_id,))
        return [delivery_of(r) for r in rows]

    async def reopen_alerts(self, story_id: str, version: int) -> None:
        await self._later(_run, "UPDATE deliveries SET status = 'pending', next_attempt = NULL, attempts = 0, "
                          "last_error = '' WHERE story_id = ? AND kind = 'alert' AND status = 'sent' "
                          "AND sent_version < ?", (story_id, version))

    async def deliveries_for_item(self, item_key: str) -> list[Delivery]:
        rows = await self._rows(
            "SELECT DISTINCT d.* FROM story_sources x JOIN delivery_stories l ON l.story_id = x.story_id "
            "JOIN deliveries d ON d.id = l.delivery_id WHERE x.item_key = ? ORDER BY d.created, d.id",
            (item_key,))
        return [delivery_of(r) for r in rows]

    async def pending_count(self) -> int:
        rows = await self._rows("SELECT COUNT(*) FROM deliveries WHERE status IN (?, ?)", _ACTIVE)
        return int(rows[0][0])

    # --- destination health and meta ---------------------------------------------------------------
    async def set_destination_health(self, name: str, ok: bool, message: str, at: datetime) -> None:
        await self._exec("INSERT OR REPLACE INTO destination_health VALUES (?,?,?,?)",
                         (name, int(ok), message, ts(at)))

    async def destination_health(self) -> dict[str, tuple[bool, str, datetime]]:
        rows = await self._rows("SELECT * FROM destination_health ORDER BY name")
        return {r["name"]: (bool(r["ok"]), r["message"], at_time(r["at"])) for r in rows}

    async def get_meta(self, key: str) -> str | None:
        rows = await self._rows("SELECT value FROM meta WHERE key = ?", (key,))
        return rows[0][0] if rows else None

    async def set_meta(self, key: str, value: str) -> None:
        await self._later(_run, "INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    # --- leases ----------------------------------------------------------------------------------
    # Each is one statement in its own IMMEDIATE transaction, so two processes racing for a lease
    # cannot both win: the WHERE decides under SQLite's write lock.
    async def take_lease(self, name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
        return await self._exec(
            "INSERT INTO leases (name, holder, expires) VALUES (?, ?, ?) ON CONFLICT(name) DO UPDATE "
            "SET holder = excluded.holder, expires = excluded.expires "
            "WHERE leases.holder = excluded.holder OR leases.expires <= ?",
            (name, holder, ts(now + ttl), ts(now))) > 0

    async def renew_lease(self, name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
        return await self._exec("UPDATE leases SET expires = ? WHERE name = ? AND holder = ?",
                                (ts(now + ttl), name, holder)) > 0

    async def release_lease(self, name: str, holder: str) -> bool:
        return await self._exec("DELETE FROM leases WHERE name = ? AND holder = ?", (name, holder)) > 0

    async def lease_holder(self, name: str, now: datetime) -> str | None:
        rows = await self._rows("SELECT holder FROM leases WHERE name = ? AND expires > ?", (name, ts(now)))
        return str(rows[0][0]) if rows else None

    # --- retention: in short steps, each its own transaction (bot/store/retention.py) ------------
    async def prune(self, before: datetime) -> Pruned:
        cut, done = ts(before), Pruned()
        while n := await self._write(retention.finished_deliveries, cut):
            done += Pruned(deliveries=n)
        while n := await self._write(retention.stories, cut):
            done += Pruned(stories=n)
        while (step := await self._write(retention.items, cut))[0]:
            done += Pruned(items=step[0], events=step[1], matches=step[2])
        while n := await self._write(retention.orphan_events, cut):
            done += Pruned(events=n)
        return done + Pruned(meta=await self._write(retention.meta, before))
