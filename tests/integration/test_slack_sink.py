"""Slack sinks against the local fake Slack: posting, editing, threads, find_sent, retries, errors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.model import Destination, Link, Message, StoryCard
from bot.platforms.base import PermanentDeliveryError, RetryableDeliveryError
from bot.platforms.slack.sink import (
    EVENT_TYPE,
    SlackBotSink,
    SlackWebhookSink,
    make_slack_sink,
    make_web_client,
)
from tests.fakes.slack_server import BOT_ID, FakeSlack

T0 = datetime(2024, 11, 4, 6, 30, tzinfo=UTC)
DEST = Destination(name="desk", platform="slack", channel="C1")


class Sleeps:
    """Stands in for asyncio.sleep: records what the retry handler asked to wait."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    server = FakeSlack()
    await server.start()
    yield server
    await server.close()


def bot_sink(
    fake: FakeSlack, token: str = "xoxb-good", channel: str = "C1", sleeps: Sleeps | None = None
) -> SlackBotSink:
    client = make_web_client(token, fake.api_url, sleep=sleeps or Sleeps(), connect_backoff=0)
    return SlackBotSink(Destination(name="desk", platform="slack", channel=channel), client)


def alert(marker: str = "delivery:alert:st-1:desk", title: str = "Troops moved") -> Message:
    link = Link(url="https://news.example/1", outlet="Wire", lang="en", published=T0, title="Report")
    card = StoryCard("st-1", title, "A summary.", "dprk-russia", link, (link,), ("en",))
    return Message(kind="alert", title=title, stories=(card,), marker=marker)


async def test_send_posts_blocks_with_marker_metadata(fake: FakeSlack) -> None:
    ref = await bot_sink(fake).send(alert())
    (posted,) = fake.messages["C1"]
    assert ref == f"C1/{posted['ts']}"
    assert posted["metadata"] == {
        "event_type": EVENT_TYPE,
        "event_payload": {"marker": "delivery:alert:st-1:desk", "story_id": "st-1"},
    }
    assert posted["blocks"][0]["type"] == "header" and posted["unfurl_links"] is False
    assert fake.calls("chat.postMessage")[0].token == "xoxb-good"


async def test_long_digest_is_several_posts_marker_on_the_first(fake: FakeSlack) -> None:
    long = "Words about the front. " * 100
    cards = tuple(
        StoryCard(f"st-{n}", f"Story {n}", long, "w", link, (link,) * 6, ("en",))
        for n in range(60)
        for link in [Link(f"https://news.example/{n}", "Wire", "en", T0, long[:150])]
    )
    ref = await bot_sink(fake).send(Message(kind="digest", title="Digest", stories=cards, marker="digest:1"))
    posted = fake.messages["C1"]
    assert len(posted) > 1 and ref == f"C1/{posted[0]['ts']}"
    assert [("metadata" in m) for m in posted] == [True] + [False] * (len(posted) - 1)
    assert all(len(m["blocks"]) <= 50 for m in posted)


async def test_edit_uses_chat_update_and_reply_uses_thread(fake: FakeSlack) -> None:
    sink = bot_sink(fake)
    ref = await sink.send(alert())
    await sink.edit(ref, alert(title="Troops moved again"))
    await sink.reply(ref, Message(kind="reply", title="Second source", text="Another outlet confirms."))
    assert len(fake.calls("chat.update")) == 1
    first, threaded = fake.messages["C1"]
    assert first["blocks"][0]["text"]["text"] == "Troops moved again"
    assert threaded["thread_ts"] == ref.split("/")[1]


async def test_find_sent_finds_own_marker_only(fake: FakeSlack) -> None:
    sink = bot_sink(fake)
    ref = await sink.send(alert(marker="m-1"))
    await sink.send(alert(marker="m-2"))
    # A message from another app claiming our marker must not count.
    fake.messages["C1"].append(
        {
            "ts": "9.1",
            "bot_id": "BOTHER",
            "metadata": {"event_type": EVENT_TYPE, "event_payload": {"marker": "m-3"}},
        }
    )
    assert await sink.find_sent("m-1") == ref
    assert await sink.find_sent("m-3") is None
    assert await sink.find_sent("never-sent") is None
    history = fake.calls("conversations.history")[0].body
    assert history["include_all_metadata"] in ("1", "true") and history["limit"] == "100"
    assert all(m.get("bot_id") in (BOT_ID, "BOTHER") for m in fake.messages["C1"])


async def test_ratelimited_then_succeeds(fake: FakeSlack) -> None:
    sleeps = Sleeps()
    ref = await bot_sink(fake, token="xoxb-ratelimited", sleeps=sleeps).send(alert())
    assert ref.startswith("C1/")
    assert len(fake.calls("chat.postMessage")) == 2 and sleeps.calls == [1.0]


async def test_ratelimited_gives_up_with_retry_after(fake: FakeSlack) -> None:
    fake.ratelimit_times = 10
    sleeps = Sleeps()
    with pytest.raises(RetryableDeliveryError) as err:
        await bot_sink(fake, token="xoxb-ratelimited", sleeps=sleeps).send(alert())
    assert err.value.retry_after == 1.0
    assert len(fake.calls("chat.postMessage")) == 3 and sleeps.calls == [1.0, 1.0]


async def test_long_retry_after_goes_back_to_the_outbox_without_waiting(fake: FakeSlack) -> None:
    sleeps = Sleeps()
    with pytest.raises(RetryableDeliveryError) as err:
        await bot_sink(fake, token="xoxb-ratelimited-long", sleeps=sleeps).send(alert())
    assert err.value.retry_after == 120.0 and sleeps.calls == []


@pytest.mark.parametrize(
    ("token", "channel", "error", "kind"),
    [
        ("xoxb-invalid", "C1", PermanentDeliveryError, "auth"),
        ("xoxb-good", "C404", PermanentDeliveryError, "not-found"),
        ("xoxb-good", "CNOTIN", PermanentDeliveryError, "forbidden"),
        ("xoxb-good", "CARCHIVED", PermanentDeliveryError, "forbidden"),
        ("xoxb-5xx", "C1", RetryableDeliveryError, None),
    ],
)
async def test_errors_are_classified_in_plain_words(
    fake: FakeSlack, token: str, channel: str, error: type[Exception], kind: str | None
) -> None:
    with pytest.raises(error) as err:
        await bot_sink(fake, token=token, channel=channel).send(alert())
    if kind is not None:
        assert getattr(err.value, "kind", None) == kind
    assert token not in str(err.value) and "127.0.0.1" not in str(err.value)
    assert "desk" in str(err.value)


async def test_edit_of_a_deleted_message_refuses_only_that_message(fake: FakeSlack) -> None:
    with pytest.raises(PermanentDeliveryError) as err:
        await bot_sink(fake).edit("C1/123.000001", alert())
    assert err.value.kind == "invalid"


async def test_unreachable_slack_is_retryable() -> None:
    server = TestServer(web.Application(), host="127.0.0.1", port=0)
    await server.start_server()
    url = str(server.make_url("/api/"))
    await server.close()  # nothing listens there any more
    sink = SlackBotSink(DEST, make_web_client("xoxb-good", url, sleep=Sleeps(), connect_backoff=0))
    with pytest.raises(RetryableDeliveryError) as err:
        await sink.send(alert())
    assert "127.0.0.1" not in str(err.value)


async def test_factory_reads_token_and_api_url(fake: FakeSlack) -> None:
    env = {"SLACK_BOT_TOKEN": "xoxb-good", "SLACK_API_URL": fake.api_url.rstrip("/")}
    sink = make_slack_sink(DEST, env)
    assert (await sink.send(alert())).startswith("C1/")
    await sink.close()


@pytest.mark.parametrize(
    ("dest", "env", "words"),
    [
        (DEST, {}, "SLACK_BOT_TOKEN"),
        (Destination("hook", "slack-webhook", webhook_env="DESK_HOOK"), {}, "DESK_HOOK"),
        (
            Destination("hook", "slack-webhook", webhook_env="DESK_HOOK"),
            {"DESK_HOOK": "not a url"},
            "DESK_HOOK",
        ),
        (Destination("hook", "slack-webhook"), {}, "webhook_env"),
        (Destination("x", "slack"), {"SLACK_BOT_TOKEN": "xoxb-1"}, "channel"),
        (Destination("x", "discord", channel="1"), {}, "not a Slack platform"),
    ],
)
def test_factory_explains_what_is_missing(dest: Destination, env: dict[str, str], words: str) -> None:
    with pytest.raises(ValueError, match=words) as err:
        make_slack_sink(dest, env)
    assert "not a url" not in str(err.value)


def hook(fake: FakeSlack, name: str, sleeps: Sleeps | None = None) -> SlackWebhookSink:
    return SlackWebhookSink(
        Destination("hook", "slack-webhook", webhook_env="H"),
        f"{fake.url}hooks/{name}",
        sleep=sleeps or Sleeps(),
    )


async def test_webhook_posts_blocks_and_cannot_find_sent(fake: FakeSlack) -> None:
    sink = hook(fake, "ok")
    assert await sink.send(alert(marker="m-9")) == "webhook/m-9"
    (req,) = fake.calls("webhook")
    assert req.body["blocks"][0]["type"] == "header" and req.body["unfurl_links"] is False
    assert await sink.find_sent("m-9") is None


@pytest.mark.parametrize(
    ("name", "error", "kind"),
    [
        ("gone", PermanentDeliveryError, "forbidden"),
        ("bad", PermanentDeliveryError, "invalid"),
        ("5xx", RetryableDeliveryError, None),
    ],
)
async def test_webhook_errors(fake: FakeSlack, name: str, error: type[Exception], kind: str | None) -> None:
    with pytest.raises(error) as err:
        await hook(fake, name).send(alert())
    assert getattr(err.value, "kind", None) == kind
    assert "/hooks/" not in str(err.value) and "127.0.0.1" not in str(err.value)  # the URL is the secret


async def test_webhook_rate_limit_retries_then_reports_retry_after(fake: FakeSlack) -> None:
    sleeps = Sleeps()
    with pytest.raises(RetryableDeliveryError) as err:
        await hook(fake, "ratelimited", sleeps).send(alert())
    assert err.value.retry_after == 7.0 and sleeps.calls == [7.0, 7.0]
    assert len(fake.calls("webhook")) == 3
