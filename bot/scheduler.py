"""When things run: the poll loop (poll due feeds, then deliver, every `polling.tick` seconds) and
one APScheduler cron job per digest subscription (coalesced, never overlapping, late start
tolerated).

The poll tick is an asyncio loop timed on the event loop's monotonic clock, not an APScheduler
interval job: APScheduler plans every run on the wall clock, so after the clock stepped a day ahead
and back the next tick was a day away, and polling was blind for that day. Monotonic time never
steps. Digests stay cron jobs (07:00 in Seoul is a wall-clock time); when the poll loop sees the
wall clock step, the app plans them again from the new time.

The tick and a digest job can run at once; their delivery passes do not: `deliver_pending` runs
one pass at a time per database (a lock in this process, a lease in the store across processes),
so a digest job waits for the tick's pass instead of racing it.

Several workers on one PostgreSQL database all schedule the digests and the prune; only the
leader (bot/cluster.py, a renewed lease) runs them when they fire.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.cluster import leads, wait_to_lead
from bot.logs import Repeats
from bot.model import Subscription
from bot.outbox import deliver_pending, queue_digest
from bot.pipeline import Context, CycleReport, poll_due_feeds
from bot.routing import all_subscriptions
from bot.store.base import Pruned

log = logging.getLogger("deskwatch.scheduler")
JOB_DEFAULTS = {"coalesce": True, "max_instances": 1, "misfire_grace_time": 300}
CLOCK_STEP = 120.0  # seconds by which wall and monotonic time may disagree over one tick before it is a step
# The daily prune's first run: soon after start (an upgraded bot prunes the same day), but not at
# once, so a bot restarted in a loop does not spend each start pruning.
PRUNE_FIRST = timedelta(minutes=10)


def utcnow() -> datetime:
    return datetime.now(UTC)


async def poll_tick(ctx: Context, clock: Callable[[], datetime] = utcnow,
                    failures: Repeats | None = None) -> CycleReport | None:
    """Poll what is due, then work through the outbox; the cycle's report, or None when it failed.
    Never raises: a bad cycle is logged and the next tick tries again. `failures` (the poll
    loop's) makes a cycle that fails tick after tick one line per change, not a traceback a tick."""
    failures = failures or Repeats(log, "poll cycle")
    try:
        async def deliver_now() -> None:  # after each feed with news: a slow feed holds back nothing
            await deliver_pending(ctx, clock())

        report = await poll_due_feeds(ctx, clock(), after_feed=deliver_now)
        if report.feeds:
            log.info("cycle: %d feeds polled (%d failing), %d new items, %d relevant (%d claimed by a story), "
                     "%d new stories, %d merged", report.feeds, report.failed, report.new_items, report.relevant,
                     report.claimed, report.new_stories, report.merged)
        sent = await deliver_pending(ctx, clock())
        if sent.sent or sent.edited or sent.recovered or sent.retrying or sent.held or sent.failed:
            log.info("deliveries: %d sent, %d edited, %d recovered, %d retrying, %d held, %d failed",
                     sent.sent, sent.edited, sent.recovered, sent.retrying, sent.held, sent.failed)
        await ctx.store.index_for_search()  # after the alerts: the cycle's items become searchable
    except sqlite3.Error as exc:  # the database's state (read-only, full, locked), not a bug: no traceback
        where = getattr(ctx.store, "path", "")
        failures.failed(exc, f"the database {where}: check its permissions, free space and that nothing else locks "
                        "it; will try again on the next tick", traceback=False)
        return None
    except Exception as exc:  # the scheduler must survive anything one cycle throws
        failures.failed(exc, "will try again on the next tick")
        return None
    failures.ok()
    return report


async def digest_job(ctx: Context, sub: Subscription, clock: Callable[[], datetime] = utcnow,
                     sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
    """Queue and deliver one subscription's digest — on the leader only when several workers
    share the database. Every worker schedules the job; a follower's firing waits up to a lease
    period to see whether the leader is alive (then the leader's own firing ran it) or died (then
    this worker takes the lead and runs it). Queueing twice would be harmless
    (bot/outbox.queue_digest: a second run finds nothing new), but one worker is enough."""
    try:
        try:
            if not await wait_to_lead(ctx, clock, sleep):
                return
        except asyncio.CancelledError:  # shut down while waiting: the job ends quietly, not as an error
            return
        now = clock()
        n = await queue_digest(ctx, sub, now)
        log.info("digest for %s → %s: %d stories", sub.watch, sub.destination, n)
        await deliver_pending(ctx, now)
    except Exception:
        log.exception("digest for %s → %s failed; the next run will include these stories",
                      sub.watch, sub.destination)


async def prune_job(ctx: Context, clock: Callable[[], datetime] = utcnow) -> Pruned | None:
    """Forget what is older than storage.keep_days (the store's rule); what went, or None when
    it failed. Never raises: the next day's run tries again. Several workers on one database:
    the leader prunes, the others have nothing to do (Pruned())."""
    keep = ctx.settings.storage.keep_days
    try:
        if not await leads(ctx, clock()):
            return Pruned()
        pruned = await ctx.store.prune(clock() - timedelta(days=keep))
    except Exception:
        log.exception("pruning data older than %d days failed; the next daily run tries again", keep)
        return None
    if pruned != Pruned():
        log.info("pruned data older than %d days: %s", keep, pruned)
    return pruned


async def poll_loop(ctx: Context, clock: Callable[[], datetime] = utcnow, *,
                    monotonic: Callable[[], float] | None = None,
                    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                    on_clock_step: Callable[[float], Awaitable[None]] | None = None,
                    on_tick: Callable[[CycleReport | None, float], Awaitable[None]] | None = None) -> None:
    """`poll_tick` now and then every `polling.tick` seconds of monotonic time, until cancelled.

    `monotonic` defaults to the event loop's clock (time.monotonic). A tick that overruns is
    followed at once by the next: ticks never overlap and never pile up. `clock` (wall time) is
    still what a tick records and what feeds are due by; when it moved more than CLOCK_STEP
    seconds apart from monotonic time over one round, `on_clock_step(seconds)` is told.
    `on_tick(report or None, seconds)` is told after each tick (the health endpoint and metrics).
    """
    mono = monotonic or asyncio.get_running_loop().time
    tick = float(ctx.settings.polling.tick)
    failures = Repeats(log, "poll cycle")
    while True:
        started, wall = mono(), clock()
        report = await poll_tick(ctx, clock, failures)
        if on_tick is not None:
            await on_tick(report, mono() - started)
        await sleep(max(0.0, tick - (mono() - started)))
        step = (clock() - wall).total_seconds() - (mono() - started)
        if on_clock_step is not None and abs(step) >= CLOCK_STEP:
            try:
                await on_clock_step(step)
            except Exception:  # polling must go on whatever the re-planning throws
                log.exception("re-planning after a clock step failed")


def build_scheduler(ctx: Context, subs: Sequence[Subscription], clock: Callable[[], datetime] = utcnow
                    ) -> AsyncIOScheduler:
    """The cron digest jobs and the daily prune (the poll tick is `poll_loop`, a task of its own)."""
    scheduler = AsyncIOScheduler(timezone=UTC, job_defaults=JOB_DEFAULTS)
    register_digests(scheduler, ctx, subs, clock)
    scheduler.add_job(prune_job, IntervalTrigger(days=1, start_date=clock() + PRUNE_FIRST, timezone=UTC),
                      args=[ctx, clock], id="prune", replace_existing=True)
    return scheduler


def register_digests(scheduler: AsyncIOScheduler, ctx: Context, subs: Sequence[Subscription],
                     clock: Callable[[], datetime] = utcnow) -> list[str]:
    """(Re)register one cron job per digest subscription; drop jobs of removed ones."""
    wanted = {}
    for sub in subs:
        if sub.mode == "digest":
            wanted[f"digest:{sub.watch}:{sub.destination}"] = sub
    for job in scheduler.get_jobs():
        if job.id.startswith("digest:") and job.id not in wanted:
            job.remove()
    for job_id, sub in wanted.items():
        trigger = CronTrigger.from_crontab(sub.schedule, timezone=ZoneInfo(sub.timezone))
        scheduler.add_job(digest_job, trigger, args=[ctx, sub, clock], id=job_id, replace_existing=True)
    return sorted(wanted)


async def refresh_digests(scheduler: AsyncIOScheduler, ctx: Context) -> None:
    """After a subscribe/unsubscribe command."""
    register_digests(scheduler, ctx, await all_subscriptions(ctx))
