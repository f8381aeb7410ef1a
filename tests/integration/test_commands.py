"""The platform-neutral slash commands on a real (in-memory) store."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.commands import Caller
from bot.commands_impl import Commands
from bot.model import FeedState
from bot.outbox import deliver_pending
from bot.pipeline import Context, process_items
from bot.store.memory import MemoryStore
from tests.factories import T0, item, settings
from tests.fakes.recording_sink import RecordingSink

MANAGER = Caller(platform="discord", channel="42", user="u1", can_manage=True)
MEMBER = Caller(platform="discord", channel="42", user="u2", can_manage=False)
POW = item("Two North Korean soldiers captured by Ukrainian forces in Kursk",
           "Ukraine said the wounded North Korean soldiers, who fought for Russia, are being questioned.",
           source="Wire A", url="https://wire-a.example/pow")
NOISE = item("City council approves new budget", "The council voted on the harbour plan.",
             url="https://daily.example/budget")


@pytest.fixture
async def cmd() -> Commands:
    store = MemoryStore()
    await store.open()
    ctx = Context(settings=settings("desk"), store=store, sinks={"desk": RecordingSink("desk")}, check_age=False)
    await store.sync_feeds([("wire-a", "https://wire-a.example/rss")])
    await store.add_items([POW, NOISE])
    await process_items(ctx, [POW, NOISE], T0)
    return Commands(ctx, clock=lambda: T0 + timedelta(hours=1), started=T0 - timedelta(hours=2))


async def test_latest_lists_stories(cmd: Commands) -> None:
    r = await cmd.latest(MEMBER, 5)
    assert r.ephemeral and len(r.message.stories) == 1
    assert r.message.stories[0].first.url == POW.url


@pytest.mark.parametrize("count", ["0", "21", "many"])
async def test_latest_rejects_bad_counts_in_one_sentence(cmd: Commands, count: str) -> None:
    r = await cmd.latest(MEMBER, count)
    assert r.message.title == "Could not do that" and r.message.text.endswith(".")


@pytest.mark.parametrize("query", ["Kursk", "captured soldiers", "Kursck"])
async def test_search_finds_exact_and_misspelt(cmd: Commands, query: str) -> None:
    r = await cmd.search(MEMBER, query, 7)
    assert any(card.first.url == POW.url for card in r.message.stories), r.message


async def test_story_shows_every_source(cmd: Commands) -> None:
    sid = (await cmd.ctx.store.story_of_item(POW.key)).id  # type: ignore[union-attr]
    r = await cmd.story(MEMBER, sid)
    assert sid in r.message.title and POW.url in r.message.code
    assert (await cmd.story(MEMBER, "s-00000000")).message.title == "Story not found"
    assert (await cmd.story(MEMBER, "DROP TABLE")).message.title == "Could not do that"


async def test_feeds_and_status(cmd: Commands) -> None:
    await cmd.ctx.store.save_feed_state(FeedState(name="wire-a", url="https://wire-a.example/rss",
                                                  consecutive_failures=3, last_error="HTTP 503 from server",
                                                  last_attempt=T0))
    feeds = await cmd.feeds(MEMBER)
    assert "wire-a" in feeds.message.code and "HTTP 503" in feeds.message.code
    status = await cmd.status(MEMBER)
    fields = dict(status.message.fields)
    assert fields["Up for"] == "3h" and fields["Feeds failing"] == "1 of 1"
    assert fields["Pending deliveries"] == "1"


async def test_settings_need_permission(cmd: Commands) -> None:
    for call in (cmd.subscribe(MEMBER, "dprk-russia"), cmd.mute(MEMBER, "Kursk"), cmd.unsubscribe(MEMBER, "x"),
                 cmd.unmute(MEMBER, "Kursk")):
        assert (await call).message.title == "Not allowed"
    assert await cmd.ctx.store.subscriptions() == []


async def test_subscribe_digest_and_unsubscribe(cmd: Commands) -> None:
    r = await cmd.subscribe(MANAGER, "dprk-russia", "digest", "0 7 * * * Asia/Seoul")
    assert r.message.title == "Subscribed" and not r.ephemeral
    [sub] = await cmd.ctx.store.subscriptions()
    assert (sub.destination, sub.mode, sub.schedule, sub.timezone) == ("discord:42", "digest", "0 7 * * *",
                                                                       "Asia/Seoul")
    bad = await cmd.subscribe(MANAGER, "dprk-russia", "digest", "every morning")
    assert bad.message.title == "Could not do that"
    assert (await cmd.subscribe(MANAGER, "nope")).message.text.startswith("No watch named 'nope'")
    assert (await cmd.unsubscribe(MANAGER, "dprk-russia")).message.title == "Unsubscribed"


async def test_mute_and_unmute(cmd: Commands) -> None:
    r = await cmd.mute(MANAGER, "Kursk", "12")
    assert r.message.title == "Muted"
    [m] = await cmd.ctx.store.mutes(T0 + timedelta(hours=1))
    assert m.until == T0 + timedelta(hours=13) and m.destination == "discord:42"
    assert (await cmd.mute(MANAGER, "x" * 101)).message.title == "Could not do that"
    assert (await cmd.unmute(MANAGER, "Kursk")).message.title == "Unmuted"


async def test_digest_now_posts_to_this_channel(cmd: Commands) -> None:
    cmd.ctx.make_sink = lambda dest: cmd.ctx.sinks.setdefault(dest.name, RecordingSink(dest.name))
    assert (await cmd.digest(MEMBER)).message.title == "No subscriptions here"
    await cmd.subscribe(MANAGER, "dprk-russia", "digest", "0 7 * * *")
    r = await cmd.digest(MEMBER)
    assert r.message.title == "Digest posted"
    sink = cmd.ctx.sinks["discord:42"]
    assert isinstance(sink, RecordingSink) and sink.sends[0].kind == "digest"


async def test_why_tells_the_path(cmd: Commands) -> None:
    await deliver_pending(cmd.ctx, T0)
    r = await cmd.why(MEMBER, POW.url + "?utm_source=twitter")
    code = r.message.code
    assert "new-story" in code and "relevant" in code and "delivery alert to desk: sent" in code
    noise = await cmd.why(MEMBER, NOISE.url)
    assert "filtered" in noise.message.code and "not relevant" in noise.message.code
    assert (await cmd.why(MEMBER, "https://never.example/x")).message.title == "Why: not seen"
    assert (await cmd.why(MEMBER, "javascript:alert(1)")).message.title == "Could not do that"


@pytest.mark.parametrize(
    ("text", "title"),
    [("", "deskwatch commands"), ("help", "deskwatch commands"), ("latest 3", "Latest stories"),
     ('search "North Korean" 30', "Search: North Korean"), ("bogus", "Could not do that"),
     ("story", "Could not do that"), ('search "unbalanced', "Search: unbalanced"),
     ("mute Kursk 2", "Muted"), ("subscribe dprk-russia instant", "Subscribed")],
)
async def test_run_text_parses_subcommands(cmd: Commands, text: str, title: str) -> None:
    r = await cmd.run_text(MANAGER, text)
    assert r.message.title == title, r.message
