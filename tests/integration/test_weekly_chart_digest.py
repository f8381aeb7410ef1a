"""A weekly digest goes out with its chart on the first page, on Discord, Slack and the file sink
(real clients against the local fakes); a crash after that page was posted does not post it, or its
chart, a second time; a daily digest has no chart; a chart that fails leaves the digest's text."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from discord.http import Route

from bot import chart
from bot.app import close_context, open_context
from bot.core.trend import Trend
from bot.model import Destination, Message, Story, StorySource, Subscription
from bot.outbox import deliver_pending, queue_digest
from bot.pipeline import Context, process_items
from bot.platforms.base import Sink
from bot.settings import Settings
from bot.store.memory import MemoryStore
from tests.factories import T0, item, settings
from tests.fakes.discord_server import GOOD_TOKEN, FakeDiscord
from tests.fakes.recording_sink import RecordingSink, SimulatedCrash
from tests.fakes.slack_server import FakeSlack

PNG = b"\x89PNG\r\n\x1a\n"
WEEKLY = "0 9 * * 4"  # T0 is a Thursday, 09:00 UTC
REPORT = item("Ukraine says two North Korean soldiers were captured in Kursk",
              "Kyiv said the North Korean soldiers, who fought for Russia, were wounded and taken prisoner.",
              source="Wire A")


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


def desk(tmp_path: Path, schedule: str = WEEKLY) -> Settings:
    base = settings()
    dests = (Destination(name="duty-discord", platform="discord", channel="333333333333333333"),
             Destination(name="duty-slack", platform="slack", channel="C0DUTY"),
             Destination(name="briefing", platform="file", path=str(tmp_path / "briefing.md")))
    subs = tuple(Subscription(watch=base.watches[0].name, destination=d.name, mode="digest", schedule=schedule)
                 for d in dests)
    return replace(base, destinations=dests, subscriptions=subs)


async def queue_all(ctx: Context) -> None:
    await process_items(ctx, [REPORT], T0)
    for sub in ctx.settings.subscriptions:
        assert await queue_digest(ctx, sub, T0) == 1


class CrashAfterSend:
    """Wraps a real sink: the post (and its chart) reach the platform, then the process 'dies'."""

    def __init__(self, inner: Sink) -> None:
        self.inner = inner
        self.name = inner.name

    async def send(self, message: Message) -> str:
        await self.inner.send(message)
        raise SimulatedCrash(message.marker)

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


async def test_a_weekly_digest_carries_its_chart_on_every_platform(
        fakes: tuple[FakeDiscord, FakeSlack, dict[str, str]], tmp_path: Path) -> None:
    discord, slack, env = fakes
    ctx, factory = await open_context(desk(tmp_path), env=env, store=MemoryStore(), with_fetcher=False)
    ctx.check_age = False
    try:
        await queue_all(ctx)
        assert (await deliver_pending(ctx, T0)).sent == 3
    finally:
        await close_context(ctx, factory)
    name = f"digest-{ctx.settings.watches[0].name}-20260115.png"
    [post] = discord.sent()
    assert [f[0] for f in post.files] == [name] and post.files[0][1].startswith(PNG)
    assert [r.method for r in slack.requests if r.method not in ("auth.test", "conversations.history")] == [
        "chat.postMessage", "files.getUploadURLExternal", "upload", "files.completeUploadExternal"]
    assert list(slack.uploads.values()) == [(name, post.files[0][1])]
    assert (tmp_path / name).read_bytes() == post.files[0][1]
    assert f"(<{name}>)" in (tmp_path / "briefing.md").read_text(encoding="utf-8")


async def test_a_crash_after_the_first_page_posts_neither_page_nor_chart_again(
        fakes: tuple[FakeDiscord, FakeSlack, dict[str, str]], tmp_path: Path) -> None:
    discord, slack, env = fakes
    s = desk(tmp_path)
    store = MemoryStore()  # the database outlives the "process"
    ctx, factory = await open_context(s, env=env, store=store, with_fetcher=False)
    ctx.check_age = False
    await queue_all(ctx)
    for n, name in enumerate(("duty-discord", "duty-slack")):  # one "process death" per platform
        crashing = CrashAfterSend(ctx.sinks[name])
        with pytest.raises(SimulatedCrash):
            await deliver_pending(Context(settings=s, store=store, sinks={name: crashing}),  # type: ignore[dict-item]
                                  T0 + timedelta(minutes=20 * n))  # past the other's hold
    await close_context(replace(ctx, store=MemoryStore()), factory)

    ctx2, factory2 = await open_context(s, env=env, store=store, with_fetcher=False)
    report = await deliver_pending(ctx2, T0 + timedelta(hours=1))
    await close_context(ctx2, factory2)
    assert report.recovered == 2 and report.sent == 3  # found both posts; the file digest went out now
    assert len(discord.sent()) == 1 and len(slack.calls("chat.postMessage")) == 1
    assert len(slack.uploads) == 1 and len(slack.calls("files.completeUploadExternal")) == 1


async def test_a_daily_digest_has_no_chart(fakes: tuple[FakeDiscord, FakeSlack, dict[str, str]],
                                           tmp_path: Path) -> None:
    discord, slack, env = fakes
    ctx, factory = await open_context(desk(tmp_path, "0 9 * * *"), env=env, store=MemoryStore(), with_fetcher=False)
    ctx.check_age = False
    try:
        await queue_all(ctx)
        await deliver_pending(ctx, T0)
    finally:
        await close_context(ctx, factory)
    assert [p.files for p in discord.sent()] == [[]] and not slack.calls("files.getUploadURLExternal")
    assert not list(tmp_path.glob("*.png"))


def many_stories(watch: str, n: int) -> list[Story]:
    out = []
    for i in range(n):
        src = StorySource(f"k{i}", f"Outlet {i}", f"https://o{i}.example/a", "en", T0 - timedelta(hours=i),
                          f"Story {i}")
        out.append(Story(id=f"s-{i:08x}", watch=watch, title=src.title, summary="", first_published=src.published,
                         last_published=src.published, sources=(src,), score=2.0))
    return out


async def recording_desk(schedule: str = WEEKLY) -> tuple[Context, RecordingSink, Subscription]:
    base = settings("desk")
    sub = replace(base.subscriptions[0], mode="digest", schedule=schedule)
    sink = RecordingSink("desk")
    ctx = Context(settings=replace(base, subscriptions=(sub,)), store=MemoryStore(), sinks={"desk": sink})
    for story in many_stories(sub.watch, 10):
        await ctx.store.save_story(story)
    return ctx, sink, sub


async def test_only_the_first_page_of_a_long_digest_carries_the_chart() -> None:
    ctx, sink, sub = await recording_desk()
    await queue_digest(ctx, sub, T0)
    await deliver_pending(ctx, T0)
    assert len(sink.sends) > 1  # RecordingSink pages a digest of 10 stories
    assert [len(m.attachments) for m in sink.sends] == [1] + [0] * (len(sink.sends) - 1)


async def test_a_chart_that_fails_to_draw_leaves_the_digest_text(monkeypatch: pytest.MonkeyPatch,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    def broken(trend: Trend) -> bytes:
        raise MemoryError("the figure did not fit")

    monkeypatch.setattr(chart, "draw", broken)
    ctx, sink, sub = await recording_desk()
    await queue_digest(ctx, sub, T0)
    with caplog.at_level(logging.WARNING):
        report = await deliver_pending(ctx, T0)
    assert report.sent == 1 and sink.sends and not any(m.attachments for m in sink.sends)
    assert sum(m.stories != () for m in sink.sends) == len(sink.sends)  # every page, with its stories
    [line] = [r for r in caplog.records if "chart" in r.getMessage()]
    assert "MemoryError" in line.getMessage()
