"""The shape of deskwatch.toml: one frozen pydantic model per table, every key typed and bounded.

Unknown keys are errors (`extra="forbid"`): a typo must not silently switch a setting off.
Types are strict: TOML already gives real integers, booleans and arrays, so "30" is not 30.
Each field's docstring is its line in the README's configuration reference (reference.py).
References between tables (a subscription's destination exists, names are unique) are checked
by bot/config/load.py, which also turns these models into the `Settings` the bot runs on.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from bot.config.errors import problem
from bot.config.fields import (
    Cron,
    EnvName,
    FeedLanguage,
    FilePath,
    Flag,
    HeadlineLanguage,
    HttpUrl,
    Kind,
    Names,
    NonEmpty,
    Text,
    TimeZone,
)
from bot.settings import (
    MAX_AGE_DAYS,
    MAX_BYTES,
    MAX_CONCURRENCY,
    MAX_INTERVAL,
    MAX_KEEP_DAYS,
    MAX_POOL_SIZE,
    MAX_REDIRECTS,
    MAX_TICK,
    MAX_TIMEOUT,
    HttpSettings,
    PollingSettings,
    StorageSettings,
)

Tier = Literal["wire", "state-media", "independent", "government", "aggregator"]
Platform = Literal["discord", "discord-webhook", "slack", "slack-webhook", "webhook", "console", "file"]
CHAT_PLATFORMS = ("discord", "slack")
Seconds = Annotated[int, Field(gt=0, le=MAX_INTERVAL), Kind("integer (seconds)")]
Timeout = Annotated[float, Field(gt=0, le=MAX_TIMEOUT, allow_inf_nan=False), Kind("number (seconds)")]
Count = Annotated[int, Field(gt=0, le=MAX_CONCURRENCY)]
_P = PollingSettings()
DATABASE_URL_SCHEMES = ("postgresql://", "postgres://")


def _database(value: str) -> str:
    if not value.strip():  # sqlite3 opens "" as a private temporary database: every alert forgotten
        raise problem("must not be empty (the SQLite database file, e.g. data/deskwatch.db)")
    return value


def _database_url(value: str) -> str:
    # Never quote the value: it may hold a password.
    if value and not value.startswith(DATABASE_URL_SCHEMES):
        raise problem("must be a PostgreSQL URL (postgresql://user@host/db), or empty for the SQLite file")
    return value


class Table(BaseModel):
    # The string under each field is its meaning in the README's reference (reference.py reads it).
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class Feed(Table):
    """One feed to poll (`[[feeds]]`)."""

    name: NonEmpty
    """Short unique name, shown by `deskwatch feeds` and `why`"""
    url: HttpUrl
    """The feed's address (RSS, Atom or JSON Feed)"""
    language: FeedLanguage
    """Language of its items: en, ko, ru, uk …"""
    tier: Tier = "independent"
    """Kind of outlet, shown in alerts"""
    interval: Seconds | None = None
    """Seconds between polls of this feed (default: `polling.interval`)"""
    source: Text = ""
    """Outlet name shown to readers (default: `name`)"""


class WatchRef(Table):
    """A watch (`[[watches]]`): its rules live in a watch file; keys of that file may also be
    given here, and override the file's. Each watch keeps stories of its own: a report two watches
    find relevant becomes a source of a story of each, and each watch's subscribers get that
    watch's alerts."""

    model_config = ConfigDict(extra="allow")  # the inline watch keys are checked with the file's
    name: NonEmpty
    """The watch's name, used by subscriptions"""
    file: FilePath | None = None
    """Watch file (TOML), relative to the config file (default: NAME.toml beside it)"""


class Destination(Table):
    """Where messages go (`[[destinations]]`). Secrets are never here: tokens come from the
    environment, and a webhook destination names the variable that holds its URL."""

    model_config = ConfigDict(validate_default=True)  # channel, webhook_env, path: required by platform
    name: NonEmpty
    """Unique name, used by subscriptions"""
    platform: Platform
    """Which sink posts there (`discord` needs DISCORD_TOKEN, `slack` SLACK_BOT_TOKEN)"""
    channel: Text | None = None
    """`discord`: the channel's numeric id; `slack`: the channel id (C0123…)"""
    webhook_env: EnvName | None = None
    """`*webhook` platforms: the NAME of the environment variable holding the webhook URL"""
    path: FilePath | None = None
    """`file`: the file to append to, relative to the config file"""
    format: Literal["markdown", "jsonl"] = "markdown"
    """`file`: a Markdown briefing or JSON lines"""
    thread_replies: Flag = False
    """On an update, also reply in a thread under the alert"""
    unfurl: Flag = False
    """Slack: show link previews"""
    max_alerts_per_hour: Annotated[int, Field(gt=0)] = 30
    """Beyond this, a flooded channel gets a digest instead"""
    timezone: TimeZone = "UTC"
    """Time zone of the times shown in this channel"""
    headline_language: HeadlineLanguage | None = None
    """Prefer a headline in this language when a story has one (e.g. en)"""

    @field_validator("channel")
    @classmethod
    def _channel(cls, value: str | None, info: ValidationInfo) -> str | None:
        platform = info.data.get("platform")
        if platform in CHAT_PLATFORMS and not value:
            raise problem(f"is required for platform {platform!r} (the channel id)")
        if platform == "discord" and value and not (value.isascii() and value.isdigit()):
            raise problem("must be the channel's numeric id, e.g. 123456789012345678 (Discord: User Settings → "
                          "Advanced → Developer Mode, then right-click the channel → Copy Channel ID)")
        return value

    @field_validator("webhook_env")
    @classmethod
    def _webhook_env(cls, value: str | None, info: ValidationInfo) -> str | None:
        if str(info.data.get("platform", "")).endswith("webhook") and not value:
            raise problem("is required: the NAME of the environment variable holding the URL")
        return value

    @field_validator("path")
    @classmethod
    def _path(cls, value: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("platform") == "file" and not value:
            raise problem("is required for platform 'file'")
        return value


class Subscription(Table):
    """A watch sent to a destination (`[[subscriptions]]`)."""

    watch: NonEmpty
    """A watch's name"""
    destination: NonEmpty
    """A destination's name"""
    mode: Literal["instant", "digest"] = "instant"
    """Each story as it comes, or a digest on a schedule"""
    schedule: Cron = "0 8 * * *"
    """Digest: when, as cron (minute hour day-of-month month day-of-week)"""
    timezone: TimeZone = "UTC"
    """Digest: the time zone of the schedule"""


class Storage(Table):
    """The database (`[storage]`)."""

    path: Annotated[str, AfterValidator(_database), Kind("path")] = StorageSettings.path
    """SQLite database file, relative to the config file"""
    keep_days: Annotated[int, Field(gt=0, le=MAX_KEEP_DAYS)] = StorageSettings.keep_days
    """Items, events and finished deliveries older than this are pruned daily"""
    url: Annotated[str, AfterValidator(_database_url), Kind("URL")] = ""
    """PostgreSQL instead of the SQLite file (postgresql://user@host/db; a secret: better in DESKWATCH_DATABASE_URL)"""
    pool_size: Annotated[int, Field(gt=0, le=MAX_POOL_SIZE)] = StorageSettings.pool_size
    """PostgreSQL connections one worker keeps at most"""


class Polling(Table):
    """How feeds are fetched (`[polling]`)."""

    interval: Seconds = _P.interval
    """Seconds between polls of a healthy feed"""
    min_interval: Seconds = _P.min_interval
    """Never poll a feed more often, whatever it asks"""
    max_interval: Seconds = _P.max_interval
    """Back-off ceiling for a failing feed"""
    tick: Annotated[int, Field(gt=0, le=MAX_TICK), Kind("integer (seconds)")] = _P.tick
    """How often the scheduler looks for due feeds"""
    connect_timeout: Timeout = _P.connect_timeout
    """Seconds to connect to a feed's host"""
    total_timeout: Timeout = _P.total_timeout
    """Seconds for a whole fetch"""
    max_bytes: Annotated[int, Field(gt=0, le=MAX_BYTES)] = _P.max_bytes
    """Largest body read (also after decompression)"""
    max_redirects: Annotated[int, Field(gt=0, le=MAX_REDIRECTS)] = _P.max_redirects
    """Redirects followed per fetch"""
    concurrency: Count = _P.concurrency
    """Fetches at once"""
    per_host: Count = _P.per_host
    """Fetches at once to one host"""
    max_age_days: Annotated[float, Field(gt=0, le=MAX_AGE_DAYS, allow_inf_nan=False)] = _P.max_age_days
    """Entries older than this when first seen are stored, not alerted"""
    user_agent: Text = _P.user_agent
    """User-Agent header of every fetch"""

    @model_validator(mode="after")
    def _order(self) -> Polling:
        if self.min_interval > self.max_interval:
            raise problem("must not exceed polling.max_interval", key="min_interval")
        return self


class Access(Table):
    """Who may change settings by command, and which hosts may be private (`[access]`)."""

    slack_admins: Names = []
    """Slack user ids allowed to change settings (besides workspace admins and owners)"""
    allow_private_hosts: Names = []
    """Feed hosts exempt from the private-address check"""


class Http(Table):
    """The health and metrics endpoint (`[http]`); Slack's HTTP mode shares its server."""

    host: NonEmpty = HttpSettings.host
    """Address to listen on (0.0.0.0: every interface)"""
    port: Annotated[int, Field(gt=0, le=65535)] | None = None
    """Port; unset: no HTTP server. The `DESKWATCH_HTTP_PORT` variable overrides it"""


class Config(Table):
    """The whole of deskwatch.toml."""

    feeds: list[Feed] = []
    """Feeds to poll"""
    watches: list[WatchRef] = []
    """What the desk follows (at least one)"""
    destinations: list[Destination] = []
    """Where messages go"""
    subscriptions: list[Subscription] = []
    """Which watch goes where, and how"""
    storage: Storage = Storage()
    """The database"""
    polling: Polling = Polling()
    """How feeds are fetched"""
    access: Access = Access()
    """Permissions"""
    http: Http = Http()
    """Health and metrics endpoint"""
