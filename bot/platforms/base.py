"""What every platform sink offers, and the two errors it may raise.

A sink posts a neutral `Message` (built by core/render.py) to one destination. It maps the
message to its platform's format (a pure `format.py` per platform) and talks to the platform.
Errors are classified so the outbox knows whether to retry, wait, or hold the destination.
"""

from __future__ import annotations

from typing import Literal, Protocol

from bot.model import Message


class DeliveryError(Exception):
    """Base of sink errors. `str(err)` is plain words and never contains a secret."""


class RetryableDeliveryError(DeliveryError):
    """Try again later (5xx, timeout, connection reset, 429): `retry_after` seconds if known."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


PermanentKind = Literal["auth", "forbidden", "not-found", "invalid"]


class PermanentDeliveryError(DeliveryError):
    """Retrying as-is will not help.

    kind "auth": the token is bad — stop posting on this platform until restart/config fix.
    kind "forbidden"/"not-found": the destination is unhealthy — hold its deliveries (pending,
    never dropped) and say so in status. kind "invalid": this one message was refused.
    """

    def __init__(self, message: str, kind: PermanentKind) -> None:
        super().__init__(message)
        self.kind = kind


class Sink(Protocol):
    """One destination's poster. `ref` is the sink's own string reference to a posted message."""

    name: str

    async def send(self, message: Message) -> str:
        """Post; return a ref. `message.marker` must be embedded in the post (footer, nonce,
        metadata) so `find_sent` can find it after a crash."""

    async def edit(self, ref: str, message: Message) -> None:
        """Replace a posted message (a story got a further source)."""

    async def reply(self, ref: str, message: Message) -> None:
        """Post a short follow-up in a thread under `ref` (destinations with thread_replies)."""

    def parts(self, message: Message) -> int:
        """How many platform messages `send` would post for this message (digests may need several;
        the outbox pages long digests so each page is one post and progress is recorded)."""

    async def find_sent(self, marker: str) -> str | None:
        """After a crash between outbox write and send: the ref of a recent post carrying
        `marker`, or None if it was never posted (then a re-send is safe)."""

    async def close(self) -> None: ...
