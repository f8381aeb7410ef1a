"""The chat client supervisor, driven with a scripted connect function and a fake sleep: back-off
(capped), one log line per change of state and none with a traceback, a rejected token retried
rarely, the state recorded for `status`, and a cancelled supervisor closing its client."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable

import pytest

from bot.commands import Caller
from bot.commands_impl import Commands
from bot.pipeline import Context
from bot.store.memory import MemoryStore
from bot.supervisor import (
    RECONNECT_DELAY,
    STABLE,
    STATE_META,
    ClientHealth,
    Rejected,
    backoff,
    describe,
    load_states,
    supervise,
)
from tests.factories import T0, settings

Up = Callable[[], Awaitable[None]]
UNREACHABLE = OSError("Cannot connect to host 127.0.0.1:9 ssl:default [Connect call failed]")
CALLER = Caller(platform="discord", channel="42", user="u2", can_manage=False)


class Stop(Exception):
    """Raised by the fake sleep to end `supervise` after a set number of waits."""


class Script:
    """A connect function: each attempt plays the next outcome — an exception to raise, or "up"
    (connected, then the connection ends) — and a fake sleep that stops after `waits` waits."""

    def __init__(self, outcomes: list[BaseException | str], waits: int, lasts: float = 3600.0) -> None:
        self.outcomes, self.waits = list(outcomes), waits
        self.attempts = 0
        self.sleeps: list[float] = []
        self.now, self.lasts = 0.0, lasts  # a connection that comes up stays up `lasts` seconds

    def monotonic(self) -> float:
        return self.now

    async def connect(self, up: Up) -> None:
        self.attempts += 1
        outcome = self.outcomes.pop(0) if self.outcomes else UNREACHABLE
        if isinstance(outcome, BaseException):
            raise outcome
        await up()
        self.now += self.lasts

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        if len(self.sleeps) >= self.waits:
            raise Stop


async def health() -> ClientHealth:
    store = MemoryStore()
    await store.open()
    return ClientHealth(store, clock=lambda: T0, secrets=["xapp-1-SECRET-app-token"])


def lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "deskwatch.supervisor"]


async def test_down_is_reported_once_and_retried_with_capped_exponential_backoff(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="deskwatch.supervisor")
    h = await health()
    script = Script([], waits=6)
    with pytest.raises(Stop):
        await supervise("slack", script.connect, h, sleep=script.sleep, monotonic=script.monotonic, first=5, cap=40)
    assert script.attempts == 6 and script.sleeps == [5, 10, 20, 40, 40, 40]
    [line] = lines(caplog)  # six failed attempts, one state change, one line
    assert line.startswith("slack: down — OSError: Cannot connect to host 127.0.0.1:9")
    assert "polling and posting carry on" in line
    assert not any(r.exc_info for r in caplog.records)  # no traceback anywhere
    assert h.states["slack"]["state"] == "down"
    assert json.loads(await h.store.get_meta(STATE_META) or "{}") == h.states


async def test_a_rejected_token_is_one_line_naming_the_variable_and_is_not_retried_in_a_tight_loop(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="deskwatch.supervisor")
    h = await health()
    rejected = Rejected("fix DISCORD_TOKEN (Discord refused the bot token)")
    script = Script([rejected, rejected, rejected], waits=3)
    with pytest.raises(Stop):
        await supervise("discord", script.connect, h, sleep=script.sleep, monotonic=script.monotonic, first=5,
                        cap=300, rejected_delay=3600)
    assert script.sleeps == [3600, 3600, 3600]
    [line] = lines(caplog)
    assert line.startswith("discord: rejected: fix DISCORD_TOKEN")
    assert h.states["discord"] == {"state": "rejected", "detail": "fix DISCORD_TOKEN (Discord refused the bot token)",
                                   "since": T0.isoformat()}


async def test_up_after_down_is_one_line_resets_the_backoff_and_a_closed_connection_reconnects_quietly(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.INFO, logger="deskwatch.supervisor")
    h = await health()
    # down, down, up (then the connection ends: a routine refresh), up again, then it ends and
    # the reconnect fails: down again
    script = Script([UNREACHABLE, UNREACHABLE, "up", "up", UNREACHABLE, UNREACHABLE], waits=6)
    with pytest.raises(Stop):
        await supervise("slack", script.connect, h, sleep=script.sleep, monotonic=script.monotonic, first=5, cap=300)
    assert script.sleeps == [5, 10, RECONNECT_DELAY, RECONNECT_DELAY, 5, 10]
    said = lines(caplog)
    assert [s.split(";")[0].split(" (")[0] for s in said] == [
        "slack: down — OSError: Cannot connect to host 127.0.0.1:9 ssl:default [Connect call failed]",
        "slack: connected",
        "slack: connection closed",
        "slack: connection closed",
        "slack: down — OSError: Cannot connect to host 127.0.0.1:9 ssl:default [Connect call failed]",
    ]
    assert h.states["slack"]["state"] == "down"


async def test_a_connection_that_cannot_stay_up_is_down_with_growing_backoff(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="deskwatch.supervisor")
    h = await health()
    script = Script(["up"] * 4, waits=4, lasts=STABLE / 2)  # up, and closed again within the minute
    with pytest.raises(Stop):
        await supervise("slack", script.connect, h, sleep=script.sleep, monotonic=script.monotonic, first=5, cap=300)
    assert script.sleeps == [5, 10, 20, 40]  # no 1-second reconnect loop
    assert [s.split(" ")[1] for s in lines(caplog)] == ["connected;", "down", "connected;", "down",
                                                         "connected;", "down", "connected;", "down"]


async def test_cancelling_the_supervisor_closes_the_client_at_once() -> None:
    h = await health()
    connected, closed = asyncio.Event(), asyncio.Event()

    async def connect(up: Up) -> None:
        try:
            await up()
            connected.set()
            await asyncio.Event().wait()  # holds the connection until cancelled
        finally:
            closed.set()

    task = asyncio.create_task(supervise("discord", connect, h))
    await asyncio.wait_for(connected.wait(), 10)  # a hang guard only
    assert h.states["discord"]["state"] == "up"
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert closed.is_set()


async def test_details_are_one_line_without_secrets_and_status_shows_a_client_that_is_not_up() -> None:
    assert describe(RuntimeError("line one\n  line two")) == "RuntimeError: line one line two"
    assert len(describe(RuntimeError("x" * 1000))) == 240
    h = await health()
    await h.reset(["discord", "slack"])
    await h.set("slack", "down", "Slack answered 500 for xapp-1-SECRET-app-token")
    await h.set("discord", "up", "connected")
    assert h.states["slack"]["detail"] == "Slack answered 500 for [redacted]"
    ctx = Context(settings=settings("desk"), store=h.store)
    assert await load_states(ctx.store) == h.states
    status = (await Commands(ctx, lambda: T0).status(CALLER)).message
    assert dict(status.fields)["Chat connections"] == "discord up, slack down"
    assert "slack commands: down — Slack answered 500 for [redacted] (since 2026-01-15 09:00 UTC)" in status.code
    assert "discord commands" not in status.code


def test_backoff_doubles_and_is_capped() -> None:
    assert [backoff(n, 5, 300) for n in range(1, 9)] == [5, 10, 20, 40, 80, 160, 300, 300]
    assert backoff(10_000, 5, 300) == 300
