"""A failure that comes back every tick is logged once per change of state (issue 11 point 7): a
destination that is down for a whole outbox of rows, pass after pass, is one warning (one
traceback for an error nobody planned for) and one line when it works again; a poll cycle that
keeps failing is one error line and one recovery line, not a traceback per tick."""

from __future__ import annotations

import logging
import sqlite3
from datetime import timedelta

import pytest

from bot.logs import Repeats
from bot.outbox import deliver_pending
from bot.platforms.base import RetryableDeliveryError
from bot.scheduler import poll_tick
from tests.factories import T0
from tests.integration.test_delivery_failures import Broken, make


def shown(caplog: pytest.LogCaptureFixture, logger: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == logger and r.levelno > logging.DEBUG]


@pytest.mark.parametrize("error", [RetryableDeliveryError("Discord answered 503"), ValueError("unreadable answer")])
async def test_a_destination_down_for_many_rows_and_passes_is_one_line(
    caplog: pytest.LogCaptureFixture, error: Exception
) -> None:
    caplog.set_level(logging.DEBUG)
    sink = Broken("desk", broken={f"st-{n}" for n in range(6)}, error=error)
    ctx, _ids = await make(sink, n=6)
    for minutes in range(0, 120, 5):  # two hours of passes, every row retried with back-off
        await deliver_pending(ctx, T0 + timedelta(minutes=minutes))
    assert len(sink.tries) > 20
    lines = shown(caplog, "deskwatch.outbox")
    assert len(lines) == 1, [r.getMessage() for r in lines]
    assert "desk" in lines[0].getMessage() and str(error) in lines[0].getMessage()
    planned = isinstance(error, RetryableDeliveryError)
    assert (lines[0].exc_info is not None) is not planned  # a traceback only for the unplanned, once

    sink.broken.clear()  # the platform is back
    await deliver_pending(ctx, T0 + timedelta(days=1))
    [back] = shown(caplog, "deskwatch.outbox")[1:]
    assert back.levelno == logging.INFO and "works again" in back.getMessage()


async def test_a_poll_cycle_failing_every_tick_is_one_line(caplog: pytest.LogCaptureFixture,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    caplog.set_level(logging.DEBUG)
    ctx, _ = await make(Broken("desk"), n=0)

    async def locked(*_args: object, **_kw: object) -> None:
        raise RuntimeError("database is locked")

    monkeypatch.setattr("bot.scheduler.poll_due_feeds", locked)
    failures = Repeats(logging.getLogger("deskwatch.scheduler"), "poll cycle")
    for _ in range(10):
        await poll_tick(ctx, lambda: T0, failures=failures)
    lines = shown(caplog, "deskwatch.scheduler")
    assert [(r.levelname, r.exc_info is not None) for r in lines] == [("ERROR", True)]
    assert "database is locked" in lines[0].getMessage() and "next tick" in lines[0].getMessage()
    monkeypatch.undo()
    await poll_tick(ctx, lambda: T0, failures=failures)
    assert "poll cycle works again after 10 failure(s)" in shown(caplog, "deskwatch.scheduler")[-1].getMessage()


async def test_a_database_that_refuses_writes_mid_run_is_one_line_naming_it(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.DEBUG)
    ctx, _ = await make(Broken("desk"), n=0)
    monkeypatch.setattr(ctx.store, "path", "/data/deskwatch.db", raising=False)

    async def readonly(*_args: object, **_kw: object) -> None:
        raise sqlite3.OperationalError("attempt to write a readonly database")

    monkeypatch.setattr("bot.scheduler.poll_due_feeds", readonly)
    failures = Repeats(logging.getLogger("deskwatch.scheduler"), "poll cycle")
    for _ in range(3):
        await poll_tick(ctx, lambda: T0, failures=failures)
    [line] = shown(caplog, "deskwatch.scheduler")
    assert line.exc_info is None  # the database's state, not a bug: no traceback
    assert "/data/deskwatch.db" in line.getMessage() and "readonly" in line.getMessage()
