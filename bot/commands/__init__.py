"""The slash commands: what adapters call (api.py) and the one catalogue of them (catalogue.py)
from which the Discord command tree, the Slack text parser (text.py) and `help` are built."""

from bot.commands.api import Caller, CommandsAPI, Reply, destination_for

__all__ = ["Caller", "CommandsAPI", "Reply", "destination_for"]
