"""The Store protocol: everything deskwatch persists, as one async interface.

Three implementations honour it: SQLite (the default, `sqlite.py`), PostgreSQL for several workers
(`postgres.py`) and an in-memory one for tests (`memory.py`). One contract suite (`tests/contract/`)
runs against all three.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from typing import Protocol

from bot.core.identity import IdentityVerdict
from bot.model import (
    Delivery,
    FeedState,
    Item,
    ItemEvent,
    Match,
    Mute,
    Story,
    Subscription,
)


@dataclass(frozen=True)
class Added:
    """What `add_items` did with a batch, each list in input order."""

    new: tuple[Item, ...]  # stored, to be matched as new developments
    # not new, with the verdict of bot/core/identity.py: a "duplicate" is not stored; a "copy"
    # (another outlet, same headline) is stored unprocessed, for the caller to join to its twin
    duplicates: tuple[tuple[Item, IdentityVerdict], ...] = ()

    @property
    def copies(self) -> tuple[tuple[Item, IdentityVerdict], ...]:
        return tuple(d for d in self.duplicates if d[1].kind == "copy")


# Meta keys a prune knows (written by bot/pipeline.py): a duplicate link's marker holds the key of
# the item it repeated; a flood counter ends in the hour it counts.
DUPLICATE_META = "duplicate:"  # duplicate:<url or key> -> item key
FLOOD_META = "flood:"  # flood:<destination>:<YYYYmmddHH> -> alerts posted that hour


def flood_hour(key: str) -> datetime | None:
    """The hour a flood counter counts (UTC), or None for any other key."""
    if not key.startswith(FLOOD_META):
        return None
    try:
        return datetime.strptime(key.rsplit(":", 1)[-1], "%Y%m%d%H").replace(tzinfo=UTC)
    except ValueError:
        return None


@dataclass(frozen=True)
class Pruned:
    """What one `prune` removed, by kind."""

    items: int = 0
    events: int = 0
    matches: int = 0
    stories: int = 0
    deliveries: int = 0
    meta: int = 0

    def __add__(self, other: Pruned) -> Pruned:
        return Pruned(**{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)})

    def __str__(self) -> str:
        return ", ".join(f"{getattr(self, f.name)} {f.name}" for f in fields(self))


def began_by(stories: Sequence[Story], until: datetime | None) -> list[Story]:
    """The stories that began by `until` (every one, for None): candidate_stories' rule."""
    return list(stories) if until is None else [s for s in stories if s.first_published <= until]


class Store(Protocol):
    # --- lifecycle -----------------------------------------------------------------------------
    async def open(self) -> None: ...
    async def close(self) -> None: ...
    def batch(self) -> AbstractAsyncContextManager[None]:
        """`async with store.batch():` the calls this task awaits inside are one transaction,
        committed when the block ends and rolled back if it raises (so a write may fail late, at
        a later call or at the end). Reads inside see the writes made before them; other tasks
        see none of them before the commit (SQLite: their calls wait for it). Nested: part of the
        open one. A store may commit each call on its own instead (MemoryStore does).
        The pipeline records one item's outcome in one batch."""

    # --- feeds and their health ----------------------------------------------------------------
    async def sync_feeds(self, feeds: Sequence[tuple[str, str]]) -> None:
        """Make sure a state row exists for each (name, url); a changed url resets validators."""

    async def feed_state(self, name: str) -> FeedState | None: ...
    async def feed_states(self) -> list[FeedState]: ...
    async def due_feeds(self, now: datetime) -> list[FeedState]:
        """Feeds due at `now` by core/schedule.is_due (next_poll None or reached, or times a clock
        step left in the future), never-polled first, then oldest next_poll first."""

    async def save_feed_state(self, state: FeedState) -> None: ...

    # --- items ---------------------------------------------------------------------------------
    async def add_items(self, items: Sequence[Item]) -> Added:
        """Store the new items (and syndicated copies); say what became of each.

        Each item is classified by `identity.classify` against the stored items (earlier ones in
        the batch included) sharing its key, canonical URL or title hash (empty values never
        match): a GUID that changes or the same article in two feeds never comes back as new.
        """

    async def unprocessed_items(self, limit: int = 1000) -> list[Item]:
        """Items stored but not yet marked processed (a crash between storing and matching
        must not lose them), oldest first."""

    async def mark_processed(self, keys: Sequence[str]) -> None: ...

    async def item(self, key: str) -> Item | None: ...
    async def known_keys(self, keys: Sequence[str]) -> set[str]:
        """The keys among these that name a stored item, in one lookup (a re-polled feed asks
        for all its entries at once; one `item` call each cost ~50 µs an entry)."""

    async def item_by_url(self, url: str) -> Item | None:
        """Look up by canonical URL (exact) — `why URL`."""

    async def latest_items(self, limit: int, watch: str | None = None) -> list[Item]: ...
    async def search_items(self, query: str, since: datetime | None, limit: int) -> list[Item]:
        """Full-text search (FTS5 in SQLite) over title + summary; query is plain words, never
        FTS syntax (callers may pass anything: quotes, operators, Korean, Cyrillic). Every stored
        item is searchable, indexed or not (SQLite indexes the rest first)."""

    async def index_for_search(self) -> int:
        """Bring the search index up to date; the number of items written to it. SQLite indexes
        items after the poll cycle, not with each item (the cycle's one busy process saves the
        work while alerts are made); the other stores index with the item and return 0."""

    async def record_events(self, events: Sequence[ItemEvent]) -> None: ...
    async def item_events(self, key: str) -> list[ItemEvent]: ...
    async def save_match(self, item_key: str, match: Match) -> None: ...
    async def save_matches(self, matches: Sequence[tuple[str, Match]]) -> None:
        """`save_match` for each (item key, match), in one write (a run of filtered items)."""

    async def matches(self, item_key: str) -> list[Match]: ...

    # --- stories -------------------------------------------------------------------------------
    async def save_story(self, story: Story) -> None:
        """Insert or replace a story with its sources and its candidate-lookup keys."""

    async def story(self, story_id: str) -> Story | None: ...
    async def story_of_item(self, item_key: str, watch: str | None = None) -> Story | None:
        """The most recently updated story holding the item; only `watch`'s stories when given
        (an item two watches find relevant is a source of a story of each)."""
    async def story_candidates(
        self, watch: str, keys: Sequence[str], since: datetime, limit: int
    ) -> list[Story]:
        """Stories of `watch` with last_published >= since that share at least one key, most
        shared keys first. Must use an index, not a scan: it runs once per relevant item."""

    async def latest_stories(self, limit: int, watch: str | None = None) -> list[Story]:
        """Most recently updated first."""

    async def candidate_stories(self, watch: str, keys: Sequence[str], since: datetime, limit: int,
                                latest: int, until: datetime | None = None) -> tuple[list[Story], list[Story]]:
        """What a new report is compared with, read at once: `story_candidates(watch, keys, since,
        limit)` and the `latest` most recently updated stories of `watch` updated since `since`;
        with `until`, of both only stories that began by then (first_published <= until)."""

    async def story_or_candidates(self, item_key: str, watch: str, keys: Sequence[str], since: datetime,
                                  limit: int, latest: int, until: datetime | None = None
                                  ) -> tuple[Story | None, list[Story], list[Story]]:
        """`story_of_item(item_key, watch)` and `candidate_stories(watch, keys, since, limit,
        latest, until)` in one call (one read where a report is merged: is it in a story already, else
        what it is compared with)."""

    async def stories_changed(self, watch: str, after: int, since: datetime | None = None
                              ) -> tuple[list[Story], int]:
        """Stories of `watch` saved after change number `after` (each save_story takes the next
        number, in commit order) — with `since`, only those published since then or holding a
        report first seen since then — and the store's highest change number, read in the same
        snapshot (the next `after`)."""

    async def activity(self, watch: str, bounds: Sequence[datetime]) -> list[tuple[int, int]]:
        """(relevant items, new stories) of `watch` in each interval [bounds[i], bounds[i + 1]):
        items by publication time, stories by their first report. The caller picks the bounds
        (the weekly chart: local midnights, so days are the reader's days)."""

    # --- subscriptions and mutes ---------------------------------------------------------------
    async def subscriptions(self) -> list[Subscription]:
        """Subscriptions added by command (config ones live in settings)."""

    async def add_subscription(self, sub: Subscription) -> None: ...
    async def remove_subscription(self, watch: str, destination: str) -> bool: ...
    async def add_mute(self, mute: Mute) -> None: ...
    async def remove_mute(self, destination: str, term: str) -> bool: ...
    async def mutes(self, now: datetime) -> list[Mute]:
        """Mutes still in force at `now`."""

    # --- deliveries (the outbox) ---------------------------------------------------------------
    async def enqueue(self, deliveries: Sequence[Delivery], meta: Mapping[str, str] | None = None) -> int:
        """Insert rows whose id is not yet present; return how many were new (idempotent). When
        at least one was new, also set the `meta` keys, in the same transaction."""

    async def delivery(self, delivery_id: str) -> Delivery | None: ...
    async def save_delivery(self, delivery: Delivery) -> None:
        """Replace a row (status changes, attempts, ref, sent_version)."""

    async def due_deliveries(self, now: datetime, limit: int = 500) -> list[Delivery]:
        """Rows with status pending or sending and next_attempt None or <= now, oldest first."""

    async def alert_deliveries_for_story(self, story_id: str) -> list[Delivery]:
        """Alert rows of a story (any status), to edit sent alerts when the story grows."""

    async def reopen_alerts(self, story_id: str, version: int) -> None:
        """The story grew to `version`: its alert rows that are sent with an older sent_version
        go back to pending (no next attempt, no attempts, no error), so the outbox edits them."""

    async def deliveries_for_item(self, item_key: str) -> list[Delivery]:
        """Deliveries of the story the item belongs to (for `why`)."""

    async def pending_count(self) -> int: ...

    # --- destination health and small metadata --------------------------------------------------
    async def set_destination_health(self, name: str, ok: bool, message: str, at: datetime) -> None: ...
    async def destination_health(self) -> dict[str, tuple[bool, str, datetime]]: ...
    async def get_meta(self, key: str) -> str | None: ...
    async def set_meta(self, key: str, value: str) -> None: ...

    # --- leases: one holder at a time per name, across processes sharing the database ---------
    async def take_lease(self, name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
        """Atomically make `holder` hold `name` until now + ttl, if the lease is free, expired
        (expires <= now) or already `holder`'s; False if someone else holds it."""

    async def renew_lease(self, name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
        """Extend `holder`'s lease to now + ttl; False if `holder` no longer holds it (taken
        over after it expired, or released)."""

    async def release_lease(self, name: str, holder: str) -> bool:
        """Drop the lease if `holder` holds it; True if it did."""

    async def lease_holder(self, name: str, now: datetime) -> str | None:
        """Who holds `name` at `now` (None when free or expired)."""

    # --- retention (storage.keep_days) ----------------------------------------------------------
    async def prune(self, before: datetime) -> Pruned:
        """Forget what is older than `before`; say how much of each kind went.

        - finished deliveries (sent, failed) created before it;
        - a story that nothing keeps: no delivery left names it (a pending one of any age keeps
          it, and so does a finished one inside the window), it was last published before
          `before`, and none of its items is newer;
        - an item fetched and published before it, processed, and a source of no remaining
          story, with its events and matches;
        - events older than it of items no longer stored;
        - flood counters of hours before it, and duplicate markers whose item is gone.
        Settings (feeds, subscriptions, mutes, digest positions, health, leases) are never
        touched, and change numbers keep growing (`stories_changed` never hands one out twice).
        """
