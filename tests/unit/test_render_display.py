"""A destination's display settings in the pure render: its time zone on every time shown, its
headline language when a story has a source in it, and footers that do not repeat the story id."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.core.render import Display, alert_message, digest_message, digest_title, thread_note, update_message
from bot.model import Story, StorySource

T = datetime(2026, 1, 15, 9, 0, tzinfo=UTC)


def story(langs: tuple[str, ...], sid: str = "s-1a2b3c4d") -> Story:
    sources = tuple(
        StorySource(item_key=f"k{i}", outlet=f"Outlet {i}", url=f"https://o{i}.example/a", lang=lang,
                    published=T + timedelta(hours=i), title=f"{lang} headline {i}")
        for i, lang in enumerate(langs)
    )
    return Story(id=sid, watch="dprk-russia", title=sources[0].title, summary=f"{langs[0]} summary 0",
                 first_published=sources[0].published, last_published=sources[-1].published, sources=sources,
                 score=2.0)


@pytest.mark.parametrize(
    ("tz", "first", "note", "footer"),
    [
        ("UTC", "2026-01-15 09:00 UTC", "2026-01-15 10:00 UTC", "digest · 2026-01-16 09:00 UTC"),
        ("Asia/Seoul", "2026-01-15 18:00 KST", "2026-01-15 19:00 KST", "digest · 2026-01-16 18:00 KST"),
        ("America/New_York", "2026-01-15 04:00 EST", "2026-01-15 05:00 EST", "digest · 2026-01-16 04:00 EST"),
        ("Asia/Kolkata", "2026-01-15 14:30 IST", "2026-01-15 15:30 IST", "digest · 2026-01-16 14:30 IST"),
        ("Not/AZone", "2026-01-15 09:00 UTC", "2026-01-15 10:00 UTC", "digest · 2026-01-16 09:00 UTC"),
    ],
)
def test_every_time_is_shown_in_the_destinations_zone(tz: str, first: str, note: str, footer: str) -> None:
    s, view = story(("en", "ko")), Display(timezone=tz)
    alert = alert_message(s, marker="m", watch_title="W", now=T, display=view)
    card = alert.stories[0]
    assert f"{card.first.published:%Y-%m-%d %H:%M} {card.first.published.tzname()}" == first
    assert card.first.published == s.sources[0].published  # the same instant, shown in another zone
    assert alert.created is not None and alert.created.utcoffset() == card.first.published.utcoffset()
    assert note in thread_note(s, marker="m", display=view).text
    digest = digest_message([s], marker="d", title="D", since=T, now=T + timedelta(days=1), display=view)
    assert digest.footer == footer and first in digest.text  # "1 story since <first>, strongest first."


def test_summer_time_is_named_by_the_zone() -> None:
    summer = T.replace(month=7)
    note = thread_note(story(("en", "en")), marker="m", display=Display(timezone="Europe/Berlin"))
    assert "2026-01-15 11:00 CET" in note.text
    title = digest_title("DPRK forces", summer - timedelta(days=7), summer, "Europe/Berlin")
    assert title == "DPRK forces — digest 08 Jul 11:00–15 Jul 11:00 CEST"


@pytest.mark.parametrize(
    ("langs", "language", "summaries", "title", "summary", "headline_url"),
    [
        # a Korean report came first: an English desk reads the first English headline and its summary
        (("ko", "en", "en"), "en", {"k1": "en summary 1"}, "en headline 1", "en summary 1", "https://o1.example/a"),
        # the first report is already in the desk's language: the story's own title
        (("en", "ko"), "en", {}, "en headline 0", "en summary 0", "https://o0.example/a"),
        # no report in the desk's language: the story's own title
        (("ko", "ru"), "en", {}, "ko headline 0", "ko summary 0", "https://o0.example/a"),
        # no preference
        (("ko", "en"), None, {}, "ko headline 0", "ko summary 0", "https://o0.example/a"),
        # the English item is gone from the store: its headline, and no Korean summary under it
        (("ko", "en"), "en", {}, "en headline 1", "", "https://o1.example/a"),
    ],
)
def test_headline_in_the_destinations_language(langs: tuple[str, ...], language: str | None,
                                               summaries: dict[str, str], title: str, summary: str,
                                               headline_url: str) -> None:
    s, view = story(langs), Display(headline_language=language, summaries=summaries)
    for message in (alert_message(s, marker="m", watch_title="W", display=view),
                    update_message(s, marker="m", watch_title="W", display=view),
                    digest_message([s], marker="d", title="D", since=None, now=T, display=view)):
        card = message.stories[0]
        assert (card.title, card.summary, card.headline_link.url) == (title, summary, headline_url)
        assert card.first.url == "https://o0.example/a"  # "first reported by" stays the first report
    assert alert_message(s, marker="m", watch_title="W", display=view).title == title


def test_footers_do_not_repeat_the_story_id() -> None:
    s = story(("en", "ko", "ru"))
    alert = alert_message(s, marker="deskwatch:alert:s-1a2b3c4d:desk", watch_title="DPRK forces in Russia")
    update = update_message(s, marker="deskwatch:alert:s-1a2b3c4d:desk", watch_title="DPRK forces in Russia")
    assert alert.footer == "DPRK forces in Russia"
    assert update.footer == "DPRK forces in Russia · 3 sources"
    assert s.id in alert.marker  # what crash recovery looks for is still on the message
