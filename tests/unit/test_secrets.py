"""Known secrets are blanked from every log record, whole or in part."""

from __future__ import annotations

import logging

import pytest

from bot.secrets import REDACTED, RedactingFilter, redact, secret_values

ENV = {
    "DISCORD_TOKEN": "MTIz.discord-token-value",
    "SLACK_BOT_TOKEN": "xoxb-123-456-abcdef",
    "HOOK": "https://hooks.example.org/services/T0001/B0002/abcdefghijklmnopqrstuvwx",
    "SHORT": "abc",
}


@pytest.mark.parametrize("leak", [
    "MTIz.discord-token-value",
    "xoxb-123-456-abcdef",
    "https://hooks.example.org/services/T0001/B0002/abcdefghijklmnopqrstuvwx",
    "POST /services/T0001/B0002/abcdefghijklmnopqrstuvwx HTTP/1.1",  # an access log: the path only
    "token=abcdefghijklmnopqrstuvwx",
])
def test_every_form_of_a_secret_is_blanked(leak: str) -> None:
    secrets = secret_values(ENV, ["HOOK", "SHORT"])
    out = redact(f"error while posting: {leak}", secrets)
    assert REDACTED in out
    for part in ("discord-token-value", "xoxb-123", "abcdefghijklmnopqrstuvwx"):
        assert part not in out


def test_short_values_are_not_treated_as_secrets() -> None:
    assert "abc" not in secret_values(ENV, ["SHORT"])


def test_filter_rewrites_message_args_and_traceback() -> None:
    flt = RedactingFilter(secret_values(ENV, ["HOOK"]))
    try:
        raise RuntimeError(f"boom {ENV['SLACK_BOT_TOKEN']}")
    except RuntimeError:
        import sys

        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "posting with %s failed", (ENV["DISCORD_TOKEN"],),
                                   sys.exc_info())
    assert flt.filter(record)
    text = logging.Formatter().format(record)
    assert ENV["DISCORD_TOKEN"] not in text and ENV["SLACK_BOT_TOKEN"] not in text and REDACTED in text
