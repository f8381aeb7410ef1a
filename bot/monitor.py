"""What /healthz and /metrics report for one `deskwatch run`.

The poll loop tells `ticked` after each tick and the outbox tells `delivered` for each row; the
HTTP handlers ask `health` and `scrape`. Nothing here may break polling or posting: a failure to
count is logged and forgotten.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from bot.health import Heartbeat, verdict
from bot.metrics import Metrics
from bot.model import Delivery, Story
from bot.pipeline import Context, CycleReport
from bot.supervisor import ClientHealth, describe

log = logging.getLogger("deskwatch.monitor")


def utcnow() -> datetime:
    return datetime.now(UTC)


class Monitor:
    """`scheduler` names what is not running (e.g. "the poll loop stopped"), or says "running"."""

    def __init__(self, ctx: Context, clients: ClientHealth, scheduler: Callable[[], str], *,
                 monotonic: Callable[[], float] = time.monotonic, clock: Callable[[], datetime] = utcnow) -> None:
        self.ctx = ctx
        self.clients = clients
        self.scheduler = scheduler
        self.monotonic = monotonic
        self.clock = clock
        self.metrics = Metrics()
        self.heartbeat = Heartbeat(started=monotonic())

    async def ticked(self, report: CycleReport | None, seconds: float) -> None:
        """After each poll tick: its report (None when it failed) and how long it took."""
        wall = self.clock()
        self.heartbeat.beat(report is not None, self.monotonic(), wall)
        self.metrics.cycle(report, seconds, wall.timestamp())

    async def delivered(self, row: Delivery, status: str, stories: Sequence[Story], now: datetime) -> None:
        """Each outbox row's outcome; a first alert also times first seen → posted."""
        latency = None
        if status == "sent" and row.kind == "alert" and stories:
            try:
                item = await self.ctx.store.item(stories[0].first_source.item_key)
            except Exception as exc:  # the alert went out; only its latency is lost
                log.warning("delivery latency of %s not measured: %s", row.id, describe(exc))
                item = None
            if item is not None:
                latency = (now - item.fetched).total_seconds()
        self.metrics.delivery(row.destination, status, latency)

    def health(self) -> tuple[bool, dict[str, Any]]:
        return verdict(self.heartbeat, self.monotonic(), tick=float(self.ctx.settings.polling.tick),
                       scheduler=self.scheduler(), platforms=dict(self.clients.states))

    async def scrape(self) -> bytes:
        """The metrics text, gauges read from the store first (on a store error, the last values)."""
        store = self.ctx.store
        self.metrics.live(scheduler_up=self.scheduler() == "running", platforms=self.clients.states)
        try:
            feeds = await store.feed_states()
            destinations = {name: ok for name, (ok, _msg, _at) in (await store.destination_health()).items()}
            pending = await store.pending_count()
        except Exception as exc:
            log.warning("/metrics: could not read the store: %s", describe(exc))
        else:
            self.metrics.stored(destinations=destinations, feeds=feeds, pending=pending)
        return self.metrics.exposition()
