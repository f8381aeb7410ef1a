"""The check every fast-parse test makes: the lxml path declines, or reads what feedparser reads.

"What feedparser reads" is what the pipeline keeps of it: the normalised items (title, summary,
URL, key, headline hash, time, language …), each entry's guid, link, time, language and author as
given, and the feed's plain title, TTL, verdict and problem. Titles and summaries as given may
differ in their HTML (the fast path keeps the feed's own, feedparser its sanitised copy); their
plain text may not.
"""

from __future__ import annotations

from datetime import UTC, datetime

from bot.core.feed.fastparse import read_fast
from bot.core.feed.html import html_to_text
from bot.core.feed.normalize import normalize_entry
from bot.core.feed.parse import parse_feed, parse_with_feedparser
from bot.settings import FeedSettings

FEED = FeedSettings(name="equivalence", url="https://news.example.org/feeds/main.xml", language="en")
NOW = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)


def differences(body: bytes, url: str = FEED.url) -> list[str] | None:
    """None when the fast path declines the body; else what differs from feedparser's reading."""
    if read_fast(body) is None:
        return None
    fast, slow = parse_feed(body, url), parse_with_feedparser(body, url)
    found: list[str] = []
    for field in ("is_feed", "problem", "ttl_minutes"):
        if getattr(fast, field) != getattr(slow, field):
            found.append(f"feed {field}: {getattr(fast, field)!r} != {getattr(slow, field)!r}")
    if html_to_text(fast.title) != html_to_text(slow.title):
        found.append(f"feed title: {fast.title!r} != {slow.title!r}")
    if len(fast.entries) != len(slow.entries):
        return [*found, f"{len(fast.entries)} entries != {len(slow.entries)}"]
    for n, (mine, theirs) in enumerate(zip(fast.entries, slow.entries, strict=True)):
        for field in ("guid", "link", "published", "lang", "author"):
            if getattr(mine, field) != getattr(theirs, field):
                found.append(f"entry {n} {field}: {getattr(mine, field)!r} != {getattr(theirs, field)!r}")
        item, expected = normalize_entry(mine, FEED, NOW), normalize_entry(theirs, FEED, NOW)
        if item != expected:
            found.append(f"entry {n} item: {item!r} != {expected!r}")
    return found


def takes_fast_path(body: bytes) -> bool:
    """Asserts the two readings agree; True when the fast path read the body."""
    found = differences(body)
    assert not found, "\n".join(found)
    return found is not None
