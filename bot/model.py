"""The nouns of deskwatch as frozen dataclasses.

Everything that crosses a module boundary is one of these values: what a feed yields (Entry),
what we store (Item, Story, Delivery, FeedState), what we decide (Match) and what we post
(Message). Times are timezone-aware UTC datetimes throughout.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

# --- feeds and items -------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One entry as the feed gave it, before normalisation (summary may hold HTML)."""

    guid: str | None
    link: str | None
    title: str
    summary: str
    published: datetime | None
    lang: str | None = None
    author: str | None = None


@dataclass(frozen=True)
class ParsedFeed:
    """What the parser made of a body: the entries it could read, and what went wrong."""

    entries: tuple[Entry, ...]
    is_feed: bool
    title: str = ""
    ttl_minutes: int | None = None
    problem: str | None = None  # plain words, e.g. "malformed XML at line 3 (12 entries read)"


@dataclass(frozen=True)
class Item:
    """A normalised entry: plain text, canonical URL, UTC time, a stable identity."""

    key: str  # primary identity: guid, else canonical URL, else hash of title+summary
    feed: str  # feed name from config
    source: str  # outlet name as users say it
    url: str  # canonical URL ("" when the entry had none)
    title: str
    summary: str
    published: datetime
    fetched: datetime
    lang: str
    tier: str = "independent"
    guid: str | None = None
    title_hash: str = ""  # hash of the normalised title: a secondary identity key
    dated: bool = True  # False when the feed gave no date and `published` is the fetch time


FetchOutcome = Literal[
    "ok", "not-modified", "rate-limited", "http-error", "network-error", "too-large", "not-a-feed"
]


@dataclass(frozen=True)
class FetchResult:
    """The outcome of one GET of a feed. Never an exception: errors are values."""

    outcome: FetchOutcome
    status: int | None = None
    body: bytes = b""
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    retry_after: float | None = None  # seconds, from Retry-After
    max_age: float | None = None  # seconds, from Cache-Control max-age
    error: str = ""  # plain words for the operator
    final_url: str | None = None


@dataclass(frozen=True)
class FeedState:
    """Per-feed polling state and health, persisted between cycles."""

    name: str
    url: str
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    last_attempt: datetime | None = None
    last_success: datetime | None = None
    last_error: str = ""
    last_error_kind: str = ""  # a FetchOutcome, or "parse" / "not-a-feed"
    consecutive_failures: int = 0
    next_poll: datetime | None = None  # None: due now
    last_status: int | None = None
    entries_seen: int = 0
    items_stored: int = 0


# --- matching and stories --------------------------------------------------------------------


@dataclass(frozen=True)
class Match:
    """A watch's verdict on one item: relevant or not, a score, and why."""

    watch: str
    relevant: bool
    score: float
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class StorySource:
    """One report inside a story."""

    item_key: str
    outlet: str
    url: str
    lang: str
    published: datetime
    title: str
    tier: str = "independent"
    new_facts: tuple[str, ...] = ()  # what this report added (a new figure, place, actor)


@dataclass(frozen=True)
class Story:
    """One development on a watch, reported by one or more sources (first one first)."""

    id: str
    watch: str
    title: str
    summary: str
    first_published: datetime
    last_published: datetime
    sources: tuple[StorySource, ...]
    score: float = 0.0  # strongest match score among its items
    features: str = "{}"  # opaque JSON owned by core/stories/cluster.py
    keys: tuple[str, ...] = ()  # candidate-lookup keys owned by core/stories/cluster.py

    @property
    def version(self) -> int:
        return len(self.sources)

    @property
    def first_source(self) -> StorySource:
        return self.sources[0]

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(s.lang for s in self.sources))


@dataclass(frozen=True)
class ItemEvent:
    """One step in an item's recorded path (fetched, filtered, merged, alerted …)."""

    item_key: str
    at: datetime
    event: str  # new | filtered | matched | too-old | muted | new-story | merged | alerted | digested
    detail: str = ""
    story_id: str | None = None
    destination: str | None = None


# --- routing and delivery --------------------------------------------------------------------

Platform = Literal["discord", "discord-webhook", "slack", "slack-webhook", "webhook", "console", "file"]
Mode = Literal["instant", "digest"]


@dataclass(frozen=True)
class Destination:
    """Where messages go. Secrets are never here: only the NAME of an environment variable."""

    name: str
    platform: Platform
    channel: str | None = None  # Discord channel id / Slack channel id
    webhook_env: str | None = None  # env var holding a webhook URL
    path: str | None = None  # file sink: where to write
    format: Literal["markdown", "jsonl"] = "markdown"  # file sink
    thread_replies: bool = False  # on an update, also reply in a thread under the alert
    unfurl: bool = False  # Slack: unfurl links
    max_alerts_per_hour: int = 30  # beyond this, a flooded channel gets a digest instead
    timezone: str = "UTC"  # times shown in this channel's alerts and digests
    headline_language: str | None = None  # prefer a headline in this language (e.g. "en") when a story has one


@dataclass(frozen=True)
class Subscription:
    watch: str
    destination: str
    mode: Mode = "instant"
    schedule: str = "0 8 * * *"  # cron, for digests
    timezone: str = "UTC"
    origin: Literal["config", "command"] = "config"


@dataclass(frozen=True)
class Mute:
    destination: str
    term: str
    until: datetime | None  # None: until unmuted


DeliveryKind = Literal["alert", "digest", "message"]
DeliveryStatus = Literal["pending", "sending", "sent", "failed"]


@dataclass(frozen=True)
class Delivery:
    """One outbox row: a story (or a digest) for one destination.

    The row is written before the send and its platform reference after it, so a crash between
    the two is detectable ("sending" with no ref) and recovered without a blind re-send.
    """

    id: str  # deterministic: f"{kind}:{story_or_digest_id}:{destination}"
    destination: str
    kind: DeliveryKind
    created: datetime
    story_id: str | None = None
    story_ids: tuple[str, ...] = ()  # digest contents
    status: DeliveryStatus = "pending"
    attempts: int = 0
    next_attempt: datetime | None = None
    last_error: str = ""
    ref: str | None = None  # platform message reference once sent (e.g. "channel/message")
    sent_version: int = 0  # story version the posted message shows; below story.version -> edit
    title: str = ""  # digests: header text


# --- messages --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Link:
    url: str
    outlet: str
    lang: str
    published: datetime
    title: str = ""


@dataclass(frozen=True)
class StoryCard:
    """A story as it appears in a message, platform-neutral (plain text, not markup)."""

    story_id: str
    title: str
    summary: str
    watch: str
    first: Link
    links: tuple[Link, ...]  # every source, first one first
    languages: tuple[str, ...]
    severity: Literal["high", "normal", "low"] = "normal"
    is_update: bool = False
    new_facts: tuple[str, ...] = ()
    lead: Link | None = None  # the report whose headline is shown, when it is not the first one

    @property
    def headline_link(self) -> Link:
        """Where the headline links to: the report it was taken from."""
        return self.lead or self.first


@dataclass(frozen=True)
class Attachment:
    """A file posted with a message: the weekly digest's trend chart (PNG)."""

    filename: str  # a plain name, no directory: "digest-dprk-russia-20260119.png"
    data: bytes
    description: str = ""  # alt text for people who cannot see the image
    content_type: str = "image/png"


@dataclass(frozen=True)
class Message:
    """What a platform sink posts. Built once by core/render.py, mapped per platform.

    All strings are plain text straight from feeds or the bot; each platform escapes them.
    `code` is a preformatted block (tables); `fields` are short key/value pairs.
    """

    kind: Literal["alert", "update", "digest", "reply"]
    title: str
    text: str = ""
    stories: tuple[StoryCard, ...] = ()
    fields: tuple[tuple[str, str], ...] = ()
    code: str = ""
    footer: str = ""
    marker: str = ""  # delivery/story marker embedded in the post so a restart can find it
    created: datetime | None = None
    attachments: tuple[Attachment, ...] = ()  # posted with the first platform message only
