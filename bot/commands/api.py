"""The slash commands' interface, platform-neutral: each method returns a Reply.

Discord and Slack adapters are thin: they turn an interaction into a Caller plus arguments
(checked against the catalogue's bounds), call one method here, and map the Reply's Message to
their format. `bot.commands_impl.Commands` implements it on a store.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bot.model import Message


@dataclass(frozen=True)
class Caller:
    """Who asked, and where. `can_manage` is decided by the platform adapter (Discord: Manage
    Channels permission; Slack: workspace admin or a configured user id)."""

    platform: Literal["discord", "slack"]
    channel: str
    user: str
    can_manage: bool = False


@dataclass(frozen=True)
class Reply:
    message: Message
    ephemeral: bool = True


class CommandsAPI:
    """The interface adapters call. `bot.commands_impl.Commands` implements it on a store."""

    async def latest(self, caller: Caller, count: int = 5) -> Reply:
        raise NotImplementedError

    async def search(self, caller: Caller, query: str, days: int = 7) -> Reply:
        raise NotImplementedError

    async def story(self, caller: Caller, story_id: str) -> Reply:
        raise NotImplementedError

    async def feeds(self, caller: Caller) -> Reply:
        raise NotImplementedError

    async def status(self, caller: Caller) -> Reply:
        raise NotImplementedError

    async def subscribe(
        self, caller: Caller, watch: str, mode: str = "instant", schedule: str | None = None
    ) -> Reply:
        raise NotImplementedError

    async def unsubscribe(self, caller: Caller, watch: str) -> Reply:
        raise NotImplementedError

    async def mute(self, caller: Caller, term: str, hours: float | None = None) -> Reply:
        raise NotImplementedError

    async def unmute(self, caller: Caller, term: str) -> Reply:
        raise NotImplementedError

    async def digest(self, caller: Caller) -> Reply:
        """Post the digest for this channel's subscriptions now; the reply says how many."""
        raise NotImplementedError

    async def why(self, caller: Caller, url: str) -> Reply:
        raise NotImplementedError

    async def add_feed(self, caller: Caller, url: str, language: str = "en", name: str | None = None) -> Reply:
        """Add a feed (managers only); its host must resolve to public addresses."""
        raise NotImplementedError

    async def remove_feed(self, caller: Caller, name: str) -> Reply:
        """Remove a feed added by command (managers only)."""
        raise NotImplementedError

    async def help(self, caller: Caller) -> Reply:
        raise NotImplementedError

    async def run_text(self, caller: Caller, text: str) -> Reply:
        """Parse `text` as "<subcommand> <args…>" (Slack's /deskwatch) and run it; unknown or
        malformed input gets a one-sentence error plus the help."""
        raise NotImplementedError


def destination_for(caller: Caller, configured: dict[str, str]) -> str:
    """The destination name for the caller's channel: a configured destination with that
    channel id (`configured` maps "platform:channel" -> name), else "platform:channel"."""
    key = f"{caller.platform}:{caller.channel}"
    return configured.get(key, key)

