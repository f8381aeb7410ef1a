"""Composition root: settings → store, fetcher, sinks, commands, scheduler, chat clients.

Four kinds of sink are a flat dict built here, not a plugin registry. `run` owns every resource
it opens and closes them all on SIGINT/SIGTERM; `once` does one cycle and one delivery pass.

In `run`, polling starts first and runs as its own task, timed on the monotonic clock; each chat
client (Discord, Slack) runs as its own supervised task (bot/supervisor.py), so a platform that is
down or refuses its token costs only that platform's slash commands. On a database several workers
share, the leader lease (bot/cluster.py) also decides who connects the Discord gateway.
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
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.cluster import lead_loop, shared_work
from bot.commands_impl import Commands, load_added_feeds
from bot.embedding import Embedder, load_embedder
from bot.fetch import Fetcher
from bot.http_server import HttpServer, monitor_routes, serve
from bot.model import Destination
from bot.monitor import Monitor
from bot.outbox import DeliveryReport, deliver_pending
from bot.pipeline import Context, CycleReport, poll_due_feeds
from bot.platforms.base import Sink
from bot.platforms.console import ConsoleSink
from bot.platforms.file import FileSink
from bot.routing import all_subscriptions
from bot.secrets import secret_values
from bot.settings import Settings
from bot.store import store_for
from bot.store.base import Store
from bot.supervisor import ClientHealth, Connect, describe, supervise

log = logging.getLogger("deskwatch.app")
SHUTDOWN_TIMEOUT = 8.0  # seconds for the tasks to unwind on SIGTERM; closing the rest is quick


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
    store = store or store_for(settings.storage)
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
        sent = await deliver_pending(ctx, utcnow())
        await ctx.store.index_for_search()
        return report, sent
    finally:
        await close_context(ctx, factory)


@dataclass
class Running:
    """What `run` started, handed to `on_start` (a test): `health.states` is the chat clients'
    state as a plain dict, `tasks` the poll loop, one supervisor per chat client and the HTTP
    server's task, `http` that server (None when no port is set), `monitor` what it reports."""

    ctx: Context
    health: ClientHealth
    scheduler: AsyncIOScheduler
    tasks: dict[str, asyncio.Task[None]]
    monitor: Monitor | None = None
    http: HttpServer | None = None


def chat_clients(settings: Settings, env: Mapping[str, str], commands: Commands,
                 server: HttpServer | None = None) -> dict[str, Connect]:
    """The chat connections to supervise, by platform: what each supervisor task runs. Slack's
    HTTP mode adds its route to `server`, the process's one HTTP server, and is that server."""
    # Chat commands need a live connection (Discord gateway, Slack Socket Mode/HTTP); posting does
    # not. DESKWATCH_CHAT_COMMANDS=off runs a posting-only bot (and lets tests use REST fakes).
    if env.get("DESKWATCH_CHAT_COMMANDS", "on").lower() in ("off", "0", "false", "no"):
        return {}
    clients: dict[str, Connect] = {}
    if env.get("DISCORD_TOKEN"):
        from bot.platforms.discord.client import DiscordRunner
        from bot.platforms.discord.sink import apply_api_base

        apply_api_base(env)
        guild = env.get("DISCORD_GUILD_ID")
        clients["discord"] = DiscordRunner(commands, int(guild) if guild and guild.isdigit() else None,
                                           env["DISCORD_TOKEN"])
    if env.get("SLACK_BOT_TOKEN") and (env.get("SLACK_APP_TOKEN") or env.get("SLACK_SIGNING_SECRET")):
        from bot.platforms.slack.app import SocketModeRunner, build_app, http_routes

        app = build_app(commands, signing_secret=env.get("SLACK_SIGNING_SECRET"), bot_token=env["SLACK_BOT_TOKEN"],
                        admins=settings.access.slack_admins, api_url=env.get("SLACK_API_URL"))
        app_token = env.get("SLACK_APP_TOKEN")
        if app_token:
            clients["slack"] = SocketModeRunner(app, app_token)
        else:
            server = server or HttpServer(settings.http.host, settings.http.port)
            if server.port is None:  # as before [http] port existed: PORT (default 3000), every interface
                server.host, server.port = "0.0.0.0", int(env.get("PORT", "3000"))
            server.add_routes(http_routes(app))
            clients["slack"] = server
    return clients


def _leader_clients(clients: Mapping[str, Connect], tasks: dict[str, asyncio.Task[None]], health: ClientHealth
                    ) -> Callable[[bool], Awaitable[None]]:
    """What the leader lease starts and stops: `clients`, supervised while this worker leads."""

    async def changed(leading: bool) -> None:
        for platform, connect in clients.items():
            running = tasks.get(platform)
            if leading and (running is None or running.done()):
                tasks[platform] = asyncio.create_task(supervise(platform, connect, health),
                                                      name=f"deskwatch {platform}")
                tasks[platform].add_done_callback(_report_death)
            elif not leading and running is not None:
                del tasks[platform]
                running.cancel()  # the supervisor closes its client as it unwinds
                await asyncio.wait({running}, timeout=SHUTDOWN_TIMEOUT)

    return changed


def _report_death(task: asyncio.Task[None]) -> None:
    """The poll loop and the supervisors end only by cancellation; anything else is a bug to see."""
    if not task.cancelled() and task.exception() is not None:
        log.error("%s stopped unexpectedly: %s", task.get_name(), describe(task.exception() or Exception()))


async def run(settings: Settings, *, env: Mapping[str, str] | None = None, stop: asyncio.Event | None = None,
              load_model: Callable[[], Embedder | None] | None = None,
              on_start: Callable[[Running], object] | None = None) -> None:
    """The long-running bot: the poll loop, cron digests, and each chat client supervised on its
    own, all on one loop, until SIGINT/SIGTERM (or `stop`) — then everything stops within
    SHUTDOWN_TIMEOUT, whatever state the chat clients are in. `env` defaults to os.environ,
    `load_model` to load_embedder; `on_start` is handed what was started."""
    env = os.environ if env is None else env
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    handled: list[signal.Signals] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # not the main thread, or Windows
            loop.add_signal_handler(sig, stop.set)
            handled.append(sig)
    try:
        ctx, factory = await open_context(settings, env=env, embedder=(load_model or load_embedder)())
        try:
            await _serve(ctx, settings, env, stop, on_start)
        finally:
            await close_context(ctx, factory)
    finally:
        for sig in handled:
            loop.remove_signal_handler(sig)


async def _serve(ctx: Context, settings: Settings, env: Mapping[str, str], stop: asyncio.Event,
                 on_start: Callable[[Running], object] | None) -> None:
    """Start polling, digests and the chat clients; wait for `stop`; stop them all."""
    from bot.scheduler import build_scheduler, poll_loop, refresh_digests

    health = ClientHealth(ctx.store, secrets=secret_values(env, [d.webhook_env for d in settings.destinations
                                                                 if d.webhook_env]))
    scheduler = build_scheduler(ctx, await all_subscriptions(ctx))

    async def changed() -> None:
        await refresh_digests(scheduler, ctx)

    async def clock_stepped(seconds: float) -> None:
        # APScheduler plans cron runs on the wall clock: after a step, plan them again from now.
        log.warning("the wall clock stepped by %+.0f s; digest times planned again", seconds)
        await refresh_digests(scheduler, ctx)

    commands = Commands(ctx, utcnow, after_change=changed)
    tasks: dict[str, asyncio.Task[None]] = {}

    def scheduling() -> str:
        poll = tasks.get("poll")
        if poll is None or poll.done():
            return "the poll loop stopped"
        return "running" if scheduler.running else "the digest scheduler stopped"

    monitor = Monitor(ctx, health, scheduling)
    ctx.on_delivery = monitor.delivered
    server = HttpServer(settings.http.host, settings.http.port)
    if settings.http.port is not None:
        server.add_routes(monitor_routes(monitor))
    try:
        # Polling first, and on its own: it needs no chat connection, so no chat client can delay it.
        scheduler.start()
        tasks["poll"] = asyncio.create_task(poll_loop(ctx, on_clock_step=clock_stepped, on_tick=monitor.ticked),
                                            name="deskwatch poll loop")
        clients = chat_clients(settings, env, commands, server)
        # Several workers on one database: the Discord gateway runs on the leader only (Discord
        # hands each interaction to every session of a bot, so two workers would both answer it);
        # Slack hands each request to one of the app's connections, so every worker connects.
        on_leader = {p: clients.pop(p) for p in ("discord",) if p in clients and shared_work(ctx.store)}
        await health.reset(clients)
        for platform, connect in clients.items():
            tasks[platform] = asyncio.create_task(supervise(platform, connect, health), name=f"deskwatch {platform}")
        if server.routes and server not in clients.values():  # no Slack HTTP mode to run it
            tasks["http"] = asyncio.create_task(serve(server), name="deskwatch http server")
        if shared_work(ctx.store) is not None:
            tasks["leader"] = asyncio.create_task(
                lead_loop(ctx, utcnow, on_change=_leader_clients(on_leader, tasks, health)),
                name="deskwatch leader lease")
        for task in tasks.values():
            task.add_done_callback(_report_death)
        log.info("deskwatch running: %d feeds, %d watches, %d destinations, chat clients: %s", len(settings.feeds),
                 len(settings.watches), len(settings.destinations),
                 ", ".join([*clients, *(f"{p} (while this worker leads)" for p in on_leader)]) or "none")
        if on_start is not None:
            on_start(Running(ctx, health, scheduler, tasks, monitor, server if server.routes else None))
        await stop.wait()
    finally:
        log.info("shutting down")
        for task in tasks.values():
            task.cancel()  # each supervisor closes its client (within CLOSE_TIMEOUT) as it unwinds
        if tasks:
            _done, pending = await asyncio.wait(tasks.values(), timeout=SHUTDOWN_TIMEOUT)
            for task in pending:
                log.warning("%s did not stop within %.0f s; closing anyway", task.get_name(), SHUTDOWN_TIMEOUT)
        if scheduler.running:
            scheduler.shutdown(wait=False)
        with contextlib.suppress(Exception):
            await health.stopped()
