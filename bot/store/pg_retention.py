"""PostgresStore.prune: the retention rule of bot/store/base.py, in steps of at most BATCH rows.

Each step is one short transaction (PostgresStore runs them until a step finds nothing), so a
first prune of a large database never holds locks for long. Rows are picked with FOR UPDATE SKIP
LOCKED: a row another worker is writing is left for the next prune. Deleting a story takes its
sources and keys with it, deleting a delivery its story links (foreign keys, ON DELETE CASCADE).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.store.base import DUPLICATE_META, FLOOD_META, flood_hour
from bot.store.pg_rows import count

BATCH = 500
Conn = Any  # asyncpg.Connection inside a transaction


def _prefix_range(prefix: str) -> tuple[str, str]:
    # key >= 'p' AND key < 'q': an index range on meta's primary key (COLLATE "C")
    return prefix, prefix[:-1] + chr(ord(prefix[-1]) + 1)


async def finished_deliveries(c: Conn, before: datetime) -> int:
    return count(await c.execute(
        "DELETE FROM deliveries WHERE id IN (SELECT id FROM deliveries WHERE status IN ('sent', 'failed') "
        "AND created < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)", before, BATCH))


async def stories(c: Conn, before: datetime) -> int:
    """Old stories that no delivery names and that have no recent item."""
    return count(await c.execute(
        "DELETE FROM stories WHERE id IN (SELECT s.id FROM stories s WHERE s.last_published < $1 "
        "AND NOT EXISTS (SELECT 1 FROM delivery_stories l WHERE l.story_id = s.id) "
        "AND NOT EXISTS (SELECT 1 FROM story_sources x JOIN items i ON i.key = x.item_key "
        "                WHERE x.story_id = s.id AND (i.fetched >= $1 OR i.published >= $1)) "
        "LIMIT $2 FOR UPDATE SKIP LOCKED)", before, BATCH))


async def items(c: Conn, before: datetime) -> tuple[int, int, int]:
    """Old processed items no remaining story holds, with their events and matches:
    (items, events, matches) deleted."""
    rows = await c.fetch(
        "SELECT id, key FROM items i WHERE i.published < $1 AND i.fetched < $1 AND i.processed "
        "AND NOT EXISTS (SELECT 1 FROM story_sources x WHERE x.item_key = i.key) LIMIT $2 FOR UPDATE SKIP LOCKED",
        before, BATCH)
    keys = [r["key"] for r in rows]
    events = count(await c.execute("DELETE FROM item_events WHERE item_key = ANY($1::text[])", keys))
    matches = count(await c.execute("DELETE FROM matches WHERE item_key = ANY($1::text[])", keys))
    await c.execute("DELETE FROM items WHERE id = ANY($1::bigint[])", [r["id"] for r in rows])
    return len(rows), events, matches


async def orphan_events(c: Conn, before: datetime) -> int:
    """Old events of items no longer stored (or never stored)."""
    return count(await c.execute(
        "DELETE FROM item_events WHERE id IN (SELECT e.id FROM item_events e WHERE e.at < $1 AND NOT EXISTS "
        "(SELECT 1 FROM items i WHERE i.key = e.item_key) LIMIT $2)", before, BATCH))


async def meta(c: Conn, before: datetime) -> int:
    """Flood counters of hours before the cutoff, and duplicate markers whose item is gone."""
    floods = [r["key"] for r in await c.fetch("SELECT key FROM meta WHERE key >= $1 AND key < $2",
                                              *_prefix_range(FLOOD_META))
              if (hour := flood_hour(r["key"])) is not None and hour < before]
    gone = count(await c.execute("DELETE FROM meta WHERE key = ANY($1::text[])", floods))
    return gone + count(await c.execute(
        "DELETE FROM meta WHERE key >= $1 AND key < $2 AND NOT EXISTS "
        "(SELECT 1 FROM items i WHERE i.key = meta.value)", *_prefix_range(DUPLICATE_META)))
