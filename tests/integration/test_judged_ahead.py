"""Items judged ahead in the parse worker (bot/judging.py) get the very Matches the bot process
would give them, and a poll that records filtered items from those Matches stores the same rows
as one that judges every item itself."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape

import pytest

from bot import judging, pipeline
from bot.core.feed.parse import parse_feed
from bot.core.feed.read import read_all
from bot.core.relevance.match import analyse, decide
from bot.core.stories.facts import item_facts
from bot.fetch import Fetcher
from bot.model import Item, ParsedFeed
from bot.parse_worker import ParseWorker
from bot.pipeline import Context, poll_due_feeds, process_items
from bot.settings import FeedSettings
from bot.store.memory import MemoryStore
from tests.factories import settings
from tests.fakes.feed_server import FeedServer

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
ENTRIES = [
    ("North Korean troops deployed to Kursk region to fight for Russia, Seoul says",
     "South Korea's spy agency said thousands of North Korean soldiers were sent to Russia's Kursk region."),
    ("K-pop group announces world tour", "The band will play 40 cities across Asia and Europe."),
    ("Войска КНДР переброшены в Курскую область", "Северокорейские военные воюют на стороне России."),
    ("Chip maker posts record quarterly profit", "Sales of memory chips rose by a third."),
    ("북한군, 쿠르스크 전선에 배치", "국가정보원은 북한군 병력이 러시아 쿠르스크 지역에 배치됐다고 밝혔다."),
    ("City opens new tram line", "The line links the station with the university."),
]


def rss(entries: list[tuple[str, str]]) -> bytes:
    items = "".join(f"<item><title>{escape(t)}</title><link>https://news.example/{n}</link>"
                    f"<guid>g-{n}</guid><pubDate>Thu, 15 Jan 2026 {n:02d}:00:00 +0000</pubDate>"
                    f"<description>{escape(s)}</description></item>" for n, (t, s) in enumerate(entries))
    head = '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
    return f"{head}{items}</channel></rss>".encode()


def in_process(items: tuple[Item, ...]) -> list[tuple[Any, ...]]:
    watches = settings().watches
    return [tuple(decide(w, analyse(w, i), None) for w in watches) for i in items]


async def test_the_worker_judges_items_as_the_bot_process_would_and_gets_the_watches_once() -> None:
    feed = FeedSettings(name="f", url="https://news.example/feed.xml", language="en", source="Outlet")
    ahead = judging.ahead_for(settings().watches, embedder=False)
    sent: list[bool] = []
    worker = ParseWorker()
    real = worker._round_trip

    def recording(job: str, args: tuple[Any, ...]) -> Any:
        value = real(job, args)
        sent.append(worker._holds == ahead.digest)
        return value

    worker._round_trip = recording  # type: ignore[method-assign]
    try:
        read = await worker.read(rss(ENTRIES), feed, NOW, ahead)
        assert len(read.items) == len(ENTRIES) and list(read.judged) == in_process(read.items)
        assert {m[0].relevant for m in read.judged if m} == {True, False}  # both kinds were judged
        again = await worker.read(rss(ENTRIES[:2]), feed, NOW, ahead)  # the watches are not sent again
        assert list(again.judged) == in_process(again.items) and worker.started == 1 and sent == [True, True]
        worker._stop()  # a fresh worker (after a timeout, say) is sent the watches again
        third = await worker.read(rss(ENTRIES[2:]), feed, NOW, ahead)
        assert list(third.judged) == in_process(third.items) and worker.started == 2
        assert (await worker.read(rss(ENTRIES), feed, NOW)).judged == ()  # not asked: not judged
    finally:
        worker.close()


def test_an_item_that_needs_the_embedding_is_left_to_the_bot(monkeypatch: pytest.MonkeyPatch) -> None:
    parsed = parse_feed(rss(ENTRIES[:1]), "https://news.example/feed.xml")
    [one] = read_all(parsed, FeedSettings(name="f", url="https://news.example/feed.xml", language="en"), NOW).items
    monkeypatch.setattr(judging, "needs_embedding", lambda *_: True)
    watches = settings().watches
    assert judging.judge(watches, one, embedder=True) is None
    assert judging.judge(watches, one, embedder=False)[0] == tuple(decide(w, analyse(w, one), None) for w in watches)


async def test_a_poll_judged_ahead_stores_what_judging_here_stores(monkeypatch: pytest.MonkeyPatch) -> None:
    body = rss(ENTRIES)
    judged_here: list[str] = []
    real_judge = pipeline._judge

    async def counting(ctx: Context, watch: Any, item: Item) -> Any:
        judged_here.append(item.key)
        return await real_judge(ctx, watch, item)

    monkeypatch.setattr(pipeline, "_judge", counting)

    async def parse_here(data: bytes, url: str) -> ParsedFeed:
        return parse_feed(data, url)

    async with FeedServer() as server:
        feed = FeedSettings(name="f", url=server.feed("/f.xml", body), language="en", source="Outlet")
        ahead = MemoryStore()
        await ahead.open()
        await ahead.sync_feeds([(feed.name, feed.url)])
        async with Fetcher(settings().polling) as fetcher:
            ctx = Context(settings=replace(settings(), feeds=(feed,)), store=ahead, fetcher=fetcher, check_age=False)
            report = await poll_due_feeds(ctx, NOW, parse_body=parse_here)  # reads in process judge ahead
    assert report.new_items == len(ENTRIES) and report.relevant >= 1
    # the filtered items were recorded from the judgements, the relevant ones went to stories with
    # the readings they were judged by: none was read a second time
    assert judged_here == []

    here = MemoryStore()
    await here.open()
    items = [replace(i, fetched=NOW) for i in await ahead.latest_items(100)]
    assert len(items) == len(ENTRIES)
    items.sort(key=lambda i: [t for t, _ in ENTRIES].index(i.title))  # feed order, as polled
    await here.add_items(items)
    await process_items(Context(settings=ctx.settings, store=here, check_age=False), items, NOW)
    for i in items:
        assert await ahead.matches(i.key) == await here.matches(i.key)
        assert [(e.event, e.detail) for e in await ahead.item_events(i.key)] == [
            (e.event, e.detail) for e in await here.item_events(i.key)]
    assert await ahead.unprocessed_items() == []


async def test_the_worker_ships_the_readings_of_items_that_go_to_stories_only() -> None:
    feed = FeedSettings(name="f", url="https://news.example/feed.xml", language="en", source="Outlet")
    watches = settings().watches
    worker = ParseWorker()
    try:
        read = await worker.read(rss(ENTRIES), feed, NOW, judging.ahead_for(watches, embedder=False))
    finally:
        worker.close()
    assert len(read.readings) == len(read.items) == len(read.judged)
    for item, judged, readings in zip(read.items, read.judged, read.readings, strict=True):
        assert judged is not None
        if judging.for_stories(watches, judged):
            # as the bot reads it, and its facts as a live poll has them (before the embedding)
            assert [r.analysis for r in readings or ()] == [analyse(w, item) for w in watches]
            assert [r.facts for r in readings or ()] == [
                item_facts(w, item, analyse(w, item).reading, None, first_seen_is_time=True) for w in watches]
        else:
            assert readings is None  # a filtered item ships its verdict only
    assert any(r is not None for r in read.readings) and any(r is None for r in read.readings)


def test_an_item_the_worker_fails_to_judge_is_left_to_the_bot(monkeypatch: pytest.MonkeyPatch) -> None:
    """A bug in matching must not cost the feed in the worker (it would be taken for unreadable)."""
    parsed = parse_feed(rss(ENTRIES[:2]), "https://news.example/feed.xml")
    items = read_all(parsed, FeedSettings(name="f", url="https://news.example/feed.xml", language="en"), NOW).items
    real = judging.analyse

    def fails_on_the_first(watch: Any, item: Item) -> Any:
        if item == items[0]:
            raise ValueError("a bug in matching")
        return real(watch, item)

    monkeypatch.setattr(judging, "analyse", fails_on_the_first)
    judged, _ = judging.judge_and_read_all(items, judging.ahead_for(settings().watches, embedder=False))
    assert judged[0] is None and judged[1] == in_process(items[1:])[0]
