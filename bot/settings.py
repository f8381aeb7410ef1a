"""The settings the bot runs on, as frozen dataclasses (built and validated by bot/config/).

Secrets never live here: destinations name the environment variables that hold them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from bot.core.watch import Watch
from bot.model import Destination, Subscription


@dataclass(frozen=True)
class FeedSettings:
    name: str
    url: str
    language: str
    tier: str = "independent"  # wire | state-media | independent | government
    interval: int | None = None  # seconds; None: polling.interval
    source: str = ""  # outlet name as shown to users; defaults to name
    origin: str = "config"  # "command": added by a chat user, fetched with the address guard

    @property
    def outlet(self) -> str:
        return self.source or self.name


# Upper bounds for [polling] values. Larger ones pass TOML but break at run time (a timedelta
# overflow, a scheduler that exits at start, a fetch that can never finish), so check-config
# refuses them. They are far beyond any sensible setting.
MAX_INTERVAL = 7 * 24 * 3600  # seconds: interval, min_interval, max_interval, a feed's interval
MAX_TICK = 24 * 3600  # seconds between scheduler ticks
MAX_TIMEOUT = 600.0  # seconds: connect_timeout, total_timeout
MAX_BYTES = 1_000_000_000  # one response body
MAX_REDIRECTS = 50
MAX_CONCURRENCY = 10_000  # concurrency and per_host
MAX_AGE_DAYS = 36_500.0  # "too old at first sight": a century is already "never"
MAX_KEEP_DAYS = 36_500  # storage.keep_days
MAX_POOL_SIZE = 1_000  # storage.pool_size: connections one worker may open to PostgreSQL


@dataclass(frozen=True)
class PollingSettings:
    interval: int = 900  # seconds between polls of a healthy feed
    min_interval: int = 60  # never poll a feed more often than this
    max_interval: int = 6 * 3600  # back-off ceiling
    tick: int = 30  # how often the scheduler asks which feeds are due
    connect_timeout: float = 10.0
    total_timeout: float = 30.0
    max_bytes: int = 5_000_000
    max_redirects: int = 5
    concurrency: int = 32
    per_host: int = 2
    max_age_days: float = 3.0  # entries older than this at first sight are stored as "too old"
    user_agent: str = "deskwatch/0.1 (+https://github.com/deskwatch/deskwatch; feed alert bot)"


@dataclass(frozen=True)
class StorageSettings:
    path: str = "data/deskwatch.db"
    keep_days: int = 180  # items, events, finished deliveries older than this are pruned daily
    # "postgresql://…" selects the PostgreSQL store instead of the file at `path`. It may hold a
    # password, so it never appears in a repr (settings get printed and logged).
    url: str = field(default="", repr=False)
    pool_size: int = 10  # PostgreSQL connections one worker keeps at most


@dataclass(frozen=True)
class HttpSettings:
    """The health/metrics endpoint (and Slack's HTTP mode, on the same server)."""

    host: str = "127.0.0.1"
    port: int | None = None  # None: no HTTP server (DESKWATCH_HTTP_PORT sets it from the environment)


@dataclass(frozen=True)
class AccessSettings:
    slack_admins: tuple[str, ...] = ()  # Slack user ids allowed to change settings
    allow_private_hosts: tuple[str, ...] = ()  # hosts exempt from the private-address check


@dataclass(frozen=True)
class Settings:
    feeds: tuple[FeedSettings, ...]
    watches: tuple[Watch, ...]
    destinations: tuple[Destination, ...] = ()
    subscriptions: tuple[Subscription, ...] = ()
    storage: StorageSettings = field(default_factory=StorageSettings)
    polling: PollingSettings = field(default_factory=PollingSettings)
    access: AccessSettings = field(default_factory=AccessSettings)
    http: HttpSettings = field(default_factory=HttpSettings)
    source_path: str = ""

    def watch(self, name: str) -> Watch | None:
        return next((w for w in self.watches if w.name == name), None)

    def destination(self, name: str) -> Destination | None:
        return next((d for d in self.destinations if d.name == name), None)

    def feed(self, name: str) -> FeedSettings | None:
        return self._feeds_by_name.get(name)

    @cached_property
    def _feeds_by_name(self) -> dict[str, FeedSettings]:
        # feed() runs once per due feed each cycle: a scan made a cycle O(feeds²). cached_property
        # writes the instance __dict__ directly, so Settings stays frozen, and replace() builds anew.
        by_name: dict[str, FeedSettings] = {}
        for f in self.feeds:
            by_name.setdefault(f.name, f)  # the first of a name wins, as with the scan
        return by_name
