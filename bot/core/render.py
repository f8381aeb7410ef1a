"""Build the neutral Message for an alert, an update and a digest (platforms map it further).

Pure: takes stories, `now` and the destination's `Display` (its time zone, its headline language),
returns values. Every time on a message is shown in the destination's zone; text stays plain here
and every platform escapes it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo

from bot.core.headline import short
from bot.model import Link, Message, Story, StoryCard, StorySource

SUMMARY_CHARS = 600  # an alert shows the lead, not the article


@dataclass(frozen=True)
class Display:
    """How one destination shows stories: the zone of every time on its messages, and the language
    its headlines should be in when a story has a report in it. `summaries` holds the summaries of
    those reports by item key (a story keeps only its first report's summary)."""

    timezone: str = "UTC"
    headline_language: str | None = None
    summaries: Mapping[str, str] = field(default_factory=dict)


UTC_DISPLAY = Display()


@lru_cache(maxsize=64)
def zone(name: str) -> tzinfo:
    """The named zone; UTC for a name this machine does not know (config checks it; a destination
    made by a slash command has none)."""
    try:
        return ZoneInfo(name)
    except (ValueError, KeyError, OSError):  # ZoneInfoNotFoundError is a KeyError
        return UTC


def local(when: datetime, tz: str) -> datetime:
    return when.astimezone(zone(tz))


def clock(when: datetime) -> str:
    """"2026-01-15 18:00 KST": a time as people read it, with its zone."""
    return f"{when:%Y-%m-%d %H:%M} {when.tzname() or 'UTC'}"


def headline_source(story: Story, language: str | None) -> StorySource | None:
    """The first report in `language` when the story's own (first) report is in another one."""
    if not language or story.first_source.lang == language:
        return None
    return next((s for s in story.sources if s.lang == language), None)


def _link(s: StorySource, tz: str) -> Link:
    return Link(url=s.url, outlet=s.outlet, lang=s.lang, published=local(s.published, tz), title=s.title)


def severity(story: Story, threshold: float) -> str:
    """high: strong match or several independent outlets; low: barely over the threshold."""
    outlets = {s.outlet for s in story.sources}
    if story.score >= 2 * threshold or len(outlets) >= 3:
        return "high"
    if story.score < 1.2 * threshold and len(outlets) == 1:
        return "low"
    return "normal"


def story_card(story: Story, *, threshold: float = 1.0, is_update: bool = False,
               display: Display = UTC_DISPLAY) -> StoryCard:
    latest = story.sources[-1]
    tz = display.timezone
    lead = headline_source(story, display.headline_language)
    title, summary = (lead.title, display.summaries.get(lead.item_key, "")) if lead else (story.title, story.summary)
    return StoryCard(
        story_id=story.id,
        title=title,
        summary=short(summary, SUMMARY_CHARS),
        watch=story.watch,
        first=_link(story.first_source, tz),
        links=tuple(_link(s, tz) for s in story.sources),
        languages=story.languages,
        severity=severity(story, threshold),  # type: ignore[arg-type]
        is_update=is_update,
        new_facts=latest.new_facts if is_update else (),
        lead=_link(lead, tz) if lead else None,
    )


def _at(now: datetime | None, display: Display) -> datetime | None:
    return local(now, display.timezone) if now is not None else None


def alert_message(story: Story, *, marker: str, watch_title: str, threshold: float = 1.0,
                  now: datetime | None = None, display: Display = UTC_DISPLAY) -> Message:
    """The first post about a story (one source or more, if it grew before delivery). The story id
    is not in the footer: the marker carries it, and platforms show the marker or keep it hidden."""
    card = story_card(story, threshold=threshold, display=display)
    return Message(kind="alert", title=card.title, text=card.summary, stories=(card,), footer=watch_title,
                   marker=marker, created=_at(now, display))


def update_message(story: Story, *, marker: str, watch_title: str, threshold: float = 1.0,
                   now: datetime | None = None, display: Display = UTC_DISPLAY) -> Message:
    """The edited alert once a story has further sources (same marker as the original)."""
    card = story_card(story, threshold=threshold, is_update=True, display=display)
    n = len(story.sources)
    return Message(kind="update", title=card.title, text=card.summary, stories=(card,),
                   footer=f"{watch_title} · {n} sources", marker=marker, created=_at(now, display))


def thread_note(story: Story, *, marker: str, display: Display = UTC_DISPLAY) -> Message:
    """The short reply posted under an alert when a further source arrives."""
    s = story.sources[-1]
    facts = f" New: {', '.join(s.new_facts)}." if s.new_facts else " No new facts."
    text = f"Also reported by {s.outlet} ({s.lang}, {clock(local(s.published, display.timezone))}).{facts}"
    return Message(kind="reply", title=f"Further source: {s.outlet}", text=text,
                   stories=(story_card(story, is_update=True, display=display),),
                   marker=f"{marker}:r{len(story.sources)}")


def order_for_digest(stories: Sequence[Story]) -> list[Story]:
    """Strongest first: more outlets, then higher score, then newest."""
    return sorted(stories, key=lambda s: (-len({x.outlet for x in s.sources}), -s.score,
                                          -s.last_published.timestamp(), s.id))


def digest_title(watch_title: str, since: datetime, now: datetime, tz: str) -> str:
    """"DPRK forces — digest 08 Jul 11:00–15 Jul 11:00 CEST", in the destination's zone."""
    a, b = local(since, tz), local(now, tz)
    return f"{watch_title} — digest {a:%d %b %H:%M}–{b:%d %b %H:%M} {b.tzname() or 'UTC'}"


def digest_message(stories: Sequence[Story], *, marker: str, title: str, since: datetime | None,
                   now: datetime, threshold: float = 1.0, display: Display = UTC_DISPLAY) -> Message:
    cards = digest_cards(stories, threshold=threshold, display=display)
    return digest_of_cards(cards, marker=marker, title=title, since=since, now=now, display=display)


def digest_cards(stories: Sequence[Story], *, threshold: float = 1.0,
                 display: Display = UTC_DISPLAY) -> tuple[StoryCard, ...]:
    """The cards of a digest's stories, strongest first."""
    return tuple(story_card(s, threshold=threshold, display=display) for s in order_for_digest(stories))


def digest_of_cards(cards: Sequence[StoryCard], *, marker: str, title: str, since: datetime | None,
                    now: datetime, display: Display = UTC_DISPLAY) -> Message:
    """A digest of cards already in order (a page of a long digest is a run of them)."""
    cards = tuple(cards)
    span = f" since {clock(local(since, display.timezone))}" if since else ""
    n = len(cards)
    text = f"{n} {'story' if n == 1 else 'stories'}{span}, strongest first." if n else f"Nothing new{span}."
    return Message(kind="digest", title=title, text=text, stories=cards,
                   footer=f"digest · {clock(local(now, display.timezone))}", marker=marker,
                   created=_at(now, display))
