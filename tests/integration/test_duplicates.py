"""Duplicates and syndicated copies through the pipeline: recorded, explained by `why`, and a
second outlet's identical headline joins the story as a source (issue 9, point 5)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.commands import Caller
from bot.commands_impl import Commands
from bot.fetch import Fetcher
from bot.model import Item
from bot.outbox import deliver_pending
from bot.pipeline import Context, poll_due_feeds, process_items, record_duplicates
from bot.replay import replay_rows
from bot.settings import FeedSettings
from bot.store.memory import MemoryStore
from bot.store.sqlite import SqliteStore
from tests.factories import T0, item, settings
from tests.fakes.feed_server import FeedServer
from tests.fakes.recording_sink import RecordingSink

CALLER = Caller(platform="discord", channel="42", user="u1", can_manage=False)
HEADLINE = "North Korean troops deployed to Kursk region to fight for Russia, Seoul says"
BODY = "South Korea's spy agency said thousands of North Korean soldiers were sent to Russia's Kursk region."
ORIGINAL = item(HEADLINE, BODY, source="Yonhap", url="https://yna.example/kursk")
COPY = item(HEADLINE, BODY, source="Korea Herald", url="https://herald.example/kursk",
            published=T0 + timedelta(hours=2))
NOISE = item("K-pop group announces a world tour across Asia", "The band will play 40 cities.", source="Yonhap")


@pytest.fixture
async def ctx() -> AsyncIterator[Context]:
    store = MemoryStore()
    await store.open()
    yield Context(settings=settings("desk"), store=store, sinks={"desk": RecordingSink("desk")}, check_age=False)
    await store.close()


async def _add(ctx: Context, *items: Item, at: datetime) -> None:
    added = await ctx.store.add_items(items)
    await process_items(ctx, added.new, at)
    await record_duplicates(ctx, added.duplicates, at)


async def test_a_copy_joins_its_twins_story_and_the_sent_alert_is_edited(ctx: Context) -> None:
    await _add(ctx, ORIGINAL, at=T0)
    await deliver_pending(ctx, T0)
    await _add(ctx, COPY, at=T0 + timedelta(hours=2))
    story = await ctx.store.story_of_item(ORIGINAL.key)
    assert story is not None and [s.url for s in story.sources] == [ORIGINAL.url, COPY.url]
    [merged] = await ctx.store.item_events(COPY.key)
    assert (merged.event, merged.story_id) == ("merged", story.id)
    assert merged.detail == f"same headline as {ORIGINAL.url} (syndicated copy)"
    assert not await ctx.store.unprocessed_items()
    report = await deliver_pending(ctx, T0 + timedelta(hours=2))
    assert report.edited == 1


async def test_a_copy_of_a_filtered_item_is_filtered_with_the_reason(ctx: Context) -> None:
    await _add(ctx, NOISE, at=T0)
    copy = item(NOISE.title, NOISE.summary, source="Other Daily")
    await _add(ctx, copy, at=T0)
    [event] = await ctx.store.item_events(copy.key)
    assert (event.event, event.detail) == ("filtered", f"same headline as {NOISE.key}, which was filtered")
    assert await ctx.store.item(copy.key) == copy and not await ctx.store.unprocessed_items()


async def test_a_copy_whose_twin_is_not_matched_yet_is_matched_as_an_ordinary_report(ctx: Context) -> None:
    added = await ctx.store.add_items([ORIGINAL, COPY])  # another feed's poll is still matching ORIGINAL
    await record_duplicates(ctx, added.duplicates, T0)
    assert [e.event for e in await ctx.store.item_events(COPY.key)][:1] == ["new"]
    assert await ctx.store.story_of_item(COPY.key) is not None


async def test_a_duplicate_is_recorded_once_on_its_twin_and_why_explains_its_link(ctx: Context) -> None:
    await _add(ctx, ORIGINAL, at=T0)
    moved = replace(ORIGINAL, key="k-moved", url="https://yna.example/kursk-2")  # a fresh guid and link
    for hour in (1, 2):  # feeds repeat their entries every poll
        await _add(ctx, moved, ORIGINAL, at=T0 + timedelta(hours=hour))
    dups = [e for e in await ctx.store.item_events(ORIGINAL.key) if e.event == "duplicate"]
    assert [e.detail for e in dups] == [f"duplicate of {ORIGINAL.key} (same headline, Yonhap): {moved.url}"]
    assert await ctx.store.item(moved.key) is None
    reply = await Commands(ctx, clock=lambda: T0).why(CALLER, moved.url)
    assert reply.message.title == "Why: a duplicate of an item already seen"
    assert ORIGINAL.url in reply.message.text and "duplicate of" in reply.message.code


async def test_one_poll_cycle_of_two_outlets_carrying_one_wire_report(tmp_path: Path) -> None:
    now = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)

    def rss(outlet: str) -> bytes:
        return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>{outlet}</title><item>'
                f"<title>{HEADLINE}</title><link>https://{outlet}.example/kursk</link><guid>{outlet}-1</guid>"
                f"<pubDate>Thu, 15 Jan 2026 10:00:00 +0000</pubDate><description>{BODY}</description>"
                "</item></channel></rss>").encode()

    async with FeedServer() as server:
        feeds = tuple(FeedSettings(name=n, url=server.feed(f"/{n}.xml", rss(n)), language="en", source=n)
                      for n in ("yonhap", "herald"))
        store = SqliteStore(str(tmp_path / "desk.db"))
        await store.open()
        await store.sync_feeds([(f.name, f.url) for f in feeds])
        async with Fetcher(settings().polling) as fetcher:
            ctx = Context(settings=replace(settings("desk"), feeds=feeds), store=store, fetcher=fetcher,
                          check_age=False)
            await poll_due_feeds(ctx, now)
        stories = {s.id: len(s.sources) for s in await store.latest_stories(10)}
        assert list(stories.values()) == [2]  # one story, both links, whichever feed came first
        assert [await store.item_by_url(f"https://{n}.example/kursk") is not None
                for n in ("yonhap", "herald")] == [True, True]
        await store.close()


async def test_replay_rows_that_repeat_an_earlier_row_share_its_story() -> None:
    base = {"title": HEADLINE, "summary": BODY, "lang": "en", "published": "2026-01-15T10:00:00Z"}
    rows = [{**base, "id": "a", "source": "Yonhap", "url": "https://yna.example/kursk"},
            {**base, "id": "b", "source": "Korea Herald", "url": "https://herald.example/kursk"},
            {**base, "id": "c", "source": "Yonhap", "url": "https://yna.example/kursk"},
            {**base, "id": "d", "source": "Korea Times", "url": "https://times.example/kursk",
             "published": "2026-01-25T10:00:00Z"}]
    out = await replay_rows(settings(), rows)
    assert [o["id"] for o in out] == ["a", "b", "c", "d"]
    story = out[0]["story"]
    assert story and out[0]["relevant"] and [o["story"] for o in out[1:3]] == [story, story]
    assert out[1]["relevant"] and out[1]["reasons"] == ["same headline as https://yna.example/kursk (syndicated copy)"]
    assert out[2]["relevant"] and out[2]["reasons"][0].startswith("duplicate of ")
    assert out[2]["reasons"][0].endswith("(same url, Yonhap)")
    assert "syndicated" not in " ".join(out[3]["reasons"])  # ten days later: matched as a new report
