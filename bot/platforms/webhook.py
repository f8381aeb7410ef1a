"""The generic webhook sink: POSTs each message as a plain JSON document to one URL.

The URL is a secret (whoever holds it can post), so it is read from the environment, kept out of
every error message, log record and repr, and the HTTP status decides retry vs hold. Each POST
carries an `Idempotency-Key` so a receiver can drop the duplicate of a retried send.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp
from yarl import URL

from bot.model import Destination, Message
from bot.platforms.base import DeliveryError, PermanentDeliveryError, RetryableDeliveryError
from bot.platforms.plain import Op, message_document

log = logging.getLogger(__name__)

TIMEOUT = 15.0  # seconds for the whole POST; a receiver slower than this is retried later
USER_AGENT = "deskwatch-webhook/1"


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - (now or datetime.now(UTC))).total_seconds(), 0.0)


def classify(status: int, retry_after: str | None = None) -> DeliveryError | None:
    """The error for a webhook's HTTP status (None for 2xx). Words only; never the URL."""
    if 200 <= status < 300:
        return None
    wait = parse_retry_after(retry_after)
    if status == 429:
        return RetryableDeliveryError("webhook is rate limiting (HTTP 429)", wait)
    if status >= 500 or status == 408:
        return RetryableDeliveryError(f"webhook receiver failed (HTTP {status})", wait)
    if status == 401:
        return PermanentDeliveryError("webhook refused our credentials (HTTP 401)", "auth")
    if status == 403:
        return PermanentDeliveryError("webhook refused this post (HTTP 403 forbidden)", "forbidden")
    if status in (404, 410):
        return PermanentDeliveryError(f"webhook no longer exists (HTTP {status}); check the URL", "not-found")
    if 300 <= status < 400:
        # Redirected POSTs are a configuration problem for every message: hold the destination.
        return PermanentDeliveryError(f"webhook answered with a redirect (HTTP {status}); update the URL",
                                      "not-found")
    return PermanentDeliveryError(f"webhook rejected the message (HTTP {status})", "invalid")


class WebhookSink:
    """POSTs to one webhook URL through a session owned by the caller (app.py closes it)."""

    def __init__(self, name: str, url: str, session: aiohttp.ClientSession, *,
                 timeout: float = TIMEOUT) -> None:
        self.name = name
        self._url = url
        self._session = session
        self._timeout = aiohttp.ClientTimeout(total=timeout)

    def __repr__(self) -> str:
        return f"WebhookSink(name={self.name!r}, url=<hidden>)"

    async def send(self, message: Message) -> str:
        await self._post(message_document(message), key=message.marker)
        return f"webhook:{message.marker}"

    async def edit(self, ref: str, message: Message) -> None:
        await self._post_op(message, "edit", ref)

    async def reply(self, ref: str, message: Message) -> None:
        await self._post_op(message, "reply", ref)

    def parts(self, message: Message) -> int:
        return 1

    async def find_sent(self, marker: str) -> str | None:
        # A generic webhook cannot be asked what it received. Re-sending is safe because the
        # receiver sees the same Idempotency-Key (the marker) and can drop the duplicate.
        return None

    async def close(self) -> None:
        return None  # the session belongs to the caller

    async def _post_op(self, message: Message, op: Op, ref: str) -> None:
        doc = message_document(message, op=op, ref=ref)
        # Each distinct edit needs its own key (a receiver would drop a second edit under the
        # same one), while a retry of the same edit keeps it: key on the content.
        digest = hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:16]
        await self._post(doc, key=f"{message.marker}:{op}:{digest}")

    async def _post(self, doc: dict[str, Any], *, key: str) -> None:
        body = json.dumps(doc, ensure_ascii=False).encode("utf-8")
        headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
        if key:
            headers["Idempotency-Key"] = key
        try:
            async with self._session.post(self._url, data=body, headers=headers, timeout=self._timeout,
                                          allow_redirects=False) as resp:
                status = resp.status
                retry_after = resp.headers.get("Retry-After")
                await resp.read()  # drain so the connection can be reused
        except TimeoutError:
            raise RetryableDeliveryError(f"webhook did not answer within {self._timeout.total:g}s") from None
        except aiohttp.ClientError as exc:
            # The exception text names host and path, i.e. the secret: report its type only.
            raise RetryableDeliveryError(f"could not reach the webhook ({type(exc).__name__})") from None
        error = classify(status, retry_after)
        log.debug("webhook %s: %s -> HTTP %s", self.name, doc.get("op"), status)
        if error is not None:
            raise error


def make_webhook_sink(dest: Destination, env: Mapping[str, str],
                      session: aiohttp.ClientSession) -> WebhookSink:
    """Build the sink for a `platform = "webhook"` destination; ValueError names what is missing."""
    var = dest.webhook_env
    if not var:
        raise ValueError(f"destination {dest.name!r}: set webhook_env to the name of the environment "
                         "variable holding the webhook URL")
    url = env.get(var, "").strip()
    if not url:
        raise ValueError(f"destination {dest.name!r}: environment variable {var} is not set or empty")
    try:
        parsed = URL(url)
    except ValueError:
        parsed = None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.host:
        raise ValueError(f"destination {dest.name!r}: environment variable {var} must hold an "
                         "http:// or https:// URL")
    return WebhookSink(dest.name, url, session)
