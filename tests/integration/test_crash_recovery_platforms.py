"""A crash between the outbox write and the send, with the real Discord and Slack sinks against
their local fakes: after a restart the alert is found in the channel and not posted again, and a
story that grew meanwhile is brought up to date by an edit."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta

import pytest
from discord.http import Route

from bot.app import close_context, open_context
from bot.model import Destination, Message, Subscription
from bot.outbox import deliver_pending
from bot.pipeline import Context, process_items
from bot.platforms.base import Sink
from bot.store.memory import MemoryStore
from tests.factories import T0, item, settings
from tests.fakes.discord_server import GOOD_TOKEN, FakeDiscord
from tests.fakes.recording_sink import SimulatedCrash
from tests.fakes.slack_server import FakeSlack

FIRST = item("Ukraine says two North Korean soldiers were captured in Kursk",
             "Kyiv said the North Korean soldiers, who fought for Russia, were wounded and taken prisoner.",
             source="Wire A")
SECOND = item("Kyiv: North Korean troops taken prisoner in Russia's Kursk region",
              "Two North Korean soldiers fighting for Russia were captured in Kursk, Ukraine's president said.",
              source="Wire B", published=T0 + timedelta(hours=1))
DESTS = (Destination(name="duty-discord", platform="discord", channel="333333333333333333"),
         Destination(name="duty-slack", platform="slack", channel="C0DUTY"))


class CrashAfterSend:
    """Wraps a real sink: the post reaches the platform, then the process 'dies'."""

    def __init__(self, inner: Sink) -> None:
        self.inner = inner
        self.name = inner.name

    async def send(self, message: Message) -> str:
        await self.inner.send(message)
        raise SimulatedCrash(message.marker)

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


@pytest.fixture
async def fakes() -> AsyncIterator[tuple[FakeDiscord, FakeSlack, dict[str, str]]]:
    discord, slack = FakeDiscord(), FakeSlack()
    await discord.start()
    await slack.start()
    old = Route.BASE
    try:
        yield discord, slack, {"DISCORD_TOKEN": GOOD_TOKEN, "DISCORD_API_BASE_URL": discord.api,
                               "SLACK_BOT_TOKEN": "xoxb-good", "SLACK_API_URL": slack.api_url}
    finally:
        Route.BASE = old
        await discord.close()
        await slack.close()


async def test_crash_after_send_is_not_reposted_and_the_grown_story_is_edited(
    fakes: tuple[FakeDiscord, FakeSlack, dict[str, str]]
) -> None:
    discord, slack, env = fakes
    base = settings()
    s = replace(base, destinations=DESTS,
                subscriptions=tuple(Subscription(watch=base.watches[0].name, destination=d.name) for d in DESTS))
    store = MemoryStore()  # the database outlives the "process"
    ctx, factory = await open_context(s, env=env, store=store, with_fetcher=False)
    ctx.check_age = False
    await process_items(ctx, [FIRST], T0)
    for name in list(ctx.sinks):
        ctx.sinks[name] = CrashAfterSend(ctx.sinks[name])  # type: ignore[assignment]
    for n, name in enumerate(("duty-discord", "duty-slack")):  # one "process death" per platform
        with pytest.raises(SimulatedCrash):
            await deliver_pending(Context(settings=s, store=store, sinks={name: ctx.sinks[name]}),
                                  T0 + timedelta(minutes=20 * n))
    await close_context(replace(ctx, store=MemoryStore()), factory)  # the process is gone; the store stays

    # restart: fresh sinks, same database; meanwhile a second outlet reported the same development
    ctx2, factory2 = await open_context(s, env=env, store=store, with_fetcher=False)
    ctx2.check_age = False
    await process_items(ctx2, [SECOND], T0 + timedelta(hours=1))
    report = await deliver_pending(ctx2, T0 + timedelta(hours=1))
    await close_context(ctx2, factory2)

    assert report.recovered == 2 and report.sent == 0
    discord_posts = discord.sent(suffix="/messages")
    assert len(discord_posts) == 1  # posted once, before the crash
    assert len(discord.sent("PATCH", suffix="")) >= 1  # and edited to show both sources
    assert len(slack.calls("chat.postMessage")) == 1
    [update] = slack.calls("chat.update")
    assert SECOND.url in str(update.body)


class CrashAfterReply:
    """Wraps a real sink: the thread note reaches the platform, then the process 'dies'."""

    def __init__(self, inner: Sink) -> None:
        self.inner = inner
        self.name = inner.name

    async def reply(self, ref: str, message: Message) -> None:
        await self.inner.reply(ref, message)
        raise SimulatedCrash(message.marker)

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


@pytest.mark.parametrize("platform", ["slack", "discord"])
async def test_crash_after_a_thread_note_is_posted_does_not_post_the_note_twice(
    fakes: tuple[FakeDiscord, FakeSlack, dict[str, str]], platform: str
) -> None:
    discord, slack, env = fakes
    base = settings()
    [dest] = [replace(d, thread_replies=True) for d in DESTS if d.platform == platform]
    s = replace(base, destinations=(dest,), subscriptions=(Subscription(watch=base.watches[0].name,
                                                                       destination=dest.name),))
    store = MemoryStore()  # the database outlives the "process"
    ctx, factory = await open_context(s, env=env, store=store, with_fetcher=False)
    ctx.check_age = False
    await process_items(ctx, [FIRST], T0)
    assert (await deliver_pending(ctx, T0)).sent == 1  # the alert
    await process_items(ctx, [SECOND], T0 + timedelta(hours=1))  # the story grows: edit + thread note
    ctx.sinks[dest.name] = CrashAfterReply(ctx.sinks[dest.name])  # type: ignore[assignment]
    with pytest.raises(SimulatedCrash):
        await deliver_pending(ctx, T0 + timedelta(hours=1))
    await close_context(replace(ctx, store=MemoryStore()), factory)  # the process is gone; the store stays

    ctx2, factory2 = await open_context(s, env=env, store=store, with_fetcher=False)
    report = await deliver_pending(ctx2, T0 + timedelta(hours=1, minutes=1))
    await close_context(replace(ctx2, store=MemoryStore()), factory2)

    if platform == "slack":
        notes = [r for r in slack.calls("chat.postMessage") if r.body.get("thread_ts")]
        assert len(notes) == 1 and SECOND.source in str(notes[0].body)
        assert slack.calls("conversations.replies")  # it looked in the thread before posting
    else:
        assert len(discord.sent(suffix=f"/channels/{dest.channel}/messages")) == 1  # the alert
        thread = discord.channels[str(dest.channel)][0]["id"]  # a thread's id is its message's id
        notes = discord.sent(suffix=f"/channels/{thread}/messages")
        assert len(notes) == 1  # one note request, not a re-send that only the nonce hid
    assert report.recovered == 1
    [row] = await store.alert_deliveries_for_story((await store.latest_stories(1))[0].id)
    assert row.status == "sent" and row.sent_version == 2
