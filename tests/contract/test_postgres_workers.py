"""Several `deskwatch` workers on one PostgreSQL database, through the pipeline, the outbox and the
scheduler (issue 13 point 3): each feed polled by one worker at a time, one story for two outlets
reporting one development on two workers, each outbox row posted once, once-per-cluster jobs on
one leader. Each worker is a Context with its own PostgresStore (its own pool) on one schema."""

from __future__ import annotations

import asyncio
import contextlib
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


async def test_a_slow_poll_keeps_its_feed_leases_renewed(cluster: Cluster, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cluster_mod, "FEED_TTL", timedelta(seconds=1))
    monkeypatch.setattr(cluster_mod, "FEED_RENEW", 0.1)
    a, b = cluster.workers
    cluster.server.latency = 1.5  # every fetch outlasts the lease's ttl
    slow = asyncio.create_task(poll_due_feeds(a, T0))
    await asyncio.sleep(0.5)
    late = await poll_due_feeds(b, T0 + timedelta(seconds=1.2))  # a's first leases would have expired
    await slow
    assert late.feeds == 0
    assert sorted(cluster.server.hits.values()) == [1] * FEEDS


async def test_a_cycle_polls_each_feed_once_even_when_it_outlasts_the_interval(cluster: Cluster) -> None:
    a = cluster.workers[0]
    polling = replace(a.settings.polling, interval=1, min_interval=1, concurrency=1)  # one feed at a time
    slow = replace(a, settings=replace(a.settings, polling=polling))
    for n in range(FEEDS):  # no <ttl>: the next poll is due a second later
        cluster.server.feed(f"/f{n:02}.xml", make_rss(f"F{n}", 2).replace(b"<ttl>15</ttl>", b""))
    cluster.server.latency = 0.15  # 12 feeds one by one: about 2 s, past their next poll
    async with asyncio.timeout(30):  # before: the cycle went round its feeds for ever
        report = await poll_due_feeds(slow, T0)
    assert report.feeds == FEEDS and sorted(cluster.server.hits.values()) == [1] * FEEDS


async def test_items_a_worker_just_stored_are_its_own_those_of_a_dead_one_are_taken_up(cluster: Cluster) -> None:
    from bot.pipeline import CycleReport, process_backlog

    a, b = cluster.workers
    await a.store.add_items([DEPLOY, replace(DEPLOY_2, fetched=T0)])  # fetched and stored at T0, not yet matched
    early = CycleReport()
    await process_backlog(b, T0 + timedelta(seconds=30), early)  # a may be matching them right now
    assert early.relevant == 0 and len(await b.store.unprocessed_items()) == 2
    late = CycleReport()
    await process_backlog(b, T0 + timedelta(seconds=60), late)  # a lease period later: a died
    assert late.relevant == 2 and await b.store.unprocessed_items() == []


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


class MeetingSink(SlowSink):
    """A slow channel that tells when the first post starts (`first`), and holds that post
    (up to MEET_WAIT) until a second one is under way at the same time. A worker posts one row
    after another, so that second post can only be the other worker's."""

    def __init__(self, name: str, delay: float) -> None:
        super().__init__(name, delay)
        self.in_flight = 0
        self.first = asyncio.Event()
        self.met = asyncio.Event()

    async def send(self, message: Message) -> str:
        self.in_flight += 1
        try:
            if self.in_flight > 1:
                self.met.set()
            if not self.first.is_set():
                self.first.set()
                with contextlib.suppress(TimeoutError):  # then the assertions say who never posted
                    await asyncio.wait_for(self.met.wait(), timeout=MEET_WAIT)
            return await super().send(message)
        finally:
            self.in_flight -= 1


MEET_WAIT = 10.0  # seconds the first post waits for the other worker's


async def test_two_workers_deliver_in_parallel_and_post_each_row_once(cluster: Cluster) -> None:
    a, b = cluster.workers
    channel = MeetingSink("desk", delay=0.02)
    on_channel(cluster.workers, channel)
    await queue_alerts(a.store, "desk", 40)
    # b starts once a holds its first batch and is posting from it (a pass that finds no row to
    # claim ends at once, so two passes started together raced on who claims first: the test
    # failed now and then when b's first claim met all the rows still locked by a's).
    first_pass = asyncio.create_task(deliver_pending(a, T0))
    await asyncio.wait_for(channel.first.wait(), timeout=30)
    rb = await deliver_pending(b, T0)
    ra = await first_pass
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


async def test_killing_the_leader_moves_digests_to_another_worker_within_one_lease_period(cluster: Cluster) -> None:
    from bot.scheduler import digest_job
    from tests.integration.test_one_delivery_pass import story

    a, b = cluster.workers
    channel = RecordingSink("desk")
    on_channel(cluster.workers, channel)
    sub = replace(a.settings.subscriptions[0], mode="digest")
    clock = [T0]
    alive = [True]

    async def sleep(seconds: float) -> None:  # time passes; a leader that lives renews meanwhile
        clock[0] += timedelta(seconds=seconds)
        if alive[0]:
            assert await cluster_mod.leads(a, clock[0])

    def digests() -> int:
        return [m.kind for m in channel.sends].count("digest")

    await a.store.save_story(story(1))
    await digest_job(a, sub, clock=lambda: clock[0], sleep=sleep)  # a fires first: it leads
    assert digests() == 1
    await a.store.save_story(story(2))
    await digest_job(b, sub, clock=lambda: clock[0], sleep=sleep)  # b's firing: a stays alive, so b does nothing
    assert digests() == 1 and clock[0] > T0 + cluster_mod.LEASE_TTL
    last_renewal = clock[0]
    alive[0] = False  # a is killed; the next digest fires on both, but only b lives
    clock[0] += timedelta(seconds=10)
    fired = clock[0]
    await digest_job(b, sub, clock=lambda: clock[0], sleep=sleep)
    assert digests() == 2  # b took the lead and sent it (with story 2: nothing is skipped) ...
    assert clock[0] - fired <= cluster_mod.LEASE_TTL  # ... within one lease period of the firing
    assert clock[0] >= last_renewal + cluster_mod.LEASE_TTL  # and not before a's lease had expired
    assert await b.store.lease_holder(cluster_mod.LEADER, clock[0]) == b.worker


async def test_the_leader_loop_hands_over_when_the_leader_stops(
        cluster: Cluster, monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.scheduler import utcnow

    monkeypatch.setattr(cluster_mod, "RENEW_EVERY", 0.05)
    a, b = cluster.workers
    changes: dict[str, list[bool]] = {"a": [], "b": []}

    def tell(name: str):  # type: ignore[no-untyped-def]
        async def changed(leading: bool) -> None:
            changes[name].append(leading)
        return changed

    first = asyncio.create_task(cluster_mod.lead_loop(a, utcnow, on_change=tell("a")))
    await asyncio.sleep(0.3)
    second = asyncio.create_task(cluster_mod.lead_loop(b, utcnow, on_change=tell("b")))
    await asyncio.sleep(0.3)
    assert changes == {"a": [True], "b": []}
    first.cancel()  # a shuts down: it gives the lease back
    await asyncio.gather(first, return_exceptions=True)
    await asyncio.sleep(0.3)
    assert changes == {"a": [True], "b": [True]}
    second.cancel()
    await asyncio.gather(second, return_exceptions=True)


async def test_the_discord_gateway_runs_on_the_leader_only_and_moves_when_it_stops(
        postgres_server: PgServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two `run`s on one database: Slack connects on both (Slack hands each request to one
    connection), Discord on the leader only (Discord would hand each interaction to both)."""
    import bot.app
    from bot.app import run
    from bot.settings import StorageSettings
    from bot.supervisor import Connect, Up

    monkeypatch.setattr(cluster_mod, "RENEW_EVERY", 0.05)
    url = await new_schema(postgres_server)
    conf = replace(settings(), storage=StorageSettings(url=url, pool_size=4))
    connected: dict[str, list[int]] = {"discord": [], "slack": []}
    made = iter(range(2))

    def clients(*_args: object, **_kw: object) -> dict[str, Connect]:
        n = next(made)

        def client(platform: str) -> Connect:
            async def connect(up: Up) -> None:
                connected[platform].append(n)
                await up()
                await asyncio.Event().wait()  # connected until cancelled
            return connect

        return {"discord": client("discord"), "slack": client("slack")}

    monkeypatch.setattr(bot.app, "chat_clients", clients)

    async def until(check: object) -> None:
        async with asyncio.timeout(30):
            while not check():  # type: ignore[operator]
                await asyncio.sleep(0.05)

    stops = [asyncio.Event(), asyncio.Event()]
    first = asyncio.create_task(run(conf, env={}, stop=stops[0], load_model=lambda: None))
    await until(lambda: connected["discord"] == [0])
    second = asyncio.create_task(run(conf, env={}, stop=stops[1], load_model=lambda: None))
    await until(lambda: sorted(connected["slack"]) == [0, 1])
    await asyncio.sleep(0.3)
    assert connected["discord"] == [0]  # the follower does not connect the gateway
    stops[0].set()  # the leader stops: it gives the lease back, the other takes the gateway
    await first
    await until(lambda: connected["discord"] == [0, 1])
    stops[1].set()
    await second


async def test_the_soaks_postgresql_reader_sees_what_its_sqlite_reader_sees(
        cluster: Cluster, tmp_path: object) -> None:
    from pathlib import Path

    from bench.soak_check import read_db, read_pg
    from bot.store.sqlite import SqliteStore

    a = cluster.workers[0]
    path = Path(str(tmp_path)) / "same.db"
    lite = SqliteStore(str(path))
    await lite.open()
    now = T0 + timedelta(hours=3)
    for ctx in (a, replace(a, store=lite, story_lock=asyncio.Lock())):
        await ctx.store.add_items([DEPLOY, DEPLOY_2])
        await process_items(ctx, [DEPLOY, DEPLOY_2], now)
    await lite.close()
    store = a.store
    assert isinstance(store, PostgresStore)
    watch = a.settings.watches[0].name
    from_pg, from_file = await read_pg(store.url, watch), read_db(str(path), watch)
    assert from_pg == from_file and len(from_pg.story_urls) == 1 and from_pg.active
