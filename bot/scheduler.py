"""APScheduler 3 wiring only: one poll tick (poll due feeds, then deliver), and one cron job per
digest subscription. Jobs coalesce, never overlap, and tolerate a late start.

The tick and a digest job are different jobs, so they can run at once; their delivery passes do
not: `deliver_pending` runs one pass at a time per database (a lock in this process, a lease in
the store across processes), so a digest job waits for the tick's pass instead of racing it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.model import Subscription
from bot.outbox import deliver_pending, queue_digest
from bot.pipeline import Context, all_subscriptions, poll_due_feeds

log = logging.getLogger("deskwatch.scheduler")
JOB_DEFAULTS = {"coalesce": True, "max_instances": 1, "misfire_grace_time": 300}
POLL_JOB = "poll"


def utcnow() -> datetime:
    return datetime.now(UTC)


async def poll_tick(ctx: Context, clock: Callable[[], datetime] = utcnow) -> None:
    """Poll what is due, then work through the outbox. Never raises: a bad cycle is logged and
    the next tick tries again."""
    try:
        report = await poll_due_feeds(ctx, clock())
        if report.feeds:
            log.info("cycle: %d feeds polled (%d failing), %d new items, %d relevant, %d new stories, %d merged",
                     report.feeds, report.failed, report.new_items, report.relevant, report.new_stories,
                     report.merged)
        sent = await deliver_pending(ctx, clock())
        if sent.sent or sent.edited or sent.recovered or sent.retrying or sent.held or sent.failed:
            log.info("deliveries: %d sent, %d edited, %d recovered, %d retrying, %d held, %d failed",
                     sent.sent, sent.edited, sent.recovered, sent.retrying, sent.held, sent.failed)
    except Exception:  # the scheduler must survive anything one cycle throws
        log.exception("poll cycle failed; will try again on the next tick")


async def digest_job(ctx: Context, sub: Subscription, clock: Callable[[], datetime] = utcnow) -> None:
    try:
        now = clock()
        n = await queue_digest(ctx, sub, now)
        log.info("digest for %s → %s: %d stories", sub.watch, sub.destination, n)
        await deliver_pending(ctx, now)
    except Exception:
        log.exception("digest for %s → %s failed; the next run will include these stories",
                      sub.watch, sub.destination)


def build_scheduler(ctx: Context, subs: Sequence[Subscription], clock: Callable[[], datetime] = utcnow
                    ) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(timezone=UTC, job_defaults=JOB_DEFAULTS)
    scheduler.add_job(poll_tick, IntervalTrigger(seconds=ctx.settings.polling.tick), args=[ctx, clock],
                      id=POLL_JOB, next_run_time=clock() + timedelta(seconds=1))
    register_digests(scheduler, ctx, subs, clock)
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
