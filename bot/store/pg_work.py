"""Sharing the work among workers on one PostgreSQL database (issue 13 point 3): due feeds and
due outbox rows are claimed with a lease, so each is handled by one worker at a time and the
leases of a worker that died expire.

A claim is one statement: due rows that no live lease holds (the claimer's own included: a worker
never gets a row it still works on twice) are picked with FOR UPDATE SKIP LOCKED (two workers
claiming at once take different rows and never wait for each other), and each pick becomes a row
of `leases` named "feed:<name>" or "delivery:<id>" whose upsert only takes a free, expired or
already-own lease (ON CONFLICT reads the latest committed row, so a pick made on an older
snapshot cannot steal a lease committed since). The due rule for feeds is core/schedule.is_due.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bot.model import Delivery, FeedState
from bot.store import pg_rows as rows
from bot.store.pg_rows import utc

Conn = Any  # asyncpg.Connection
FEED = "feed:"  # lease name prefixes
DELIVERY = "delivery:"

_TAKE = ("INSERT INTO leases (name, holder, expires) SELECT $5 || pick, $1, $3 FROM due ON CONFLICT (name) "
         "DO UPDATE SET holder = excluded.holder, expires = excluded.expires "
         "WHERE leases.holder = excluded.holder OR leases.expires <= $2 RETURNING substr(name, length($5) + 1)")

_FEEDS = f"""
WITH due AS (
    SELECT f.name AS pick FROM feeds f
    WHERE (f.next_poll IS NULL OR f.next_poll <= $2 OR f.last_attempt > $2 OR f.last_success > $2
           OR f.next_poll > $2 + make_interval(secs => $6))
      AND NOT EXISTS (SELECT 1 FROM leases l WHERE l.name = $5 || f.name AND l.expires > $2)
    ORDER BY f.next_poll NULLS FIRST, f.name
    LIMIT $4
    FOR UPDATE OF f SKIP LOCKED),
taken (name) AS ({_TAKE})
SELECT f.* FROM feeds f JOIN taken t ON t.name = f.name ORDER BY f.next_poll NULLS FIRST, f.name
"""

_DELIVERIES = f"""
WITH due AS (
    SELECT d.id AS pick FROM deliveries d
    WHERE d.status IN ('pending', 'sending') AND (d.next_attempt IS NULL OR d.next_attempt <= $2)
      AND NOT EXISTS (SELECT 1 FROM leases l WHERE l.name = $5 || d.id AND l.expires > $2)
    ORDER BY d.created, d.id
    LIMIT $4
    FOR UPDATE OF d SKIP LOCKED),
taken (id) AS ({_TAKE})
SELECT d.* FROM deliveries d JOIN taken t ON t.id = d.id ORDER BY d.created, d.id
"""


async def lease_due_feeds(c: Conn, worker: str, now: datetime, ttl: timedelta, limit: int,
                          max_interval: float) -> list[FeedState]:
    found = await c.fetch(_FEEDS, worker, utc(now), utc(now + ttl), max(limit, 0), FEED, float(max_interval))
    return [rows.feed(r) for r in found]


async def claim_deliveries(c: Conn, worker: str, now: datetime, ttl: timedelta, limit: int) -> list[Delivery]:
    found = await c.fetch(_DELIVERIES, worker, utc(now), utc(now + ttl), max(limit, 0), DELIVERY)
    return [rows.delivery(r) for r in found]
