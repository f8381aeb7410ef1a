"""Digests: every story that changed goes into exactly one digest of each digest subscription.

A report can reach its feed hours after its publication time; two processes (or the cron job and
`/deskwatch digest`) can queue the same digest at once; a crash can fall between queueing a
digest and recording that it was queued. None of these may skip a story or send it twice.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.model import Subscription
from bot.outbox import deliver_pending, queue_digest
from bot.pipeline import Context, process_items
from bot.store.sqlite import SqliteStore
from tests.factories import T0, item, settings
from tests.fakes.recording_sink import RecordingSink, SimulatedCrash

DEPLOY = item("North Korean troops deployed to Kursk region to fight for Russia, Seoul says",
              "South Korea's spy agency said thousands of North Korean soldiers were sent to Russia's Kursk "
              "region to fight against Ukraine.", source="Example Wire")
CAPTURED = item("Kim Jong Un opens a Pyongyang memorial to soldiers killed fighting for Russia",
                "North Korea's leader unveiled a museum honouring troops who died in Russia's war against "
                "Ukraine, state media KCNA reported.", source="Other Daily")


def digest_ctx(store: SqliteStore) -> tuple[Context, Subscription, RecordingSink]:
    base = settings("brief")
    sub = replace(base.subscriptions[0], mode="digest", schedule="0 * * * *")
    sink = RecordingSink("brief")
    ctx = Context(settings=replace(base, subscriptions=(sub,)), store=store, sinks={"brief": sink}, check_age=False)
    return ctx, sub, sink


async def open_store(path: Path) -> SqliteStore:
    store = SqliteStore(str(path))
    await store.open()
    return store


def digested(sink: RecordingSink) -> list[str]:
    return [card.story_id for m in sink.sends for card in m.stories]


async def test_a_report_that_reaches_its_feed_late_is_in_the_next_digest(tmp_path: Path) -> None:
    store = await open_store(tmp_path / "d.db")
    ctx, sub, sink = digest_ctx(store)
    try:
        await process_items(ctx, [replace(DEPLOY, published=T0)], T0)
        assert await queue_digest(ctx, sub, T0 + timedelta(hours=1)) == 1
        # published before that digest ran, but seen only now (the outlet's feed lagged)
        late = replace(CAPTURED, published=T0 + timedelta(minutes=30))
        await process_items(ctx, [late], T0 + timedelta(hours=1, minutes=30))
        assert await queue_digest(ctx, sub, T0 + timedelta(hours=2)) == 1
        await deliver_pending(ctx, T0 + timedelta(hours=2))
        assert len(sink.sends) == 2 and len(digested(sink)) == len(set(digested(sink))) == 2
    finally:
        await store.close()


async def test_two_processes_queueing_one_digest_at_once_post_it_once(tmp_path: Path) -> None:
    stores = [await open_store(tmp_path / "d.db") for _ in range(2)]
    (a, sub, sink), (b, _, _) = digest_ctx(stores[0]), digest_ctx(stores[1])
    b.sinks = a.sinks
    try:
        await process_items(a, [DEPLOY, CAPTURED], T0)
        await queue_digest(a, sub, T0 + timedelta(hours=1))  # the previous digest
        later = T0 + timedelta(hours=1, minutes=5)
        await process_items(a, [item(DEPLOY.title, DEPLOY.summary, source="Third Post", published=later)], later)
        # the cron fired in both processes, a second apart (their clocks differ by milliseconds)
        counts = await asyncio.gather(queue_digest(a, sub, T0 + timedelta(hours=2)),
                                      queue_digest(b, sub, T0 + timedelta(hours=2, seconds=1)))
        assert sorted(counts)[0] == 0 and sorted(counts)[1] >= 1
        await deliver_pending(a, T0 + timedelta(hours=2, minutes=1))
        assert len(sink.sends) == 2  # the previous digest and this one, not this one twice
    finally:
        for s in stores:
            await s.close()


async def test_the_job_run_again_after_a_crash_queues_the_same_digest_once(tmp_path: Path) -> None:
    store = await open_store(tmp_path / "d.db")
    ctx, sub, sink = digest_ctx(store)
    real_enqueue = store.enqueue

    async def dies_after_commit(*args: Any, **kwargs: Any) -> int:
        await real_enqueue(*args, **kwargs)
        raise SimulatedCrash("the process died right after the digest row was written")

    try:
        await process_items(ctx, [DEPLOY], T0)
        store.enqueue = dies_after_commit  # type: ignore[method-assign]
        with pytest.raises(SimulatedCrash):
            await queue_digest(ctx, sub, T0 + timedelta(hours=1))
        store.enqueue = real_enqueue  # type: ignore[method-assign]
        # restarted: the job runs again a minute later (misfire grace), then the next hour's
        assert await queue_digest(ctx, sub, T0 + timedelta(hours=1, minutes=1)) == 0
        await process_items(ctx, [CAPTURED], T0 + timedelta(hours=1, minutes=10))
        assert await queue_digest(ctx, sub, T0 + timedelta(hours=2)) == 1
        await deliver_pending(ctx, T0 + timedelta(hours=2))
        assert len(sink.sends) == 2 and sorted(digested(sink)) == sorted(set(digested(sink)))
        assert len(digested(sink)) == 2
    finally:
        await store.close()


async def test_digest_now_with_nothing_new_posts_an_empty_digest_each_time_asked(tmp_path: Path) -> None:
    store = await open_store(tmp_path / "d.db")
    ctx, sub, sink = digest_ctx(store)
    try:
        await queue_digest(ctx, sub, T0, force=True)
        await queue_digest(ctx, sub, T0 + timedelta(minutes=1), force=True)
        await deliver_pending(ctx, T0 + timedelta(minutes=2))
        assert [m.kind for m in sink.sends] == ["digest", "digest"] and digested(sink) == []
    finally:
        await store.close()
