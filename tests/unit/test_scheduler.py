"""Scheduler wiring: the registered jobs and their options; job functions are called directly.

The poll tick is not an APScheduler job but `poll_loop`, timed on a monotonic clock: its tests
drive it with a fake monotonic clock, a fake wall clock and a fake sleep, and stop it by raising
from the sleep, so nothing waits on real time.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest
from apscheduler.triggers.cron import CronTrigger

import bot.scheduler
from bot.model import Subscription
from bot.pipeline import Context
from bot.scheduler import JOB_DEFAULTS, build_scheduler, digest_job, poll_loop, poll_tick, register_digests
from bot.store.memory import MemoryStore
from tests.factories import T0, settings
from tests.fakes.recording_sink import RecordingSink

DAY = timedelta(days=1)


def make_ctx() -> Context:
    return Context(settings=settings("desk"), store=MemoryStore(), sinks={"desk": RecordingSink("desk")})


def test_digest_jobs_and_the_prune_are_registered_the_poll_tick_is_not_a_wall_clock_job() -> None:
    ctx = make_ctx()
    subs = [
        Subscription("dprk-russia", "desk", "digest", "0 7,19 * * *", "Asia/Seoul"),
        Subscription("dprk-russia", "other", "instant"),
    ]
    sched = build_scheduler(ctx, subs, clock=lambda: T0)
    jobs = {j.id: j for j in sched.get_jobs()}
    assert set(jobs) == {"digest:dprk-russia:desk", "prune"}  # the poll tick is poll_loop, not an interval job
    cron = jobs["digest:dprk-russia:desk"].trigger
    assert isinstance(cron, CronTrigger) and str(cron.timezone) == "Asia/Seoul"
    assert "hour='7,19'" in repr(cron)
    assert jobs["digest:dprk-russia:desk"].func is digest_job
    assert JOB_DEFAULTS == {"coalesce": True, "max_instances": 1, "misfire_grace_time": 300}
    assert sched._job_defaults["coalesce"] is True and sched._job_defaults["max_instances"] == 1


def test_register_digests_drops_removed_subscriptions() -> None:
    ctx = make_ctx()
    sub = Subscription("dprk-russia", "desk", "digest", "0 8 * * *", "UTC")
    sched = build_scheduler(ctx, [sub], clock=lambda: T0)
    assert register_digests(sched, ctx, []) == []
    assert [j.id for j in sched.get_jobs()] == ["prune"]
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


class Stop(Exception):
    """Raised by the fake sleep to end poll_loop after a set number of rounds."""


class Clocks:
    """A monotonic clock, a wall clock that can be stepped, and a sleep that advances both."""

    def __init__(self, rounds: int, tick_takes: float) -> None:
        self.mono, self.wall = 1000.0, T0
        self.rounds, self.tick_takes = rounds, tick_takes
        self.sleeps: list[float] = []
        self.ticks: list[datetime] = []  # the wall time each tick saw
        self.wall_steps: dict[int, timedelta] = {}  # before tick n, step the wall clock by this

    def monotonic(self) -> float:
        return self.mono

    def clock(self) -> datetime:
        return self.wall

    async def tick(self, ctx: Context, clock: object, failures: object = None) -> None:
        self.wall += self.wall_steps.get(len(self.ticks), timedelta(0))
        self.ticks.append(self.wall)
        self.mono += self.tick_takes
        self.wall += timedelta(seconds=self.tick_takes)

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        if len(self.sleeps) >= self.rounds:
            raise Stop
        self.mono += seconds
        self.wall += timedelta(seconds=seconds)


async def test_poll_loop_ticks_every_tick_of_monotonic_time_through_a_clock_step(
        monkeypatch: pytest.MonkeyPatch) -> None:
    ctx = make_ctx()
    tick = ctx.settings.polling.tick
    clocks = Clocks(rounds=5, tick_takes=7.0)
    clocks.wall_steps = {1: DAY, 3: -DAY}  # the wall clock jumps a day ahead, then is corrected
    monkeypatch.setattr(bot.scheduler, "poll_tick", clocks.tick)
    steps: list[float] = []

    async def stepped(seconds: float) -> None:
        steps.append(seconds)

    with pytest.raises(Stop):
        await poll_loop(ctx, clocks.clock, monotonic=clocks.monotonic, sleep=clocks.sleep, on_clock_step=stepped)
    # a tick in every round, ahead and after the correction alike, each `tick` after the last
    assert len(clocks.ticks) == 5
    assert clocks.sleeps == [tick - 7.0] * 5
    assert clocks.ticks[1] - clocks.ticks[0] == DAY + timedelta(seconds=tick)
    assert clocks.ticks[4] - clocks.ticks[3] == timedelta(seconds=tick)
    assert steps == [DAY.total_seconds(), -DAY.total_seconds()]  # the digests are planned again, twice


async def test_a_tick_that_overruns_is_followed_at_once_without_piling_up(monkeypatch: pytest.MonkeyPatch) -> None:
    ctx = make_ctx()
    clocks = Clocks(rounds=3, tick_takes=ctx.settings.polling.tick * 3.5)
    monkeypatch.setattr(bot.scheduler, "poll_tick", clocks.tick)
    with pytest.raises(Stop):
        await poll_loop(ctx, clocks.clock, monotonic=clocks.monotonic, sleep=clocks.sleep)
    assert clocks.sleeps == [0.0, 0.0, 0.0] and len(clocks.ticks) == 3


async def test_poll_loop_polls_with_the_wall_clock_and_survives_a_failing_replanner() -> None:
    ctx = make_ctx()
    await ctx.store.open()
    clocks = Clocks(rounds=2, tick_takes=0.0)

    async def sleep(seconds: float) -> None:  # the real poll_tick, and a step back between the rounds
        await clocks.sleep(seconds)
        clocks.wall -= DAY

    async def broken(seconds: float) -> None:
        raise RuntimeError("scheduler gone")

    with pytest.raises(Stop):
        await poll_loop(ctx, clocks.clock, monotonic=clocks.monotonic, sleep=sleep, on_clock_step=broken)
    # two real cycles ran; the second recorded the stepped-back wall time
    assert await ctx.store.get_meta("last_cycle") == clocks.wall.isoformat()


async def test_the_poll_tick_delivers_after_each_feed_with_news(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tick hands poll_due_feeds a delivery callback, so a slow feed holds back no alert; the
    search index is brought up to date last, after the alerts."""
    from bot import scheduler
    from bot.pipeline import CycleReport

    calls: list[str] = []

    class Indexing(MemoryStore):
        async def index_for_search(self) -> int:
            calls.append("index")
            return 0

    async def fake_poll(ctx: object, now: object, after_feed: Any = None) -> CycleReport:
        assert after_feed is not None
        await after_feed()  # as poll_due_feeds does when a feed stored news
        return CycleReport()

    async def fake_deliver(ctx: object, now: object) -> Any:
        calls.append("deliver")
        from bot.outbox import DeliveryReport
        return DeliveryReport()

    monkeypatch.setattr(scheduler, "poll_due_feeds", fake_poll)
    monkeypatch.setattr(scheduler, "deliver_pending", fake_deliver)
    ctx = replace(make_ctx(), store=Indexing())
    assert await scheduler.poll_tick(ctx) is not None  # the cycle succeeded
    assert calls == ["deliver", "deliver", "index"]  # after the feed, the tick's own pass, then the index
