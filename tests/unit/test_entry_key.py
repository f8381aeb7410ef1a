"""entry_key (the key the poll asks the store about before normalising, bot/read_feed.py) is the
key normalize_entry gives the entry whenever it has a GUID or a link, and None otherwise."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.feed.normalize import entry_key, normalize_entry
from bot.model import Entry
from bot.settings import FeedSettings

NOW = datetime(2025, 3, 4, 12, 0, tzinfo=UTC)
FEED = FeedSettings(name="wire", url="https://feeds.example.org/a.xml", language="en", source="Wire")
GUIDS = st.one_of(st.none(), st.sampled_from(["", " ", "\t\n", "g-1", " g-1 ", "https://x.example/a"]),
                  st.text(max_size=8))
LINKS = st.one_of(st.none(), st.sampled_from([
    "", " ", "https://news.example/a/1?utm_source=rss", "HTTP://News.Example:80/a/#frag", "/relative",
    "javascript:alert(1)", "mailto:x@example.org", "https://news.example/a?b=1&a=2", "ftp://x.example/f",
]), st.text(max_size=8))
TEXTS = st.sampled_from(["", "Title", "<b>Title</b> &amp; more", "한국 <p>뉴스</p>"])


@settings(max_examples=500, deadline=None)
@given(GUIDS, LINKS, TEXTS, TEXTS)
def test_entry_key_is_the_normalised_key_when_no_text_is_needed(
        guid: str | None, link: str | None, title: str, summary: str) -> None:
    entry = Entry(guid=guid, link=link, title=title, summary=summary, published=None)
    key = entry_key(entry, FEED)
    item = normalize_entry(entry, FEED, NOW)
    if key is None:
        assert item.key.startswith("text:")
    else:
        assert key == item.key and not key.startswith("text:")
