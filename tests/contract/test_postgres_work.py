"""Several workers on one PostgreSQL database share the work (issue 13 point 3): due feeds and due
outbox rows are claimed with a lease. Two workers claiming at once never get the same feed or
row; a held one is nobody's until released or expired; a dead worker's leases expire."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from bot.model import FeedState
from bot.store.postgres import PostgresStore
from tests.contract.conftest import at, make_delivery, new_schema
from tests.postgres_server import PgServer

TTL = timedelta(seconds=60)


@pytest.fixture
async def workers(postgres_server: PgServer) -> AsyncIterator[list[PostgresStore]]:
    url = await new_schema(postgres_server)
    stores = [PostgresStore(url, pool_size=3) for _ in range(3)]
    for s in stores:
        await s.open()
    yield stores
    for s in stores:
        await s.close()


async def test_leased_feeds_follow_the_due_rule_and_order(workers: list[PostgresStore]) -> None:
    a = workers[0]
    polls = {"d-never": (None, None), "a-never": (None, None), "b-10": (at(-10), None), "c-20": (at(-20), None),
             "e-now": (at(0), None), "f-future": (at(5), None),
             "g-clock-was-ahead": (at(5), at(24 * 60)),  # last polled "tomorrow": the clock stepped back
             "h-too-far": (at(8 * 24 * 60), None)}  # further ahead than any interval allows
    for name, (next_poll, last) in polls.items():
        await a.save_feed_state(FeedState(name=name, url=f"https://{name}.example", next_poll=next_poll,
                                          last_attempt=last, last_success=last))
    expected = [f.name for f in await a.due_feeds(at(0))]
    assert expected == ["a-never", "d-never", "c-20", "b-10", "e-now", "g-clock-was-ahead", "h-too-far"]
    assert [f.name for f in await a.lease_due_feeds("w1", at(0), TTL, 100)] == expected


async def test_two_workers_claiming_at_once_never_get_the_same_feed(workers: list[PostgresStore]) -> None:
    await workers[0].sync_feeds([(f"f{n:03}", f"https://f{n}.example") for n in range(120)])
    got: dict[str, list[str]] = {f"w{n}": [] for n in range(len(workers))}
    for _ in range(20):
        rounds = await asyncio.gather(*(w.lease_due_feeds(f"w{n}", at(0), TTL, 7) for n, w in enumerate(workers)))
        for n, feeds in enumerate(rounds):
            got[f"w{n}"] += [f.name for f in feeds]
        if not any(rounds):
            break
    everyone = [name for names in got.values() for name in names]
    assert sorted(everyone) == [f"f{n:03}" for n in range(120)]  # each feed once, to one worker
    assert all(got.values())  # and the work was shared


async def test_a_leased_feed_is_nobodys_until_released_or_expired(workers: list[PostgresStore]) -> None:
    a, b, _ = workers
    await a.sync_feeds([("wire", "https://wire.example")])
    [feed] = await a.lease_due_feeds("a", at(0), TTL, 10)
    assert await a.lease_due_feeds("a", at(0.5), TTL, 10) == []  # not twice to its own worker either
    assert await b.lease_due_feeds("b", at(0.5), TTL, 10) == []
    # polled: the new state is saved, then the lease given back; the feed is not due any more
    await a.save_feed_state(dataclasses.replace(feed, last_attempt=at(0.6), next_poll=at(15)))
    assert await b.release_feed("wire", "b") is False
    assert await a.release_feed("wire", "a") is True
    assert await b.lease_due_feeds("b", at(1), TTL, 10) == []
    assert [f.name for f in await b.lease_due_feeds("b", at(15), TTL, 10)] == ["wire"]


async def test_a_dead_workers_feed_lease_expires(workers: list[PostgresStore]) -> None:
    a, b, _ = workers
    await a.sync_feeds([("wire", "https://wire.example"), ("herald", "https://herald.example")])
    assert len(await a.lease_due_feeds("a", at(0), TTL, 10)) == 2
    await a.close()  # a dies without releasing
    assert await b.lease_due_feeds("b", at(0.99), TTL, 10) == []
    assert [f.name for f in await b.lease_due_feeds("b", at(1), TTL, 10)] == ["herald", "wire"]
    assert await b.release_feed("wire", "a") is False and await b.lease_holder("feed:wire", at(1)) == "b"


async def test_outbox_rows_are_claimed_once_in_due_order(workers: list[PostgresStore]) -> None:
    a, _, c = workers
    rows = [make_delivery(f"s{n:02}", created=at(n)) for n in range(30)]
    rows += [make_delivery("later", created=at(0), next_attempt=at(5)), make_delivery("done", status="sent")]
    await a.enqueue(rows)
    claims = await asyncio.gather(*(w.claim_deliveries(f"w{n}", at(0), TTL, 6) for n, w in enumerate(workers)))
    claimed = [d.id for rows_ in claims for d in rows_]
    # No row in two hands. How many each gets depends on who locks first: a worker skips rows
    # another is locking at that instant, so under load a worker may come back with fewer.
    assert len(claimed) == len(set(claimed)) and claimed and all(len(got) <= 6 for got in claims)
    for got in claims:
        assert [d.created for d in got] == sorted(d.created for d in got)
    rest = await c.claim_deliveries("w2", at(0), TTL, 100)
    assert sorted(claimed + [d.id for d in rest]) == sorted(d.id for d in rows[:30])
    assert await a.claim_deliveries("w0", at(0.5), TTL, 100) == []  # all held


async def test_a_claimed_row_comes_back_when_released_if_still_due_or_when_its_lease_expires(
        workers: list[PostgresStore]) -> None:
    a, b, _ = workers
    first, second = make_delivery("s1"), make_delivery("s2")
    await a.enqueue([first, second])
    assert [d.id for d in await a.claim_deliveries("a", at(0), TTL, 10)] == [first.id, second.id]
    await a.save_delivery(dataclasses.replace(first, status="sent", ref="C/1"))
    assert await a.release_delivery(first.id, "a") is True
    assert await b.claim_deliveries("b", at(0.5), TTL, 10) == []  # sent; the other still held by a
    assert [d.id for d in await b.claim_deliveries("b", at(1), TTL, 10)] == [second.id]  # a died: expired
    assert await a.release_delivery(second.id, "a") is False


async def test_the_story_lock_is_held_by_one_worker_at_a_time(workers: list[PostgresStore]) -> None:
    a, b, _ = workers
    order: list[str] = []
    inside = asyncio.Event()

    async def first() -> None:
        async with a.story_lock():
            inside.set()
            order.append("a in")
            await asyncio.sleep(0.3)
            order.append("a out")

    async def second() -> None:
        await inside.wait()
        async with b.story_lock():
            order.append("b in")
        async with b.story_lock("other watch"):  # another name is another lock
            order.append("b other")

    await asyncio.gather(first(), second())
    assert order == ["a in", "a out", "b in", "b other"]


async def test_a_dead_workers_story_lock_is_free_at_once(workers: list[PostgresStore]) -> None:
    a, b, _ = workers
    entered = asyncio.Event()

    async def hold_forever() -> None:
        async with a.story_lock():
            entered.set()
            await asyncio.sleep(3600)

    holder = asyncio.create_task(hold_forever())
    await entered.wait()
    conns = await b._rows("SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted")
    assert len(conns) == 1
    await b._rows("SELECT pg_terminate_backend($1)", conns[0][0])  # the worker's connection dies
    async with asyncio.timeout(10), b.story_lock():
        pass
    holder.cancel()
    with contextlib.suppress(BaseException):
        await holder
