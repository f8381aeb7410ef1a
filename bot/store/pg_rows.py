"""PostgreSQL rows <-> the model's dataclasses, and the values PostgresStore computes for SQL.

Times are TIMESTAMPTZ (asyncpg hands them back in UTC), tuples are TEXT[]. Search words are
computed here with the same folding as FTS5 and the in-memory store (bot/store/fts.py), so the
three stores find the same items; the database only matches whole words and prefixes of them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from bot.model import Delivery, FeedState, Item, ItemEvent, StorySource
from bot.store.fts import search_terms, words

Row = Any  # asyncpg.Record: read by column name

ITEM_COLS = ("key", "feed", "source", "url", "title", "summary", "published", "fetched", "lang", "tier",
             "guid", "title_hash", "dated")
ITEM_SELECT = "id, " + ", ".join(ITEM_COLS)  # never the word list: it is only searched
FEED_COLS = ("name", "url", "etag", "last_modified", "body_hash", "last_attempt", "last_success", "last_error",
             "last_error_kind", "consecutive_failures", "next_poll", "last_status", "entries_seen", "items_stored")
DELIVERY_COLS = ("id", "destination", "kind", "created", "story_id", "story_ids", "status", "attempts",
                 "next_attempt", "last_error", "ref", "sent_version", "title")

_MAX_LEXEME = 2046  # bytes: PostgreSQL refuses a longer word in a tsvector or tsquery
_MAX_WORDS_BYTES = 900_000  # a tsvector holds at most 1 MB of words
_ITEM_LOCK_BUCKETS = 4096
_ITEM_LOCK_BASE = int.from_bytes(b"dwitems\0", "big", signed=True)


def marks(start: int, n: int) -> str:
    return ", ".join(f"${i}" for i in range(start, start + n))


def utc(value: datetime) -> datetime:
    """The model promises UTC; a naive time is read as UTC, never shifted by the server's zone."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def opt_utc(value: datetime | None) -> datetime | None:
    return None if value is None else utc(value)


def count(status: str) -> int:
    """Rows touched, from a command status such as "INSERT 0 1" or "DELETE 3"."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


def safe_url(url: str) -> str:
    """The database URL without its password (and without its query, which may hold one too)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "the PostgreSQL database"
    user = f"{parts.username}@" if parts.username else ""
    return urlunsplit((parts.scheme, f"{user}{host}{port}", parts.path, "", ""))


# --- items ---------------------------------------------------------------------------------------
def item_params(i: Item) -> tuple[Any, ...]:
    return (i.key, i.feed, i.source, i.url, i.title, i.summary, utc(i.published), utc(i.fetched), i.lang,
            i.tier, i.guid, i.title_hash, i.dated)


def item(r: Row) -> Item:
    return Item(key=r["key"], feed=r["feed"], source=r["source"], url=r["url"], title=r["title"],
                summary=r["summary"], published=r["published"], fetched=r["fetched"], lang=r["lang"],
                tier=r["tier"], guid=r["guid"], title_hash=r["title_hash"], dated=r["dated"])


def item_words(i: Item) -> list[str]:
    """The distinct folded words of title and summary, as the search column stores them."""
    out: list[str] = []
    size = 0
    for w in dict.fromkeys(words(f"{i.title}\n{i.summary}")):
        n = len(w.encode("utf-8"))
        if n > _MAX_LEXEME or size + n > _MAX_WORDS_BYTES:
            continue
        out.append(w)
        size += n
    return out


def tsquery(query: str) -> str | None:
    """A tsquery (its literal text form, parsed by no configuration) holding every term of the
    user's text as a prefix: the same terms FTS5 gets. None when the text has no words."""
    terms = [t for t in search_terms(query) if len(t.encode("utf-8")) <= _MAX_LEXEME]
    if not terms:
        return None
    return " & ".join("'" + t.replace("\\", "\\\\").replace("'", "''") + "':*" for t in terms)


def lock_key(name: str) -> int:
    """A 64-bit advisory lock key for a name, the same in every worker."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True)


def item_locks(items: Iterable[Item]) -> list[int]:
    """Advisory lock keys for a batch: one per bucket of its keys, URLs and title hashes, sorted
    so two batches always lock in the same order (no deadlock), at most 4096 per batch."""
    buckets: set[int] = set()
    for i in items:
        for kind, value in (("k", i.key), ("u", i.url), ("h", i.title_hash)):
            if value:
                digest = hashlib.blake2b(f"{kind}:{value}".encode(), digest_size=8).digest()
                buckets.add(int.from_bytes(digest, "big") % _ITEM_LOCK_BUCKETS)
    return [_ITEM_LOCK_BASE + b for b in sorted(buckets)]


# --- feeds, events, stories, deliveries ------------------------------------------------------------
def feed_params(s: FeedState) -> tuple[Any, ...]:
    return (s.name, s.url, s.etag, s.last_modified, s.body_hash, opt_utc(s.last_attempt), opt_utc(s.last_success),
            s.last_error, s.last_error_kind, s.consecutive_failures, opt_utc(s.next_poll), s.last_status,
            s.entries_seen, s.items_stored)


def feed(r: Row) -> FeedState:
    return FeedState(**{n: r[n] for n in FEED_COLS})


def event(r: Row) -> ItemEvent:
    return ItemEvent(item_key=r["item_key"], at=r["at"], event=r["event"], detail=r["detail"],
                     story_id=r["story_id"], destination=r["destination"])


def source(r: Row) -> StorySource:
    return StorySource(item_key=r["item_key"], outlet=r["outlet"], url=r["url"], lang=r["lang"],
                       published=r["published"], title=r["title"], tier=r["tier"], new_facts=tuple(r["new_facts"]))


def delivery_params(d: Delivery) -> tuple[Any, ...]:
    return (d.id, d.destination, d.kind, utc(d.created), d.story_id, list(d.story_ids), d.status, d.attempts,
            opt_utc(d.next_attempt), d.last_error, d.ref, d.sent_version, d.title)


def delivery(r: Row) -> Delivery:
    return Delivery(id=r["id"], destination=r["destination"], kind=r["kind"], created=r["created"],
                    story_id=r["story_id"], story_ids=tuple(r["story_ids"]), status=r["status"],
                    attempts=r["attempts"], next_attempt=r["next_attempt"], last_error=r["last_error"],
                    ref=r["ref"], sent_version=r["sent_version"], title=r["title"])
