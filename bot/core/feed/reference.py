"""The plain normalisation path the fast one must equal, kept only for tests and bench/normalize.py.

Every string goes through the HTML parser, invisible characters go by `str.translate`, lines
fold through generators, every round is checked by one more, an entry's title is made plain a
second time for its hash, and every link goes through urllib (bot/core/feed/urls.py):
normalisation as it was before issue 12 made it faster. Property tests hold the fast and the
reference path equal on arbitrary text and entries.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime

from bot.core.feed.html import _TRAILING_TAG, INVISIBLE_RANGES, MAX_INPUT, _defang, _strip_tags
from bot.core.feed.normalize import item_from_text
from bot.core.feed.urls import reference_canonical_url
from bot.core.identity import plain_title_hash
from bot.model import Entry, Item
from bot.settings import FeedSettings

_TABLE: dict[int, str | None] = {
    **{c: None for lo, hi in INVISIBLE_RANGES for c in range(lo, hi)},
    0x0D: "\n",
}


def _reference_fold(s: str) -> str:
    lines = (" ".join(line.split()) for line in s.split("\n"))
    return "\n".join(line for line in lines if line)


def _reference_once(s: str) -> str:
    text = _strip_tags(_TRAILING_TAG.sub("", s)).translate(_TABLE)
    return _reference_fold(unicodedata.normalize("NFKC", text))


def reference_html_to_text(s: str) -> str:
    """html_to_text the slow way: the parser on every string, every round checked."""
    cur = _reference_once(s[:MAX_INPUT])
    for _ in range(3):
        nxt = _reference_once(cur)
        if nxt == cur:
            break
        cur = nxt
    return _defang(cur)


def reference_normalize_entry(entry: Entry, feed: FeedSettings, fetched: datetime) -> Item:
    """normalize_entry the slow way: reference text, the title hash from a second pass, and the
    link through urllib."""
    return item_from_text(entry, feed, fetched, reference_html_to_text(entry.title),
                          reference_html_to_text(entry.summary), plain_title_hash(reference_html_to_text(entry.title)),
                          reference_canonical_url(entry.link or ""))
