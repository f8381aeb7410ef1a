"""An in-memory Sink that records what it posted and can be told to fail (errbot's test backend
idea): pipeline and outbox tests become one-liners."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.model import Message
from bot.platforms.base import DeliveryError


@dataclass
class RecordingSink:
    name: str
    posts: dict[str, Message] = field(default_factory=dict)  # ref -> latest content
    sends: list[Message] = field(default_factory=list)
    edits: list[tuple[str, Message]] = field(default_factory=list)
    replies: list[tuple[str, Message]] = field(default_factory=list)
    fail_next: list[DeliveryError] = field(default_factory=list)  # raised by the next calls, in order
    crash_after_send: bool = False  # post, then raise as if the process died before recording

    def _maybe_fail(self) -> None:
        if self.fail_next:
            raise self.fail_next.pop(0)

    async def send(self, message: Message) -> str:
        self._maybe_fail()
        ref = f"{self.name}/{len(self.sends) + 1}"
        self.sends.append(message)
        self.posts[ref] = message
        if self.crash_after_send:
            self.crash_after_send = False
            raise SimulatedCrash(ref)
        return ref

    async def edit(self, ref: str, message: Message) -> None:
        self._maybe_fail()
        self.edits.append((ref, message))
        self.posts[ref] = message

    async def reply(self, ref: str, message: Message) -> None:
        self._maybe_fail()
        self.replies.append((ref, message))

    def parts(self, message: Message) -> int:
        return 1 + len(message.stories) // 4  # a long digest needs several posts

    async def find_sent(self, marker: str) -> str | None:
        return next((ref for ref, m in self.posts.items() if m.marker == marker), None)

    async def close(self) -> None:
        return None


class SimulatedCrash(BaseException):
    """BaseException so no `except Exception` in the code under test can swallow it."""
