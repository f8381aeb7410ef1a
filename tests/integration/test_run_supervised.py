"""`deskwatch run` with a chat platform down: polling and posting go on, the platform is reported
once, `status` shows it, and SIGTERM (or the stop event) ends run() in every state.

The whole app runs against local servers: a feed server with one relevant report, a file
destination, Slack's API at a closed port (or at a server that never answers), the fake Discord
refusing the token. The tests wait on events — the first poll tick done, a log line, a request
arriving — never on time; each wait_for is only a hang guard.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

import bot.app
import bot.scheduler
from bot.app import run
from bot.commands import Caller
from bot.commands_impl import Commands
from bot.model import Destination, Subscription
from bot.pipeline import Context
from bot.settings import FeedSettings, Settings, StorageSettings
from bot.store.sqlite import SqliteStore
from tests.factories import settings
from tests.fakes.discord_server import running_fake_discord
from tests.fakes.feed_server import FeedServer

if TYPE_CHECKING:
    from bot.app import Running

HANG_GUARD = 60.0  # seconds; only so that a broken run() fails the test instead of hanging it
HEADLINE = "North Korean troops deployed to Kursk region to fight for Russia, Seoul says"
BODY = "South Korea's spy agency said thousands of North Korean soldiers were sent to Russia's Kursk region."
RSS = (f'<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title><item><title>{HEADLINE}</title>'
       f"<link>https://wire.example/kursk</link><guid>wire-1</guid><description>{BODY}</description>"
       "</item></channel></rss>").encode()  # undated: placed at its first-seen time, so it alerts
CHAT_ENV = ("DISCORD_TOKEN", "DISCORD_GUILD_ID", "DISCORD_API_BASE_URL", "SLACK_BOT_TOKEN", "SLACK_APP_TOKEN",
            "SLACK_SIGNING_SECRET", "SLACK_API_URL", "DESKWATCH_CHAT_COMMANDS")
CALLER = Caller(platform="slack", channel="C1", user="U1", can_manage=False)


class LogWatch(logging.Handler):
    """Sets `seen` when a record matching `pred` is logged (records arrive on the loop's thread)."""

    def __init__(self, pred: Callable[[logging.LogRecord], bool]) -> None:
        super().__init__(logging.DEBUG)
        self.pred = pred
        self.seen = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if self.pred(record):
            self.seen.set()


@pytest.fixture
def log_watch() -> Iterator[Callable[[Callable[[logging.LogRecord], bool]], LogWatch]]:
    added: list[LogWatch] = []

    def watch(pred: Callable[[logging.LogRecord], bool]) -> LogWatch:
        handler = LogWatch(pred)
        logging.getLogger().addHandler(handler)
        added.append(handler)
        return handler

    yield watch
    for handler in added:
        logging.getLogger().removeHandler(handler)


@pytest.fixture
async def desk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[tuple[Settings, asyncio.Event]]:
    """Settings for one relevant feed → a file destination, and an event set after each poll tick."""
    for name in CHAT_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(bot.app, "load_embedder", lambda *a, **k: None)  # terms only: no model to load
    polled = asyncio.Event()
    real_tick = bot.scheduler.poll_tick

    async def tick(*args: Any, **kwargs: Any) -> None:
        await real_tick(*args, **kwargs)
        polled.set()

    monkeypatch.setattr(bot.scheduler, "poll_tick", tick)
    async with FeedServer() as feeds:
        base = settings()
        conf = replace(base, feeds=(FeedSettings(name="wire", url=feeds.feed("/wire.xml", RSS), language="en",
                                                 source="Wire"),),
                       destinations=(Destination(name="desk", platform="file", path=str(tmp_path / "alerts.md")),),
                       subscriptions=(Subscription(base.watches[0].name, "desk", "instant"),),
                       storage=StorageSettings(path=str(tmp_path / "desk.db")))
        yield conf, polled


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def status_from_another_process_view(conf: Settings) -> tuple[dict[str, str], str]:
    """What `/deskwatch status` answers, read from the database as a second process would."""
    store = SqliteStore(conf.storage.path)
    await store.open()
    try:
        msg = (await Commands(Context(settings=conf, store=store), lambda: datetime.now(UTC)).status(CALLER)).message
        return dict(msg.fields), msg.code
    finally:
        await store.close()


async def test_slack_unreachable_polling_goes_on_it_is_reported_once_and_sigterm_stops_run(
        desk: tuple[Settings, asyncio.Event], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
        log_watch: Callable[[Callable[[logging.LogRecord], bool]], LogWatch]) -> None:
    conf, polled = desk
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.INFO, logger="deskwatch.supervisor")
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-test")
    monkeypatch.setenv("SLACK_API_URL", f"http://127.0.0.1:{closed_port()}/api/")
    down = log_watch(lambda r: r.name == "deskwatch.supervisor" and r.getMessage().startswith("slack: down"))
    task = asyncio.create_task(run(conf))
    try:
        await asyncio.wait_for(asyncio.gather(polled.wait(), down.seen.wait()), HANG_GUARD)
        assert HEADLINE in Path(conf.destinations[0].path or "").read_text("utf-8")  # polled and posted
        fields, code = await status_from_another_process_view(conf)
        assert fields["Chat connections"] == "slack down"
        assert "slack commands: down — ClientConnectorError: Cannot connect to host 127.0.0.1" in code
        os.kill(os.getpid(), signal.SIGTERM)  # run() installed its handler before it polled
        await asyncio.wait_for(task, HANG_GUARD)
    finally:
        task.cancel()
    said = [r.getMessage() for r in caplog.records if r.name == "deskwatch.supervisor"]
    assert len([s for s in said if s.startswith("slack: down")]) == 1, said
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"


async def test_a_bad_discord_token_is_reported_in_one_line_and_status_shows_it(
        desk: tuple[Settings, asyncio.Event], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
        log_watch: Callable[[Callable[[logging.LogRecord], bool]], LogWatch]) -> None:
    conf, polled = desk
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.INFO, logger="deskwatch.supervisor")
    async with running_fake_discord() as fake:
        monkeypatch.setenv("DISCORD_TOKEN", "not.the-token.of-this-bot")
        monkeypatch.setenv("DISCORD_API_BASE_URL", fake.api)
        rejected = log_watch(lambda r: r.name == "deskwatch.supervisor" and "DISCORD_TOKEN" in r.getMessage())
        task = asyncio.create_task(run(conf))
        try:
            await asyncio.wait_for(asyncio.gather(polled.wait(), rejected.seen.wait()), HANG_GUARD)
            fields, code = await status_from_another_process_view(conf)
            assert fields["Chat connections"] == "discord rejected"
            assert "discord commands: rejected — fix DISCORD_TOKEN" in code
            os.kill(os.getpid(), signal.SIGTERM)
            await asyncio.wait_for(task, HANG_GUARD)
        finally:
            task.cancel()
    said = [r.getMessage() for r in caplog.records if r.name == "deskwatch.supervisor"]
    assert [s.split(";")[0] for s in said] == ["discord: rejected: fix DISCORD_TOKEN (Discord refused the bot token)"]
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"
    assert HEADLINE in Path(conf.destinations[0].path or "").read_text("utf-8")


async def test_the_stop_event_ends_run_while_slack_hangs_mid_connect(
        desk: tuple[Settings, asyncio.Event], monkeypatch: pytest.MonkeyPatch) -> None:
    conf, polled = desk
    asked, release = asyncio.Event(), asyncio.Event()

    async def never_answers(request: web.Request) -> web.Response:
        asked.set()
        await release.wait()
        return web.json_response({"ok": False, "error": "too_late"})

    app = web.Application()
    app.router.add_route("*", "/api/{method}", never_answers)
    slack = TestServer(app, host="127.0.0.1", port=0)
    await slack.start_server()
    env = {"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_APP_TOKEN": "xapp-test",
           "SLACK_API_URL": str(slack.make_url("/api/"))}
    stop, started = asyncio.Event(), asyncio.get_running_loop().create_future()
    task = asyncio.create_task(run(conf, env=env, stop=stop, on_start=started.set_result))
    try:
        running: Running = await asyncio.wait_for(started, HANG_GUARD)
        await asyncio.wait_for(asyncio.gather(polled.wait(), asked.wait()), HANG_GUARD)
        assert running.health.states["slack"]["state"] == "starting"  # connecting, no answer yet
        assert set(running.tasks) == {"poll", "slack"}
        stop.set()
        await asyncio.wait_for(task, HANG_GUARD)
        assert all(t.done() for t in running.tasks.values())
        assert running.health.states["slack"]["state"] == "stopped"
    finally:
        task.cancel()
        release.set()
        await slack.close()
