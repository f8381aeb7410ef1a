"""Keep secrets out of logs: a logging filter that blanks every known secret value.

Sinks already word their errors without tokens or webhook URLs; this is the second line of
defence for anything a library logs on its own (a URL in an aiohttp exception, say).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from urllib.parse import urlsplit

SECRET_ENV = ("DISCORD_TOKEN", "SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "DESKWATCH_DATABASE_URL")
REDACTED = "[redacted]"


def secret_values(env: Mapping[str, str], webhook_envs: Iterable[str]) -> list[str]:
    values = {v for n in [*SECRET_ENV, *webhook_envs] if len(v := env.get(n, "").strip()) >= 8}
    for v in list(values):
        parts = urlsplit(v) if "://" in v else None
        if parts is not None and not parts.scheme.startswith("http"):  # a database URL: its password
            values.update(p for p in (parts.password or "",) if len(p) >= 8)
        elif parts is not None:  # a webhook URL: its path and its long parts are secret on their own too
            values.update(p for p in (parts.path, parts.query) if len(p) >= 8)
            values.update(seg for seg in re.split(r"[/?&=]", f"{parts.path}?{parts.query}") if len(seg) >= 12)
    # Longest first, so a URL is blanked whole before a token inside it would be.
    return sorted(values, key=len, reverse=True)


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
