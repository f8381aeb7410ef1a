"""Composition root: settings → store, fetcher, sinks, commands, scheduler, chat clients.

Four kinds of sink are a flat dict built here, not a plugin registry. `run` owns every resource
it opens and closes them all on SIGINT/SIGTERM; `once` does one cycle and one delivery pass.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

import aiohttp

from bot.commands_impl import Commands, load_added_feeds
from bot.embedding import Embedder, load_embedder
from bot.fetch import Fetcher
from bot.model import Destination
from bot.outbox import DeliveryReport, deliver_pending
from bot.pipeline import Context, CycleReport, all_subscriptions, poll_due_feeds
from bot.platforms.base import Sink
from bot.platforms.console import ConsoleSink
from bot.platforms.file import FileSink
from bot.settings import Settings
from bot.store.base import Store
from bot.store.sqlite import SqliteStore

log = logging.getLogger("deskwatch.app")


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class SinkFactory:
    """Builds the poster for a destination; a missing secret makes no poster and a clear log line
    (that destination's alerts wait in the outbox, they are not dropped)."""

    env: Mapping[str, str]
    session: aiohttp.ClientSession
    dry_run: bool = False
    problems: dict[str, str] = field(default_factory=dict)

    def __call__(self, dest: Destination) -> Sink | None:
        if self.dry_run or dest.platform == "console":
            return ConsoleSink(dest.name)
        try:
            return self._make(dest)
        except ValueError as exc:
            self.problems[dest.name] = str(exc)
            log.error("destination %s cannot post: %s", dest.name, exc)
            return None

    def _make(self, dest: Destination) -> Sink:
        if dest.platform == "file":
            return FileSink(dest.name, dest.path or "deskwatch-out.md", format=dest.format)
        if dest.platform == "webhook":
            from bot.platforms.webhook import make_webhook_sink

            return make_webhook_sink(dest, self.env, self.session)
        if dest.platform in ("discord", "discord-webhook"):
            from bot.platforms.discord.sink import make_discord_sink

            return make_discord_sink(dest, self.env)
        from bot.platforms.slack.sink import make_slack_sink

        return make_slack_sink(dest, self.env)


async def open_context(settings: Settings, *, env: Mapping[str, str] | None = None, store: Store | None = None,
                       dry_run: bool = False, with_fetcher: bool = True, embedder: Embedder | None = None
                       ) -> tuple[Context, SinkFactory]:
    """Everything a poll cycle needs. `embedder`: the multilingual signal (`load_embedder()`);
    None runs on term features alone (tests, benchmarks that measure the cheap path)."""
    env = os.environ if env is None else env
    store = store or SqliteStore(settings.storage.path)
    await store.open()
    await store.sync_feeds([(f.name, f.url) for f in settings.feeds])
    fetcher = Fetcher(settings.polling) if with_fetcher else None
    if fetcher is not None:
        await fetcher.__aenter__()
    session = aiohttp.ClientSession()
    factory = SinkFactory(env=env, session=session, dry_run=dry_run)
    ctx = Context(settings=settings, store=store, fetcher=fetcher, make_sink=factory, embedder=embedder)
    await load_added_feeds(ctx)
    for dest in settings.destinations:
        sink = factory(dest)
        if sink is not None:
            ctx.sinks[dest.name] = sink
    for name, problem in factory.problems.items():
        await store.set_destination_health(name, False, problem, utcnow())
    return ctx, factory


async def close_context(ctx: Context, factory: SinkFactory) -> None:
    for sink in ctx.sinks.values():
        with contextlib.suppress(Exception):
            await sink.close()
    await factory.session.close()
    if ctx.fetcher is not None:
        await ctx.fetcher.__aexit__(None, None, None)
    await ctx.store.close()


async def once(settings: Settings, *, dry_run: bool = False) -> tuple[CycleReport, DeliveryReport]:
    """One poll cycle and one delivery pass to every configured destination, then exit."""
    ctx, factory = await open_context(settings, dry_run=dry_run, embedder=load_embedder())
    try:
        report = await poll_due_feeds(ctx, utcnow())
        return report, await deliver_pending(ctx, utcnow())
    finally:
        await close_context(ctx, factory)


async def run(settings: Settings) -> None:
    """The long-running bot: scheduler + (optional) Discord and Slack clients on one loop."""
    from bot.scheduler import build_scheduler, refresh_digests

    env = os.environ
    ctx, factory = await open_context(settings, embedder=load_embedder())
    scheduler = build_scheduler(ctx, await all_subscriptions(ctx))

    async def changed() -> None:
        await refresh_digests(scheduler, ctx)

    commands = Commands(ctx, utcnow, after_change=changed)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    # Chat commands need a live connection (Discord gateway, Slack Socket Mode/HTTP); posting does
    # not. DESKWATCH_CHAT_COMMANDS=off runs a posting-only bot (and lets tests use REST fakes).
    commands_on = env.get("DESKWATCH_CHAT_COMMANDS", "on").lower() not in ("off", "0", "false", "no")
    tasks: list[asyncio.Task[object]] = []
    closers: list[Callable[[], Awaitable[None]]] = []
    if commands_on and env.get("DISCORD_TOKEN"):
        from bot.platforms.discord.client import build_client
        from bot.platforms.discord.sink import apply_api_base

        apply_api_base(env)
        guild = env.get("DISCORD_GUILD_ID")
        client = build_client(commands, int(guild) if guild and guild.isdigit() else None)
        tasks.append(asyncio.create_task(client.start(env["DISCORD_TOKEN"]), name="discord"))
        closers.append(client.close)
    if commands_on and env.get("SLACK_BOT_TOKEN") and (env.get("SLACK_APP_TOKEN") or env.get("SLACK_SIGNING_SECRET")):
        from bot.platforms.slack.app import build_app, start_http_mode, start_socket_mode

        app = build_app(commands, signing_secret=env.get("SLACK_SIGNING_SECRET"),
                        bot_token=env["SLACK_BOT_TOKEN"], admins=settings.access.slack_admins)
        if env.get("SLACK_APP_TOKEN"):
            closers.append(await start_socket_mode(app, env["SLACK_APP_TOKEN"]))
        else:
            closers.append(await start_http_mode(app, int(env.get("PORT", "3000"))))
    scheduler.start()
    log.info("deskwatch running: %d feeds, %d watches, %d destinations", len(settings.feeds),
             len(settings.watches), len(settings.destinations))
    try:
        await stop.wait()
    finally:
        log.info("shutting down")
        scheduler.shutdown(wait=False)
        for close in closers:
            with contextlib.suppress(Exception):
                await close()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await close_context(ctx, factory)
