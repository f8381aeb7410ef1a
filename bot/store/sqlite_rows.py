"""SQLite rows <-> the model's dataclasses, for SqliteStore.

Times are fixed-width ISO-8601 UTC text (comparing the strings compares the instants), tuples
are JSON text. The PostgreSQL store's counterpart is pg_rows.py.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import astuple, fields
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from bot.model import Delivery, FeedState, Item, ItemEvent, StorySource


def ts(value: datetime | None) -> str | None:
    """Fixed-width UTC text, so that comparing the strings compares the instants."""
    return None if value is None else _utc_text(value)


# A poll cycle writes each item's times several times (its twins' window, its row, every event at
# the cycle's `now`): ~5 µs a call on a slow day, ~6% of the bot process's work in a cold cycle.
# Equal instants give equal text, so one remembered answer serves every zone they are written in.
@lru_cache(maxsize=4096)
def _utc_text(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)  # the model promises UTC; never shift a naive time
    # isoformat, not strftime: faster, and the year always has four digits (strftime writes
    # year 999 as "999"); the same text as strftime's "%Y-%m-%dT%H:%M:%S.%fZ" from year 1000 on.
    return value.astimezone(UTC).isoformat(timespec="microseconds")[:-6] + "Z"


def maybe_time(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def at_time(value: str) -> datetime:
    return datetime.fromisoformat(value)


def as_json(values: Iterable[str]) -> str:
    return json.dumps(list(values), ensure_ascii=False)


def as_tuple(text: str) -> tuple[str, ...]:
    return tuple(json.loads(text))


def placeholders(n: int) -> str:
    return ",".join("?" * n)


ITEM_COLS = ("key", "feed", "source", "url", "title", "summary", "published", "fetched", "lang",
              "tier", "guid", "title_hash", "dated")
FEED_COLS = tuple(f.name for f in fields(FeedState))
FEED_TIMES = {"last_attempt", "last_success", "next_poll"}
DELIVERY_COLS = ("id", "destination", "kind", "created", "story_id", "story_ids", "status",
                  "attempts", "next_attempt", "last_error", "ref", "sent_version", "title")


def item_params(i: Item) -> tuple[Any, ...]:
    return (i.key, i.feed, i.source, i.url, i.title, i.summary, ts(i.published), ts(i.fetched),
            i.lang, i.tier, i.guid, i.title_hash, int(i.dated))


def item_of(r: sqlite3.Row) -> Item:
    return Item(key=r["key"], feed=r["feed"], source=r["source"], url=r["url"], title=r["title"],
                summary=r["summary"], published=at_time(r["published"]), fetched=at_time(r["fetched"]),
                lang=r["lang"], tier=r["tier"], guid=r["guid"], title_hash=r["title_hash"],
                dated=bool(r["dated"]))


def feed_params(s: FeedState) -> tuple[Any, ...]:
    return tuple(ts(v) if n in FEED_TIMES else v for n, v in zip(FEED_COLS, astuple(s), strict=True))


def feed_of(r: sqlite3.Row) -> FeedState:
    values: dict[str, Any] = {n: maybe_time(r[n]) if n in FEED_TIMES else r[n] for n in FEED_COLS}
    return FeedState(**values)


def delivery_params(d: Delivery) -> tuple[Any, ...]:
    return (d.id, d.destination, d.kind, ts(d.created), d.story_id, as_json(d.story_ids), d.status,
            d.attempts, ts(d.next_attempt), d.last_error, d.ref, d.sent_version, d.title)


def delivery_of(r: sqlite3.Row) -> Delivery:
    return Delivery(id=r["id"], destination=r["destination"], kind=r["kind"], created=at_time(r["created"]),
                    story_id=r["story_id"], story_ids=as_tuple(r["story_ids"]), status=r["status"],
                    attempts=r["attempts"], next_attempt=maybe_time(r["next_attempt"]),
                    last_error=r["last_error"], ref=r["ref"], sent_version=r["sent_version"],
                    title=r["title"])


def source_of(r: sqlite3.Row) -> StorySource:
    return StorySource(item_key=r["item_key"], outlet=r["outlet"], url=r["url"], lang=r["lang"],
                       published=at_time(r["published"]), title=r["title"], tier=r["tier"],
                       new_facts=as_tuple(r["new_facts"]))


def event_of(r: sqlite3.Row) -> ItemEvent:
    return ItemEvent(item_key=r["item_key"], at=at_time(r["at"]), event=r["event"], detail=r["detail"],
                     story_id=r["story_id"], destination=r["destination"])


# --- thread-side helpers (run on the worker, given the connection) --------------------------------
