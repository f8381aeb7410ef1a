"""Faults from chat platforms, end to end through the outbox with the real sinks against local
fakes: every kind of failure is retried or reported, nothing is dropped, a destination that is
down does not hold back the others, and no token or webhook URL leaks into logs, errors, health
or the `status` answer."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta

import pytest
from discord.http import Route

from bot.app import SinkFactory, close_context, open_context
from bot.commands import Caller
from bot.commands_impl import Commands
from bot.model import Destination, Subscription
from bot.outbox import deliver_pending
from bot.pipeline import Context, process_items
from bot.secrets import install_redaction
from bot.store.memory import MemoryStore
from tests.factories import T0, item, settings
from tests.fakes.discord_server import FakeDiscord
from tests.fakes.slack_server import FakeSlack
from tests.fakes.webhook_receiver import WebhookReceiver

DISCORD_TOKEN = "Bad.Discord-Token.SECRET-4f9a1c"
HOOK_TOKEN = "H00kSecret" + "x" * 60
SLACK_HOOK_SECRET = "T000-SECRET-slackhook"
STORY = item("North Korean soldiers captured in Kursk, Ukraine says",
             "Ukraine's military said two North Korean soldiers fighting for Russia were taken prisoner.")
DESTS = (
    Destination(name="duty-discord", platform="discord", channel="111111111111111111"),
    Destination(name="discord-hook", platform="discord-webhook", webhook_env="DISCORD_HOOK"),
    Destination(name="duty-slack", platform="slack", channel="C404"),
    Destination(name="slack-hook", platform="slack-webhook", webhook_env="SLACK_HOOK"),
    Destination(name="ops-hook", platform="webhook", webhook_env="OPS_HOOK"),
    Destination(name="healthy", platform="webhook", webhook_env="HEALTHY_HOOK"),
)


@pytest.fixture
async def world() -> AsyncIterator[tuple[Context, SinkFactory, dict[str, str], FakeDiscord, WebhookReceiver]]:
    discord, slack = FakeDiscord(), FakeSlack()
    await discord.start()
    await slack.start()
    async with WebhookReceiver() as receiver:
        env = {
            "DISCORD_TOKEN": DISCORD_TOKEN,
            "DISCORD_API_BASE_URL": discord.api,
            "DISCORD_HOOK": f"{discord.api}/webhooks/222222222222222222/{HOOK_TOKEN}",
            "SLACK_BOT_TOKEN": "xoxb-5xx",
            "SLACK_API_URL": slack.api_url,
            "SLACK_HOOK": f"{slack.url}hooks/5xx?k={SLACK_HOOK_SECRET}",
            "OPS_HOOK": receiver.url("503"),
            "HEALTHY_HOOK": receiver.url("ok"),
        }
        discord.fail("222222222222222222", 404, times=None)  # the channel webhook was deleted
        base = settings()
        subs = tuple(Subscription(watch=base.watches[0].name, destination=d.name) for d in DESTS)
        s = replace(base, destinations=DESTS, subscriptions=subs)
        old_base = Route.BASE
        ctx, factory = await open_context(s, env=env, store=MemoryStore(), with_fetcher=False)
        ctx.check_age = False
        try:
            yield ctx, factory, env, discord, receiver
        finally:
            await close_context(ctx, factory)
            Route.BASE = old_base
            await discord.close()
            await slack.close()


def secrets_of(env: dict[str, str]) -> list[str]:
    return [DISCORD_TOKEN, HOOK_TOKEN, SLACK_HOOK_SECRET, env["OPS_HOOK"].rsplit("/", 1)[-1], "xoxb-5xx"]


async def test_every_fault_is_held_or_retried_and_nothing_leaks(
    world: tuple[Context, SinkFactory, dict[str, str], FakeDiscord, WebhookReceiver], caplog: pytest.LogCaptureFixture
) -> None:
    ctx, _factory, env, _discord, receiver = world
    caplog.set_level(logging.DEBUG)
    # what `deskwatch run` does at start: blank known secrets in every log handler (libraries such
    # as discord.py and slack_sdk log request URLs at DEBUG level)
    install_redaction(env, ["DISCORD_HOOK", "SLACK_HOOK", "OPS_HOOK", "HEALTHY_HOOK"])
    await process_items(ctx, [STORY], T0)
    report = await deliver_pending(ctx, T0)

    assert len(receiver.bodies("ok")) == 1  # the healthy destination is not held back by the others
    assert report.sent == 1 and report.held + report.retrying == 5
    assert await ctx.store.pending_count() == 5  # nothing dropped

    health = await ctx.store.destination_health()
    assert health["duty-discord"][0] is False and "rejected the bot token" in health["duty-discord"][1]
    assert "discord" in ctx.stopped_platforms  # a bad bot token stops Discord posting, says why
    rows = {d.destination: d for d in await ctx.store.due_deliveries(T0 + timedelta(days=1))}
    assert set(rows) == {d.name for d in DESTS} - {"healthy"}
    assert all(r.last_error for r in rows.values())

    # a later pass retries what is retryable and still loses nothing
    await deliver_pending(ctx, T0 + timedelta(hours=2))
    assert await ctx.store.pending_count() == 5 and len(receiver.bodies("ok")) == 1

    status = await Commands(ctx, clock=lambda: T0 + timedelta(hours=2)).status(
        Caller(platform="slack", channel="C1", user="U1"))
    said = "\n".join([caplog.text, status.message.code, *(m for _ok, m, _at in health.values()),
                      *(r.last_error for r in rows.values())])
    for secret in secrets_of(env):
        assert secret not in said, f"secret leaked: {secret[:6]}…"
    assert "Some destinations need attention" in status.message.text


async def test_fixed_destination_delivers_what_waited(
    world: tuple[Context, SinkFactory, dict[str, str], FakeDiscord, WebhookReceiver]
) -> None:
    ctx, _factory, _env, discord, _receiver = world
    await process_items(ctx, [STORY], T0)
    await deliver_pending(ctx, T0)
    discord.failures.clear()  # the webhook's server recovers
    later = await deliver_pending(ctx, T0 + timedelta(hours=1))
    assert later.sent >= 1
    hook_posts = [r for r in discord.requests if r.method == "POST" and "/webhooks/" in r.path]
    assert len(hook_posts) == 2  # held while the webhook was gone, delivered once it came back
    assert (await ctx.store.delivery("alert:" + (await ctx.store.story_of_item(STORY.key)).id  # type: ignore[union-attr]
                                     + ":discord-hook")).status == "sent"  # type: ignore[union-attr]
