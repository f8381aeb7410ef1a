"""Scheduler wiring: the registered jobs and their options; job functions are called directly."""

from __future__ import annotations

from dataclasses import replace

from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.model import Subscription
from bot.pipeline import Context
from bot.scheduler import JOB_DEFAULTS, build_scheduler, digest_job, poll_tick, register_digests
from bot.store.memory import MemoryStore
from tests.factories import T0, settings
from tests.fakes.recording_sink import RecordingSink


def make_ctx() -> Context:
    return Context(settings=settings("desk"), store=MemoryStore(), sinks={"desk": RecordingSink("desk")})


def test_poll_tick_and_digest_jobs_are_registered() -> None:
    ctx = make_ctx()
    subs = [
        Subscription("dprk-russia", "desk", "digest", "0 7,19 * * *", "Asia/Seoul"),
        Subscription("dprk-russia", "other", "instant"),
    ]
    sched = build_scheduler(ctx, subs, clock=lambda: T0)
    jobs = {j.id: j for j in sched.get_jobs()}
    assert set(jobs) == {"poll", "digest:dprk-russia:desk"}
    assert isinstance(jobs["poll"].trigger, IntervalTrigger)
    assert jobs["poll"].trigger.interval.total_seconds() == ctx.settings.polling.tick
    cron = jobs["digest:dprk-russia:desk"].trigger
    assert isinstance(cron, CronTrigger) and str(cron.timezone) == "Asia/Seoul"
    assert "hour='7,19'" in repr(cron)
    assert JOB_DEFAULTS == {"coalesce": True, "max_instances": 1, "misfire_grace_time": 300}
    assert sched._job_defaults["coalesce"] is True and sched._job_defaults["max_instances"] == 1


def test_register_digests_drops_removed_subscriptions() -> None:
    ctx = make_ctx()
    sub = Subscription("dprk-russia", "desk", "digest", "0 8 * * *", "UTC")
    sched = build_scheduler(ctx, [sub], clock=lambda: T0)
    assert register_digests(sched, ctx, []) == []
    assert [j.id for j in sched.get_jobs()] == ["poll"]
    assert register_digests(sched, ctx, [sub, replace(sub, destination="b")]) == [
        "digest:dprk-russia:b",
        "digest:dprk-russia:desk",
    ]


async def test_jobs_run_without_raising_even_when_the_store_fails() -> None:
    ctx = make_ctx()
    await ctx.store.open()
    await poll_tick(ctx, clock=lambda: T0)  # no feeds: a quiet, successful cycle
    assert await ctx.store.get_meta("last_cycle") == T0.isoformat()

    class Broken(MemoryStore):
        async def due_feeds(self, now):  # type: ignore[no-untyped-def]
            raise RuntimeError("disk full")

    ctx.store = Broken()
    await poll_tick(ctx, clock=lambda: T0)  # logged, not raised
    await digest_job(ctx, Subscription("dprk-russia", "desk", "digest"), clock=lambda: T0)
