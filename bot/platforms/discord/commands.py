"""The /deskwatch slash-command group, built from the command catalogue: interaction in,
CommandsAPI call, Reply out.

Each catalogue entry becomes one subcommand whose options carry the catalogue's types and bounds
(Discord's client enforces those); an interaction is only data, so `catalogue.check_all` checks
them again before the call, with the same sentences the Slack parser uses. Manage Channels
decides `can_manage`; manager commands are refused without it. Nothing here reads the store.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from typing import Any, Literal

import discord
from discord import app_commands
from discord.utils import MISSING

from bot.commands import Caller, CommandsAPI, Reply
from bot.commands.catalogue import CATALOGUE, Arg, Command, Value, call_args, check_all
from bot.model import Message
from bot.platforms.discord.format import to_payloads

log = logging.getLogger(__name__)

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


def option_type(arg: Arg) -> Any:
    """The annotation discord.py turns into the option: its type, bounds or choices."""
    kind: Any
    if arg.kind == "choice":
        kind = Literal.__getitem__(arg.choices)
    elif arg.kind == "int":
        kind = app_commands.Range[int, int(arg.low), int(arg.high)]
    elif arg.kind == "number":
        kind = app_commands.Range[float, float(arg.low), float(arg.high)]
    else:
        kind = app_commands.Range[str, int(arg.low), int(arg.high)]
    return kind if arg.required or arg.default is not None else kind | None


class DeskwatchGroup(app_commands.Group):
    """One top-level command, /deskwatch, with a subcommand per catalogue entry."""

    def __init__(self, api: CommandsAPI, *, defer_after: float = DEFER_AFTER) -> None:
        super().__init__(name="deskwatch", description="News alerts for this desk", guild_only=True)
        self.api = api
        self.defer_after = defer_after
        for command in CATALOGUE:
            self.add_command(self._subcommand(command))

    def _subcommand(self, command: Command) -> app_commands.Command[Any, ..., None]:
        async def callback(interaction: discord.Interaction, **values: Value) -> None:
            await self.run(interaction, command, values)

        # discord.py reads the options from the callback's signature; this one is the catalogue's.
        P = inspect.Parameter
        first = P("interaction", P.POSITIONAL_OR_KEYWORD, annotation=discord.Interaction)
        options = [P(a.name, P.KEYWORD_ONLY, annotation=option_type(a), default=P.empty if a.required else a.default)
                   for a in command.args]
        described = {a.name: a.help for a in command.args}
        renamed = {a.name: a.label for a in command.args if a.label}
        setattr(callback, "__signature__", inspect.Signature([first, *options]))  # noqa: B010
        setattr(callback, "__discord_app_commands_param_description__", described)  # noqa: B010
        setattr(callback, "__discord_app_commands_param_rename__", renamed)  # noqa: B010
        return app_commands.Command(name=command.name, description=command.help, callback=callback, parent=self)

    async def run(self, interaction: discord.Interaction, command: Command, values: dict[str, Value]) -> None:
        caller = caller_of(interaction)
        if problem := check_all(command, values):
            return await send_reply(interaction, refusal(problem))
        if command.managers and not caller.can_manage:  # the real gate: Discord has none for subcommands
            return await send_reply(interaction, refusal(NEEDS_MANAGE))
        task = asyncio.ensure_future(getattr(self.api, command.method)(caller, *call_args(command, values)))
        done, _ = await asyncio.wait({task}, timeout=self.defer_after)
        if not done:  # slow (a digest, a big search): acknowledge now, answer as a follow-up
            await interaction.response.defer(ephemeral=True, thinking=True)
        try:
            reply = await task
        except Exception:
            log.exception("deskwatch command failed")
            reply = refusal(FAILED)
        await send_reply(interaction, reply)
