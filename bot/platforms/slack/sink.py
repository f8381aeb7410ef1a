"""Post deskwatch messages to Slack: a bot-token sink (Web API) and an incoming-webhook sink.

slack_sdk does the HTTP; we attach its rate-limit and connection retry handlers, then turn what
is left into `RetryableDeliveryError` / `PermanentDeliveryError` in plain words (never a token or
a webhook URL). The bot sink tags each post — alerts and thread notes — with message metadata so
`find_sent` (channel history) and `find_reply` (the thread) can find it after a crash. A 2xx
answer that cannot be read is retryable: the outbox then looks before it posts again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.model import Attachment, Destination, Message
from bot.platforms.base import (
    DeliveryError,
    PermanentDeliveryError,
    PermanentKind,
    RetryableDeliveryError,
    Sink,
)
from bot.platforms.slack.format import to_payloads

log = logging.getLogger(__name__)

EVENT_TYPE = "deskwatch_alert"  # message metadata event type carrying the delivery marker
HISTORY_LIMIT = 100  # how far back find_sent looks
REPLIES_LIMIT = 200  # how much of a thread find_reply reads
MAX_INLINE_WAIT = 30.0  # a longer Retry-After goes back to the outbox instead of blocking here
Sleep = Callable[[float], Awaitable[None]]

# Slack error codes (Web API "error" field, or a webhook's response body) -> what to do.
_RETRY = {"ratelimited", "rate_limited", "fatal_error", "internal_error", "service_unavailable",
          "request_timeout", "rollup_error"}  # fmt: skip
_PERMANENT: dict[str, tuple[PermanentKind, str]] = {
    "invalid_auth": ("auth", "the bot token is not valid"),
    "not_authed": ("auth", "no bot token was sent"),
    "account_inactive": ("auth", "the bot's account or workspace is deactivated"),
    "token_revoked": ("auth", "the bot token was revoked"),
    "token_expired": ("auth", "the bot token has expired"),
    "channel_not_found": ("not-found", "the channel does not exist or the bot cannot see it"),
    "not_in_channel": ("forbidden", "the bot is not a member of the channel: invite it"),
    "is_archived": ("forbidden", "the channel is archived"),
    "channel_is_archived": ("forbidden", "the channel is archived"),
    "restricted_action": ("forbidden", "the workspace does not allow the bot to post there"),
    "missing_scope": ("forbidden", "the app lacks a permission scope: reinstall it from the manifest"),
    "no_service": ("forbidden", "the webhook was removed or disabled"),
    "invalid_token": ("forbidden", "the webhook URL is no longer valid"),
    "action_prohibited": ("forbidden", "an admin has restricted this webhook"),
    "team_disabled": ("forbidden", "the workspace is disabled"),
    # One message gone or too old to edit must not hold the whole destination.
    "message_not_found": ("invalid", "the message to edit no longer exists"),
    "cant_update_message": ("invalid", "the message can no longer be edited"),
    "edit_window_closed": ("invalid", "the message is too old to edit"),
}


def classify(method: str, dest: str, status: int, error: str, wait: float | None) -> DeliveryError:
    """A Slack failure as a delivery error in plain words. `error` is Slack's code (no secret)."""
    where = f"Slack {method} for destination {dest!r}"
    if status == 429 or error in ("ratelimited", "rate_limited"):
        return RetryableDeliveryError(f"{where}: rate limited by Slack", retry_after=wait)
    if status >= 500 or error in _RETRY:
        return RetryableDeliveryError(f"{where}: Slack had a server error ({error or status})")
    if error in _PERMANENT:
        kind, words = _PERMANENT[error]
        return PermanentDeliveryError(f"{where}: {words} ({error})", kind=kind)
    return PermanentDeliveryError(f"{where}: Slack refused the message ({error or status})", kind="invalid")


def unreadable_answer(method: str, dest: str, status: int) -> RetryableDeliveryError:
    """HTTP 2xx with a body that is not Slack's JSON (a proxy's page, a cut-off answer): Slack may
    well have done it. Retryable, so the outbox keeps the row "sending" and looks for the post
    (message metadata) before it posts again."""
    return RetryableDeliveryError(f"Slack {method} for destination {dest!r}: Slack answered HTTP {status} but "
                                  "the answer could not be read; the post may have gone out")


def plain_failure(method: str, dest: str, err: BaseException) -> str:
    # Only the exception's type: aiohttp's text can carry the URL, and a webhook URL is a secret.
    return f"Slack {method} for destination {dest!r}: could not reach Slack ({type(err).__name__})"


class RateLimitRetry(AsyncRateLimitErrorRetryHandler):
    """slack_sdk's 429 handler, with the wait capped and the sleep injectable (tests pass a fake)."""

    def __init__(self, max_retry_count: int = 2, *, max_wait: float = MAX_INLINE_WAIT, sleep: Sleep) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.max_wait = max_wait
        self.sleep = sleep

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if response is None or response.status_code != 429:
            return False
        return retry_after(response.headers) <= self.max_wait

    async def prepare_for_next_attempt_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        state.next_attempt_requested = True
        await self.sleep(retry_after(response.headers) if response is not None else 1.0)
        state.increment_current_attempt()


def retry_after(headers: Mapping[str, Any] | None) -> float:
    """Seconds from a Retry-After header (slack_sdk hands headers over as str or list of str)."""
    for key, value in (headers or {}).items():
        if key.lower() == "retry-after":
            raw = value[0] if isinstance(value, list | tuple) else value
            try:
                return max(0.0, float(raw))
            except (TypeError, ValueError):
                break
    return 1.0


def retry_handlers(*, sleep: Sleep = asyncio.sleep, connect_backoff: float = 0.5) -> list[AsyncRetryHandler]:
    return [
        AsyncConnectionErrorRetryHandler(
            max_retry_count=1, interval_calculator=BackoffRetryIntervalCalculator(connect_backoff)
        ),
        RateLimitRetry(sleep=sleep),
    ]


def make_web_client(
    token: str, api_url: str | None = None, *, sleep: Sleep = asyncio.sleep, connect_backoff: float = 0.5
) -> AsyncWebClient:
    """An AsyncWebClient with our retry handlers; `api_url` (SLACK_API_URL) overrides the base."""
    kwargs: dict[str, Any] = {}
    if api_url:
        kwargs["base_url"] = api_url if api_url.endswith("/") else api_url + "/"  # slack_sdk needs it
    return AsyncWebClient(
        token=token,
        timeout=30,
        retry_handlers=retry_handlers(sleep=sleep, connect_backoff=connect_backoff),
        **kwargs,
    )


def split_ref(ref: str) -> tuple[str, str]:
    channel, _, ts = ref.partition("/")
    if not channel or not ts:
        raise PermanentDeliveryError(f"not a Slack message reference: {ref!r}", kind="invalid")
    return channel, ts


class SlackBotSink:
    """One Slack channel, posted to with the bot token (chat.postMessage / chat.update)."""

    def __init__(self, dest: Destination, client: AsyncWebClient) -> None:
        if not dest.channel:
            raise ValueError(f"destination {dest.name!r} (slack) needs a channel id")
        self.name = dest.name
        self.channel = dest.channel
        self.unfurl = dest.unfurl
        self.client = client
        self._bot_id: str | None = None

    async def _call(self, method: str, call: Awaitable[Any]) -> Any:
        try:
            return await call
        except SlackApiError as err:
            resp = err.response
            # slack_sdk hands over its own response, or aiohttp's when the body was not JSON
            status = int(getattr(resp, "status_code", None) or getattr(resp, "status", 0) or 0)
            data = getattr(resp, "data", None)
            if 200 <= status < 300 and not (isinstance(data, dict) and "ok" in data):
                raise unreadable_answer(method, self.name, status) from None
            data = data if isinstance(data, dict) else {}
            error = str(data.get("error", ""))
            raise classify(method, self.name, status, error, retry_after(getattr(resp, "headers", None))) from None
        except (aiohttp.ClientError, TimeoutError, OSError) as err:
            raise RetryableDeliveryError(plain_failure(method, self.name, err)) from None

    def _metadata(self, message: Message) -> dict[str, Any]:
        story = message.stories[0].story_id if message.stories else ""
        return {"event_type": EVENT_TYPE, "event_payload": {"marker": message.marker, "story_id": story}}

    async def send(self, message: Message) -> str:
        first = ""
        for i, payload in enumerate(to_payloads(message)):
            kw = payload.kwargs(unfurl=self.unfurl)
            if i == 0:  # the marker rides on the first part; find_sent returns that one
                kw["metadata"] = self._metadata(message)
            resp = await self._call("chat.postMessage", self.client.chat_postMessage(channel=self.channel, **kw))
            first = first or f"{resp['channel']}/{resp['ts']}"
        for attachment in message.attachments:
            await self._upload(attachment)
        return first

    async def _upload(self, attachment: Attachment) -> None:
        """Share a file in the channel after the post (files_upload_v2: get an upload URL, send the
        bytes, complete). The post is out and carries the marker, so a failed upload is one log
        line and never a reason to post again: a file share cannot carry metadata to look for."""
        call = self.client.files_upload_v2(channel=self.channel, file=attachment.data, filename=attachment.filename,
                                           title=attachment.filename.rsplit(".", 1)[0],
                                           alt_txt=attachment.description or None)
        try:
            await self._call("files.upload", call)
        except Exception as err:  # DeliveryError in plain words; anything else (SlackRequestError …) by its type
            why = str(err) if isinstance(err, DeliveryError) else f"Slack files upload ({type(err).__name__})"
            log.warning("%s: the chart %s was not uploaded; the message is posted without it: %s",
                        self.name, attachment.filename, why)

    async def edit(self, ref: str, message: Message) -> None:
        channel, ts = split_ref(ref)
        payload = to_payloads(message)[0]  # alerts and updates are always one message
        call = self.client.chat_update(
            channel=channel,
            ts=ts,
            text=payload.text,
            blocks=list(payload.blocks),
            metadata=self._metadata(message),
        )
        await self._call("chat.update", call)

    async def reply(self, ref: str, message: Message) -> None:
        channel, ts = split_ref(ref)
        for i, payload in enumerate(to_payloads(message)):
            kw = payload.kwargs(unfurl=self.unfurl)
            if i == 0:  # the note's marker, as on alerts, so find_reply can find it after a crash
                kw["metadata"] = self._metadata(message)
            await self._call("chat.postMessage", self.client.chat_postMessage(channel=channel, thread_ts=ts, **kw))

    async def find_reply(self, ref: str, marker: str) -> bool:
        """Whether our note carrying `marker` is already in the thread under `ref` (the thread's
        first REPLIES_LIMIT messages: a story gets one note per further source)."""
        if not marker:
            return False
        channel, ts = split_ref(ref)
        bot_id = await self._own_bot_id()
        call = self.client.conversations_replies(channel=channel, ts=ts, limit=REPLIES_LIMIT,
                                                 include_all_metadata=True)
        try:
            resp = await self._call("conversations.replies", call)
        except PermanentDeliveryError as err:
            if err.kind == "invalid":  # thread_not_found and the like: no thread, so no note in it
                return False
            raise
        return any(self._ours(msg, bot_id, marker) for msg in resp.get("messages") or [] if msg.get("ts") != ts)

    @staticmethod
    def _ours(msg: Mapping[str, Any], bot_id: str | None, marker: str) -> bool:
        """A message we posted (no one else can claim a marker) carrying `marker` in its metadata."""
        if not msg.get("bot_id") or (bot_id and msg.get("bot_id") != bot_id):
            return False
        meta = msg.get("metadata") or {}
        return bool(meta.get("event_type") == EVENT_TYPE and (meta.get("event_payload") or {}).get("marker") == marker)

    async def _own_bot_id(self) -> str | None:
        if self._bot_id is None:
            resp = await self._call("auth.test", self.client.auth_test())
            self._bot_id = resp.get("bot_id") or ""
        return self._bot_id or None

    def parts(self, message: Message) -> int:
        return len(to_payloads(message))

    async def find_sent(self, marker: str) -> str | None:
        if not marker:
            return None
        bot_id = await self._own_bot_id()
        call = self.client.conversations_history(channel=self.channel, limit=HISTORY_LIMIT, include_all_metadata=True)
        resp = await self._call("conversations.history", call)
        for msg in resp.get("messages") or []:
            if self._ours(msg, bot_id, marker):
                return f"{self.channel}/{msg['ts']}"
        return None

    async def close(self) -> None:
        """Nothing to release: slack_sdk opens a session per request unless given one."""


class SlackWebhookSink:
    """One incoming webhook. It can only post: no edit, no thread, no history (find_sent: None), and
    no files (a weekly digest's chart is left out; the bot sink uploads it)."""

    def __init__(self, dest: Destination, url: str, *, sleep: Sleep = asyncio.sleep) -> None:
        self.name = dest.name
        self.unfurl = dest.unfurl
        self.client = AsyncWebhookClient(url=url, timeout=30, retry_handlers=retry_handlers(sleep=sleep))

    async def send(self, message: Message) -> str:
        for payload in to_payloads(message):
            try:
                resp = await self.client.send_dict(payload.kwargs(unfurl=self.unfurl))
            except (aiohttp.ClientError, TimeoutError, OSError) as err:
                raise RetryableDeliveryError(plain_failure("webhook", self.name, err)) from None
            if resp.status_code != 200:
                error = (resp.body or "").strip()[:60]
                raise classify("webhook", self.name, resp.status_code, error, retry_after(resp.headers))
        return f"webhook/{message.marker}"

    async def edit(self, ref: str, message: Message) -> None:
        await self.send(message)  # a webhook cannot edit: post the newer version instead

    async def reply(self, ref: str, message: Message) -> None:
        await self.send(message)

    def parts(self, message: Message) -> int:
        return len(to_payloads(message))

    async def find_sent(self, marker: str) -> str | None:
        return None  # a webhook cannot read the channel back

    async def close(self) -> None:
        """Nothing to release."""


def make_slack_sink(dest: Destination, env: Mapping[str, str]) -> Sink:
    """The sink for a "slack" or "slack-webhook" destination; ValueError names what is missing."""
    if dest.platform == "slack":
        token = env.get("SLACK_BOT_TOKEN", "").strip()
        if not token:
            raise ValueError(f"destination {dest.name!r} (slack) needs SLACK_BOT_TOKEN in the environment")
        return SlackBotSink(dest, make_web_client(token, env.get("SLACK_API_URL") or None))
    if dest.platform == "slack-webhook":
        if not dest.webhook_env:
            raise ValueError(f"destination {dest.name!r} (slack-webhook) needs webhook_env")
        url = env.get(dest.webhook_env, "").strip()
        if not url.startswith(("https://", "http://")):
            raise ValueError(
                f"destination {dest.name!r} (slack-webhook): environment variable {dest.webhook_env} "
                "is missing or is not a URL"
            )
        return SlackWebhookSink(dest, url)
    raise ValueError(f"destination {dest.name!r}: platform {dest.platform!r} is not a Slack platform")


__all__ = [
    "EVENT_TYPE",
    "DeliveryError",
    "SlackBotSink",
    "SlackWebhookSink",
    "make_slack_sink",
    "make_web_client",
]
