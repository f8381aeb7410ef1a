"""WebhookSink against a local receiver: the posted document, status → error mapping, no URL leaks."""

from __future__ import annotations

import logging
import socket
import traceback
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import aiohttp
import pytest

from bot.model import Destination, Link, Message, StoryCard
from bot.platforms.base import DeliveryError, PermanentDeliveryError, RetryableDeliveryError
from bot.platforms.webhook import WebhookSink, make_webhook_sink, parse_retry_after
from tests.fakes.webhook_receiver import SECRET, WebhookReceiver

T0 = datetime(2026, 1, 12, 6, 10, tzinfo=UTC)
FIRST = Link("https://en.yna.co.kr/view/AEN20260112000100315", "Yonhap", "en", T0, "Kim visits art studio")
SECOND = Link("https://tass.ru/obschestvo/26110001", "ТАСС", "ru", T0, "Ким посетил мастерскую")
CARD = StoryCard("st-memorial", "Kim inspects memorial sculptures", "A short summary.", "dprk-russia",
                 FIRST, (FIRST, SECOND), ("en", "ru"), "high")
ALERT = Message("alert", CARD.title, CARD.summary, (CARD,), footer="story st-memorial",
                marker="alert:st-memorial:ops", created=T0)


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    async with WebhookReceiver(slow_seconds=5.0) as r:
        yield r


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


async def test_send_posts_the_message_as_json_with_an_idempotency_key(
        receiver: WebhookReceiver, session: aiohttp.ClientSession) -> None:
    sink = WebhookSink("ops", receiver.url("ok"), session)
    ref = await sink.send(ALERT)
    assert ref == "webhook:alert:st-memorial:ops"
    [post] = receiver.posts
    assert post.headers["Idempotency-Key"] == ALERT.marker
    assert post.headers["Content-Type"] == "application/json"
    body = post.body
    assert (body["op"], body["kind"], body["marker"], body["title"]) == (
        "send", "alert", ALERT.marker, "Kim inspects memorial sculptures")
    assert [link["url"] for link in body["stories"][0]["links"]] == [FIRST.url, SECOND.url]
    assert body["stories"][0]["links"][1]["outlet"] == "ТАСС"
    assert body["stories"][0]["first"]["published"] == "2026-01-12T06:10:00+00:00"
    assert await sink.find_sent(ALERT.marker) is None  # a generic webhook cannot be asked


@pytest.mark.parametrize("scenario", ["ok", "204", "garbage"])
async def test_any_2xx_is_success_whatever_the_body(
        receiver: WebhookReceiver, session: aiohttp.ClientSession, scenario: str) -> None:
    assert await WebhookSink("ops", receiver.url(scenario), session).send(ALERT) == f"webhook:{ALERT.marker}"


async def test_edit_and_reply_post_op_documents_with_distinct_keys(
        receiver: WebhookReceiver, session: aiohttp.ClientSession) -> None:
    sink = WebhookSink("ops", receiver.url("ok"), session)
    grown = Message("update", ALERT.title, "Now with a third source.", (CARD,), marker=ALERT.marker)
    await sink.edit("webhook:alert:st-memorial:ops", ALERT)
    await sink.edit("webhook:alert:st-memorial:ops", ALERT)  # a retry of the same edit
    await sink.edit("webhook:alert:st-memorial:ops", grown)
    await sink.reply("webhook:alert:st-memorial:ops", Message("reply", "Further source", marker="m:r3"))
    ops = [(p.body["op"], p.body["ref"]) for p in receiver.posts]
    assert ops == [("edit", "webhook:alert:st-memorial:ops")] * 3 + [("reply", "webhook:alert:st-memorial:ops")]
    keys = [p.headers["Idempotency-Key"] for p in receiver.posts]
    assert keys[0] == keys[1]  # same content: a receiver may drop the repeat
    assert len({keys[0], keys[2], keys[3]}) == 3  # different content: never dropped
    assert all(k.startswith(("alert:st-memorial:ops:edit:", "m:r3:reply:")) for k in keys)


ERRORS: list[tuple[str, type[DeliveryError], str | None, float | None]] = [
    # scenario, error class, permanent kind, retry_after
    ("429", RetryableDeliveryError, None, 7.0),
    ("500", RetryableDeliveryError, None, None),
    ("503", RetryableDeliveryError, None, None),
    ("slow", RetryableDeliveryError, None, None),
    ("401", PermanentDeliveryError, "auth", None),
    ("403", PermanentDeliveryError, "forbidden", None),
    ("404", PermanentDeliveryError, "not-found", None),
    ("410", PermanentDeliveryError, "not-found", None),
    ("redirect", PermanentDeliveryError, "not-found", None),
    ("400", PermanentDeliveryError, "invalid", None),
    ("413", PermanentDeliveryError, "invalid", None),
]


def _timeout(scenario: str) -> float:
    """Short only where the receiver is meant to be too slow (it waits 30 s): an answer that is
    meant to arrive gets time enough on a loaded machine (0.2 s once timed out a 410 in CI)."""
    return 0.2 if scenario == "slow" else 10.0


@pytest.mark.parametrize(("scenario", "cls", "kind", "retry_after"), ERRORS)
async def test_status_maps_to_error(receiver: WebhookReceiver, session: aiohttp.ClientSession,
                                    scenario: str, cls: type[DeliveryError], kind: str | None,
                                    retry_after: float | None) -> None:
    sink = WebhookSink("ops", receiver.url(scenario), session, timeout=_timeout(scenario))
    with pytest.raises(cls) as info:
        await sink.send(ALERT)
    if isinstance(info.value, PermanentDeliveryError):
        assert info.value.kind == kind
    else:
        assert isinstance(info.value, RetryableDeliveryError)
        assert info.value.retry_after == retry_after
    assert len(receiver.posts) == 1  # the sink never retries on its own: the outbox decides


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/hooks/ok/{SECRET}"  # nothing listens here now


async def test_connection_refused_is_retryable(session: aiohttp.ClientSession) -> None:
    with pytest.raises(RetryableDeliveryError, match="could not reach the webhook"):
        await WebhookSink("ops", closed_port_url(), session).send(ALERT)


async def test_flaky_receiver_gets_the_same_key_on_retry(
        receiver: WebhookReceiver, session: aiohttp.ClientSession) -> None:
    sink = WebhookSink("ops", receiver.url("flaky"), session)
    with pytest.raises(RetryableDeliveryError):
        await sink.send(ALERT)
    assert await sink.send(ALERT) == f"webhook:{ALERT.marker}"
    assert [p.headers["Idempotency-Key"] for p in receiver.posts] == [ALERT.marker] * 2


async def test_no_error_text_traceback_or_log_record_contains_the_url(
        receiver: WebhookReceiver, session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    urls = [receiver.url(s) for s, *_ in ERRORS] + [closed_port_url()]
    seen: list[str] = []
    for (scenario, *_), url in zip([*ERRORS, ("closed", None, None, None)], urls, strict=True):
        sink = WebhookSink("ops", url, session, timeout=_timeout(scenario))
        seen.append(repr(sink))
        with pytest.raises(DeliveryError) as info:
            await sink.send(ALERT)
        seen += [str(info.value), repr(info.value), "".join(traceback.format_exception(info.value))]
    seen += [r.getMessage() for r in caplog.records]
    assert len(seen) > len(urls) * 3
    for text in seen:
        assert SECRET not in text
        assert "/hooks/" not in text


def dest(var: str | None) -> Destination:
    return Destination(name="ops-webhook", platform="webhook", webhook_env=var)


@pytest.mark.parametrize(("var", "env", "needle"), [
    (None, {}, "webhook_env"),
    ("DESKWATCH_OPS_WEBHOOK", {}, "DESKWATCH_OPS_WEBHOOK is not set"),
    ("DESKWATCH_OPS_WEBHOOK", {"DESKWATCH_OPS_WEBHOOK": "  "}, "DESKWATCH_OPS_WEBHOOK is not set"),
    ("DESKWATCH_OPS_WEBHOOK", {"DESKWATCH_OPS_WEBHOOK": f"ftp://host/{SECRET}"}, "http:// or https://"),
    ("DESKWATCH_OPS_WEBHOOK", {"DESKWATCH_OPS_WEBHOOK": f"hooks.example/{SECRET}"}, "http:// or https://"),
    ("DESKWATCH_OPS_WEBHOOK", {"DESKWATCH_OPS_WEBHOOK": f"https://[::1/{SECRET}"}, "http:// or https://"),
])
async def test_make_webhook_sink_names_the_variable_never_its_value(
        session: aiohttp.ClientSession, var: str | None, env: dict[str, str], needle: str) -> None:
    with pytest.raises(ValueError, match="ops-webhook") as info:
        make_webhook_sink(dest(var), env, session)
    assert needle in str(info.value)
    assert SECRET not in str(info.value)


async def test_make_webhook_sink_builds_a_working_sink(
        receiver: WebhookReceiver, session: aiohttp.ClientSession) -> None:
    sink = make_webhook_sink(dest("HOOK"), {"HOOK": receiver.url("ok")}, session)
    assert sink.name == "ops-webhook"
    assert SECRET not in repr(sink)
    await sink.send(ALERT)
    assert len(receiver.posts) == 1


@pytest.mark.parametrize(("header", "expected"), [
    (None, None),
    ("", None),
    ("12", 12.0),
    ("2.5", 2.5),
    ("-3", 0.0),
    ("Mon, 12 Jan 2026 06:11:00 GMT", 60.0),
    ("Mon, 12 Jan 2026 06:00:00 GMT", 0.0),  # already past
    ("soon", None),
])
def test_parse_retry_after(header: str | None, expected: float | None) -> None:
    assert parse_retry_after(header, now=T0) == expected
