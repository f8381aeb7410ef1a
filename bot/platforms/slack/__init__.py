"""Slack: Block Kit formatting, a bot-token and a webhook sink, and the /deskwatch slash command."""
