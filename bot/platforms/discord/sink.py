"""Post Messages to Discord: a bot-token sink (REST only) and a webhook sink, both via discord.py.

The bot sink logs in over REST (`HTTPClient.static_login`, no gateway), so `deskwatch once`
works against any server speaking Discord's REST API. discord.py keeps its own 429 handling;
everything else is mapped to the outbox's two errors, in plain words that never carry the token
or the webhook URL. A ref is "<channel id>/<message id>[,<message id>…]" (digests may need
several messages).

A 2xx answer that is not the message (a proxy's page, a cut-off body) means the post may be out:
the bot sink raises a retryable error, and the outbox looks in the channel (`find_sent`, or
`find_reply` for a thread note) before posting again. A webhook cannot look, so the webhook sink
counts such a post as made, with its id unknown.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import logging
import re
from collections.abc import Awaitable, Mapping, Sequence
from typing import Any, TypeVar

import aiohttp
import discord
from discord.http import HTTPClient, Route, handle_message_parameters
from discord.utils import MISSING

from bot.model import Attachment, Destination, Message
from bot.platforms.base import DeliveryError, PermanentDeliveryError, RetryableDeliveryError, Sink
from bot.platforms.discord.format import Payload, plain, to_payloads

DEFAULT_API_BASE = "https://discord.com/api/v10"
HISTORY_LIMIT = 50  # how far back find_sent looks
TIMEOUT = 60.0  # per operation, including discord.py's own retries
UNKNOWN_ID = "?"  # in a webhook ref: a part Discord accepted without telling its id
THREAD_EXISTS = 160004  # Discord's error code: "a thread has already been created for this message"
# Any http(s) base (Discord's own, a proxy, a test server) ending in /webhooks/<id>/<token>:
# requests go to discord.http.Route.BASE whatever host the URL names.
WEBHOOK_URL = re.compile(r"^https?://[^/\s]+(?:/[^\s]*)?/webhooks/([0-9]{17,20})/([A-Za-z0-9.\-_]{60,})/?$")
T = TypeVar("T")
log = logging.getLogger(__name__)


def apply_api_base(env: Mapping[str, str]) -> str:
    """Point discord.py at DISCORD_API_BASE_URL (a test or proxy server), else at Discord."""
    Route.BASE = env.get("DISCORD_API_BASE_URL", "").rstrip("/") or DEFAULT_API_BASE
    return Route.BASE


def nonce_for(marker: str, part: int) -> str | None:
    """Deterministic, so a repeated send of the same part is refused by Discord (max 25 chars)."""
    return hashlib.sha256(f"{marker}#{part}".encode()).hexdigest()[:25] if marker else None


def _explain(err: BaseException, where: str) -> DeliveryError:
    """Classify an exception; never put the exception's own text in (it may hold a URL)."""
    if isinstance(err, discord.LoginFailure):
        return PermanentDeliveryError(f"Discord rejected the bot token ({where})", kind="auth")
    if isinstance(err, discord.RateLimited):
        return RetryableDeliveryError(f"Discord rate limit for {where}", retry_after=err.retry_after)
    if isinstance(err, discord.HTTPException):
        status, code = err.status, f", code {err.code}" if err.code else ""
        said = f"Discord answered HTTP {status}{code} for {where}"
        if status == 401:
            return PermanentDeliveryError(f"{said}: bad token or webhook", kind="auth")
        if status == 403:
            return PermanentDeliveryError(f"{said}: the bot lacks access or a permission", kind="forbidden")
        if status == 404:
            return PermanentDeliveryError(f"{said}: channel, message or webhook not found", kind="not-found")
        if status == 429 or status >= 500:
            return RetryableDeliveryError(said, retry_after=_retry_after(err))
        return PermanentDeliveryError(f"{said}: the message was refused", kind="invalid")
    if isinstance(err, TimeoutError):
        return RetryableDeliveryError(f"Discord did not answer in time ({where}); the post may have gone out")
    if isinstance(err, ValueError):  # a JSON answer that does not parse (json.JSONDecodeError)
        return _unreadable(where)
    return RetryableDeliveryError(f"could not reach Discord ({where}): {type(err).__name__}")


def _unreadable(where: str) -> RetryableDeliveryError:
    """A 2xx answer that is not the message (a proxy's page, a cut-off body): the post may well
    be out. Retryable, so the outbox keeps the row "sending" and the bot sink looks in the channel
    before it posts again."""
    return RetryableDeliveryError(f"Discord's answer could not be read ({where}); the post may have gone out")


class _UnreadableAnswer(Exception):
    """Discord answered a webhook post with 2xx, but not with the message it made."""


class _Webhook(discord.Webhook):
    """discord.py's webhook, telling an unreadable 2xx answer apart from any other failure: the
    post was accepted, only its message id is unknown."""

    def _create_message(self, data: Any, *, thread: Any) -> discord.WebhookMessage:
        if not isinstance(data, dict) or not {"id", "channel_id"} <= data.keys():
            raise _UnreadableAnswer
        return super()._create_message(data, thread=thread)


def _retry_after(err: discord.HTTPException) -> float | None:
    value = err.response.headers.get("Retry-After") if err.response is not None else None
    try:
        return float(value) if value else None
    except ValueError:
        return None


async def _guard(call: Awaitable[T], where: str, timeout: float) -> T:
    try:
        async with asyncio.timeout(timeout):
            return await call
    except (discord.DiscordException, aiohttp.ClientError, OSError, TimeoutError, ValueError) as err:
        raise _explain(err, where) from None


async def _thread_for(http: HTTPClient, channel: str, mid: str, name: str, where: str, timeout: float) -> str:
    """Start a thread on a posted message; if it already has one, that thread's id is the message id."""
    try:
        async with asyncio.timeout(timeout):
            thread = await http.start_thread_with_message(channel, mid, name=name, auto_archive_duration=1440)
        return str(thread["id"])
    except discord.HTTPException as err:
        if err.code == THREAD_EXISTS:
            return mid
        raise _explain(err, where) from None
    except (discord.DiscordException, aiohttp.ClientError, OSError, TimeoutError) as err:
        raise _explain(err, where) from None


def _embeds(payload: Payload) -> list[discord.Embed]:
    return [discord.Embed.from_dict(e) for e in payload["embeds"]]


def _files(attachments: Sequence[Attachment]) -> list[discord.File] | Any:
    """discord.py's files for a post (sent as multipart), or MISSING for a plain JSON post."""
    if not attachments:
        return MISSING
    return [discord.File(io.BytesIO(a.data), filename=a.filename, description=a.description or None)
            for a in attachments]


def _split_ref(ref: str, channel: str) -> tuple[str, list[str]]:
    chan, _, ids = ref.rpartition("/")
    return chan or channel, [i for i in ids.split(",") if i]


def _carries(msg: dict[str, Any], marker: str) -> bool:
    texts = [msg.get("content") or ""]
    texts += [(e.get("footer") or {}).get("text", "") for e in msg.get("embeds") or []]
    return any(marker in t.split(" · ") for t in texts)


class DiscordBotSink:
    """Posts with a bot token to one channel (dest.channel)."""

    def __init__(
        self, dest: Destination, token: str, http: HTTPClient | None = None, *, timeout: float = TIMEOUT
    ) -> None:
        if not dest.channel or not dest.channel.isdigit():
            raise ValueError(f"destination {dest.name}: 'channel' must be a numeric Discord channel id")
        self.name = dest.name
        self.dest = dest
        self.channel = dest.channel
        self.timeout = timeout
        self._token = token
        self._http = http
        self._me: str | None = None
        self._login = asyncio.Lock()

    @property
    def _where(self) -> str:
        return f"channel {self.channel} of destination {self.name}"

    async def _client(self) -> HTTPClient:
        async with self._login:
            if self._http is None:
                # max_ratelimit_timeout: a long 429 becomes RateLimited (retry later), not a long sleep
                self._http = HTTPClient(asyncio.get_running_loop(), max_ratelimit_timeout=30.0)
            if self._me is None:
                try:
                    user = await _guard(self._http.static_login(self._token), "login", self.timeout)
                except DeliveryError:
                    await self._http.close()
                    raise
                self._me = str(user["id"])
            return self._http

    async def _post(self, channel: str, payload: Payload, nonce: str | None, *,
                    attachments: Sequence[Attachment] = (), **extra: Any) -> str:
        http = await self._client()
        params = handle_message_parameters(
            content=payload["content"] or MISSING,
            embeds=_embeds(payload),
            nonce=nonce,
            allowed_mentions=discord.AllowedMentions.none(),
            files=_files(attachments),
            **extra,
        )
        data: Any = await _guard(http.send_message(channel, params=params), self._where, self.timeout)
        if not isinstance(data, dict) or "id" not in data:  # 2xx, but not a message (discord.py gives text)
            raise _unreadable(self._where)
        return str(data["id"])

    async def send(self, message: Message) -> str:
        ids = [
            await self._post(self.channel, p, nonce_for(message.marker, i),
                             attachments=message.attachments if i == 0 else ())
            for i, p in enumerate(to_payloads(message))
        ]
        return f"{self.channel}/{','.join(ids)}"

    async def edit(self, ref: str, message: Message) -> None:
        channel, ids = _split_ref(ref, self.channel)
        http = await self._client()
        payloads = to_payloads(message)
        for mid, payload in zip(ids, payloads, strict=False):
            params = handle_message_parameters(
                content=payload["content"] or None,
                embeds=_embeds(payload),
                allowed_mentions=discord.AllowedMentions.none(),
            )
            await _guard(http.edit_message(channel, mid, params=params), self._where, self.timeout)
        for i, payload in enumerate(payloads[len(ids) :], len(ids)):
            # the story outgrew its message: the extra part is posted (ref keeps the original ids)
            await self._post(channel, payload, nonce_for(message.marker + "#edit", i))

    async def reply(self, ref: str, message: Message) -> None:
        channel, ids = _split_ref(ref, self.channel)
        http = await self._client()
        target, extra = channel, dict[str, Any]()
        if self.dest.thread_replies:
            name = plain(message.title or "Updates", 100)
            target = await _thread_for(http, channel, ids[0], name, self._where, self.timeout)
        else:
            ref_to = {"message_id": ids[0], "channel_id": channel, "fail_if_not_exists": False}
            extra = {"message_reference": ref_to}
        for i, payload in enumerate(to_payloads(message)):
            await self._post(target, payload, nonce_for(message.marker + "#reply", i), **extra)

    def parts(self, message: Message) -> int:
        return len(to_payloads(message))

    async def find_reply(self, ref: str, marker: str) -> bool:
        """Whether our note carrying `marker` is already under `ref`: in its thread (a thread's id
        is the id of the message it was started on), or in the channel for reply-style notes."""
        channel, ids = _split_ref(ref, self.channel)
        http = await self._client()
        where = ids[0] if self.dest.thread_replies and ids else channel
        try:
            history = await self._history(http, where)
        except PermanentDeliveryError as err:
            if err.kind == "not-found":  # no thread yet, so no note in it
                return False
            raise
        return any(str((m.get("author") or {}).get("id")) == self._me and _carries(m, marker) for m in history)

    async def _history(self, http: HTTPClient, channel: str) -> list[dict[str, Any]]:
        history: Any = await _guard(http.logs_from(channel, HISTORY_LIMIT), self._where, self.timeout)
        if not isinstance(history, list):  # 2xx, but not a message list
            raise _unreadable(self._where)
        return [m for m in history if isinstance(m, dict)]

    async def find_sent(self, marker: str) -> str | None:
        http = await self._client()
        history = await self._history(http, self.channel)
        mine = [
            m
            for m in reversed(history)  # history is newest first; parts go oldest first
            if str((m.get("author") or {}).get("id")) == self._me and _carries(m, marker)
        ]
        return f"{self.channel}/{','.join(str(m['id']) for m in mine)}" if mine else None

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()


class DiscordWebhookSink:
    """Posts through a channel webhook. Webhooks cannot read history or start threads."""

    def __init__(
        self,
        dest: Destination,
        url: str,
        session: aiohttp.ClientSession | None = None,
        *,
        timeout: float = TIMEOUT,
    ) -> None:
        self.name = dest.name
        self.timeout = timeout
        self._url = url
        self._session = session
        self._own_session = session is None
        self._hook: discord.Webhook | None = None
        if not WEBHOOK_URL.search(url):
            raise ValueError(f"destination {dest.name}: the webhook URL is not a Discord webhook URL")

    @property
    def _where(self) -> str:
        return f"the webhook of destination {self.name}"

    def _webhook(self) -> discord.Webhook:
        if self._hook is None:
            if self._session is None:
                self._session = aiohttp.ClientSession()
            found = WEBHOOK_URL.search(self._url)
            assert found is not None  # checked in __init__
            self._hook = _Webhook.partial(int(found.group(1)), found.group(2), session=self._session)
        return self._hook

    async def send(self, message: Message) -> str:
        ids = []
        for i, payload in enumerate(to_payloads(message)):
            try:
                sent = await _guard(
                    self._webhook().send(
                        content=payload["content"] or MISSING,
                        embeds=_embeds(payload),
                        files=_files(message.attachments if i == 0 else ()),
                        wait=True,
                        allowed_mentions=discord.AllowedMentions.none(),
                    ),
                    self._where,
                    self.timeout,
                )
            except _UnreadableAnswer:
                # Discord took the post (2xx) but its answer is not the message. A webhook cannot
                # look in the channel, so a re-send would be a sure duplicate: count it as posted,
                # with its id unknown ("?"); an edit of it is posted as a new message instead.
                log.warning("%s: Discord accepted a post but its answer could not be read; not re-sending it",
                            self._where)
                ids.append(UNKNOWN_ID)
                continue
            ids.append(str(sent.id))
        return f"webhook/{','.join(ids)}"

    async def edit(self, ref: str, message: Message) -> None:
        _, ids = _split_ref(ref, "webhook")
        if UNKNOWN_ID in ids:  # its id was never learnt (see send): post the newer version instead
            await self.send(message)
            return
        for mid, payload in zip(ids, to_payloads(message), strict=False):
            await _guard(
                self._webhook().edit_message(
                    int(mid),
                    content=payload["content"] or None,
                    embeds=_embeds(payload),
                    allowed_mentions=discord.AllowedMentions.none(),
                ),
                self._where,
                self.timeout,
            )

    async def reply(self, ref: str, message: Message) -> None:
        # A webhook can neither start a thread on a message nor reply to one: post a follow-up.
        await self.send(message)

    def parts(self, message: Message) -> int:
        return len(to_payloads(message))

    async def find_sent(self, marker: str) -> str | None:
        # Webhook tokens can fetch a message by id but cannot list the channel, so there is
        # nothing to search; the outbox then re-sends (a rare duplicate, never a lost alert).
        return None

    async def close(self) -> None:
        if self._own_session and self._session is not None:
            await self._session.close()


def make_discord_sink(dest: Destination, env: Mapping[str, str]) -> Sink:
    """Build the sink for a "discord" or "discord-webhook" destination from the environment."""
    apply_api_base(env)
    if dest.platform == "discord":
        token = env.get("DISCORD_TOKEN", "").strip()
        if not token:
            raise ValueError(f"destination {dest.name}: set DISCORD_TOKEN to the bot token")
        return DiscordBotSink(dest, token)
    if dest.platform == "discord-webhook":
        if not dest.webhook_env:
            raise ValueError(f"destination {dest.name}: 'webhook_env' must name the variable holding the URL")
        url = env.get(dest.webhook_env, "").strip()
        if not url:
            raise ValueError(f"destination {dest.name}: environment variable {dest.webhook_env} is not set")
        return DiscordWebhookSink(dest, url)
    raise ValueError(f"destination {dest.name}: platform {dest.platform} is not a Discord platform")
