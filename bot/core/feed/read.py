"""What the parse worker hands back when it also normalises (bot/parse_worker.py, bot/read_feed.py).

Pure, and in a module of its own: the worker runs as `__main__`, and a class defined there would
not unpickle in the bot.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING

from bot.core.feed.normalize import entry_key, normalize_entry
from bot.model import Entry, Item, Match, ParsedFeed
from bot.settings import FeedSettings

if TYPE_CHECKING:  # a feed's reading only carries them (bot/judging.py); matching is not this stage's
    from bot.judging import Prepared


@dataclass(frozen=True)
class ReadFeed:
    """A body read into Items: the parse's verdict, ttl and problem (its entries dropped), the Items
    to store in feed order (every entry's, or those the store did not know), and the entry count."""

    parsed: ParsedFeed
    items: tuple[Item, ...]
    entries: int
    # When the worker judged ahead (bot/judging.py): per item, from the first, each watch's Match,
    # or None where it did not judge; items past the end are not judged either.
    judged: tuple[tuple[Match, ...] | None, ...] = ()
    # And for each judged item some watch sends to stories (relevant, or doubted), each watch's
    # reading of it and its facts, so the bot process need not read it again (None for the others).
    readings: tuple[tuple[Prepared, ...] | None, ...] = ()


@dataclass(frozen=True)
class KeyedFeed:
    """A parse with the key of each entry that has a GUID or a link (None: keyed by its text)."""

    parsed: ParsedFeed
    keys: tuple[str | None, ...]


def read_all(parsed: ParsedFeed, feed: FeedSettings, fetched: datetime) -> ReadFeed:
    """Every entry normalised (none when the body is not a feed): what the poll stores."""
    entries = parsed.entries if parsed.is_feed else ()
    return ReadFeed(replace(parsed, entries=()), normalize_all(entries, feed, fetched), len(entries))


def normalize_all(entries: Sequence[Entry], feed: FeedSettings, fetched: datetime) -> tuple[Item, ...]:
    return tuple(normalize_entry(e, feed, fetched) for e in entries)


def keyed(parsed: ParsedFeed, feed: FeedSettings) -> KeyedFeed:
    return KeyedFeed(parsed, tuple(entry_key(e, feed) for e in parsed.entries) if parsed.is_feed else ())
