"""The weekly chart reaches each platform through its real client: attached to the Discord post
(multipart, bot and webhook), uploaded to Slack with files_upload_v2 after the post, and written
beside the file sink's briefing. An upload that fails leaves the posted digest in place."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from bot import chart
from bot.core.trend import Trend
from bot.model import Attachment, Destination, Message
from bot.platforms.discord.sink import DiscordBotSink, DiscordWebhookSink
from bot.platforms.file import FileSink
from bot.platforms.slack.sink import SlackBotSink, make_web_client
from tests.fakes.discord_server import GOOD_TOKEN, WEBHOOK_CHANNEL, FakeDiscord, running_fake_discord
from tests.fakes.slack_server import FakeSlack

T0 = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
CHANNEL = "123456789012345678"
HOOK_URL = f"http://127.0.0.1:9/api/v10/webhooks/223456789012345678/{'T' * 68}"
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def png() -> bytes:
    days = tuple(date(2026, 1, 5) + timedelta(days=n) for n in range(56))
    return chart.draw(Trend("DPRK forces", "UTC", days, tuple(d.day % 5 for d in days), tuple(d.day % 2 for d in days)))


def digest(png: bytes, marker: str = "deskwatch:digest:dprk@c0:desk") -> Message:
    picture = Attachment(filename="digest-dprk-20260302.png", data=png, description="12 reports, 3 stories")
    return Message(kind="digest", title="DPRK forces — digest", text="Nothing new.", footer="digest · 2026-03-02",
                   marker=marker, created=T0, attachments=(picture,))


@pytest.fixture
async def discord() -> AsyncIterator[FakeDiscord]:
    async with running_fake_discord() as server:
        yield server


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    server = FakeSlack()
    await server.start()
    yield server
    await server.close()


def slack_sink(slack: FakeSlack, token: str = "xoxb-good") -> SlackBotSink:
    client = make_web_client(token, slack.api_url, connect_backoff=0)
    return SlackBotSink(Destination(name="desk", platform="slack", channel="C1"), client)


async def test_discord_bot_attaches_the_chart_to_the_post_and_shows_it_in_the_embed(discord: FakeDiscord,
                                                                                     png: bytes) -> None:
    sink = DiscordBotSink(Destination(name="desk", platform="discord", channel=CHANNEL), GOOD_TOKEN)
    try:
        ref = await sink.send(digest(png))
        [post] = discord.sent()
        assert post.files == [("digest-dprk-20260302.png", png)] and post.files[0][1].startswith(PNG)
        assert post.body["attachments"][0]["description"] == "12 reports, 3 stories"
        assert post.body["embeds"][0]["image"]["url"] == "attachment://digest-dprk-20260302.png"
        assert await sink.find_sent("deskwatch:digest:dprk@c0:desk") == ref  # look-before-post still works
    finally:
        await sink.close()


async def test_discord_webhook_attaches_the_chart(discord: FakeDiscord, png: bytes) -> None:
    sink = DiscordWebhookSink(Destination(name="hook", platform="discord-webhook"), HOOK_URL)
    try:
        await sink.send(digest(png))
    finally:
        await sink.close()
    [post] = discord.sent(suffix=HOOK_URL.rsplit("/", 1)[1])
    assert post.files == [("digest-dprk-20260302.png", png)]
    assert discord.channels[WEBHOOK_CHANNEL][0]["attachments"][0]["size"] == len(png)


async def test_slack_uploads_the_chart_after_posting_the_digest(slack: FakeSlack, png: bytes) -> None:
    ref = await slack_sink(slack).send(digest(png))
    order = [r.method for r in slack.requests if r.method != "auth.test"]
    assert order == ["chat.postMessage", "files.getUploadURLExternal", "upload", "files.completeUploadExternal"]
    [(name, data)] = slack.uploads.values()
    assert (name, data) == ("digest-dprk-20260302.png", png)
    [ask] = slack.calls("files.getUploadURLExternal")
    assert ask.body["length"] == str(len(png)) and ask.body["alt_txt"] == "12 reports, 3 stories"
    [done] = slack.calls("files.completeUploadExternal")
    assert done.body["channel_id"] == "C1" and "thread_ts" not in done.body
    posted, shared = slack.messages["C1"]
    assert ref == f"C1/{posted['ts']}" and shared["files"][0]["name"] == "digest-dprk-20260302.png"
    assert await slack_sink(slack).find_sent("deskwatch:digest:dprk@c0:desk") == ref


async def test_a_failed_upload_leaves_the_digest_posted(slack: FakeSlack, png: bytes,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        ref = await slack_sink(slack, token="xoxb-noscope").send(digest(png))
    assert ref.startswith("C1/") and len(slack.messages["C1"]) == 1
    [line] = [r for r in caplog.records if "chart" in r.getMessage()]
    assert "missing_scope" in line.getMessage() and line.exc_info is None


@pytest.mark.parametrize("fmt", ["markdown", "jsonl"])
async def test_the_file_sink_writes_the_chart_beside_the_briefing(tmp_path: Path, png: bytes, fmt: str) -> None:
    path = tmp_path / "out" / f"briefing.{'md' if fmt == 'markdown' else 'jsonl'}"
    sink = FileSink("brief", path, fmt)  # type: ignore[arg-type]
    await sink.send(digest(png))
    assert (tmp_path / "out" / "digest-dprk-20260302.png").read_bytes() == png
    text = path.read_text(encoding="utf-8")
    if fmt == "markdown":
        assert "![12 reports, 3 stories](<digest-dprk-20260302.png>)" in text
    else:
        [doc] = [json.loads(line) for line in text.splitlines()]
        assert doc["attachments"] == [{"filename": "digest-dprk-20260302.png", "content_type": "image/png",
                                       "size": len(png), "description": "12 reports, 3 stories"}]
    assert await sink.find_sent("deskwatch:digest:dprk@c0:desk") is not None
