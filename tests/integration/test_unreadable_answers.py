"""A platform that accepts a post and answers something the sink cannot read (issue 10, point 4).

Field report: a Discord webhook answering 2xx with a body that was not the message made one alert
go out 24 times in 25 s, and the whole delivery pass aborted on every tick. Against the local
fakes: each such post goes out once, the other rows are delivered in the same pass, a bot sink
looks for a "maybe sent" post before posting again, and a post that never arrives ends `failed`
with its reason after MAX_ATTEMPTS.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta

import pytest

from bot.model import Delivery, Destination
from bot.outbox import MAX_ATTEMPTS, deliver_pending
from bot.pipeline import Context
from bot.platforms.base import Sink
from bot.platforms.discord.sink import DiscordBotSink, DiscordWebhookSink
from bot.platforms.slack.sink import SlackBotSink, make_web_client
from bot.store.memory import MemoryStore
from tests.factories import T0, settings
from tests.fakes.discord_server import GOOD_TOKEN, WEBHOOK_CHANNEL, FakeDiscord, running_fake_discord
from tests.fakes.slack_server import FakeSlack
from tests.integration.test_one_delivery_pass import queue_alerts

CHANNEL = "333333333333333333"
HOOK_ID = "223456789012345678"
HOOK_URL = f"http://127.0.0.1:9/api/v10/webhooks/{HOOK_ID}/{'T' * 68}"  # requests go to Route.BASE


@pytest.fixture
async def discord() -> AsyncIterator[FakeDiscord]:
    async with running_fake_discord() as server:
        yield server


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    server = FakeSlack()
    await server.start()
    yield server
    await server.close()


async def context(dest: Destination, sink: Sink, alerts: int) -> tuple[Context, list[str]]:
    store = MemoryStore()
    await store.open()
    ids = await queue_alerts(store, dest.name, alerts)
    s = replace(settings(), destinations=(dest,))
    return Context(settings=s, store=store, sinks={dest.name: sink}), ids


async def tick(ctx: Context, seconds: float) -> None:
    """What the scheduler's poll tick does with a delivery pass: run it, survive anything."""
    with contextlib.suppress(Exception):
        await deliver_pending(ctx, T0 + timedelta(seconds=seconds))


async def rows(ctx: Context, ids: list[str]) -> list[Delivery]:
    found = [await ctx.store.delivery(i) for i in ids]
    assert all(d is not None for d in found)
    return [d for d in found if d is not None]


async def test_discord_webhook_answering_200_with_html_posts_each_alert_once_not_once_per_tick(
    discord: FakeDiscord,
) -> None:
    dest = Destination(name="hook", platform="discord-webhook", webhook_env="HOOK")
    sink = DiscordWebhookSink(dest, HOOK_URL)
    ctx, ids = await context(dest, sink, alerts=2)
    discord.garble(HOOK_ID)  # every post is taken, every answer is an HTML page
    for s in range(25):
        await tick(ctx, s)
    await sink.close()
    assert len(discord.sent(suffix="T" * 68)) == 2  # one post per alert, not 24
    assert len(discord.channels[WEBHOOK_CHANNEL]) == 2
    assert [d.status for d in await rows(ctx, ids)] == ["sent", "sent"]


async def test_discord_bot_post_with_an_unreadable_answer_is_found_in_the_channel_not_reposted(
    discord: FakeDiscord,
) -> None:
    dest = Destination(name="desk", platform="discord", channel=CHANNEL)
    sink = DiscordBotSink(dest, GOOD_TOKEN)
    ctx, ids = await context(dest, sink, alerts=3)
    discord.garble(CHANNEL, times=1)  # the first post is taken, its answer is an HTML page
    first = await deliver_pending(ctx, T0)
    assert first.sent == 2 and first.retrying == 1  # the other rows went out in the same pass
    maybe = (await rows(ctx, ids))[0]
    assert maybe.status == "sending" and maybe.ref is None
    for s in range(1, 120):
        await tick(ctx, s)
    await sink.close()
    assert len(discord.sent(suffix=f"/channels/{CHANNEL}/messages")) == 3  # three POSTs for three alerts
    assert len(discord.channels[CHANNEL]) == 3
    done = await rows(ctx, ids)
    assert [d.status for d in done] == ["sent"] * 3 and all(d.ref for d in done)


async def test_slack_post_with_an_unreadable_answer_is_found_by_its_metadata_not_reposted(slack: FakeSlack) -> None:
    dest = Destination(name="desk", platform="slack", channel="CGARBLED")  # posts, answers an HTML page
    sink = SlackBotSink(dest, make_web_client("xoxb-good", slack.api_url, connect_backoff=0))
    ctx, ids = await context(dest, sink, alerts=2)
    first = await deliver_pending(ctx, T0)
    assert first.retrying == 2 and [d.status for d in await rows(ctx, ids)] == ["sending", "sending"]
    later = await deliver_pending(ctx, T0 + timedelta(minutes=1))
    assert later.recovered == 2 and later.sent == 0
    assert len(slack.calls("chat.postMessage")) == 2 and len(slack.messages["CGARBLED"]) == 2
    done = await rows(ctx, ids)
    assert [d.status for d in done] == ["sent", "sent"]
    assert [d.ref for d in done] == [f"CGARBLED/{m['ts']}" for m in slack.messages["CGARBLED"]]


async def test_a_post_that_never_arrives_ends_failed_with_its_reason_after_max_attempts(slack: FakeSlack) -> None:
    dest = Destination(name="desk", platform="slack", channel="CPROXY")  # a proxy answers; nothing is posted
    sink = SlackBotSink(dest, make_web_client("xoxb-good", slack.api_url, connect_backoff=0))
    ctx, [row_id] = await context(dest, sink, alerts=1)
    now = T0
    for _ in range(MAX_ATTEMPTS):
        await deliver_pending(ctx, now)
        current = await ctx.store.delivery(row_id)
        assert current is not None
        now = current.next_attempt or now
    assert current.status == "failed" and current.attempts == MAX_ATTEMPTS
    assert "could not be read" in current.last_error
    assert len(slack.calls("chat.postMessage")) == MAX_ATTEMPTS
    assert len(slack.calls("conversations.history")) == MAX_ATTEMPTS - 1  # looked before every re-post
