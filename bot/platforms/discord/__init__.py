"""Discord: pure formatting (format.py), REST sinks (sink.py), slash commands and their client."""

from bot.platforms.discord.client import build_client
from bot.platforms.discord.sink import DiscordBotSink, DiscordWebhookSink, apply_api_base, make_discord_sink

__all__ = ["DiscordBotSink", "DiscordWebhookSink", "apply_api_base", "build_client", "make_discord_sink"]
