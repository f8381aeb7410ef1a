"""An in-memory Store for tests and the demo: plain dicts and lists, same answers as SQLite.

Orderings, dedup rules and search semantics mirror `sqlite.py` exactly (the contract suite runs
against both); search uses the same term builder (`fts.py`) with a folded prefix match instead
of FTS5. Nothing survives the process.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from bot.core import schedule
from bot.core.identity import IdentityVerdict, classify
from bot.core.trend import count_between
from bot.model import Delivery, FeedState, Item, ItemEvent, Match, Mute, Story, Subscription
from bot.settings import MAX_INTERVAL
from bot.store.base import DUPLICATE_META, Added, Pruned, began_by, flood_hour
from bot.store.fts import search_terms, text_matches

_ACTIVE = ("pending", "sending")
V = TypeVar("V")


def _utc(value: V) -> V:
    """The value with every datetime in it (nested dataclasses and tuples too) moved to UTC,
    because SQLite hands times back in UTC whatever zone they were written in."""
    out: Any = value
    if isinstance(value, datetime):
        out = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    elif isinstance(value, tuple):
        out = tuple(_utc(v) for v in value)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {f.name: _utc(getattr(value, f.name)) for f in dataclasses.fields(value)}
        out = dataclasses.replace(value, **changes)
    return out


def _newest_first(stories: list[Story]) -> list[Story]:
    # Two stable sorts: id ascending breaks ties in last_published descending, as in SQL.
    return sorted(sorted(stories, key=lambda s: s.id), key=lambda s: s.last_published, reverse=True)


class MemoryStore:
    """Store held in dicts; see bot/store/base.py for the contract."""

    def __init__(self) -> None:
        self._feeds: dict[str, FeedState] = {}
        self._items: dict[str, Item] = {}  # insertion order is the SQLite rowid order
        self._seq: dict[str, int] = {}
        self._by_url: dict[str, list[str]] = {}  # url -> keys, for the duplicate rule
        self._by_hash: dict[str, list[str]] = {}  # title hash -> keys
        self._unprocessed: dict[str, None] = {}  # ordered set
        self._events: list[ItemEvent] = []
        self._matches: dict[tuple[str, str], Match] = {}
        self._stories: dict[str, Story] = {}
        self._changed: dict[str, int] = {}  # story id → change number of its last save
        self._change = 0
        self._subs: dict[tuple[str, str], Subscription] = {}
        self._mutes: dict[tuple[str, str], Mute] = {}
        self._deliveries: dict[str, Delivery] = {}
        self._health: dict[str, tuple[bool, str, datetime]] = {}
        self._meta: dict[str, str] = {}
        self._leases: dict[str, tuple[str, datetime]] = {}  # name -> (holder, expires)

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        return None

    @asynccontextmanager
    async def batch(self) -> AsyncIterator[None]:
        yield  # every call is applied at once: nothing to group, nothing to roll back

    # --- feeds -----------------------------------------------------------------------------------
    async def sync_feeds(self, feeds: Sequence[tuple[str, str]]) -> None:
        for name, url in feeds:
            old = self._feeds.get(name)
            if old is None:
                self._feeds[name] = FeedState(name=name, url=url)
            elif old.url != url:  # validators of another URL mean nothing here
                self._feeds[name] = dataclasses.replace(
                    old, url=url, etag=None, last_modified=None, body_hash=None
                )

    async def feed_state(self, name: str) -> FeedState | None:
        return self._feeds.get(name)

    async def feed_states(self) -> list[FeedState]:
        return sorted(self._feeds.values(), key=lambda f: f.name)

    async def due_feeds(self, now: datetime) -> list[FeedState]:
        # the same rule as SqliteStore.due_feeds (core/schedule; it survives clock steps)
        return schedule.due_feeds(self._feeds.values(), now, MAX_INTERVAL)

    async def save_feed_state(self, state: FeedState) -> None:
        self._feeds[state.name] = _utc(state)

    # --- items -----------------------------------------------------------------------------------
    async def add_items(self, items: Sequence[Item]) -> Added:
        new: list[Item] = []
        dups: list[tuple[Item, IdentityVerdict]] = []
        for i in map(_utc, items):
            verdict = classify(i, self._twins(i))
            if verdict.kind != "duplicate":
                self._items[i.key] = i
                self._seq[i.key] = len(self._seq)
                self._unprocessed[i.key] = None
                for index, value in ((self._by_url, i.url), (self._by_hash, i.title_hash)):
                    if value:
                        index.setdefault(value, []).append(i.key)
            if verdict.kind == "new":
                new.append(i)
            else:
                dups.append((i, verdict))
        return Added(tuple(new), tuple(dups))

    def _twins(self, i: Item) -> list[Item]:
        keys = {i.key} | set(self._by_url.get(i.url, ())) | set(self._by_hash.get(i.title_hash, ()))
        return sorted((self._items[k] for k in keys if k in self._items), key=lambda t: self._seq[t.key])

    async def unprocessed_items(self, limit: int = 1000) -> list[Item]:
        return [self._items[k] for k in list(self._unprocessed)[:limit]]

    async def mark_processed(self, keys: Sequence[str]) -> None:
        for k in keys:
            self._unprocessed.pop(k, None)

    async def item(self, key: str) -> Item | None:
        return self._items.get(key)

    async def known_keys(self, keys: Sequence[str]) -> set[str]:
        return {k for k in keys if k in self._items}

    async def item_by_url(self, url: str) -> Item | None:
        return next((i for i in self._items.values() if url and i.url == url), None)

    def _newest_items(self, items: list[Item], limit: int) -> list[Item]:
        ordered = sorted(items, key=lambda i: (i.published, self._seq[i.key]), reverse=True)
        return ordered[: max(limit, 0)]

    async def latest_items(self, limit: int, watch: str | None = None) -> list[Item]:
        items = list(self._items.values())
        if watch is not None:
            m = self._matches
            items = [i for i in items if (hit := m.get((i.key, watch))) is not None and hit.relevant]
        return self._newest_items(items, limit)

    async def index_for_search(self) -> int:
        return 0  # indexed with each item

    async def search_items(self, query: str, since: datetime | None, limit: int) -> list[Item]:
        terms = search_terms(query)
        hits = [
            i for i in self._items.values()
            if (since is None or i.published >= since) and text_matches(terms, f"{i.title}\n{i.summary}")
        ]
        return self._newest_items(hits, limit)

    async def record_events(self, events: Sequence[ItemEvent]) -> None:
        self._events.extend(map(_utc, events))

    async def item_events(self, key: str) -> list[ItemEvent]:
        return sorted((e for e in self._events if e.item_key == key), key=lambda e: e.at)

    async def save_match(self, item_key: str, match: Match) -> None:
        self._matches[(item_key, match.watch)] = match

    async def save_matches(self, matches: Sequence[tuple[str, Match]]) -> None:
        for item_key, match in matches:
            self._matches[(item_key, match.watch)] = match

    async def matches(self, item_key: str) -> list[Match]:
        return sorted((m for (k, _), m in self._matches.items() if k == item_key), key=lambda m: m.watch)

    # --- stories ---------------------------------------------------------------------------------
    async def save_story(self, story: Story) -> None:
        self._stories[story.id] = _utc(story)
        self._change += 1
        self._changed[story.id] = self._change

    async def story(self, story_id: str) -> Story | None:
        return self._stories.get(story_id)

    async def story_of_item(self, item_key: str, watch: str | None = None) -> Story | None:
        having = [s for s in self._stories.values()
                  if (watch is None or s.watch == watch) and any(x.item_key == item_key for x in s.sources)]
        return next(iter(_newest_first(having)), None)

    async def story_candidates(
        self, watch: str, keys: Sequence[str], since: datetime, limit: int
    ) -> list[Story]:
        wanted = set(keys)
        shared = {
            s.id: len(wanted & set(s.keys))
            for s in self._stories.values()
            if s.watch == watch and s.last_published >= since
        }
        found = _newest_first([self._stories[i] for i, n in shared.items() if n > 0])
        return sorted(found, key=lambda s: shared[s.id], reverse=True)[: max(limit, 0)]

    async def candidate_stories(self, watch: str, keys: Sequence[str], since: datetime, limit: int,
                                latest: int, until: datetime | None = None) -> tuple[list[Story], list[Story]]:
        window = began_by([s for s in self._stories.values() if s.watch == watch and s.last_published >= since],
                          until)
        return (began_by(await self.story_candidates(watch, keys, since, limit), until),
                _newest_first(window)[: max(latest, 0)])

    async def story_or_candidates(self, item_key: str, watch: str, keys: Sequence[str], since: datetime,
                                  limit: int, latest: int, until: datetime | None = None
                                  ) -> tuple[Story | None, list[Story], list[Story]]:
        return (await self.story_of_item(item_key, watch),
                *await self.candidate_stories(watch, keys, since, limit, latest, until))

    async def latest_stories(self, limit: int, watch: str | None = None) -> list[Story]:
        stories = [s for s in self._stories.values() if watch is None or s.watch == watch]
        return _newest_first(stories)[: max(limit, 0)]

    async def stories_changed(self, watch: str, after: int, since: datetime | None = None
                              ) -> tuple[list[Story], int]:
        def recent(s: Story) -> bool:
            return since is None or s.last_published >= since or any(
                x.item_key in self._items and self._items[x.item_key].fetched >= since for x in s.sources)

        found = [s for s in self._stories.values() if s.watch == watch and self._changed[s.id] > after and recent(s)]
        return sorted(found, key=lambda s: self._changed[s.id]), self._change

    async def activity(self, watch: str, bounds: Sequence[datetime]) -> list[tuple[int, int]]:
        items = [self._items[k].published for (k, w), m in self._matches.items()
                 if w == watch and m.relevant and k in self._items]
        firsts = [s.first_published for s in self._stories.values() if s.watch == watch]
        return list(zip(count_between(items, bounds), count_between(firsts, bounds), strict=True))

    # --- subscriptions and mutes -----------------------------------------------------------------
    async def subscriptions(self) -> list[Subscription]:
        return [self._subs[k] for k in sorted(self._subs)]

    async def add_subscription(self, sub: Subscription) -> None:
        self._subs[(sub.watch, sub.destination)] = sub

    async def remove_subscription(self, watch: str, destination: str) -> bool:
        return self._subs.pop((watch, destination), None) is not None

    async def add_mute(self, mute: Mute) -> None:
        self._mutes[(mute.destination, mute.term)] = _utc(mute)

    async def remove_mute(self, destination: str, term: str) -> bool:
        return self._mutes.pop((destination, term), None) is not None

    async def mutes(self, now: datetime) -> list[Mute]:
        live = [m for m in self._mutes.values() if m.until is None or m.until > now]
        return sorted(live, key=lambda m: (m.destination, m.term))

    # --- deliveries ------------------------------------------------------------------------------
    async def enqueue(self, deliveries: Sequence[Delivery], meta: Mapping[str, str] | None = None) -> int:
        added = 0
        for d in deliveries:
            if d.id not in self._deliveries:
                self._deliveries[d.id] = _utc(d)
                added += 1
        if added:
            self._meta.update(meta or {})
        return added

    async def delivery(self, delivery_id: str) -> Delivery | None:
        return self._deliveries.get(delivery_id)

    async def save_delivery(self, delivery: Delivery) -> None:
        self._deliveries[delivery.id] = _utc(delivery)

    def _ordered(self, rows: list[Delivery]) -> list[Delivery]:
        return sorted(rows, key=lambda d: (d.created, d.id))

    async def due_deliveries(self, now: datetime, limit: int = 500) -> list[Delivery]:
        due = [
            d for d in self._deliveries.values()
            if d.status in _ACTIVE and (d.next_attempt is None or d.next_attempt <= now)
        ]
        return self._ordered(due)[: max(limit, 0)]

    async def alert_deliveries_for_story(self, story_id: str) -> list[Delivery]:
        return self._ordered(
            [d for d in self._deliveries.values() if d.kind == "alert" and d.story_id == story_id]
        )

    async def reopen_alerts(self, story_id: str, version: int) -> None:
        for d in await self.alert_deliveries_for_story(story_id):
            if d.status == "sent" and d.sent_version < version:
                self._deliveries[d.id] = dataclasses.replace(d, status="pending", next_attempt=None, attempts=0,
                                                             last_error="")

    async def deliveries_for_item(self, item_key: str) -> list[Delivery]:
        stories = {s.id for s in self._stories.values() if any(x.item_key == item_key for x in s.sources)}
        return self._ordered(
            [d for d in self._deliveries.values() if d.story_id in stories or stories & set(d.story_ids)]
        )

    async def pending_count(self) -> int:
        return sum(d.status in _ACTIVE for d in self._deliveries.values())

    # --- destination health and meta -------------------------------------------------------------
    async def set_destination_health(self, name: str, ok: bool, message: str, at: datetime) -> None:
        self._health[name] = (ok, message, _utc(at))

    async def destination_health(self) -> dict[str, tuple[bool, str, datetime]]:
        return dict(sorted(self._health.items()))

    async def get_meta(self, key: str) -> str | None:
        return self._meta.get(key)

    async def set_meta(self, key: str, value: str) -> None:
        self._meta[key] = value

    # --- leases (no await inside: each call is atomic on the event loop) --------------------------
    async def take_lease(self, name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
        held = self._leases.get(name)
        if held is not None and held[0] != holder and held[1] > _utc(now):
            return False
        self._leases[name] = (holder, _utc(now + ttl))
        return True

    async def renew_lease(self, name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
        held = self._leases.get(name)
        if held is None or held[0] != holder:
            return False
        self._leases[name] = (holder, _utc(now + ttl))
        return True

    async def release_lease(self, name: str, holder: str) -> bool:
        held = self._leases.get(name)
        if held is None or held[0] != holder:
            return False
        del self._leases[name]
        return True

    async def lease_holder(self, name: str, now: datetime) -> str | None:
        held = self._leases.get(name)
        return held[0] if held is not None and held[1] > _utc(now) else None

    # --- retention (the rule is the protocol's docstring) ------------------------------------------
    async def prune(self, before: datetime) -> Pruned:
        before = _utc(before)
        deliveries = [d.id for d in self._deliveries.values() if d.status in ("sent", "failed") and d.created < before]
        for delivery_id in deliveries:
            del self._deliveries[delivery_id]
        named = {s for d in self._deliveries.values() for s in (d.story_id, *d.story_ids) if s}

        def recent(key: str) -> bool:
            item = self._items.get(key)
            return item is not None and (item.fetched >= before or item.published >= before)

        stories = [s.id for s in self._stories.values() if s.id not in named and s.last_published < before
                   and not any(recent(x.item_key) for x in s.sources)]
        for story_id in stories:
            del self._stories[story_id], self._changed[story_id]  # self._change itself only grows
        sources = {x.item_key for s in self._stories.values() for x in s.sources}
        gone = {k for k, i in self._items.items() if i.fetched < before and i.published < before
                and k not in self._unprocessed and k not in sources}
        for key in gone:
            self._forget(key)
        kept = [e for e in self._events if e.item_key not in gone and (e.at >= before or e.item_key in self._items)]
        events, self._events = len(self._events) - len(kept), kept
        matches = [pair for pair in self._matches if pair[0] in gone]
        for pair in matches:
            del self._matches[pair]
        meta = [k for k, v in self._meta.items() if ((hour := flood_hour(k)) is not None and hour < before)
                or (k.startswith(DUPLICATE_META) and v not in self._items)]
        for k in meta:
            del self._meta[k]
        return Pruned(items=len(gone), events=events, matches=len(matches), stories=len(stories),
                      deliveries=len(deliveries), meta=len(meta))

    def _forget(self, key: str) -> None:
        item = self._items.pop(key)
        for index, value in ((self._by_url, item.url), (self._by_hash, item.title_hash)):
            keys = index.get(value, [])
            if key in keys:
                keys.remove(key)
            if not keys:
                index.pop(value, None)
