"""SqliteStore.prune: forgetting what is older than storage.keep_days (the rule is the protocol's,
bot/store/base.py), in steps of at most BATCH rows.

Each step is a function run on the store's worker thread inside one write transaction, so a
first prune of a large database never holds the write lock for long: the poll loop and other
processes on the file wait one short step at most. Whether a row may go is decided inside the
same transaction that deletes it. Deleting a story takes its sources and keys with it (foreign
keys), deleting a delivery its story links, deleting an item its full-text entry (trigger).
"""

from __future__ import annotations

import sqlite3
from datetime import datetime

from bot.store.base import DUPLICATE_META, FLOOD_META, flood_hour

BATCH = 500
Conn = sqlite3.Connection

# A prefix range on the primary key (key >= 'p' AND key < 'p' with its last character + 1):
# an index range, where LIKE 'p%' would scan (LIKE is case-insensitive, and `_` is a wildcard).
_DUPLICATES = (DUPLICATE_META, DUPLICATE_META[:-1] + chr(ord(DUPLICATE_META[-1]) + 1))
_FLOODS = (FLOOD_META, FLOOD_META[:-1] + chr(ord(FLOOD_META[-1]) + 1))


def finished_deliveries(c: Conn, before: str) -> int:
    return c.execute("DELETE FROM deliveries WHERE id IN (SELECT id FROM deliveries WHERE status IN "
                     "('sent', 'failed') AND created < ? LIMIT ?)", (before, BATCH)).rowcount


def stories(c: Conn, before: str) -> int:
    """Old stories that no delivery names and that have no recent item."""
    ids = [r[0] for r in c.execute(
        "SELECT s.id FROM stories s WHERE s.last_published < ? "
        "AND NOT EXISTS (SELECT 1 FROM delivery_stories l WHERE l.story_id = s.id) "
        "AND NOT EXISTS (SELECT 1 FROM story_sources x JOIN items i ON i.key = x.item_key "
        "                WHERE x.story_id = s.id AND (i.fetched >= ? OR i.published >= ?)) LIMIT ?",
        (before, before, before, BATCH))]
    c.executemany("DELETE FROM stories WHERE id = ?", [(i,) for i in ids])
    return len(ids)


def items(c: Conn, before: str) -> tuple[int, int, int]:
    """Old processed items no remaining story holds, with their events and matches:
    (items, events, matches) deleted."""
    rows = c.execute(
        "SELECT id, key FROM items i WHERE i.published < ? AND i.fetched < ? AND i.processed = 1 "
        "AND NOT EXISTS (SELECT 1 FROM story_sources x WHERE x.item_key = i.key) LIMIT ?",
        (before, before, BATCH)).fetchall()
    keys = [(r[1],) for r in rows]
    before_changes = c.total_changes
    c.executemany("DELETE FROM item_events WHERE item_key = ?", keys)
    events = c.total_changes - before_changes
    before_changes = c.total_changes
    c.executemany("DELETE FROM matches WHERE item_key = ?", keys)
    matches = c.total_changes - before_changes
    c.executemany("DELETE FROM items WHERE id = ?", [(r[0],) for r in rows])
    return len(rows), events, matches


def orphan_events(c: Conn, before: str) -> int:
    """Old events of items no longer stored (or never stored)."""
    return c.execute("DELETE FROM item_events WHERE id IN (SELECT e.id FROM item_events e WHERE e.at < ? AND NOT "
                     "EXISTS (SELECT 1 FROM items i WHERE i.key = e.item_key) LIMIT ?)", (before, BATCH)).rowcount


def meta(c: Conn, before: datetime) -> int:
    """Flood counters of hours before the cutoff, and duplicate markers whose item is gone."""
    floods = [k for (k,) in c.execute("SELECT key FROM meta WHERE key >= ? AND key < ?", _FLOODS)
              if (hour := flood_hour(k)) is not None and hour < before]
    c.executemany("DELETE FROM meta WHERE key = ?", [(k,) for k in floods])
    markers = c.execute("DELETE FROM meta WHERE key >= ? AND key < ? AND NOT EXISTS "
                        "(SELECT 1 FROM items i WHERE i.key = meta.value)", _DUPLICATES).rowcount
    return len(floods) + markers
