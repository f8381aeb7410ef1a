"""A delivery pass on a store several workers share (PostgreSQL): rows claimed, not the outbox.

Instead of the one whole-database delivery lease (bot/outbox.py, SQLite), a worker claims due rows
in small batches (FOR UPDATE SKIP LOCKED, a lease per row: bot/store/pg_work.py), so several
workers deliver at once and no row is in two workers' hands. Claims are renewed in the background
while the pass works (a platform call may outlast a renewal period) and given back when the row's
destination is done; a worker that dies loses its claims when they expire (cluster.LEASE_TTL),
and the row it was posting is then found "sending" by whoever claims it next, who looks for the
post before anything is re-sent — the crash-safety rules of bot/outbox.py are unchanged.

Ordering: an alert, its later edits and their thread notes are one row (alert:<story>:<dest>),
so they never race on two workers; within a worker a destination's rows still go one at a time
in due order. Rows of one destination for different stories may go out from two workers at once,
so their order in the channel can differ from their queue order by up to a batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot import cluster
from bot.cluster import SharedWork
from bot.model import Delivery
from bot.store.pg_work import DELIVERY  # the lease name prefix of an outbox row

if TYPE_CHECKING:
    from bot.outbox import DeliveryReport
    from bot.pipeline import Context

log = logging.getLogger("deskwatch.outbox")
CLAIM_BATCH = 16  # rows a worker claims at a time: the rest of a burst is left to the others


class Claims:
    """The rows this worker holds during one pass: renewed in the background, checked before
    each row (`holds`), given back when done."""

    def __init__(self, work: SharedWork, worker: str, now: datetime) -> None:
        self.work = work
        self.worker = worker
        self.held: set[str] = set()
        self.lost: set[str] = set()
        self._start, self._t0 = now, time.monotonic()
        self._task: asyncio.Task[None] | None = None

    def now(self) -> datetime:
        # The pass's own clock (callers and tests pass `now`), moved on by the real time spent.
        return self._start + timedelta(seconds=time.monotonic() - self._t0)

    def holds(self, row_id: str) -> bool:
        return row_id in self.held and row_id not in self.lost

    def start(self) -> None:
        self._task = asyncio.create_task(self._renew())

    async def _renew(self) -> None:
        while True:
            await asyncio.sleep(cluster.RENEW_EVERY)
            for row_id in list(self.held - self.lost):
                try:
                    kept = await self.work.renew_lease(DELIVERY + row_id, self.worker, self.now(),
                                                       cluster.LEASE_TTL)
                except Exception:
                    log.exception("could not renew the claim on delivery %s", row_id)
                    kept = False
                if not kept and row_id in self.held:
                    self.lost.add(row_id)
                    log.warning("this worker lost its claim on delivery %s (it stalled past the lease); the "
                                "worker holding it now delivers it", row_id)

    async def release(self, row_ids: list[str]) -> None:
        for row_id in row_ids:
            self.held.discard(row_id)
            if row_id not in self.lost:
                try:
                    await self.work.release_delivery(row_id, self.worker)
                except Exception:  # it expires by itself; never let this hide the pass's outcome
                    log.warning("could not give back the claim on delivery %s; it expires in %ds", row_id,
                                cluster.LEASE_TTL.total_seconds())

    async def end(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.release(sorted(self.held))


DeliverDestination = Callable[["Context", str, list[Delivery], datetime, "DeliveryReport", Claims], Awaitable[None]]


async def deliver_claimed(ctx: Context, work: SharedWork, now: datetime, report: DeliveryReport,
                          deliver: DeliverDestination) -> DeliveryReport:
    """Claim due rows a batch at a time and deliver them (destinations concurrently, each in
    order) until none is left to claim. Each row goes at most once per pass: one that is due again
    at once (its story grew while it was posted) is left to the next pass, maybe another worker's."""
    claims = Claims(work, ctx.worker, now)
    claims.start()
    done: set[str] = set()
    try:
        while True:
            rows = await work.claim_deliveries(ctx.worker, claims.now(), cluster.LEASE_TTL, CLAIM_BATCH)
            fresh = [r for r in rows if r.id not in done]
            claims.held.update(r.id for r in fresh)
            await claims.release([r.id for r in rows if r.id in done])
            if not fresh:
                return report
            done.update(r.id for r in fresh)
            by_dest: dict[str, list[Delivery]] = defaultdict(list)
            for row in fresh:
                by_dest[row.destination].append(row)

            async def one(name: str, dest_rows: list[Delivery]) -> None:
                try:
                    await deliver(ctx, name, dest_rows, now, report, claims)
                finally:
                    await claims.release([r.id for r in dest_rows])

            await asyncio.gather(*(one(name, dest_rows) for name, dest_rows in by_dest.items()))
    finally:
        await claims.end()
