"""The Discord sinks against the local fake: payloads within limits, nonce dedup, edit, reply,
find_sent, and every HTTP failure mapped to the outbox's errors without leaking secrets."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from discord.http import Route

from bot.model import Destination, Link, Message, StoryCard
from bot.platforms.base import PermanentDeliveryError, RetryableDeliveryError
from bot.platforms.discord.sink import (
    DEFAULT_API_BASE,
    DiscordBotSink,
    DiscordWebhookSink,
    make_discord_sink,
    nonce_for,
)
from tests.fakes.discord_server import GOOD_TOKEN, WEBHOOK_CHANNEL, FakeDiscord, limit_problems, running_fake_discord

CHANNEL = "123456789012345678"
HOOK_ID = "223456789012345678"
HOOK_TOKEN = "T" * 68
HOOK_URL = f"http://127.0.0.1:9/api/v10/webhooks/{HOOK_ID}/{HOOK_TOKEN}"  # requests go to Route.BASE
T0 = datetime(2024, 5, 3, 6, 0, tzinfo=UTC)
DEST = Destination(name="desk", platform="discord", channel=CHANNEL)


def card(n: int, *, links: int = 3, title: str = "", is_update: bool = False) -> StoryCard:
    srcs = tuple(
        Link(f"https://news{i}.example.org/2024/05/03/story-{n}-report-{i}?ref=feed&id={n * 100 + i}",
             f"Outlet {i}", ("en", "ko", "ru")[i % 3], T0 + timedelta(minutes=7 * i))
        for i in range(links)
    )  # fmt: skip
    return StoryCard(
        story_id=f"s{n}", title=title or f"Troops reported near the front, story {n}",
        summary="Officials described a new deployment; details could not be confirmed.", watch="nk-russia",
        first=srcs[0], links=srcs, languages=tuple(dict.fromkeys(s.lang for s in srcs)), is_update=is_update,
    )  # fmt: skip


def alert(n: int = 1, **kw: Any) -> Message:
    return Message(kind="alert", title="", stories=(card(n, **kw),), marker=f"alert:s{n}:desk", created=T0)


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with running_fake_discord() as server:
        yield server


@pytest.fixture
async def sink(fake: FakeDiscord) -> AsyncIterator[DiscordBotSink]:
    s = DiscordBotSink(DEST, GOOD_TOKEN)
    yield s
    await s.close()


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """discord.py's own back-off sleeps, recorded and skipped (no test waits for a timer)."""
    seen: list[float] = []
    real = asyncio.sleep

    async def fast(delay: float, result: Any = None) -> Any:
        seen.append(delay)
        return await real(0, result)

    monkeypatch.setattr(asyncio, "sleep", fast)
    return seen


def bodies(fake: FakeDiscord, method: str = "POST") -> list[dict[str, Any]]:
    return [r.body for r in fake.sent(method) if r.path.startswith(f"/channels/{CHANNEL}")]


async def test_alert_arrives_whole_and_within_limits(fake: FakeDiscord, sink: DiscordBotSink) -> None:
    ref = await sink.send(alert())
    [body] = bodies(fake)
    assert limit_problems(body) == []
    assert body["allowed_mentions"] == {"parse": []}
    assert body["nonce"] == nonce_for("alert:s1:desk", 0) and body["enforce_nonce"] is True
    [embed] = body["embeds"]
    assert embed["url"].startswith("https://news0.example.org/")
    assert embed["footer"]["text"].endswith("alert:s1:desk")
    assert embed["description"].count("](https://news") == 3
    assert ref == f"{CHANNEL}/{fake.channels[CHANNEL][0]['id']}"
    assert fake.requests[0].path == "/users/@me"  # REST login, no gateway
    assert fake.requests[0].headers["Authorization"] == f"Bot {GOOD_TOKEN}"


async def test_repeated_send_with_same_marker_makes_one_message(fake: FakeDiscord, sink: DiscordBotSink) -> None:
    first = await sink.send(alert())
    second = await sink.send(alert())
    assert first == second
    assert len(fake.channels[CHANNEL]) == 1
    assert len(bodies(fake)) == 2  # both reached Discord; the nonce made the second a no-op


async def test_huge_digest_splits_within_every_limit_without_cutting_links(
    fake: FakeDiscord, sink: DiscordBotSink
) -> None:
    stories = tuple(card(n, links=6, title=("Long title " * 40) + str(n)) for n in range(60))
    digest = Message(kind="digest", title="Morning digest", text="60 stories", stories=stories, marker="digest:d1")
    ref = await sink.send(digest)
    sent = bodies(fake)
    assert len(sent) > 1
    assert [limit_problems(b) for b in sent] == [[]] * len(sent)
    text = "\n".join(e.get("description", "") for b in sent for e in b["embeds"])
    for story in stories:
        for src in story.links:
            assert text.count(f"]({src.url})") >= 1, src.url  # every link, each one whole
    assert len(re.findall(r"\]\(https://", text)) == len(re.findall(r"\]\(https://[^)\s]+\)", text))
    assert len({b["nonce"] for b in sent}) == len(sent)
    assert await sink.find_sent("digest:d1") == ref
    assert ref.count(",") == len(sent) - 1


async def test_edit_replaces_the_original_message(fake: FakeDiscord, sink: DiscordBotSink) -> None:
    ref = await sink.send(alert())
    update = Message(kind="update", title="", stories=(card(1, links=5, is_update=True),), marker="alert:s1:desk")
    await sink.edit(ref, update)
    [patch] = fake.sent("PATCH", ref.split("/")[1])
    assert limit_problems(patch.body) == []
    [msg] = fake.channels[CHANNEL]
    assert msg["embeds"][0]["title"].startswith("Update: ")
    assert msg["embeds"][0]["description"].count("](https://news") == 5


@pytest.mark.parametrize("threads", [True, False])
async def test_reply_starts_a_thread_or_replies(fake: FakeDiscord, threads: bool) -> None:
    s = DiscordBotSink(Destination(name="desk", platform="discord", channel=CHANNEL, thread_replies=threads),
                       GOOD_TOKEN)  # fmt: skip
    ref = await s.send(alert())
    mid = ref.split("/")[1]
    follow = Message(kind="reply", title="New source", text="A second outlet reports it.", marker="r1")
    await s.reply(ref, follow)
    await s.reply(ref, Message(kind="reply", title="Another", text="A third outlet.", marker="r2"))
    await s.close()
    if threads:
        assert len(fake.sent(suffix="/threads")) == 2  # the second answers 160004: reuse the thread
        assert len(fake.channels[mid]) == 2  # a message-started thread has the message's id
    else:
        replies = [b for b in bodies(fake) if "message_reference" in b]
        assert [b["message_reference"]["message_id"] for b in replies] == [mid, mid]


async def test_find_sent_finds_own_marker_only(fake: FakeDiscord, sink: DiscordBotSink) -> None:
    ref = await sink.send(alert())
    fake.channels[CHANNEL].append({"id": "1", "author": {"id": "42"}, "content": "alert:s9:desk", "embeds": []})
    assert await sink.find_sent("alert:s1:desk") == ref
    assert await sink.find_sent("alert:s9:desk") is None  # someone else's post
    assert await sink.find_sent("alert:s1:des") is None  # a prefix is not the marker
    assert fake.requests[-1].query["limit"] == "50"


@pytest.mark.parametrize(
    ("status", "error", "kind"),
    [
        (400, PermanentDeliveryError, "invalid"),
        (403, PermanentDeliveryError, "forbidden"),
        (404, PermanentDeliveryError, "not-found"),
        (503, RetryableDeliveryError, None),
    ],
)
async def test_http_errors_are_classified(
    fake: FakeDiscord, sink: DiscordBotSink, status: int, error: type[Exception], kind: str | None
) -> None:
    fake.fail(CHANNEL, status)
    with pytest.raises(error) as info:
        await sink.send(alert())
    assert getattr(info.value, "kind", None) == kind
    assert f"HTTP {status}" in str(info.value) and GOOD_TOKEN not in str(info.value)


async def test_bad_token_is_an_auth_error(fake: FakeDiscord) -> None:
    s = DiscordBotSink(DEST, "not-the-token")
    with pytest.raises(PermanentDeliveryError) as info:
        await s.send(alert())
    await s.close()
    assert info.value.kind == "auth" and "not-the-token" not in str(info.value)
    assert fake.sent() == []


async def test_500_is_retried_by_discordpy_then_retryable(
    fake: FakeDiscord, sink: DiscordBotSink, sleeps: list[float]
) -> None:
    fake.fail(CHANNEL, 500, times=None)
    with pytest.raises(RetryableDeliveryError):
        await sink.send(alert())
    assert len(bodies(fake)) == 5 and [d for d in sleeps if d >= 1] == [1, 3, 5, 7, 9]


@pytest.mark.parametrize(
    ("retry_after", "via", "outcome"),
    [
        (0.5, True, "sent"),  # discord.py sleeps retry_after and retries by itself
        (0.5, False, "retryable"),  # no Via header: discord.py will not trust it as Discord's
        (120.0, True, "retryable"),  # beyond max_ratelimit_timeout: hand back to the outbox
    ],
)
async def test_429_handling(
    fake: FakeDiscord, sink: DiscordBotSink, sleeps: list[float], retry_after: float, via: bool, outcome: str
) -> None:
    fake.fail(CHANNEL, 429, retry_after=retry_after, via=via)
    if outcome == "sent":
        await sink.send(alert())
        assert len(fake.channels[CHANNEL]) == 1 and retry_after in sleeps
        return
    with pytest.raises(RetryableDeliveryError) as info:
        await sink.send(alert())
    assert info.value.retry_after == retry_after
    assert CHANNEL not in fake.channels


async def test_connection_refused_is_retryable() -> None:
    dead = TestServer(web.Application(), host="127.0.0.1", port=0)
    await dead.start_server()
    url = str(dead.make_url("/api/v10"))
    await dead.close()
    old, Route.BASE = Route.BASE, url
    try:
        s = DiscordBotSink(DEST, GOOD_TOKEN)
        with pytest.raises(RetryableDeliveryError):
            await s.send(alert())
        await s.close()
    finally:
        Route.BASE = old


async def test_webhook_send_edit_and_errors(fake: FakeDiscord) -> None:
    s = DiscordWebhookSink(Destination(name="hook", platform="discord-webhook", webhook_env="X"), HOOK_URL)
    ref = await s.send(alert())
    [post] = fake.sent(suffix=HOOK_TOKEN)
    assert post.query["wait"] == "1" and limit_problems(post.body) == []
    assert post.body["allowed_mentions"]["parse"] == []
    await s.edit(ref, Message(kind="update", title="", stories=(card(1, is_update=True),), marker="m"))
    assert fake.channels[WEBHOOK_CHANNEL][0]["embeds"][0]["title"].startswith("Update: ")
    assert await s.find_sent("alert:s1:desk") is None
    for status, kind in [(401, "auth"), (404, "not-found"), (403, "forbidden")]:
        fake.fail(HOOK_ID, status)
        with pytest.raises(PermanentDeliveryError) as info:
            await s.send(alert())
        assert info.value.kind == kind
        assert HOOK_TOKEN not in str(info.value) and HOOK_ID not in str(info.value)
    await s.close()


@pytest.mark.parametrize(
    ("dest", "env", "needle"),
    [
        (DEST, {}, "DISCORD_TOKEN"),
        (Destination(name="d", platform="discord", channel="general"), {"DISCORD_TOKEN": "x"}, "numeric"),
        (Destination(name="h", platform="discord-webhook"), {}, "webhook_env"),
        (Destination(name="h", platform="discord-webhook", webhook_env="HOOK"), {}, "HOOK is not set"),
        (Destination(name="h", platform="discord-webhook", webhook_env="HOOK"),
         {"HOOK": "https://example.org/hook/secret-part"}, "not a Discord webhook URL"),
        (Destination(name="s", platform="slack", channel="C1"), {}, "not a Discord platform"),
    ],
)  # fmt: skip
def test_factory_refuses_incomplete_config(dest: Destination, env: dict[str, str], needle: str) -> None:
    old = Route.BASE
    with pytest.raises(ValueError, match=needle) as info:
        make_discord_sink(dest, env)
    Route.BASE = old
    assert "secret-part" not in str(info.value)


def test_factory_builds_sinks_and_honours_api_base() -> None:
    old = Route.BASE
    try:
        env = {"DISCORD_TOKEN": "t", "HOOK": HOOK_URL, "DISCORD_API_BASE_URL": "http://127.0.0.1:9/api/v10/"}
        assert isinstance(make_discord_sink(DEST, env), DiscordBotSink)
        assert Route.BASE == "http://127.0.0.1:9/api/v10"
        hook = Destination(name="h", platform="discord-webhook", webhook_env="HOOK")
        assert isinstance(make_discord_sink(hook, {"HOOK": HOOK_URL}), DiscordWebhookSink)
        assert Route.BASE == DEFAULT_API_BASE
    finally:
        Route.BASE = old
