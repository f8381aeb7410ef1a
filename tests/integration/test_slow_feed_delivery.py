"""A slow feed does not hold back the alerts of the others (issue 10 point 11).

A feed trickling its body one byte at a time used to keep the whole cycle, and so the delivery
pass after it, waiting until the fetch timed out. Now the cycle runs the delivery pass as soon as
a feed that stored new items is done. The test orders events instead of timing them: the
trickling feed sends the rest of its body only once the fast feed's alert has been delivered, so
before the fix the fetch timed out first, and after it the alert comes first and the slow feed is
then read in full.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime

from aiohttp import web

from bot.fetch import Fetcher
from bot.model import FeedState, FetchResult, Message
from bot.outbox import deliver_pending
from bot.pipeline import Context, poll_due_feeds
from bot.settings import FeedSettings, PollingSettings
from bot.store.memory import MemoryStore
from tests.factories import settings
from tests.fakes.feed_server import FeedServer
from tests.fakes.recording_sink import RecordingSink

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
FAST = (b'<?xml version="1.0"?><rss version="2.0"><channel><title>fast</title><item>'
        b"<title>North Korean troops killed near Kursk while fighting for Russia, Kyiv says</title>"
        b"<link>https://fast.example/kursk-1</link><guid>fast-1</guid>"
        b"<pubDate>Thu, 15 Jan 2026 10:00:00 +0000</pubDate>"
        b"<description>Ukraine's army said North Korean soldiers fighting for Russia were killed.</description>"
        b"</item></channel></rss>")
SLOW = (b'<?xml version="1.0"?><rss version="2.0"><channel><title>slow</title><item>'
        b"<title>Regional weather outlook for the coming week</title><guid>slow-1</guid>"
        b"</item></channel></rss>")


class AlertLog(RecordingSink):
    """A recording sink that also notes, in the shared event log, when an alert went out."""

    def __init__(self, name: str, events: list[str], delivered: asyncio.Event) -> None:
        super().__init__(name)
        self.events, self.delivered = events, delivered

    async def send(self, message: Message) -> str:
        ref = await super().send(message)
        self.events.append("fast feed's alert delivered")
        self.delivered.set()
        return ref


class NotingFetcher(Fetcher):
    """The real fetcher, noting in the event log when the slow feed's fetch is over."""

    def __init__(self, polling: PollingSettings, events: list[str], slow_url: str) -> None:
        super().__init__(polling)
        self.events, self.slow_url = events, slow_url

    async def fetch(self, state: FeedState, *, guard: Sequence[str] | None = None) -> FetchResult:
        result = await super().fetch(state, guard=guard)
        if state.url == self.slow_url:
            self.events.append(f"slow feed fetched ({result.outcome})")
        return result


async def test_the_fast_feeds_alert_is_delivered_before_the_trickling_feed_is_done() -> None:
    events: list[str] = []
    delivered = asyncio.Event()

    async def trickle(request: web.Request) -> web.StreamResponse:
        """One byte every 0.1 s until the fast feed's alert is out; then the rest at once."""
        resp = web.StreamResponse(headers={"Content-Type": "application/rss+xml"})
        await resp.prepare(request)
        sent = 0
        while sent < len(SLOW) - 1 and not delivered.is_set():
            await resp.write(SLOW[sent : sent + 1])
            sent += 1
            await asyncio.sleep(0.1)
        await resp.write(SLOW[sent:])
        await resp.write_eof()
        return resp

    async with FeedServer() as server:
        feeds = (FeedSettings(name="fast", url=server.feed("/fast.xml", FAST), language="en"),
                 FeedSettings(name="slow", url=server.route("/slow.xml", trickle), language="en"))
        # the whole trickle (175 bytes, under 18 s) fits in the default 30 s fetch budget, so the
        # slow feed is read in full either way: only the order of events can fail this test
        s = replace(settings("desk"), feeds=feeds)
        store = MemoryStore()
        await store.open()
        await store.sync_feeds([(f.name, f.url) for f in feeds])
        sink = AlertLog("desk", events, delivered)
        async with NotingFetcher(s.polling, events, slow_url=feeds[1].url) as fetcher:
            ctx = Context(settings=s, store=store, sinks={"desk": sink}, fetcher=fetcher, check_age=False)
            # what the scheduler's tick does: poll (delivering as feeds finish), then one more pass
            await poll_due_feeds(ctx, NOW, after_feed=lambda: deliver_pending(ctx, NOW))
            await deliver_pending(ctx, NOW)
        await store.close()

    assert events == ["fast feed's alert delivered", "slow feed fetched (ok)"]
    assert len(sink.sends) == 1 and "Kursk" in sink.sends[0].title
