"""Several workers on one database (issue 13 point 3): who polls a feed, who merges, who leads.

A store that can share work among workers (PostgresStore) offers `SharedWork`: due feeds leased
to one worker at a time, outbox rows claimed with a lease (bot/outbox_claims.py), and a
cluster-wide lock around match → merge → route. SQLite and the memory store do not: there one
process polls and merges, and a second `run` on an SQLite file stands by for delivery
(bot/outbox.py). `shared_work(store)` says which kind a store is.

Leases carry an expiry, so whatever a worker held when it died (SIGKILL, lost host) is free again
one lease period later; the story lock is a session advisory lock, freed with the connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol, cast, runtime_checkable

from bot.model import Delivery, FeedState
from bot.store.pg_work import FEED  # the lease name prefix of a feed

if TYPE_CHECKING:
    from bot.pipeline import Context
    from bot.settings import FeedSettings

log = logging.getLogger("deskwatch.cluster")
# A lease lasts LEASE_TTL from its last renewal; holders renew every RENEW_EVERY seconds, so a
# worker that stops (killed, hung) loses what it held within LEASE_TTL.
LEASE_TTL = timedelta(seconds=60)
RENEW_EVERY = 15.0
# Feeds a worker leases at a time: a small batch, so the other workers' polls take the rest of a
# large cycle instead of waiting for the first worker to get through all of it.
FEED_BATCH = 8
# A feed's lease is short and renewed while the worker holds it: a dead worker's feeds are polled
# again within FEED_TTL. Losing one to a stall costs only a second poll of that feed (storing is
# idempotent), unlike a post, so feeds can afford a shorter lease than outbox rows.
FEED_TTL = timedelta(seconds=20)
FEED_RENEW = 5.0


def worker_id() -> str:
    """This worker's name in leases: "host:pid:random" (random: two in one process differ)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


@runtime_checkable
class SharedWork(Protocol):
    """What a store offers several workers beyond the Store protocol (bot/store/pg_work.py)."""

    async def lease_due_feeds(self, worker: str, now: datetime, ttl: timedelta, limit: int) -> list[FeedState]: ...
    async def release_feed(self, name: str, worker: str) -> bool: ...
    async def claim_deliveries(self, worker: str, now: datetime, ttl: timedelta, limit: int = 500
                               ) -> list[Delivery]: ...
    async def release_delivery(self, delivery_id: str, worker: str) -> bool: ...
    async def renew_lease(self, name: str, holder: str, now: datetime, ttl: timedelta) -> bool: ...
    def story_lock(self, name: str = "stories") -> AbstractAsyncContextManager[None]: ...


def shared_work(store: object) -> SharedWork | None:
    """The store as SharedWork when several workers may share it, else None (SQLite, memory)."""
    # Asked once per item (story_guard): isinstance against a runtime-checkable protocol looks up
    # every one of its members each time, so the answer is kept per store class (the stores'
    # methods are the class's own, never set on an instance).
    kind = type(store)
    shares = _SHARES_WORK.get(kind)
    if shares is None:
        shares = _SHARES_WORK[kind] = isinstance(store, SharedWork)
    return cast(SharedWork, store) if shares else None


_SHARES_WORK: dict[type, bool] = {}


@contextlib.asynccontextmanager
async def story_guard(ctx: Context) -> AsyncIterator[None]:
    """Match → merge → route one item with no other merge running: in this process (the
    Context's lock) and, on a shared store, in the whole cluster (its advisory lock). The local
    lock first, so one worker never holds several pooled connections waiting for the same lock."""
    async with ctx.story_lock:
        work = shared_work(ctx.store)
        if work is None:
            yield
        else:
            async with work.story_lock():
                yield


PollOne = Callable[["FeedSettings", FeedState], Awaitable[None]]


async def poll_leased(ctx: Context, work: SharedWork, now: datetime, poll: PollOne, runners: int) -> None:
    """Poll due feeds that no other worker holds, `runners` at a time, leasing small batches as
    they go until none is due; each lease is given back once `poll` saved the feed's state (or
    failed). A feed this worker does not know (added by command on another worker a moment ago)
    is given back at once."""
    queue: list[FeedState] = []
    held: set[str] = set()  # leased: queued or being polled
    taken: set[str] = set()  # every feed this cycle leased
    done = False
    lock = asyncio.Lock()
    t0 = time.monotonic()

    async def renew() -> None:
        while True:
            await asyncio.sleep(FEED_RENEW)
            at = now + timedelta(seconds=time.monotonic() - t0)
            for name in list(held):
                with contextlib.suppress(Exception):  # lost or failed: at worst a second poll
                    await work.renew_lease(FEED + name, ctx.worker, at, FEED_TTL)

    async def next_feed() -> tuple[FeedSettings, FeedState] | None:
        nonlocal done
        async with lock:
            while True:
                if not queue and not done:
                    at = now + timedelta(seconds=time.monotonic() - t0)
                    leased = await work.lease_due_feeds(ctx.worker, at, FEED_TTL, FEED_BATCH)
                    # A feed this cycle polled that is due again (a short interval, a long cycle)
                    # waits for the next cycle: one poll per feed per cycle, so a cycle ends.
                    again = [s.name for s in leased if s.name in taken]
                    await _release_all(work, ctx.worker, again)
                    queue.extend(s for s in leased if s.name not in taken)
                    held.update(s.name for s in queue)
                    taken.update(s.name for s in queue)
                    done = not queue or bool(again)
                if not queue:
                    return None
                state = queue.pop(0)
                feed = ctx.feed(state.name)
                if feed is not None:
                    return feed, state
                held.discard(state.name)
                await work.release_feed(state.name, ctx.worker)

    async def runner() -> None:
        while (picked := await next_feed()) is not None:
            try:
                await poll(*picked)
            finally:
                held.discard(picked[1].name)
                await work.release_feed(picked[1].name, ctx.worker)

    renewing = asyncio.create_task(renew())
    try:
        await asyncio.gather(*(runner() for _ in range(max(1, runners))))
    finally:  # leased but never started (a runner failed): free them now rather than at expiry
        renewing.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await renewing
        await _release_all(work, ctx.worker, [s.name for s in queue])


async def _release_all(work: SharedWork, worker: str, names: Sequence[str]) -> None:
    for name in names:
        with contextlib.suppress(Exception):
            await work.release_feed(name, worker)


# --- the leader: once-per-cluster jobs (cron digests, the daily prune) and the Discord gateway --

LEADER = "leader"  # lease name


async def leads(ctx: Context, now: datetime) -> bool:
    """Whether this worker runs the once-per-cluster jobs now. On a store one worker uses, always;
    on a shared store, when it holds the leader lease — taking it if it is free or expired, and
    renewing it if it is its own. So a job that fires after the leader died runs on the first
    worker it fires on once the dead leader's lease has expired."""
    if shared_work(ctx.store) is None:
        return True
    return await ctx.store.take_lease(LEADER, ctx.worker, now, LEASE_TTL)


async def wait_to_lead(ctx: Context, clock: Callable[[], datetime],
                       sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> bool:
    """For a once-per-cluster job that just fired on this worker: True as soon as this worker
    leads (at once, usually); False when another worker kept the lead for one lease period after
    the firing — it is alive, so its own firing of the job ran. A leader that died shortly before
    the job fired leaves its lease to expire: the job then runs here, up to a lease period late,
    rather than not at all (a daily digest must not skip a day)."""
    fired = clock()
    while True:
        now = clock()
        if await leads(ctx, now):
            return True
        if now - fired > LEASE_TTL:
            return False
        await sleep(RENEW_EVERY / 3)


async def lead_loop(ctx: Context, clock: Callable[[], datetime], *,
                    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                    on_change: Callable[[bool], Awaitable[None]] | None = None) -> None:
    """Until cancelled: hold the leader lease while this worker runs (renewed every RENEW_EVERY
    seconds), or take it over when the leader's expires; `on_change(leading)` is told each change.
    Cancelled (shutdown), it gives the lease back so another worker leads at once."""
    leading = False
    try:
        while True:
            try:
                now_leading = await leads(ctx, clock())
            except Exception as exc:  # the database is unreachable: keep the state, try again
                log.warning("could not renew the leader lease (%s: %s)", type(exc).__name__, exc)
                now_leading = leading
            if now_leading != leading:
                leading = now_leading
                log.info("this worker (%s) %s", ctx.worker, "leads now: it runs the digests, the daily prune and "
                         "the Discord gateway" if leading else "no longer leads")
                if on_change is not None:
                    await on_change(leading)
            await sleep(RENEW_EVERY)
    finally:
        if leading:
            with contextlib.suppress(Exception):
                await ctx.store.release_lease(LEADER, ctx.worker)
