"""The value types config keys are made of: pydantic-annotated types with plain-words checks.

Each type carries a `Kind` (how the README's reference names it) and its bounds as pydantic
constraints, so the validator and the generated reference cannot disagree. The time zone and
cron checks are also used by `/deskwatch subscribe` (bot/commands_impl.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.cron import CronTrigger
from pydantic import AfterValidator, BeforeValidator, Field

from bot.config.errors import problem


@dataclass(frozen=True)
class Kind:
    """How the reference names a value's type (pydantic ignores this metadata)."""

    text: str


def check_timezone(timezone: str) -> str | None:
    """Plain-words problem with a time zone name, or None when it is fine."""
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return f"unknown time zone {timezone!r} (use a name such as UTC or Asia/Seoul)"
    return None


def check_cron(schedule: str) -> str | None:
    """Plain-words problem with a five-field cron schedule, or None. (Whether a schedule is valid
    does not depend on its time zone, so the two are checked, and reported, apart.)"""
    try:
        CronTrigger.from_crontab(schedule, timezone=ZoneInfo("UTC"))
    except ValueError as exc:
        return f"not a valid cron schedule {schedule!r} ({exc})"
    return None


def check_schedule(schedule: str, timezone: str) -> str | None:
    """The first problem with a cron schedule and its time zone, or None when both are fine."""
    return check_timezone(timezone) or check_cron(schedule)


def is_http_url(url: object) -> bool:
    if not isinstance(url, str):
        return False
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _timezone(value: str) -> str:
    if message := check_timezone(value):
        raise problem(message)
    return value


def _cron(value: str) -> str:
    if message := check_cron(value):
        raise problem(message)
    return value


def _not_blank(value: str) -> str:
    if not value.strip():
        raise problem("must not be empty")
    return value


def _http_url(value: str) -> str:
    if not is_http_url(value):
        raise problem("not an http(s) URL")
    return value


def _feed_language(value: str) -> str:
    if not (2 <= len(value) <= 8 and value.replace("-", "").isalpha()):
        raise problem("must be a language code such as en, ko, ru, uk")
    return value.lower()


def _headline_language(value: str) -> str:
    if not (2 <= len(value) <= 3 and value.isalpha() and value.isascii()):
        raise problem("must be a language code such as en, ko or ru")
    return value.lower()


def _day(value: object) -> object:
    """A calendar day: a TOML date (since = 2022-02-24) or the same written as a string."""
    if isinstance(value, datetime):
        raise problem("must be a day without a time, such as 2022-02-24")
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            raise problem("must be a day such as 2022-02-24") from None
    return value


def _env_name(value: str) -> str:
    if value.startswith(("http:", "https:")) or not value.isidentifier():
        raise problem("must be an environment variable name, not the URL itself")
    return value


Text = Annotated[str, Kind("string")]
NonEmpty = Annotated[str, AfterValidator(_not_blank), Kind("string, not empty")]
HttpUrl = Annotated[str, AfterValidator(_http_url), Kind("http(s) URL")]
FeedLanguage = Annotated[str, AfterValidator(_feed_language), Kind("language code")]
HeadlineLanguage = Annotated[str, AfterValidator(_headline_language), Kind("language code")]
TimeZone = Annotated[str, AfterValidator(_timezone), Kind("time zone name")]
Cron = Annotated[str, AfterValidator(_cron), Kind("cron (5 fields)")]
EnvName = Annotated[str, AfterValidator(_env_name), Kind("environment variable name")]
FilePath = Annotated[str, AfterValidator(_not_blank), Kind("path")]
Flag = Annotated[bool, Kind("true/false")]
Day = Annotated[date, BeforeValidator(_day), Kind("date (2022-02-24)")]
Names = Annotated[list[str], Kind("array of strings")]


Number = Annotated[float, Field(allow_inf_nan=False)]  # finite: TOML also reads nan and inf


def array_of(what: str) -> BeforeValidator:
    """A plain message when a value that must be an array is not one."""

    def check(value: object) -> object:
        if not isinstance(value, list):
            raise problem(f"must be {what}")
        return value

    return BeforeValidator(check)


LANG_KEY = re.compile(r"^(?:[a-z]{2,3}(?:_[a-z]{2,4})?|any)$")
