"""`deskwatch migrate-store --to postgresql://…`: move a desk's SQLite database into PostgreSQL.

Table by table, in one SQLite read snapshot and one PostgreSQL transaction: either everything
arrives, with every table's row count checked against the source before the commit, or nothing
does. Rows keep their ids (items, events: storage order decides ties and the backlog's order),
their story change numbers and the counter in meta (digests resume where they stopped), and
deliveries their status, ref and attempts (a sent alert is still edited, never posted again).
Search words are computed as PostgresStore.add_items computes them (pg_rows.item_words).
Leases are not copied: they belong to running processes, and the SQLite bot must be stopped.
The target URL may hold a password: only `safe_url` of it is ever shown.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg

from bot.logs import say
from bot.model import Item
from bot.store import pg_rows
from bot.store.postgres import PostgresStore
from bot.store.sqlite import DatabaseUnusable, SqliteStore

_CHUNK = 2000  # rows per COPY: bounded memory, few round trips


class MigrateError(Exception):
    """The copy was refused or failed and nothing was committed; str() is one line."""


def _time(v: str | None) -> datetime | None:
    return None if v is None else datetime.fromisoformat(v)


def _list(v: str) -> list[str]:
    return list(json.loads(v))


def _bool(v: int) -> bool:
    return bool(v)


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[str, ...]
    order: str  # a stable order, so the copy reads the same rows the same way every time
    convert: tuple[tuple[str, Callable[[Any], Any]], ...] = ()  # SQLite text/int -> PostgreSQL value


_ITEM_COLS = ("id", *pg_rows.ITEM_COLS, "processed")
# Parents before children (story_sources and story_keys reference stories, delivery_stories
# references deliveries). Leases and schema_version are not data.
TABLES: tuple[Table, ...] = (
    Table("feeds", pg_rows.FEED_COLS, "name",
          (("last_attempt", _time), ("last_success", _time), ("next_poll", _time))),
    Table("items", _ITEM_COLS, "id",
          (("published", _time), ("fetched", _time), ("dated", _bool), ("processed", _bool))),
    Table("item_events", ("id", "item_key", "at", "event", "detail", "story_id", "destination"), "id",
          (("at", _time),)),
    Table("matches", ("item_key", "watch", "relevant", "score", "reasons"), "item_key, watch",
          (("relevant", _bool), ("reasons", _list))),
    Table("stories", ("id", "watch", "title", "summary", "first_published", "last_published", "score", "features",
                      "keys", "changed"), "id",
          (("first_published", _time), ("last_published", _time), ("keys", _list))),
    Table("story_sources", ("story_id", "pos", "item_key", "outlet", "url", "lang", "published", "title", "tier",
                            "new_facts"), "story_id, pos",
          (("published", _time), ("new_facts", _list))),
    Table("story_keys", ("key", "watch", "last_published", "story_id"), "key, watch, last_published, story_id",
          (("last_published", _time),)),
    Table("subscriptions", ("watch", "destination", "mode", "schedule", "timezone", "origin"), "watch, destination"),
    Table("mutes", ("destination", "term", "until"), "destination, term", (("until", _time),)),
    Table("deliveries", pg_rows.DELIVERY_COLS, "id",
          (("created", _time), ("story_ids", _list), ("next_attempt", _time))),
    Table("delivery_stories", ("story_id", "delivery_id"), "delivery_id, story_id"),
    Table("destination_health", ("name", "ok", "message", "at"), "name", (("ok", _bool), ("at", _time))),
    Table("meta", ("key", "value"), "key"),
)
_IDENTITY = ("items", "item_events")  # their id sequences continue after the copied ids


@dataclass(frozen=True)
class Copied:
    counts: tuple[tuple[str, int, int], ...]  # (table, rows in SQLite, rows in PostgreSQL)
    target: str  # the URL without its password


class _Reader:
    """The SQLite file, read-only, in one read transaction, on its own thread (a connection and
    its cursors never leave the thread that made them)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="deskwatch-migrate")
        self._conn: sqlite3.Connection | None = None
        self._cursor: sqlite3.Cursor | None = None

    async def _run(self, fn: Callable[[], Any]) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn)

    async def open(self) -> None:
        def connect() -> None:
            self._conn = sqlite3.connect(f"{Path(self.path).absolute().as_uri()}?mode=ro", uri=True,
                                         isolation_level=None)
            self._conn.execute("BEGIN")  # one snapshot for every table, even if a bot still writes
        await self._run(connect)

    async def count(self, table: str) -> int:
        return int(await self._run(lambda: self._c().execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]))

    async def start(self, t: Table) -> None:
        def run() -> None:
            self._cursor = self._c().execute(f"SELECT {', '.join(t.columns)} FROM {t.name} ORDER BY {t.order}")
        await self._run(run)

    async def chunk(self) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in await self._run(lambda: self._cursor.fetchmany(_CHUNK) if self._cursor else [])]

    def _c(self) -> sqlite3.Connection:
        assert self._conn is not None, "reader not open"
        return self._conn

    async def close(self) -> None:
        def run() -> None:
            if self._cursor is not None:
                self._cursor.close()
                self._cursor = None
            if self._conn is not None:
                self._conn.close()
                self._conn = None
        await self._run(run)
        self._pool.shutdown(wait=True)


async def migrate_store(source: str, target: str, *, force: bool = False) -> Copied:
    """Copy the SQLite database at `source` into the PostgreSQL database at `target`."""
    where = pg_rows.safe_url(target)
    if not Path(source).is_file():
        raise MigrateError(f"no SQLite database at {source}: nothing to copy")
    # Opening through the stores gives their checks and one-line messages (damaged, too new) and
    # brings both schemas to this version (an older SQLite file is upgraded as `run` would).
    for store in (SqliteStore(source, create=False), PostgresStore(target, pool_size=1)):
        await store.open()
        await store.close()
    reader = _Reader(source)
    await reader.open()
    try:
        conn = await asyncpg.connect(target)
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        await reader.close()
        raise MigrateError(f"cannot connect to {where} ({type(exc).__name__})") from None
    try:
        async with conn.transaction():
            await _make_room(conn, where, force)
            counts = [(t.name, await _copy(reader, conn, t)) for t in TABLES]
            for name in _IDENTITY:
                await conn.execute(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                                   f"COALESCE((SELECT MAX(id) FROM {name}), 0) + 1, false)")
            checked = [(name, await reader.count(name), await _count(conn, name)) for name, _ in counts]
            wrong = [f"{n} {a} in SQLite, {b} in PostgreSQL" for n, a, b in checked if a != b]
            if wrong:  # raising rolls the whole copy back
                raise MigrateError(f"counts differ after the copy ({'; '.join(wrong)}): nothing was committed")
    except (asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        raise MigrateError(f"the copy into {where} failed ({type(exc).__name__}: {exc}); nothing was "
                           "committed") from None
    finally:
        await conn.close()
        await reader.close()
    return Copied(tuple(checked), where)


async def _count(conn: asyncpg.Connection, table: str) -> int:
    return int(await conn.fetchval(f"SELECT COUNT(*) FROM {table}"))


async def _make_room(conn: asyncpg.Connection, where: str, force: bool) -> None:
    """Refuse a target that holds deskwatch data (saying what), or empty it under --force."""
    held = [(t.name, n) for t in TABLES if (n := await _count(conn, t.name))]
    if held and not force:
        what = ", ".join(f"{n} {name}" for name, n in held)
        raise MigrateError(f"{where} is not empty ({what}); pass --force to replace what is there")
    if held:  # children first; the foreign keys cascade anyway
        await conn.execute("; ".join(f"DELETE FROM {t.name}" for t in reversed(TABLES)))


async def _copy(reader: _Reader, conn: asyncpg.Connection, t: Table) -> int:
    await reader.start(t)
    index = [(t.columns.index(c), fn) for c, fn in t.convert]
    if t.name == "items":
        # Its search words travel as text[] through a scratch table: COPY's binary format cannot
        # carry a tsvector. (LIKE copies no identity, so the ids go in as they are.)
        await conn.execute("CREATE TEMP TABLE migrate_items (LIKE items) ON COMMIT DROP; "
                           "ALTER TABLE migrate_items DROP COLUMN words, ADD COLUMN words TEXT[]")
    done = 0
    while rows := await reader.chunk():
        converted = [_convert(r, index) for r in rows]
        if t.name == "items":
            await _copy_items(conn, converted)
        else:
            await conn.copy_records_to_table(t.name, records=converted, columns=list(t.columns))
        done += len(rows)
    return done


def _convert(row: tuple[Any, ...], index: Sequence[tuple[int, Callable[[Any], Any]]]) -> tuple[Any, ...]:
    out = list(row)
    for i, fn in index:
        out[i] = fn(out[i])
    return tuple(out)


async def _copy_items(conn: asyncpg.Connection, rows: Sequence[tuple[Any, ...]]) -> None:
    """A chunk of items with their search words (computed as PostgresStore.add_items does): COPY
    into the scratch table, then one INSERT … SELECT makes the words a tsvector."""
    await conn.copy_records_to_table("migrate_items", records=[(*r, pg_rows.item_words(_item(r))) for r in rows],
                                     columns=[*_ITEM_COLS, "words"])
    names = ", ".join(_ITEM_COLS)
    await conn.execute(f"INSERT INTO items ({names}, words) OVERRIDING SYSTEM VALUE "
                       f"SELECT {names}, array_to_tsvector(words) FROM migrate_items; TRUNCATE migrate_items")


def _item(r: tuple[Any, ...]) -> Item:
    """Just enough of an Item for its words (title and summary)."""
    v = dict(zip(_ITEM_COLS, r, strict=True))
    return Item(key=v["key"], feed=v["feed"], source=v["source"], url=v["url"], title=v["title"],
                summary=v["summary"], published=v["published"], fetched=v["fetched"], lang=v["lang"])


def report(done: Copied) -> str:
    """The lines printed after a copy: each table's rows on both sides."""
    width = max(len(n) for n, _, _ in done.counts)
    lines = [f"  {n:<{width}}  {a:>9,}  ->  {b:>9,}  ok" for n, a, b in done.counts]
    total = sum(a for _, a, _ in done.counts)
    return "\n".join([f"copied into {done.target}, counts checked per table (SQLite -> PostgreSQL):", *lines,
                      f"OK — {total:,} rows; point storage.url or DESKWATCH_DATABASE_URL at it and start the workers"])


async def run_cli(source: str, target: str, force: bool) -> int:
    """The command: 0 after a checked copy, 2 with one line when refused or failed."""
    if not target.startswith(("postgresql://", "postgres://")):
        say("deskwatch migrate-store: name the target with --to postgresql://… (or storage.url or "
            "DESKWATCH_DATABASE_URL)", logging.ERROR)
        return 2
    try:
        done = await migrate_store(source, target, force=force)
    except (MigrateError, DatabaseUnusable) as exc:
        say(f"deskwatch migrate-store: {exc}", logging.ERROR)
        return 2
    print(report(done))
    return 0
