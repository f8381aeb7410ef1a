"""Every feed in feedparser's test corpus goes parse → normalise → story → alert and digest →
Discord payloads and Slack payloads without an exception, and no script, event handler,
`javascript:` link or markup from a feed survives into what would be posted."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.core.feed.normalize import normalize_entry
from bot.core.feed.parse import parse_feed
from bot.core.render import alert_message, digest_message
from bot.model import Story, StorySource
from bot.platforms.discord.format import to_payloads as discord_payloads
from bot.platforms.slack.format import to_payloads as slack_payloads
from bot.settings import FeedSettings

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "feedparser-tests"
FEED = FeedSettings(name="corpus", url="http://example.org/feed.xml", language="en", source="Corpus <b>Outlet</b>")
NOW = datetime(2025, 3, 4, 12, 0, tzinfo=UTC)
# Raw HTML tags, event handlers and script-ish schemes. Slack's own link syntax is <http…|…>,
# checked separately, and so is its date token <!date^…>, which deskwatch itself writes. Slack's
# escaped text (&lt;script) is inert and not matched here.
TAG = re.compile(r"<(?!https?://|!date\^\d+\^)[A-Za-z/!?]|\bon[a-z]+\s*=\s*[\"']|(?:java|vb)script:", re.IGNORECASE)
SLACK_LINK = re.compile(r"<(?!!date\^)([^|>]+)\|")
MD_LINK = re.compile(r"\]\((\S+?)\)")


def strings(payload: Any) -> list[str]:
    return re.findall(r'"((?:[^"\\]|\\.)*)"', json.dumps(payload, ensure_ascii=False))


def problems(text: str) -> list[str]:
    found = [m.group(0) for m in TAG.finditer(text)]
    found += [u for u in SLACK_LINK.findall(text) + MD_LINK.findall(text)
              if not u.startswith(("http://", "https://"))]
    return found


def story_of(item: Any) -> Story:
    src = StorySource(item_key=item.key, outlet=item.source, url=item.url, lang=item.lang, published=item.published,
                      title=item.title)
    return Story(id="s-0000corp", watch="w", title=item.title or item.summary[:80], summary=item.summary,
                 first_published=item.published, last_published=item.published, sources=(src, src), score=3.0)


@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"feedparser corpus not found at {CORPUS}")
def test_corpus_renders_safely_on_both_platforms() -> None:
    bad: list[str] = []
    stories: list[Story] = []
    for path in sorted((CORPUS / "tests").rglob("*.xml")):
        for entry in parse_feed(path.read_bytes(), FEED.url).entries:
            story = story_of(normalize_entry(entry, FEED, NOW))
            stories.append(story)
            message = alert_message(story, marker="deskwatch:alert:x:y", watch_title="w")
            for payload in discord_payloads(message):
                bad += [f"{path.name} discord: {p!r}" for s in strings(payload) for p in problems(s)]
            for sp in slack_payloads(message):
                bad += [f"{path.name} slack: {p!r}" for s in strings(sp.kwargs(unfurl=False)) for p in problems(s)]
    assert len(stories) > 1_000
    digest = digest_message(stories[:300], marker="d", title="digest", since=None, now=NOW)
    assert len(discord_payloads(digest)) > 1 and len(slack_payloads(digest)) > 1
    assert bad == []


@pytest.mark.parametrize("text", ["<script>x</script>", "<img src=x onerror='y'>", "javascript:alert(1)",
                                  "<!channel>", "[a](javascript:x)", "<ftp://x|y>"])
def test_the_check_catches_what_it_should(text: str) -> None:
    assert problems(text)
