"""The gateway client for `deskwatch run`: owns the command tree and syncs /deskwatch at start.

Posting alerts does not need this client (the sinks speak REST); it exists so slash commands
reach the CommandsAPI. Give a guild id to sync there instantly (global sync can take an hour).

`DiscordRunner` is what the supervisor (bot/supervisor.py) runs: one attempt per call, on a fresh
client, with discord.py's own reconnect loop off — that loop logs a traceback per retry and keeps
a bad state to itself; the supervisor retries with back-off and reports each change once. A token
Discord refuses (HTTP 401 at login, gateway close 4004) is `Rejected`: "fix DISCORD_TOKEN".
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import discord
from discord import app_commands

from bot.commands import CommandsAPI
from bot.platforms.discord.commands import DeskwatchGroup
from bot.supervisor import Rejected, close_quietly, describe

log = logging.getLogger(__name__)
AUTHENTICATION_FAILED = 4004  # gateway close code: the token is not valid
REJECTED = "fix DISCORD_TOKEN (Discord refused the bot token)"


class DeskwatchClient(discord.Client):
    def __init__(self, commands: CommandsAPI, guild_id: int | None, *,
                 on_up: Callable[[], Awaitable[None]] | None = None, sync: bool = True) -> None:
        # Slash commands need no privileged intents; the guild cache helps resolve channels.
        super().__init__(intents=discord.Intents(guilds=True), allowed_mentions=discord.AllowedMentions.none())
        self.tree = app_commands.CommandTree(self)
        self.tree.add_command(DeskwatchGroup(commands))
        self.guild_id = guild_id
        self.on_up = on_up
        self.sync = sync  # a reconnect in the same process skips the sync: the commands are already there

    async def setup_hook(self) -> None:
        if not self.sync:
            return
        where = f"to guild {self.guild_id}" if self.guild_id else "globally"
        try:
            if self.guild_id is None:
                synced = await self.tree.sync()
            else:
                guild = discord.Object(id=self.guild_id)
                self.tree.copy_global_to(guild=guild)
                synced = await self.tree.sync(guild=guild)
        except discord.HTTPException as exc:  # e.g. 403: the bot is not in that guild
            raise RuntimeError(f"could not register /deskwatch {where}: {describe(exc)}") from exc
        log.info("synced %d slash command(s) %s", len(synced), where)

    async def on_ready(self) -> None:
        if self.on_up is not None:
            await self.on_up()

    async def on_resumed(self) -> None:
        if self.on_up is not None:
            await self.on_up()


def build_client(commands: CommandsAPI, guild_id: int | None) -> DeskwatchClient:
    """A client ready for `await client.login(token)`; commands sync in its setup_hook."""
    return DeskwatchClient(commands, guild_id)


class DiscordRunner:
    """One supervised connection attempt per call: log in (which syncs the commands once per
    process), open the gateway, and wait until it closes. The client is closed on every way out,
    cancellation included."""

    def __init__(self, commands: CommandsAPI, guild_id: int | None, token: str) -> None:
        self.commands = commands
        self.guild_id = guild_id
        self.token = token
        self.synced = False

    async def __call__(self, up: Callable[[], Awaitable[None]]) -> None:
        client = DeskwatchClient(self.commands, self.guild_id, on_up=up, sync=not self.synced)
        try:
            try:
                await client.login(self.token)
            except discord.LoginFailure as exc:
                raise Rejected(REJECTED) from exc
            self.synced = True
            await client.connect(reconnect=False)
        except discord.ConnectionClosed as exc:
            if exc.code == AUTHENTICATION_FAILED:
                raise Rejected(REJECTED) from exc
            raise
        finally:
            await close_quietly(client.close, "the Discord client")
