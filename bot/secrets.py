"""Keep secrets out of logs: a logging filter that blanks every known secret value.

Sinks already word their errors without tokens or webhook URLs; this is the second line of
defence for anything a library logs on its own (a URL in an aiohttp exception, say).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping

SECRET_ENV = ("DISCORD_TOKEN", "SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET")
REDACTED = "[redacted]"


def secret_values(env: Mapping[str, str], webhook_envs: Iterable[str]) -> list[str]:
    names = [*SECRET_ENV, *webhook_envs]
    # Longest first, so a URL is blanked whole before a token inside it would be.
    return sorted({v for n in names if len(v := env.get(n, "")) >= 8}, key=len, reverse=True)


def redact(text: str, secrets: Iterable[str]) -> str:
    for s in secrets:
        text = text.replace(s, REDACTED)
    return text


class RedactingFilter(logging.Filter):
    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = list(secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            message = record.getMessage()
            if record.exc_info and not record.exc_text:
                record.exc_text = logging.Formatter().formatException(record.exc_info)
            record.msg = redact(message, self.secrets)
            record.args = None
            if record.exc_text:
                record.exc_text = redact(record.exc_text, self.secrets)
        return True


def install_redaction(env: Mapping[str, str], webhook_envs: Iterable[str]) -> RedactingFilter:
    """Attach the filter to every handler of the root logger (filters on loggers do not see
    records propagated from child loggers; handler filters do)."""
    flt = RedactingFilter(secret_values(env, webhook_envs))
    for handler in logging.getLogger().handlers:
        handler.addFilter(flt)
    return flt
