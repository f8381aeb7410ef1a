"""The gateway client for `deskwatch run`: owns the command tree and syncs /deskwatch at start.

Posting alerts does not need this client (the sinks speak REST); it exists so slash commands
reach the CommandsAPI. Give a guild id to sync there instantly (global sync can take an hour).
"""

from __future__ import annotations

import logging

import discord
from discord import app_commands

from bot.commands import CommandsAPI
from bot.platforms.discord.commands import DeskwatchGroup

log = logging.getLogger(__name__)


class DeskwatchClient(discord.Client):
    def __init__(self, commands: CommandsAPI, guild_id: int | None) -> None:
        # Slash commands need no privileged intents; the guild cache helps resolve channels.
        super().__init__(intents=discord.Intents(guilds=True), allowed_mentions=discord.AllowedMentions.none())
        self.tree = app_commands.CommandTree(self)
        self.tree.add_command(DeskwatchGroup(commands))
        self.guild_id = guild_id

    async def setup_hook(self) -> None:
        if self.guild_id is None:
            synced = await self.tree.sync()
        else:
            guild = discord.Object(id=self.guild_id)
            self.tree.copy_global_to(guild=guild)
            synced = await self.tree.sync(guild=guild)
        log.info(
            "synced %d slash command(s) %s", len(synced), f"to guild {self.guild_id}" if self.guild_id else "globally"
        )


def build_client(commands: CommandsAPI, guild_id: int | None) -> discord.Client:
    """A client ready for `await client.start(token)`; commands sync in its setup_hook."""
    return DeskwatchClient(commands, guild_id)
