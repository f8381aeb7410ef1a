"""/healthz and /metrics over real HTTP: the server started on port 0 (by `run`, or on its own),
queried with an aiohttp client; Slack's HTTP mode answering on the same port.

`run` polls a local feed server (one relevant report, one feed answering 500, one answering HTML)
into a file destination. Tests wait on events (the monitor told of a tick, the server listening);
every wait_for is only a hang guard.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families
from slack_sdk.signature import SignatureVerifier

import bot.app
import bot.monitor
from bot.app import Running, chat_clients, run
from bot.http_server import HttpServer, monitor_routes, serve
from bot.model import Destination, Subscription
from bot.monitor import Monitor
from bot.pipeline import Context, CycleReport
from bot.settings import FeedSettings, HttpSettings, PollingSettings, Settings, StorageSettings
from bot.store.memory import MemoryStore
from bot.supervisor import ClientHealth
from tests.factories import settings
from tests.fakes.feed_server import FeedServer
from tests.fakes.slack_server import FakeSlack
from tests.unit.test_deploy_files import dockerfile

GUARD = 60.0  # seconds; only so that a broken test fails instead of hanging
HEADLINE = "North Korean troops deployed to Kursk region to fight for Russia, Seoul says"
BODY = "South Korea's spy agency said thousands of North Korean soldiers were sent to Russia's Kursk region."
RSS = (f'<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title><item><title>{HEADLINE}</title>'
       f"<link>https://wire.example/kursk</link><guid>wire-1</guid><description>{BODY}</description>"
       "</item></channel></rss>").encode()  # undated: placed at its first-seen time, so it alerts
CHAT_ENV = ("DISCORD_TOKEN", "DISCORD_GUILD_ID", "DISCORD_API_BASE_URL", "SLACK_BOT_TOKEN", "SLACK_APP_TOKEN",
            "SLACK_SIGNING_SECRET", "SLACK_API_URL", "DESKWATCH_CHAT_COMMANDS", "PORT", "DESKWATCH_HTTP_PORT")
SECRET = "test-signing-secret"


@dataclass
class Desk:
    conf: Settings
    ticked: asyncio.Event


@pytest.fixture
async def desk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Desk]:
    """One relevant feed, one failing with 500, one serving HTML → a file destination; HTTP on port 0."""
    for name in CHAT_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(bot.app, "load_embedder", lambda *a, **k: None)  # terms only: no model to load
    ticked = asyncio.Event()
    real = bot.monitor.Monitor.ticked

    async def told(self: Monitor, report: CycleReport | None, seconds: float) -> None:
        await real(self, report, seconds)
        ticked.set()

    monkeypatch.setattr(bot.monitor.Monitor, "ticked", told)
    async with FeedServer() as feeds:
        base = settings()
        conf = replace(
            base,
            feeds=(FeedSettings(name="wire", url=feeds.feed("/wire.xml", RSS), language="en", source="Wire"),
                   FeedSettings(name="broken", url=feeds.status("/broken.xml", 500), language="en"),
                   FeedSettings(name="page", url=feeds.html("/page"), language="en")),
            destinations=(Destination(name="desk", platform="file", path=str(tmp_path / "alerts.md")),),
            subscriptions=(Subscription(base.watches[0].name, "desk", "instant"),),
            storage=StorageSettings(path=str(tmp_path / "desk.db")),
            http=HttpSettings(host="127.0.0.1", port=0))
        yield Desk(conf, ticked)


async def running(conf: Settings, env: dict[str, str], body: Callable[[Running], Awaitable[None]]) -> None:
    """`run` until `body` is done with what it started, then stop it cleanly."""
    stop, started = asyncio.Event(), asyncio.get_running_loop().create_future()
    task = asyncio.create_task(run(conf, env=env, stop=stop, on_start=started.set_result))
    try:
        r: Running = await asyncio.wait_for(started, GUARD)
        assert r.http is not None
        await asyncio.wait_for(r.http.listening.wait(), GUARD)
        await body(r)
        stop.set()
        await asyncio.wait_for(task, GUARD)
    finally:
        task.cancel()


async def get(url: str) -> tuple[int, str, str]:
    async with aiohttp.ClientSession() as session, session.get(url) as resp:
        return resp.status, resp.headers.get("Content-Type", ""), await resp.text()


async def get_json(url: str) -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession() as session, session.get(url) as resp:
        assert resp.content_type == "application/json"
        return resp.status, await resp.json()


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a Prometheus text page: (name, sorted labels) → value."""
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


# --- through `run` -----------------------------------------------------------------------------


async def test_after_a_real_poll_cycle_healthz_is_200_and_the_counters_moved(desk: Desk) -> None:
    async def check(r: Running) -> None:
        assert r.http is not None
        await asyncio.wait_for(desk.ticked.wait(), GUARD)
        status, body = await get_json(r.http.url + "/healthz")
        assert status == 200, body
        assert body["status"] == "ok" and body["scheduler"] == "running" and body["reason"].startswith("polling")
        assert 0 <= body["last_cycle_age_seconds"] < body["max_cycle_age_seconds"] == 3 * desk.conf.polling.tick
        assert body["platforms"] == {} and body["last_cycle_at"]

        status, ctype, text = await get(r.http.url + "/metrics")
        assert status == 200 and ctype.startswith("text/plain") and "version=0.0.4" in ctype
        names = {f.name for f in text_string_to_metric_families(text)}
        assert names and all(n.startswith("deskwatch_") for n in names), names
        got = samples(text)
        assert got[("deskwatch_feeds_polled_total", ())] == 3
        assert got[("deskwatch_feeds_failed_total", (("kind", "http-error"),))] == 1
        assert got[("deskwatch_feeds_failed_total", (("kind", "not-a-feed"),))] == 1
        assert got[("deskwatch_entries_seen_total", ())] == 1
        assert got[("deskwatch_items_new_total", ())] == 1
        assert got[("deskwatch_items_relevant_total", ())] == 1
        assert got[("deskwatch_items_claimed_total", ())] == 0
        assert got[("deskwatch_stories_total", (("kind", "new"),))] == 1
        assert got[("deskwatch_stories_total", (("kind", "merged"),))] == 0
        assert got[("deskwatch_deliveries_total", (("destination", "desk"), ("status", "sent")))] == 1
        assert got[("deskwatch_delivery_latency_seconds_count", (("destination", "desk"),))] == 1
        assert got[("deskwatch_poll_cycles_total", (("outcome", "ok"),))] == 1
        assert got[("deskwatch_poll_cycle_duration_seconds_count", ())] == 1
        assert got[("deskwatch_last_poll_cycle_timestamp_seconds", ())] == pytest.approx(time.time(), abs=60)
        assert got[("deskwatch_scheduler_up", ())] == 1
        assert got[("deskwatch_destination_up", (("destination", "desk"),))] == 1
        assert got[("deskwatch_feeds", ())] == 3 and got[("deskwatch_feeds_failing", ())] == 2
        assert got[("deskwatch_outbox_pending", ())] == 0

    await running(desk.conf, {}, check)


async def test_healthz_is_503_once_the_poll_loop_stopped(desk: Desk) -> None:
    async def check(r: Running) -> None:
        assert r.http is not None
        await asyncio.wait_for(desk.ticked.wait(), GUARD)
        poll = r.tasks["poll"]
        poll.cancel()
        await asyncio.wait([poll], timeout=GUARD)
        status, body = await get_json(r.http.url + "/healthz")
        assert status == 503 and body["status"] == "unhealthy"
        assert body["scheduler"] == "the poll loop stopped"
        assert body["reason"] == "the poll loop stopped: nothing is polled"
        assert body["last_cycle_age_seconds"] is not None  # the facts are still given
        got = samples((await get(r.http.url + "/metrics"))[2])
        assert got[("deskwatch_scheduler_up", ())] == 0

    await running(desk.conf, {}, check)


async def test_slack_http_mode_and_healthz_answer_on_the_same_port(desk: Desk) -> None:
    slack = FakeSlack(users={"UADMIN": {"is_admin": True}})
    await slack.start()
    env = {"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": slack.api_url}

    async def check(r: Running) -> None:
        assert r.http is not None and "http" not in r.tasks  # the Slack supervisor runs the one server
        assert set(r.tasks) == {"poll", "slack"}
        body = urlencode({"token": "unused", "team_id": "T1", "channel_id": "C1", "user_id": "UADMIN",
                          "command": "/deskwatch", "text": "help", "response_url": f"{slack.url}respond/UADMIN",
                          "trigger_id": "1.2.3"})
        ts = str(int(time.time()))
        headers = {"content-type": "application/x-www-form-urlencoded", "x-slack-request-timestamp": ts,
                   "x-slack-signature": SignatureVerifier(SECRET).generate_signature(timestamp=ts, body=body) or ""}
        async with aiohttp.ClientSession() as session:
            async with session.post(r.http.url + "/slack/events", data=body, headers=headers) as resp:
                assert resp.status == 200  # the ack; the answer goes to the response_url
            async with session.post(r.http.url + "/slack/events", data=body,
                                    headers={**headers, "x-slack-signature": "v0=forged"}) as resp:
                assert resp.status == 401
        await slack.wait_for(lambda f: len(f.calls("respond")) == 1, GUARD)
        status, health = await get_json(r.http.url + "/healthz")
        assert status in (200, 503)  # the first tick may still run: what matters is who answers
        assert health["platforms"]["slack"]["state"] == "up"
        got = samples((await get(r.http.url + "/metrics"))[2])
        assert got[("deskwatch_platform_up", (("platform", "slack"),))] == 1

    try:
        await running(desk.conf, env, check)
    finally:
        await slack.close()


# --- the server on its own, with a monitor on a hand-moved clock --------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_healthz_answers_starting_healthy_stale_and_stopped() -> None:
    conf = replace(settings(), polling=PollingSettings(tick=30))
    store = MemoryStore()
    await store.open()
    ctx = Context(settings=conf, store=store)
    clock, scheduler = Clock(), ["running"]
    monitor = Monitor(ctx, ClientHealth(store), lambda: scheduler[0], monotonic=clock)
    server = HttpServer("127.0.0.1", 0)
    server.add_routes(monitor_routes(monitor))
    task = asyncio.create_task(serve(server))
    try:
        await asyncio.wait_for(server.listening.wait(), GUARD)

        async def health() -> tuple[int, str]:
            status, body = await get_json(server.url + "/healthz")
            return status, body["reason"]

        assert await health() == (200, "starting: the first poll cycle is running (0 s since start)")
        clock.now += 90  # three ticks and no cycle finished
        assert await health() == (503, "no poll cycle finished in the 90 s since start (limit 90 s)")
        await monitor.ticked(CycleReport(feeds=1), 1.5)
        assert await health() == (200, "polling: the last cycle finished 0 s ago")
        clock.now += 89
        assert await health() == (200, "polling: the last cycle finished 89 s ago")
        await monitor.ticked(None, 0.1)  # a tick that failed does not count as a cycle
        clock.now += 1
        assert await health() == (503, "the last poll cycle finished 90 s ago (limit 90 s); "
                                       "the last tick failed (see the log)")
        await monitor.ticked(CycleReport(), 0.2)
        assert (await health())[0] == 200
        scheduler[0] = "the digest scheduler stopped"
        assert await health() == (503, "the digest scheduler stopped: nothing is polled")
    finally:
        task.cancel()
        await asyncio.wait([task], timeout=GUARD)
        await store.close()


async def test_a_port_in_use_is_logged_once_and_tried_again_until_free(caplog: pytest.LogCaptureFixture) -> None:
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    server = HttpServer("127.0.0.1", taken.getsockname()[1])
    server.add_routes(monitor_routes(Monitor(Context(settings=settings(), store=MemoryStore()),
                                             ClientHealth(MemoryStore()), lambda: "running")))
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 3:
            taken.close()  # the other program let the port go
        await asyncio.sleep(0)

    with caplog.at_level(logging.INFO, logger="deskwatch.http"):
        task = asyncio.create_task(serve(server, sleep=sleep))
        try:
            await asyncio.wait_for(server.listening.wait(), GUARD)
            assert (await get(server.url + "/healthz"))[0] == 200
        finally:
            task.cancel()
            await asyncio.wait([task], timeout=GUARD)
            taken.close()
    assert waits == [5.0, 10.0, 20.0]
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "cannot listen on 127.0.0.1:" in errors[0] and "Traceback" not in caplog.text
    assert any("after all" in r.getMessage() for r in caplog.records)
    assert not server.listening.is_set()  # closed on cancel


# --- where Slack's HTTP mode listens ---------------------------------------------------------------


def test_slack_http_mode_joins_the_configured_server_or_keeps_port_3000() -> None:
    env = {"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": SECRET}
    shared = HttpServer("127.0.0.1", 9101)
    clients = chat_clients(replace(settings(), http=HttpSettings(port=9101)), env, object(), shared)  # type: ignore[arg-type]
    assert clients["slack"] is shared and [r.path for r in shared.routes] == ["/slack/events"]

    clients = chat_clients(settings(), {**env, "PORT": "8080"}, object())  # type: ignore[arg-type]
    legacy = clients["slack"]
    assert isinstance(legacy, HttpServer) and (legacy.host, legacy.port) == ("0.0.0.0", 8080)

    socket_mode = chat_clients(settings(), {**env, "SLACK_APP_TOKEN": "xapp-1"}, object())  # type: ignore[arg-type]
    assert not isinstance(socket_mode["slack"], HttpServer)


# --- the image's HEALTHCHECK command, run for real ------------------------------------------------


async def test_the_docker_healthcheck_command_passes_on_200_and_fails_on_503() -> None:
    check = next(r for w, r in dockerfile() if w == "HEALTHCHECK")
    argv = json.loads(check.partition("CMD ")[2])
    store = MemoryStore()
    await store.open()
    scheduler = ["running"]
    monitor = Monitor(Context(settings=settings(), store=store), ClientHealth(store), lambda: scheduler[0])
    server = HttpServer("127.0.0.1", 0)
    server.add_routes(monitor_routes(monitor))
    task = asyncio.create_task(serve(server))
    try:
        await asyncio.wait_for(server.listening.wait(), GUARD)
        env = {**os.environ, "DESKWATCH_HTTP_PORT": str(server.addresses[0][1])}

        async def exit_code() -> int:
            proc = await asyncio.create_subprocess_exec(sys.executable, *argv[1:], env=env,
                                                        stdout=asyncio.subprocess.DEVNULL,
                                                        stderr=asyncio.subprocess.DEVNULL)
            return await asyncio.wait_for(proc.wait(), GUARD)

        assert await exit_code() == 0  # starting counts as healthy (the image gives a start period too)
        scheduler[0] = "the poll loop stopped"
        assert await exit_code() == 1
    finally:
        task.cancel()
        await asyncio.wait([task], timeout=GUARD)
        await store.close()
