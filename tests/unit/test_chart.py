"""The weekly chart: a PNG with the days on its x axis, made only for weekly digests, and a chart
that cannot be drawn costs one log line, never the digest."""

from __future__ import annotations

import logging
import struct
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from matplotlib.dates import num2date

from bot import chart
from bot.core.trend import Trend
from bot.model import Delivery, Destination, Match, Subscription
from bot.pipeline import Context
from bot.store.memory import MemoryStore
from tests.factories import item, settings

PNG = b"\x89PNG\r\n\x1a\n"
DAYS = tuple(date(2026, 1, 5) + timedelta(days=n) for n in range(56))
TREND = Trend(title="DPRK forces in Russia", timezone="Asia/Seoul", days=DAYS,
              relevant=tuple(n % 9 for n in range(56)), stories=tuple(n % 3 for n in range(56)))
NOW = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)  # Monday 09:00 in Seoul


def test_the_chart_is_a_png() -> None:
    png = chart.draw(TREND)
    assert png.startswith(PNG) and len(png) > 1000
    width, height = struct.unpack(">II", png[16:24])  # the IHDR chunk
    assert (width, height) == (800, 320)


def test_the_days_are_on_the_x_axis_and_both_series_are_drawn() -> None:
    fig = chart.figure(TREND)
    fig.canvas.draw()
    [ax] = fig.axes
    first, last = (d.date() for d in num2date(ax.get_xlim()))
    assert first <= DAYS[0] and last >= DAYS[-1] and (last - first).days < 60
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels[:2] == ["05 Jan", "12 Jan"] and len(labels) == 8  # one per Monday
    assert len(ax.patches) == 56 and len(ax.lines) == 1
    assert sorted(t.get_text() for t in ax.get_legend().get_texts()) == ["new stories", "relevant reports"]
    assert "(Asia/Seoul)" in ax.get_title(loc="left")


async def weekly_ctx(schedule: str) -> tuple[Context, Destination, Delivery]:
    base = settings()
    watch = base.watches[0].name
    dest = Destination(name="desk", platform="webhook", webhook_env="UNUSED", timezone="Asia/Seoul")
    sub = Subscription(watch=watch, destination="desk", mode="digest", schedule=schedule, timezone="Asia/Seoul")
    store = MemoryStore()
    report = item("North Korean troops in Kursk", published=NOW - timedelta(days=2))
    await store.add_items([report])
    await store.save_match(report.key, Match(watch, True, 2.0))
    ctx = Context(settings=replace(base, destinations=(dest,), subscriptions=(sub,)), store=store)
    row = Delivery(id=f"digest:{watch}@c0:desk", destination="desk", kind="digest", created=NOW)
    return ctx, dest, row


async def test_a_weekly_digest_gets_a_chart_of_its_watch() -> None:
    ctx, dest, row = await weekly_ctx("0 9 * * 1")
    found = await chart.digest_chart(ctx, dest, row, NOW)
    assert found is not None and found.data.startswith(PNG) and found.filename == f"digest-{row.id[7:-8]}-20260302.png"
    assert found.content_type == "image/png" and "1 relevant reports" in found.description


async def test_a_daily_digest_gets_none() -> None:
    ctx, dest, row = await weekly_ctx("0 9 * * *")
    assert await chart.digest_chart(ctx, dest, row, NOW) is None


async def test_a_chart_that_cannot_be_drawn_is_one_log_line(monkeypatch: pytest.MonkeyPatch,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    def broken(trend: Trend) -> bytes:
        raise RuntimeError("no fonts on this machine")

    monkeypatch.setattr(chart, "draw", broken)
    ctx, dest, row = await weekly_ctx("0 9 * * 1")
    with caplog.at_level(logging.WARNING, logger="deskwatch.chart"):
        assert await chart.digest_chart(ctx, dest, row, NOW) is None
    [record] = caplog.records
    assert "could not be made (RuntimeError: no fonts on this machine)" in record.getMessage()
    assert record.exc_info is None
