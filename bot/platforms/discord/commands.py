"""The /deskwatch slash-command group: interaction in, CommandsAPI call, Reply out.

Each subcommand is a few lines: check its arguments, build a Caller (Manage Channels decides
`can_manage`), call one CommandsAPI method, send the Reply through format.py with mentions off.
Wording and lookups live in bot.commands / core; nothing here reads the store.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Literal

import discord
from discord import app_commands
from discord.utils import MISSING

from bot.commands import Caller, CommandsAPI, Reply
from bot.model import Message
from bot.platforms.discord.format import to_payloads

log = logging.getLogger(__name__)

# The same bounds as the Range annotations below: Discord enforces those in its client, but an
# interaction is only data, so they are checked again here.
BOUNDS: dict[str, tuple[float, float]] = {
    "count": (1, 20), "days": (1, 90), "hours": (0.25, 720),
    "query": (2, 100), "story_id": (1, 64), "watch": (1, 64), "schedule": (1, 100),
    "term": (1, 100), "url": (8, 500), "language": (2, 12), "name": (2, 40),
}  # fmt: skip
NEEDS_MANAGE = "You need the Manage Channels permission to change deskwatch settings for this channel."
FAILED = "Something went wrong on our side; the error has been logged."
DEFER_AFTER = 2.0  # seconds; Discord wants a first answer within 3


def caller_of(interaction: discord.Interaction) -> Caller:
    return Caller(
        platform="discord",
        channel=str(interaction.channel_id or ""),
        user=str(interaction.user.id),
        can_manage=interaction.permissions.manage_channels,
    )


def out_of_bounds(**values: str | float | None) -> str | None:
    """One sentence about the first argument outside BOUNDS (strings by length), else None."""
    for name, value in values.items():
        if value is None:
            continue
        low, high = BOUNDS[name]
        size = len(value) if isinstance(value, str) else value
        if not low <= size <= high:
            unit = " characters" if isinstance(value, str) else ""
            return f"`{name}` must be between {low:g} and {high:g}{unit}."
    return None


def refusal(text: str) -> Reply:
    return Reply(Message(kind="reply", title="Not done", text=text), ephemeral=True)


async def send_reply(interaction: discord.Interaction, reply: Reply) -> None:
    """Send the Reply's payloads: the first as the interaction response, the rest as follow-ups."""
    for payload in to_payloads(reply.message):
        embeds = [discord.Embed.from_dict(e) for e in payload["embeds"]]
        content = payload["content"] or MISSING
        none = discord.AllowedMentions.none()
        if not interaction.response.is_done():
            await interaction.response.send_message(
                content, embeds=embeds, ephemeral=reply.ephemeral, allowed_mentions=none
            )
        else:
            await interaction.followup.send(content, embeds=embeds, ephemeral=reply.ephemeral, allowed_mentions=none)


class DeskwatchGroup(app_commands.Group):
    """One top-level command, /deskwatch, with a subcommand per CommandsAPI method."""

    def __init__(self, api: CommandsAPI, *, defer_after: float = DEFER_AFTER) -> None:
        super().__init__(name="deskwatch", description="News alerts for this desk", guild_only=True)
        self.api = api
        self.defer_after = defer_after

    async def _run(
        self,
        interaction: discord.Interaction,
        call: Callable[[Caller], Awaitable[Reply]],
        *,
        manage: bool = False,
        **args: str | float | None,
    ) -> None:
        caller = caller_of(interaction)
        if problem := out_of_bounds(**args):
            return await send_reply(interaction, refusal(problem))
        if manage and not caller.can_manage:  # the real gate: default_permissions is only a hint
            return await send_reply(interaction, refusal(NEEDS_MANAGE))
        task = asyncio.ensure_future(call(caller))
        done, _ = await asyncio.wait({task}, timeout=self.defer_after)
        if not done:  # slow (a digest, a big search): acknowledge now, answer as a follow-up
            await interaction.response.defer(ephemeral=True, thinking=True)
        try:
            reply = await task
        except Exception:
            log.exception("deskwatch command failed")
            reply = refusal(FAILED)
        await send_reply(interaction, reply)

    @app_commands.command(name="latest", description="The most recent stories")
    @app_commands.describe(count="How many stories (1-20)")
    async def latest(self, interaction: discord.Interaction, count: app_commands.Range[int, 1, 20] = 5) -> None:
        await self._run(interaction, lambda c: self.api.latest(c, count), count=count)

    @app_commands.command(name="search", description="Search stored reports")
    @app_commands.describe(query="Words to look for", days="How many days back (1-90)")
    async def search(
        self,
        interaction: discord.Interaction,
        query: app_commands.Range[str, 2, 100],
        days: app_commands.Range[int, 1, 90] = 7,
    ) -> None:
        await self._run(interaction, lambda c: self.api.search(c, query, days), query=query, days=days)

    @app_commands.command(name="story", description="One story with all its sources")
    @app_commands.rename(story_id="id")
    @app_commands.describe(story_id="The story id shown in an alert's footer")
    async def story(self, interaction: discord.Interaction, story_id: app_commands.Range[str, 1, 64]) -> None:
        await self._run(interaction, lambda c: self.api.story(c, story_id), story_id=story_id)

    @app_commands.command(name="feeds", description="The feeds and their health")
    async def feeds(self, interaction: discord.Interaction) -> None:
        await self._run(interaction, self.api.feeds)

    @app_commands.command(name="status", description="What deskwatch is doing")
    async def status(self, interaction: discord.Interaction) -> None:
        await self._run(interaction, self.api.status)

    @app_commands.command(name="subscribe", description="Send a watch to this channel")
    @app_commands.describe(watch="Watch name", mode="Each story as it comes, or a daily digest",
                           schedule="Digest time as cron, e.g. 0 8 * * *")  # fmt: skip
    @app_commands.default_permissions(manage_channels=True)  # a hint only: ignored on subcommands
    async def subscribe(
        self,
        interaction: discord.Interaction,
        watch: app_commands.Range[str, 1, 64],
        mode: Literal["instant", "digest"] = "instant",
        schedule: app_commands.Range[str, 1, 100] | None = None,
    ) -> None:
        call = lambda c: self.api.subscribe(c, watch, mode, schedule)  # noqa: E731
        await self._run(interaction, call, manage=True, watch=watch, schedule=schedule)

    @app_commands.command(name="unsubscribe", description="Stop a watch in this channel")
    @app_commands.default_permissions(manage_channels=True)
    async def unsubscribe(self, interaction: discord.Interaction, watch: app_commands.Range[str, 1, 64]) -> None:
        await self._run(interaction, lambda c: self.api.unsubscribe(c, watch), manage=True, watch=watch)

    @app_commands.command(name="mute", description="Hide stories mentioning a term in this channel")
    @app_commands.describe(term="Word or phrase", hours="For how long (leave empty: until unmuted)")
    @app_commands.default_permissions(manage_channels=True)
    async def mute(
        self,
        interaction: discord.Interaction,
        term: app_commands.Range[str, 1, 100],
        hours: app_commands.Range[float, 0.25, 720.0] | None = None,
    ) -> None:
        await self._run(interaction, lambda c: self.api.mute(c, term, hours), manage=True, term=term, hours=hours)

    @app_commands.command(name="unmute", description="Show a muted term again")
    @app_commands.default_permissions(manage_channels=True)
    async def unmute(self, interaction: discord.Interaction, term: app_commands.Range[str, 1, 100]) -> None:
        await self._run(interaction, lambda c: self.api.unmute(c, term), manage=True, term=term)

    @app_commands.command(name="digest", description="Post this channel's digest now")
    @app_commands.default_permissions(manage_channels=True)
    async def digest(self, interaction: discord.Interaction) -> None:
        await self._run(interaction, self.api.digest, manage=True)

    @app_commands.command(name="addfeed", description="Poll one more feed (public addresses only)")
    @app_commands.describe(url="The feed's http(s) link", language="Language code, e.g. en, ko, ru, uk",
                           name="Short name (default: from the link)")  # fmt: skip
    @app_commands.default_permissions(manage_channels=True)
    async def addfeed(
        self,
        interaction: discord.Interaction,
        url: app_commands.Range[str, 8, 500],
        language: app_commands.Range[str, 2, 12] = "en",
        name: app_commands.Range[str, 2, 40] | None = None,
    ) -> None:
        call = lambda c: self.api.add_feed(c, url, language, name)  # noqa: E731
        await self._run(interaction, call, manage=True, url=url, language=language, name=name)

    @app_commands.command(name="removefeed", description="Stop polling a feed added by command")
    @app_commands.default_permissions(manage_channels=True)
    async def removefeed(self, interaction: discord.Interaction, name: app_commands.Range[str, 2, 40]) -> None:
        await self._run(interaction, lambda c: self.api.remove_feed(c, name), manage=True, name=name)

    @app_commands.command(name="why", description="Why a link was (or was not) alerted")
    @app_commands.describe(url="The article's link")
    async def why(self, interaction: discord.Interaction, url: app_commands.Range[str, 8, 500]) -> None:
        await self._run(interaction, lambda c: self.api.why(c, url), url=url)

    @app_commands.command(name="help", description="What deskwatch can do")
    async def help(self, interaction: discord.Interaction) -> None:
        await self._run(interaction, self.api.help)
