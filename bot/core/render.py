"""Build the neutral Message for an alert, an update and a digest (platforms map it further).

Pure: takes stories and `now`, returns values. Text stays plain here; every platform escapes it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.core.headline import short
from bot.model import Link, Message, Story, StoryCard, StorySource

SUMMARY_CHARS = 600  # an alert shows the lead, not the article


def _link(s: StorySource) -> Link:
    return Link(url=s.url, outlet=s.outlet, lang=s.lang, published=s.published, title=s.title)


def severity(story: Story, threshold: float) -> str:
    """high: strong match or several independent outlets; low: barely over the threshold."""
    outlets = {s.outlet for s in story.sources}
    if story.score >= 2 * threshold or len(outlets) >= 3:
        return "high"
    if story.score < 1.2 * threshold and len(outlets) == 1:
        return "low"
    return "normal"


def story_card(story: Story, *, threshold: float = 1.0, is_update: bool = False) -> StoryCard:
    latest = story.sources[-1]
    return StoryCard(
        story_id=story.id,
        title=story.title,
        summary=short(story.summary, SUMMARY_CHARS),
        watch=story.watch,
        first=_link(story.first_source),
        links=tuple(_link(s) for s in story.sources),
        languages=story.languages,
        severity=severity(story, threshold),  # type: ignore[arg-type]
        is_update=is_update,
        new_facts=latest.new_facts if is_update else (),
    )


def alert_message(story: Story, *, marker: str, watch_title: str, threshold: float = 1.0,
                  now: datetime | None = None) -> Message:
    """The first post about a story (one source or more, if it grew before delivery)."""
    card = story_card(story, threshold=threshold)
    return Message(kind="alert", title=story.title, text=card.summary, stories=(card,),
                   footer=f"{watch_title} · story {story.id}", marker=marker, created=now)


def update_message(story: Story, *, marker: str, watch_title: str, threshold: float = 1.0,
                   now: datetime | None = None) -> Message:
    """The edited alert once a story has further sources (same marker as the original)."""
    card = story_card(story, threshold=threshold, is_update=True)
    n = len(story.sources)
    return Message(kind="update", title=story.title, text=card.summary, stories=(card,),
                   footer=f"{watch_title} · story {story.id} · {n} sources", marker=marker, created=now)


def thread_note(story: Story, *, marker: str) -> Message:
    """The short reply posted under an alert when a further source arrives."""
    s = story.sources[-1]
    facts = f" New: {', '.join(s.new_facts)}." if s.new_facts else " No new facts."
    text = f"Also reported by {s.outlet} ({s.lang}, {s.published:%Y-%m-%d %H:%M} UTC).{facts}"
    return Message(kind="reply", title=f"Further source: {s.outlet}", text=text,
                   stories=(story_card(story, is_update=True),), marker=f"{marker}:r{len(story.sources)}")


def order_for_digest(stories: Sequence[Story]) -> list[Story]:
    """Strongest first: more outlets, then higher score, then newest."""
    return sorted(stories, key=lambda s: (-len({x.outlet for x in s.sources}), -s.score,
                                          -s.last_published.timestamp(), s.id))


def digest_message(stories: Sequence[Story], *, marker: str, title: str, since: datetime | None,
                   now: datetime, threshold: float = 1.0) -> Message:
    ordered = order_for_digest(stories)
    cards = tuple(story_card(s, threshold=threshold) for s in ordered)
    span = f" since {since:%Y-%m-%d %H:%M} UTC" if since else ""
    n = len(cards)
    text = f"{n} {'story' if n == 1 else 'stories'}{span}, strongest first." if n else f"Nothing new{span}."
    return Message(kind="digest", title=title, text=text, stories=cards,
                   footer=f"digest · {now:%Y-%m-%d %H:%M} UTC", marker=marker, created=now)
