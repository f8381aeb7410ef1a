"""The daily prune (storage.keep_days): registered with the digests, first run shortly after start;
the job prunes before now - keep_days, says what went in one line, and never raises."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import timedelta

import pytest
from apscheduler.triggers.interval import IntervalTrigger

from bot.model import Subscription
from bot.pipeline import Context
from bot.scheduler import PRUNE_FIRST, build_scheduler, prune_job, register_digests
from bot.settings import StorageSettings
from bot.store.base import Pruned
from bot.store.memory import MemoryStore
from tests.factories import T0, item, settings


def make_ctx(keep_days: int = 30) -> Context:
    s = settings("desk")
    return Context(settings=replace(s, storage=StorageSettings(path=":memory:", keep_days=keep_days)),
                   store=MemoryStore())


def test_the_prune_job_is_registered_daily_and_survives_digest_changes() -> None:
    ctx = make_ctx()
    sub = Subscription("dprk-russia", "desk", "digest", "0 8 * * *", "UTC")
    sched = build_scheduler(ctx, [sub], clock=lambda: T0)
    job = sched.get_job("prune")
    assert job is not None and job.func is prune_job
    assert isinstance(job.trigger, IntervalTrigger) and job.trigger.interval == timedelta(days=1)
    assert job.trigger.start_date == T0 + PRUNE_FIRST
    register_digests(sched, ctx, [])  # an unsubscribe re-plans digests only
    assert [j.id for j in sched.get_jobs()] == ["prune"]


async def test_the_job_prunes_what_is_older_than_keep_days(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "deskwatch.scheduler")
    ctx = make_ctx(keep_days=30)
    old, recent = item("An old report", published=T0 - timedelta(days=31)), item("A report", published=T0)
    await ctx.store.add_items([old, recent])
    await ctx.store.mark_processed([old.key, recent.key])
    pruned = await prune_job(ctx, clock=lambda: T0)
    assert pruned == Pruned(items=1)
    assert await ctx.store.item(old.key) is None and await ctx.store.item(recent.key) is not None
    [line] = [r.getMessage() for r in caplog.records if r.name == "deskwatch.scheduler"]
    assert line.startswith("pruned data older than 30 days: 1 items")
    caplog.clear()
    assert await prune_job(ctx, clock=lambda: T0) == Pruned()
    assert not [r for r in caplog.records if r.name == "deskwatch.scheduler"]  # nothing to say


async def test_a_failing_prune_is_logged_not_raised(caplog: pytest.LogCaptureFixture,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    ctx = make_ctx()

    async def broken(before: object) -> Pruned:
        raise RuntimeError("database is locked")

    monkeypatch.setattr(ctx.store, "prune", broken)
    assert await prune_job(ctx, clock=lambda: T0) is None
    assert "pruning data older than 30 days failed" in caplog.text
