"""One delivery pass at a time per database (issue 10, point 3).

Two passes over the same outbox rows race: each reads a row as due, each posts it. In one process
(the poll tick and the digest job) an asyncio.Lock makes the second pass wait for the first; across
processes on one database a lease row in the store lets only its holder deliver, and a standby
takes over when the holder's lease expires (or at once, when the holder was a process on this host
that is gone).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import subprocess
import sys
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from bot import outbox
from bot.model import Delivery, Message, Story, StorySource
from bot.outbox import deliver_pending
from bot.pipeline import Context
from bot.scheduler import digest_job
from bot.store.base import Store
from bot.store.memory import MemoryStore
from bot.store.sqlite import SqliteStore
from tests.factories import T0, settings
from tests.fakes.recording_sink import RecordingSink

TTL = timedelta(seconds=60)


class SlowSink(RecordingSink):
    """A channel whose platform takes a while to answer (1.5–3 s in the field; shorter here)."""

    def __init__(self, name: str, delay: float = 0.05) -> None:
        super().__init__(name)
        self.delay = delay

    async def send(self, message: Message) -> str:
        await asyncio.sleep(self.delay)
        return await super().send(message)


def story(n: int) -> Story:
    src = StorySource(item_key=f"i{n}", outlet="Wire", url=f"https://wire.example/{n}", lang="en",
                      published=T0, title=f"North Korean troops report {n}")
    return Story(id=f"st-{n}", watch=settings().watches[0].name, title=f"North Korean troops report {n}",
                 summary="North Korean soldiers fighting for Russia.", first_published=T0, last_published=T0,
                 sources=(src,))


async def queue_alerts(store: Store, destination: str, n: int) -> list[str]:
    ids = []
    for i in range(n):
        await store.save_story(story(i))
        row = Delivery(id=f"alert:st-{i}:{destination}", destination=destination, kind="alert",
                       created=T0 + timedelta(seconds=i), story_id=f"st-{i}")
        await store.enqueue([row])
        ids.append(row.id)
    return ids


def once_each(sink: RecordingSink, n: int) -> None:
    markers = [m.marker for m in sink.sends]
    assert len(markers) == len(set(markers)) == n, markers


async def sqlite(path: Path) -> SqliteStore:
    store = SqliteStore(str(path))
    await store.open()
    return store


async def test_two_concurrent_passes_in_one_process_post_each_alert_once() -> None:
    store = MemoryStore()
    await store.open()
    sink = SlowSink("desk")
    ctx = Context(settings=settings("desk"), store=store, sinks={"desk": sink})
    await queue_alerts(store, "desk", 3)
    first, second = await asyncio.gather(deliver_pending(ctx, T0), deliver_pending(ctx, T0))
    once_each(sink, 3)
    assert first.sent + second.sent == 3


async def test_the_digest_job_waits_for_the_ticks_pass_instead_of_racing_it() -> None:
    store = MemoryStore()
    await store.open()
    sink = SlowSink("desk")
    ctx = Context(settings=settings("desk"), store=store, sinks={"desk": sink})
    await queue_alerts(store, "desk", 3)
    sub = replace(ctx.settings.subscriptions[0], mode="digest")
    await asyncio.gather(deliver_pending(ctx, T0), digest_job(ctx, sub, clock=lambda: T0 + timedelta(minutes=1)))
    alerts = [m for m in sink.sends if m.kind == "alert"]
    assert len(alerts) == len({m.marker for m in alerts}) == 3
    assert [m.kind for m in sink.sends].count("digest") == 1


async def test_two_processes_on_one_database_only_the_lease_holder_posts(tmp_path: Path) -> None:
    a, b = await sqlite(tmp_path / "desk.db"), await sqlite(tmp_path / "desk.db")  # two "processes"
    channel = SlowSink("desk")  # the one channel both post to
    await queue_alerts(a, "desk", 3)
    ctx_a = Context(settings=settings("desk"), store=a, sinks={"desk": channel})
    ctx_b = Context(settings=settings("desk"), store=b, sinks={"desk": channel})
    ra, rb = await asyncio.gather(deliver_pending(ctx_a, T0), deliver_pending(ctx_b, T0))
    once_each(channel, 3)
    assert sorted([ra.sent, rb.sent]) == [0, 3] and sorted([ra.standby, rb.standby]) == [False, True]
    assert await a.lease_holder(outbox.LEASE_NAME, T0) is None  # released at the end of the pass
    await a.close()
    await b.close()


async def test_a_standby_says_so_once_and_takes_over_when_the_holders_lease_expires(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = await sqlite(tmp_path / "desk.db")
    await queue_alerts(store, "desk", 2)
    await store.take_lease(outbox.LEASE_NAME, "other-host:4242:cafe", T0, TTL)  # then that process died
    sink = RecordingSink("desk")
    ctx = Context(settings=settings("desk"), store=store, sinks={"desk": sink})
    caplog.set_level(logging.INFO, logger="deskwatch.outbox")
    for s in (1, 10, 30, 59):
        report = await deliver_pending(ctx, T0 + timedelta(seconds=s))
        assert report.standby and report.sent == 0
    assert not sink.sends
    standby = [r.getMessage() for r in caplog.records if "standby" in r.getMessage()]
    assert len(standby) == 1 and "other-host:4242:cafe" in standby[0]  # one line, not one per tick
    report = await deliver_pending(ctx, T0 + timedelta(seconds=61))  # the lease expired: taken over
    assert report.sent == 2 and not report.standby
    once_each(sink, 2)
    assert any("delivers" in r.getMessage() for r in caplog.records if r.levelno == logging.INFO)
    await store.close()


def _dead_pid() -> int:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True)
    return int(done.stdout)


@pytest.mark.parametrize("holder", [
    pytest.param(lambda: f"{socket.gethostname()}:{_dead_pid()}:gone", id="its pid is gone"),
    pytest.param(lambda: f"{socket.gethostname()}:{os.getpid()}:previous-life", id="a previous life of this pid"),
])
async def test_a_lease_left_by_a_dead_process_on_this_host_is_taken_over_at_once(
    tmp_path: Path, holder: object
) -> None:
    store = await sqlite(tmp_path / "desk.db")
    await queue_alerts(store, "desk", 2)
    assert callable(holder)
    await store.take_lease(outbox.LEASE_NAME, holder(), T0, TTL)  # SIGKILLed: never released
    sink = RecordingSink("desk")
    report = await deliver_pending(Context(settings=settings("desk"), store=store, sinks={"desk": sink}),
                                   T0 + timedelta(seconds=1))
    assert report.sent == 2 and not report.standby
    await store.close()


async def test_a_long_pass_renews_its_lease_so_no_one_takes_over_mid_pass(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(outbox, "LEASE_TTL", timedelta(seconds=1))
    monkeypatch.setattr(outbox, "RENEW_EVERY", 0.1)
    a, b = await sqlite(tmp_path / "desk.db"), await sqlite(tmp_path / "desk.db")
    await queue_alerts(a, "desk", 6)
    channel = SlowSink("desk", delay=0.25)  # the pass takes about 1.5 s, longer than the lease's ttl
    start = time.monotonic()
    task = asyncio.create_task(deliver_pending(Context(settings=settings("desk"), store=a,
                                                       sinks={"desk": channel}), T0))
    taken = []
    while not task.done():
        await asyncio.sleep(0.05)
        now = T0 + timedelta(seconds=time.monotonic() - start)
        if not task.done():
            taken.append(await b.take_lease(outbox.LEASE_NAME, "other-host:1:b", now, TTL))
    assert (await task).sent == 6
    assert len(taken) > 10 and not any(taken)
    await a.close()
    await b.close()


async def test_a_pass_that_lost_its_lease_stops_before_the_next_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(outbox, "RENEW_EVERY", 0.02)
    a, b = await sqlite(tmp_path / "desk.db"), await sqlite(tmp_path / "desk.db")
    await queue_alerts(a, "desk", 3)

    class Stalled(SlowSink):
        async def send(self, message: Message) -> str:
            # this process stalled past its lease and another one took it over meanwhile
            await b.take_lease(outbox.LEASE_NAME, "other-host:1:b", T0 + timedelta(hours=1), TTL)
            return await super().send(message)

    channel = Stalled("desk", delay=0.4)
    report = await deliver_pending(Context(settings=settings("desk"), store=a, sinks={"desk": channel}), T0)
    assert len(channel.sends) == 1 and report.sent == 1
    assert any("lease" in r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING)
    # the other process's lease is untouched by the end of this pass
    assert await a.lease_holder(outbox.LEASE_NAME, T0 + timedelta(hours=1)) == "other-host:1:b"
    await a.close()
    await b.close()
