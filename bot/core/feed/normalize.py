"""Turn a parsed Entry into an Item: plain text, canonical URL, UTC time and a stable identity.

Every helper here is idempotent (applying it twice changes nothing), so a value that went
through normalisation can be normalised again safely, e.g. when a story is rebuilt from items.
Pure: the fetch time is passed in.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.core.feed.html import MAX_INPUT, html_to_text
from bot.core.feed.url_dates import url_date
from bot.core.feed.urls import canonical_url
from bot.core.headline import title_from_text
from bot.core.identity import item_key, plain_title_hash, title_hash
from bot.model import Entry, Item
from bot.settings import FeedSettings

MAX_TITLE = 1_000
FUTURE_SLACK = timedelta(hours=1)  # clock skew we accept before calling a date bogus

__all__ = ["MAX_INPUT", "canonical_url", "entry_key", "html_to_text", "item_key", "normalize_entry", "title_hash"]


def _language(tag: str | None) -> str:
    primary = (tag or "").strip().replace("_", "-").split("-")[0].lower()
    return primary if primary.isascii() and primary.isalpha() and 2 <= len(primary) <= 3 else ""


def _published(entry: Entry, fetched: datetime, url: str = "") -> tuple[datetime, bool]:
    if entry.published is None:
        return _from_link(url, fetched)
    when = entry.published
    when = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    return (fetched, True) if when > fetched + FUTURE_SLACK else (when, True)


def _from_link(url: str, fetched: datetime) -> tuple[datetime, bool]:
    """An undated entry whose link names its day is dated noon UTC of that day (at most the
    fetch time): closer than the fetch time to when it was news, and an old article that a feed
    puts up again is seen to be old. Without one: the fetch time, undated."""
    day = url_date(url)
    if day is None or day > fetched.date():
        return fetched, False
    return min(fetched, datetime(day.year, day.month, day.day, 12, tzinfo=UTC)), True


def normalize_entry(entry: Entry, feed: FeedSettings, fetched: datetime) -> Item:
    """One Entry → one Item. Never raises on odd data; a missing date becomes the fetch time."""
    plain_title = html_to_text(entry.title)  # once: the title hash is made from it too
    return item_from_text(entry, feed, fetched, plain_title, html_to_text(entry.summary),
                          plain_title_hash(plain_title))


def entry_key(entry: Entry, feed: FeedSettings) -> str | None:
    """The key normalize_entry gives the entry when it has a GUID or a link, which needs none of
    its text: the poll asks the store for it before normalising (the summary is the costly part).
    None for an entry keyed by its text."""
    url = canonical_url(entry.link or "")
    if (entry.guid and entry.guid.strip()) or url:
        return item_key(feed.name, entry.guid, url, "", "")
    return None


def item_from_text(entry: Entry, feed: FeedSettings, fetched: datetime, plain_title: str, summary: str,
                   title_hash: str, url: str | None = None) -> Item:
    """The Item of an entry whose title and summary already went through html_to_text (and whose
    link went through canonical_url, when `url` is given)."""
    # Title-less posts (microblogs) get the start of their text: what matching reads and what the
    # key of a post with no guid and no link is made from. People see it cut at a word
    # (core/headline.display_title).
    title = " ".join(plain_title.split())[:MAX_TITLE] or title_from_text(summary)
    url = canonical_url(entry.link or "") if url is None else url
    published, dated = _published(entry, fetched, url)
    return Item(
        key=item_key(feed.name, entry.guid, url, title, summary),
        feed=feed.name,
        source=feed.outlet,
        url=url,
        title=title,
        summary=summary,
        published=published,
        fetched=fetched,
        lang=_language(entry.lang) or _language(feed.language) or feed.language,
        tier=feed.tier,
        guid=entry.guid,
        title_hash=title_hash,
        dated=dated,
    )
