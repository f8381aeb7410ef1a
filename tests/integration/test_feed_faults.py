"""Faults from feeds, through the real poll cycle (fetch → parse → normalise → SQLite store →
match): for each, the bot keeps running, memory stays bounded, the feed's health says what is
wrong in plain words, the other feeds are unaffected, and nothing already stored is lost."""

from __future__ import annotations

import tracemalloc
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp import web

from bot.fetch import Fetcher
from bot.pipeline import Context, poll_due_feeds
from bot.settings import FeedSettings, PollingSettings
from bot.store.sqlite import SqliteStore
from tests.factories import settings
from tests.fakes.feed_server import FeedServer

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
RELEVANT = ("<item><title>North Korean troops killed near Kursk while fighting for Russia, Kyiv says</title>"
            "<link>https://good.example/kursk-1</link><guid>good-1</guid>"
            "<pubDate>Thu, 15 Jan 2026 10:00:00 +0000</pubDate>"
            "<description>Ukraine's army said North Korean soldiers fighting for Russia were killed.</description>"
            "</item>")


def rss(items: str, *, head: str = '<?xml version="1.0" encoding="utf-8"?>', channel: str = "") -> bytes:
    return f'{head}<rss version="2.0"><channel><title>t</title>{channel}{items}</channel></rss>'.encode()


def entity_bomb(size: int, uses: int) -> bytes:
    body = "&big;" * uses
    return (f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY big "{"x" * size}">]>'
            f'<rss version="2.0"><channel><title>b</title><item><title>{body}</title><guid>eb</guid>'
            f"</item></channel></rss>").encode()


LAUGHS = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
          + b"".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'.encode()
                     for i in range(1, 10))
          + b']><rss version="2.0"><channel><title>l</title><item><title>&lol9;</title><guid>l</guid></item>'
            b"</channel></rss>")
EXTERNAL = (b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
            b'<rss version="2.0"><channel><title>x</title><item><title>leak &xxe; here</title><guid>x</guid>'
            b"</item></channel></rss>")
WRONG_CHARSET = rss("<item><title>북한군 러시아 파병</title><guid>wc</guid></item>",
                    head='<?xml version="1.0" encoding="iso-8859-1"?>')
NO_CHARSET = ("<rss version='2.0'><channel><title>t</title><item><title>КНДР</title><guid>nc</guid></item>"
              "</channel></rss>")
DUP_GUIDS = rss("".join(f"<item><title>Report {n} of a dozen with the same guid</title><guid>same</guid></item>"
                        for n in range(12)))
DATES = rss("<item><title>A report from the far future about something</title><guid>fut</guid>"
            "<pubDate>Sat, 01 Jan 2195 00:00:00 +0000</pubDate></item>"
            "<item><title>A report without any date at all today</title><guid>nodate</guid></item>")


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[tuple[Context, FeedServer]]:
    async with FeedServer() as server:
        counter = {"n": 0}

        async def changing_guid(request: web.Request) -> web.Response:
            counter["n"] += 1
            return web.Response(body=rss(f"<item><title>Same story with a fresh guid each time</title>"
                                         f"<link>https://cg.example/a</link><guid>cg-{counter['n']}</guid></item>"),
                                content_type="application/rss+xml")

        paths = {
            "good": server.feed("/good.xml", rss(RELEVANT)),
            "timeout": server.slow("/slow.xml", rss(""), delay=10),
            "drip": server.drip("/drip.xml", rss(RELEVANT), per_byte=0.5),
            "error-500": server.status("/500.xml", 500),
            "rate-limited": server.rate_limited("/429.xml", "600"),
            "redirect-loop": server.redirect_loop("/loop.xml"),
            "huge": server.oversized("/huge.xml", 50_000_000),
            "gzip-bomb": server.gzip_bomb("/bomb.xml"),
            "entity-50k": server.feed("/entity.xml", entity_bomb(50_000, 3_000), etag=None, last_modified=None),
            "laughs": server.feed("/laughs.xml", LAUGHS, etag=None, last_modified=None),
            "external": server.feed("/xxe.xml", EXTERNAL, etag=None, last_modified=None),
            "wrong-charset": server.feed("/wc.xml", WRONG_CHARSET, headers={"Content-Type": "text/xml; charset=utf-8"}),
            "no-charset": server.feed("/nc.xml", NO_CHARSET.encode("utf-8"), headers={"Content-Type": "text/xml"}),
            "html": server.html("/page.html"),
            "empty-feed": server.feed("/empty.xml", rss("")),
            "empty-body": server.status("/blank.xml", 200, body=b" "),
            "dup-guids": server.feed("/dups.xml", DUP_GUIDS),
            "changing-guid": server.route("/cg.xml", changing_guid),
            "dates": server.feed("/dates.xml", DATES),
        }
        feeds = tuple(FeedSettings(name=n, url=u, language="en") for n, u in paths.items())
        polling = replace(PollingSettings(), total_timeout=2.0, connect_timeout=1.0, max_bytes=1_000_000)
        s = replace(settings(), feeds=feeds, polling=polling)
        store = SqliteStore(str(tmp_path / "faults.db"))
        await store.open()
        await store.sync_feeds([(f.name, f.url) for f in feeds])
        async with Fetcher(polling) as fetcher:
            yield Context(settings=s, store=store, fetcher=fetcher, check_age=False), server
        await store.close()


async def health(ctx: Context) -> dict[str, tuple[int, str, str]]:
    return {s.name: (s.consecutive_failures, s.last_error_kind, s.last_error) for s in await ctx.store.feed_states()}


async def test_one_cycle_of_hostile_feeds(world: tuple[Context, FeedServer]) -> None:
    ctx, _server = world
    tracemalloc.start()
    report = await poll_due_feeds(ctx, NOW)
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 120_000_000, f"peak traced memory {peak / 1e6:.0f} MB"
    h = await health(ctx)
    failing = {name for name, (fails, _k, _e) in h.items() if fails}
    assert failing == {"timeout", "drip", "error-500", "rate-limited", "redirect-loop", "huge", "gzip-bomb", "html",
                       "empty-body"}
    words = {name: err for name, (_f, _k, err) in h.items()}
    assert "timed out" in words["timeout"] and "timed out" in words["drip"]
    assert "500" in words["error-500"] and "redirect loop" in words["redirect-loop"]
    assert "cap" in words["huge"] and "cap" in words["gzip-bomb"]
    assert "HTML" in words["html"]
    rl = await ctx.store.feed_state("rate-limited")
    assert rl is not None and rl.next_poll is not None and rl.next_poll >= NOW + timedelta(seconds=600)
    # the good feed went through untouched, down to a story
    good = await ctx.store.item_by_url("https://good.example/kursk-1")
    assert good is not None and await ctx.store.story_of_item(good.key) is not None
    # entity tricks neither expanded nor leaked; fields bounded
    items = await ctx.store.latest_items(500)
    assert all(len(i.title) <= 1_000 and len(i.summary) <= 20_000 for i in items)
    assert not any("root:" in i.title or "lollol" in i.title for i in items)
    # duplicates, charsets and dates
    assert sum(1 for i in items if i.feed == "dup-guids") == 1
    assert any(i.feed == "wrong-charset" for i in items) and any(i.feed == "no-charset" for i in items)
    by_guid = {i.guid: i for i in items if i.feed == "dates"}
    assert all(i.published <= NOW for i in by_guid.values()) and not by_guid["nodate"].dated
    assert report.feeds == len(ctx.settings.feeds)


async def test_second_poll_stores_no_rehash_and_loses_nothing(world: tuple[Context, FeedServer]) -> None:
    ctx, server = world
    await poll_due_feeds(ctx, NOW)
    stored = {i.key for i in await ctx.store.latest_items(500)}
    server.malformed("/good.xml")  # the good feed breaks after it was read once
    for state in await ctx.store.feed_states():
        await ctx.store.save_feed_state(replace(state, next_poll=None))
    await poll_due_feeds(ctx, NOW + timedelta(hours=1))
    after = await ctx.store.latest_items(500)
    assert stored <= {i.key for i in after}  # nothing already stored is lost
    assert sum(1 for i in after if i.feed == "changing-guid") == 1  # a new guid alone is not a new item
    good = await ctx.store.feed_state("good")
    assert good is not None and good.last_error  # says the feed is now broken
