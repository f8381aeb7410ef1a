"""Each feed's parse runs in a worker process with a time and a memory budget (issue 10 point 10):
a parse over budget is a plain-words parse problem for that feed, the worker is replaced, and the
cycle goes on with the other feeds. Budgets are made tiny or parses made to hang through the
worker's injectable target; nothing here asserts how long anything took."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from datetime import UTC, datetime

import feedparser
import pytest

from bot import parse_worker
from bot.core.feed.parse import parse_feed, parse_with_feedparser
from bot.fetch import Fetcher
from bot.parse_worker import ParseWorker, too_big, too_slow
from bot.pipeline import Context, poll_due_feeds
from bot.settings import FeedSettings
from bot.store.memory import MemoryStore
from tests.factories import settings
from tests.fakes.feed_server import FeedServer
from tests.fakes.parse_targets import HANG

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
TARGETS = "tests.fakes.parse_targets"
GOOD = (b'<?xml version="1.0"?><rss version="2.0"><channel><title>good</title><item>'
        b"<title>North Korean troops killed near Kursk while fighting for Russia, Kyiv says</title>"
        b"<link>https://good.example/kursk-1</link><guid>good-1</guid>"
        b"<pubDate>Thu, 15 Jan 2026 10:00:00 +0000</pubDate>"
        b"<description>Ukraine's army said North Korean soldiers fighting for Russia were killed.</description>"
        b"</item></channel></rss>")
HANGS = b'<?xml version="1.0"?>' + HANG + b'<rss version="2.0"><channel><title>h</title></channel></rss>'
BYPASS = ('<?xml version="1.0" encoding="utf-8"?><é/><:x/>\n<!DOCTYPE rss [\n<!ENTITY e "' + "A" * 50_000
          + '">\n]>\n<rss version="2.0"><channel><title>b</title><item><title>' + "&e;" * 3_000
          + "</title><guid>bypass-1</guid></item></channel></rss>").encode()


@pytest.fixture
async def cycle() -> AsyncIterator[Context]:
    """Three feeds on the local feed server: a good one, one whose parse hangs, the bypass feed."""
    async with FeedServer() as server:
        feeds = (FeedSettings(name="good", url=server.feed("/good.xml", GOOD), language="en"),
                 FeedSettings(name="hangs", url=server.feed("/hangs.xml", HANGS), language="en"),
                 FeedSettings(name="bypass", url=server.feed("/bypass.xml", BYPASS), language="en"))
        store = MemoryStore()
        await store.open()
        await store.sync_feeds([(f.name, f.url) for f in feeds])
        s = replace(settings(), feeds=feeds)
        async with Fetcher(s.polling) as fetcher:
            yield Context(settings=s, store=store, fetcher=fetcher, check_age=False)
        await store.close()


@pytest.fixture
def hanging_worker() -> Iterator[ParseWorker]:
    worker = ParseWorker(timeout=2.0, target=f"{TARGETS}:parse_or_hang")  # ample for the others
    yield worker
    worker.close()


async def test_a_parse_over_the_time_budget_is_skipped_and_the_cycle_goes_on(
        cycle: Context, hanging_worker: ParseWorker) -> None:
    ctx = cycle
    report = await poll_due_feeds(ctx, NOW, parse_body=hanging_worker.parse)
    hangs = await ctx.store.feed_state("hangs")
    assert hangs is not None and hangs.consecutive_failures == 1
    assert hangs.last_error == "the feed took too long to parse (over 2 s); skipped this time"
    assert hangs.last_error == too_slow(2.0)
    # the other feeds were read, down to a story for the relevant one
    good = await ctx.store.item_by_url("https://good.example/kursk-1")
    assert good is not None and await ctx.store.story_of_item(good.key) is not None
    assert (report.feeds, report.failed) == (3, 1)
    # the bypass feed went through the worker too: read, not expanded, and its problem said
    bypass = await ctx.store.feed_state("bypass")
    assert bypass is not None and "removed unread" in bypass.last_error
    assert all("AAAAAAAAAA" not in i.title for i in await ctx.store.latest_items(50))
    # the killed worker was replaced; its successor parses the next body in full
    assert (await hanging_worker.parse(GOOD, "https://good.example/")).is_feed
    assert hanging_worker.started == 2


async def test_the_live_poll_uses_the_budgeted_worker_by_default(
        cycle: Context, hanging_worker: ParseWorker, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parse_worker, "_shared", hanging_worker)  # what parse_budgeted hands bodies to
    await poll_due_feeds(cycle, NOW)  # no parse_body: the scheduler's call
    hangs = await cycle.store.feed_state("hangs")
    assert hangs is not None and hangs.last_error == too_slow(2.0)
    assert await cycle.store.item_by_url("https://good.example/kursk-1") is not None


async def test_a_parse_over_the_memory_budget_is_skipped_and_the_worker_replaced() -> None:
    worker = ParseWorker(memory=300 * 2**20, target=f"{TARGETS}:allocate_too_much")
    try:
        parsed = await worker.parse(GOOD, "https://good.example/")
        assert (parsed.is_feed, parsed.problem) == (False, too_big(300 * 2**20))
        assert parsed.problem == "the feed needed more than 300 MB to parse; skipped this time"
        worker.target = parse_worker.DEFAULT_TARGET
        assert (await worker.parse(GOOD, "https://good.example/")).is_feed
        assert worker.started == 2  # the worker that ran out of memory was not reused
    finally:
        worker.close()


async def test_a_worker_that_dies_is_a_problem_in_words_and_is_replaced() -> None:
    worker = ParseWorker(target=f"{TARGETS}:die")
    try:
        parsed = await worker.parse(GOOD, "https://good.example/")
        assert not parsed.is_feed and parsed.problem == (
            "the feed parser stopped unexpectedly (exit code 3); skipped this time")
        worker.target = parse_worker.DEFAULT_TARGET
        assert (await worker.parse(GOOD, "https://good.example/")).is_feed and worker.started == 2
    finally:
        worker.close()


async def test_output_written_by_the_parse_cannot_garble_the_answer() -> None:
    worker = ParseWorker(target=f"{TARGETS}:chatty")
    try:
        for _ in range(2):
            assert await worker.parse(GOOD, "https://good.example/") == parse_feed(GOOD, "https://good.example/")
        assert worker.started == 1
    finally:
        worker.close()


async def test_the_worker_reads_a_feed_exactly_as_the_in_process_parser_does() -> None:
    worker = ParseWorker()
    try:
        for body in (GOOD, BYPASS, b"<html><body>no</body></html>", b""):
            assert await worker.parse(body, "https://good.example/") == parse_feed(body, "https://good.example/")
        assert worker.started == 1  # one worker for every body
    finally:
        worker.close()


def test_a_memory_error_inside_feedparser_is_not_passed_off_as_a_broken_feed(monkeypatch: pytest.MonkeyPatch) -> None:
    """parse_feed turns feedparser's exceptions into words, but a MemoryError must reach the worker,
    which reports the budget and is replaced."""

    def out_of_memory(*args: object, **kwargs: object) -> None:
        raise MemoryError

    monkeypatch.setattr(feedparser, "parse", out_of_memory)
    with pytest.raises(MemoryError):  # GOOD would take the lxml path (its own test: test_fastparse.py)
        parse_with_feedparser(GOOD, "https://good.example/")
