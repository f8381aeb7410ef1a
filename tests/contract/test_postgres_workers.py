"""Several `deskwatch` workers on one PostgreSQL database, through the pipeline, the outbox and the
scheduler (issue 13 point 3): each feed polled by one worker at a time, one story for two outlets
reporting one development on two workers, each outbox row posted once, once-per-cluster jobs on
one leader. Each worker is a Context with its own PostgresStore (its own pool) on one schema."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import timedelta

import pytest

from bot import cluster as cluster_mod
from bot.fetch import Fetcher
from bot.model import Message
from bot.outbox import deliver_pending, marker_for
from bot.pipeline import Context, poll_due_feeds, process_items
from bot.settings import FeedSettings
from bot.store.postgres import PostgresStore
from tests.contract.conftest import new_schema
from tests.factories import T0, item, settings
from tests.fakes.feed_server import FeedServer, make_rss
from tests.fakes.recording_sink import RecordingSink
from tests.integration.test_one_delivery_pass import SlowSink, once_each, queue_alerts
from tests.postgres_server import PgServer

FEEDS = 12
DEPLOY = item("North Korean troops deployed to Kursk region to fight for Russia, Seoul says",
              "South Korea's spy agency said thousands of North Korean soldiers were sent to Russia's Kursk "
              "region to fight against Ukraine.", source="Example Wire")
DEPLOY_2 = item("Seoul: North Korea has sent troops to Russia's Kursk front",
                "North Korean soldiers have been deployed to fight for Russia in the Kursk region against "
                "Ukrainian forces, South Korean intelligence said.", source="Other Daily",
                published=T0 + timedelta(hours=3))


@dataclass
class Cluster:
    workers: list[Context]
    server: FeedServer
    feeds: tuple[FeedSettings, ...]


@pytest.fixture
async def cluster(postgres_server: PgServer) -> AsyncIterator[Cluster]:
    url = await new_schema(postgres_server)
    async with FeedServer(latency=0.05) as server:
        feeds = tuple(FeedSettings(name=f"f{n:02}", url=server.feed(f"/f{n:02}.xml", make_rss(f"F{n}", 2)),
                                   language="en") for n in range(FEEDS))
        conf = replace(settings("desk"), feeds=feeds)
        workers: list[Context] = []
        fetchers: list[Fetcher] = []
        for n in range(2):
            store = PostgresStore(url, pool_size=4)
            await store.open()
            await store.sync_feeds([(f.name, f.url) for f in feeds])
            fetcher = Fetcher(conf.polling)
            await fetcher.__aenter__()
            fetchers.append(fetcher)
            workers.append(Context(settings=conf, store=store, fetcher=fetcher, check_age=False,
                                   sinks={"desk": RecordingSink("desk")}, worker=f"w{n}"))
        try:
            yield Cluster(workers, server, feeds)
        finally:
            for ctx, fetcher in zip(workers, fetchers, strict=True):
                await fetcher.__aexit__(None, None, None)
                await ctx.store.close()


async def test_two_workers_polling_at_once_fetch_each_feed_once(cluster: Cluster) -> None:
    a, b = cluster.workers
    reports = await asyncio.gather(poll_due_feeds(a, T0), poll_due_feeds(b, T0))
    assert sorted(cluster.server.hits.values()) == [1] * FEEDS  # every feed, by one worker
    assert sum(r.feeds for r in reports) == FEEDS
    for f in cluster.feeds:  # each feed's lease was given back once its state was saved
        assert await a.store.lease_holder(f"feed:{f.name}", T0) is None
        state = await a.store.feed_state(f.name)
        assert state is not None and state.last_attempt is not None


async def test_a_dead_workers_feeds_wait_for_its_leases_to_expire(cluster: Cluster) -> None:
    a, b = cluster.workers
    store = a.store
    assert isinstance(store, PostgresStore)
    held = await store.lease_due_feeds("dead worker", T0, timedelta(seconds=60), 5)  # then it died
    assert len(held) == 5
    await poll_due_feeds(b, T0 + timedelta(seconds=1))
    assert len(cluster.server.hits) == FEEDS - 5  # the dead worker's feeds are nobody's yet
    await poll_due_feeds(b, T0 + timedelta(seconds=60))
    assert sorted(cluster.server.hits.values()) == [1] * FEEDS  # expired: polled now


async def test_two_outlets_on_two_workers_in_one_cycle_make_one_story(cluster: Cluster) -> None:
    a, b = cluster.workers
    await a.store.add_items([DEPLOY, DEPLOY_2])
    now = T0 + timedelta(hours=3)
    await asyncio.gather(process_items(a, [DEPLOY], now), process_items(b, [DEPLOY_2], now))
    first, second = await a.store.story_of_item(DEPLOY.key), await b.store.story_of_item(DEPLOY_2.key)
    assert first is not None and second is not None and first.id == second.id
    assert len(await a.store.latest_stories(10)) == 1


def on_channel(workers: list[Context], channel: RecordingSink) -> None:
    for ctx in workers:  # both workers post to the one channel
        ctx.sinks = {"desk": channel}


async def test_two_workers_deliver_in_parallel_and_post_each_row_once(cluster: Cluster) -> None:
    a, b = cluster.workers
    channel = SlowSink("desk", delay=0.02)
    on_channel(cluster.workers, channel)
    await queue_alerts(a.store, "desk", 40)
    ra, rb = await asyncio.gather(deliver_pending(a, T0), deliver_pending(b, T0))
    once_each(channel, 40)
    assert not ra.standby and not rb.standby
    assert ra.sent > 0 and rb.sent > 0 and ra.sent + rb.sent == 40  # shared, not one worker and a standby
    assert await a.store.pending_count() == 0
    assert await a.store.lease_holder("delivery:alert:st-0:desk", T0) is None  # given back


async def test_a_row_a_dead_worker_was_posting_is_looked_for_once_its_claim_expires(cluster: Cluster) -> None:
    a, b = cluster.workers
    store = a.store
    assert isinstance(store, PostgresStore)
    channel = RecordingSink("desk")
    on_channel(cluster.workers, channel)
    ids = await queue_alerts(store, "desk", 2)
    claimed = await store.claim_deliveries("dead worker", T0, timedelta(seconds=60), 1)
    assert [d.id for d in claimed] == ids[:1]
    await store.save_delivery(replace(claimed[0], status="sending"))  # posting, then SIGKILLed
    await channel.send(Message(kind="alert", title="posted before the kill", marker=marker_for(claimed[0])))
    early = await deliver_pending(b, T0 + timedelta(seconds=1))
    assert early.sent == 1 and early.recovered == 0  # the other row; the dead worker's is still claimed
    late = await deliver_pending(b, T0 + timedelta(seconds=61))
    assert late.recovered == 1 and late.sent == 0  # found in the channel: edited, not posted again
    once_each(channel, 2)


async def test_a_long_pass_renews_its_claims_so_no_one_takes_a_row_mid_pass(
        cluster: Cluster, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cluster_mod, "LEASE_TTL", timedelta(seconds=1))
    monkeypatch.setattr(cluster_mod, "RENEW_EVERY", 0.1)
    a, b = cluster.workers
    store = b.store
    assert isinstance(store, PostgresStore)
    channel = SlowSink("desk", delay=0.25)  # 6 rows take about 1.5 s, longer than a claim's ttl
    on_channel(cluster.workers, channel)
    await queue_alerts(a.store, "desk", 6)
    start = asyncio.get_running_loop().time()
    task = asyncio.create_task(deliver_pending(a, T0))
    taken = []
    while not task.done():
        await asyncio.sleep(0.05)
        now = T0 + timedelta(seconds=asyncio.get_running_loop().time() - start)
        taken += await store.claim_deliveries("other", now, timedelta(seconds=1), 10)
    assert (await task).sent == 6 and taken == []
    once_each(channel, 6)


async def test_a_source_merged_on_another_worker_while_the_row_is_marked_sent_is_edited_in(
        cluster: Cluster, monkeypatch: pytest.MonkeyPatch) -> None:
    """Between the outbox's last look at the story and its "sent" mark, another worker merges a
    source and routes it: the route sees the row "sending" and does not re-open it, so the mark
    must not be made in that gap (it is made under the story lock)."""
    a, b = cluster.workers
    now = T0 + timedelta(hours=3)
    channel = RecordingSink("desk")
    on_channel(cluster.workers, channel)
    await a.store.add_items([DEPLOY, DEPLOY_2])
    await process_items(a, [DEPLOY], now)
    store = a.store
    story = store.story
    calls = 0
    merging: list[asyncio.Task[object]] = []

    async def story_then_merge_elsewhere(story_id: str) -> object:
        nonlocal calls
        found = await story(story_id)
        calls += 1
        if calls == 2:  # _sent's look at the story: the other worker merges now
            merging.append(asyncio.create_task(process_items(b, [DEPLOY_2], now)))
            await asyncio.sleep(0.5)
        return found

    monkeypatch.setattr(store, "story", story_then_merge_elsewhere)
    assert (await deliver_pending(a, now)).sent == 1
    await asyncio.gather(*merging)
    monkeypatch.undo()
    await deliver_pending(a, now + timedelta(minutes=1))
    assert channel.edits and len(channel.edits[-1][1].stories[0].links) == 2  # the post shows both sources
