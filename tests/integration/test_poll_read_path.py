"""The live poll reads bodies in the parse worker (parse + normalise) and, on a feed read before,
normalises only the entries whose key the store lacks (bot/read_feed.py); fetching pauses while
fetched feeds wait for processing (bot/handoff.py). The items stored are exactly those of
normalising every entry in process and letting the store drop the known ones."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web

from bot import parse_worker
from bot.core.feed.normalize import normalize_entry
from bot.core.feed.parse import parse_feed
from bot.fetch import Fetcher
from bot.handoff import HELD
from bot.model import FeedState, FetchResult, Item, ParsedFeed
from bot.parse_worker import ParseWorker
from bot.pipeline import Context, poll_due_feeds
from bot.read_feed import AHEAD_SLACK, judge_in_worker
from bot.settings import FeedSettings
from bot.store.memory import MemoryStore
from tests.factories import settings
from tests.fakes.feed_server import FeedServer

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


LONG = "&lt;p&gt;" + "A paragraph of the article, as full-content feeds carry it. " * 40 + "&lt;/p&gt;"


def entry(n: int, *, guid: bool = True, link: bool = True, text: str = "", long: bool = True) -> str:
    return ("<item>" + f"<title>Report &lt;b&gt;{n}&lt;/b&gt; on the border situation {text}</title>"
            + (f"<link>https://news.example/a/{n}?utm_source=rss</link>" if link else "")
            + (f"<guid>g-{n}</guid>" if guid else "")
            + f"<pubDate>Thu, 15 Jan 2026 {n % 24:02d}:00:00 +0000</pubDate>"
            + f"<description>&lt;p&gt;Summary {n} &amp;amp; more {text}&lt;/p&gt;"
            + "&lt;p&gt;Second.&lt;/p&gt;" + (LONG if long else "") + "</description>"
            + "</item>")


def rss(*items: str) -> bytes:
    return ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
            + "".join(items) + "</channel></rss>").encode()


def bodies(long: bool) -> tuple[bytes, bytes]:
    """Entries with a GUID, with only a link, with neither (keyed by their text), and a GUID
    repeated; then the next poll: two new entries, the old ones (one text-keyed entry's text
    changed), one dropped."""
    first = rss(*(entry(n, long=long) for n in range(8)), entry(8, guid=False, long=long),
                entry(9, guid=False, link=False, long=long), entry(3, text="again", long=long))
    second = rss(entry(20, long=long), entry(21, guid=False, long=long), *(entry(n, long=long) for n in range(1, 8)),
                 entry(8, guid=False, long=long), entry(9, guid=False, link=False, text="edited", long=long),
                 entry(3, text="again", long=long))
    return first, second


class Recording(ParseWorker):
    """The real worker, recording the jobs it was given and how many entries each normalised."""

    def __init__(self) -> None:
        super().__init__()
        self.jobs: list[tuple[str, int]] = []

    async def _run(self, job: str, *args: Any) -> Any:
        value = await super()._run(job, *args)
        self.jobs.append((job, len(args[0]) if job == "normalise" else 0))
        return value


async def reference(feed: FeedSettings, bodies: Sequence[tuple[bytes, datetime]]) -> list[Item]:
    """What the poll stored before: every entry normalised in process, the store dropping the known."""
    store = MemoryStore()
    await store.open()
    for body, at in bodies:
        await store.add_items([normalize_entry(e, feed, at) for e in parse_feed(body, feed.url).entries])
    return await store.latest_items(1000)


@pytest.mark.parametrize(("in_worker", "long"), [(True, True), (True, False), (False, True), (False, False)])
async def test_the_items_stored_are_those_of_normalising_every_entry(
        in_worker: bool, long: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    body1, body2 = bodies(long)
    worker = Recording()
    monkeypatch.setattr(parse_worker, "_shared", worker)

    async def parse_here(body: bytes, url: str) -> ParsedFeed:
        return parse_feed(body, url)

    async with FeedServer() as server:
        served = {"/f.xml": body1}
        feed = FeedSettings(name="f", url=server.url("/f.xml"), language="en", source="Outlet")

        async def serve(request: web.Request) -> web.Response:
            return web.Response(body=served["/f.xml"], content_type="application/rss+xml")

        server.route("/f.xml", serve)
        store = MemoryStore()
        await store.open()
        await store.sync_feeds([(feed.name, feed.url)])
        async with Fetcher(settings().polling) as fetcher:
            ctx = Context(settings=replace(settings(), feeds=(feed,)), store=store, fetcher=fetcher,
                          check_age=False)
            kw = {} if in_worker else {"parse_body": parse_here}
            first = await poll_due_feeds(ctx, NOW, **kw)
            served["/f.xml"] = body2
            later = NOW + timedelta(hours=1)
            for st in await store.feed_states():
                await store.save_feed_state(replace(st, next_poll=None))
            second = await poll_due_feeds(ctx, later, **kw)
        assert (first.entries, second.entries) == (11, 12)  # every entry counted, known or not
        assert await store.latest_items(1000) == await reference(feed, [(body1, NOW), (body2, later)])
        if in_worker:
            # first poll: parse + normalise in one job; then keys, and only the 2 new entries and
            # the text-keyed one (its key is made of its text) normalised, long entries or short
            assert worker.jobs == [("read", 0), ("keys", 0), ("normalise", 3)]
        else:
            assert worker.jobs == []
        await store.close()
    worker.close()


async def test_fetching_pauses_while_fetched_feeds_wait_for_processing() -> None:
    """With processing slower than fetching, the feeds holding a fetched body at once stay within
    the hand-off's few (or the fetch concurrency), not the number of feeds."""
    holding, most = 0, 0

    class Counting(Fetcher):
        async def fetch(self, state: FeedState, **kw: Any) -> FetchResult:
            nonlocal holding, most
            result = await super().fetch(state, **kw)
            if result.outcome == "ok":
                holding += 1
                most = max(most, holding)
            return result

    class Saving(MemoryStore):
        async def save_feed_state(self, state: FeedState) -> None:
            nonlocal holding
            holding -= 1
            await super().save_feed_state(state)

    async def slow_parse(body: bytes, url: str) -> ParsedFeed:
        for _ in range(50):  # processing takes many turns of the loop; fetches take few
            await asyncio.sleep(0)
        return parse_feed(body, url)

    async with FeedServer() as server:
        feeds = tuple(FeedSettings(name=f"f{n}", url=server.feed(f"/{n}.xml", rss(entry(n))), language="en")
                      for n in range(60))
        store = Saving()
        await store.open()
        await store.sync_feeds([(f.name, f.url) for f in feeds])
        s = replace(settings(), feeds=feeds)
        s = replace(s, polling=replace(s.polling, concurrency=3))
        async with Counting(s.polling) as fetcher:
            ctx = Context(settings=s, store=store, fetcher=fetcher, check_age=False)
            report = await poll_due_feeds(ctx, NOW, parse_body=slow_parse)
        assert report.feeds == 60 and report.new_items == 60
        assert most <= max(3, HELD) < 60
        await store.close()


@pytest.mark.parametrize(("at_worker", "held", "in_worker"), [
    (1, 1, True),  # a cold cycle's first feed: nothing waits anywhere
    (8, 8, True),  # the start's burst: every fetched feed is at the worker, up to the slack
    (9, 9, False),  # beyond it the bot judges: the worker would hold it back too long
    (10, 12, True),  # the worker's queue longer than the bot's (2) by the slack exactly
    (11, 12, False),
    (3, 12, True),  # the bot is the busier side
])
def test_the_worker_judges_until_its_queue_runs_ahead_of_the_bots(at_worker: int, held: int, in_worker: bool) -> None:
    assert AHEAD_SLACK == 8
    assert judge_in_worker(at_worker, held) is in_worker
