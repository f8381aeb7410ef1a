"""Pure rendering and command wording: tables of cases, no I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.core import lookup
from bot.core.render import alert_message, digest_message, order_for_digest, short, thread_note, update_message
from bot.model import FeedState, Story, StorySource

T = datetime(2026, 1, 15, 9, 0, tzinfo=UTC)


def story(sid: str, n_sources: int, score: float = 2.0, hours: int = 0) -> Story:
    sources = tuple(
        StorySource(
            item_key=f"{sid}-{i}",
            outlet=f"Outlet {i}",
            url=f"https://o{i}.example/{sid}",
            lang=("en", "ko", "ru")[i % 3],
            published=T + timedelta(hours=hours + i),
            title=f"Title {i}",
            new_facts=("figure 3,000",) if i == 2 else (),
        )
        for i in range(n_sources)
    )
    return Story(
        id=sid,
        watch="dprk-russia",
        title=f"Story {sid}",
        summary="word " * 400,
        first_published=sources[0].published,
        last_published=sources[-1].published,
        sources=sources,
        score=score,
    )


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("short text", 50, "short text"),
        ("one two three four five six", 16, "one two three…"),
        ("one two three four five six", 12, "one two thr…"),
        ("  spaced\n\nout  ", 50, "spaced out"),
        ("abcdefghij", 5, "abcd…"),
    ],
)
def test_short(text: str, limit: int, expected: str) -> None:
    assert short(text, limit) == expected
    assert len(short(text, limit)) <= limit


def test_alert_carries_every_source_first_one_first() -> None:
    s = story("s-1", 3)
    m = alert_message(s, marker="deskwatch:alert:s-1:desk", watch_title="DPRK forces in Russia")
    [card] = m.stories
    assert m.kind == "alert" and m.marker == "deskwatch:alert:s-1:desk"
    assert card.first.outlet == "Outlet 0" and [link.outlet for link in card.links] == [
        "Outlet 0",
        "Outlet 1",
        "Outlet 2",
    ]
    assert card.languages == ("en", "ko", "ru") and len(card.summary) <= 600
    assert "s-1" not in m.footer and "s-1" in m.marker and card.severity == "high"


def test_update_marks_new_facts_and_counts_sources() -> None:
    m = update_message(story("s-2", 3), marker="x", watch_title="W")
    assert m.kind == "update" and m.stories[0].is_update and m.stories[0].new_facts == ("figure 3,000",)
    assert "3 sources" in m.footer
    note = thread_note(story("s-2", 3), marker="x")
    assert "Outlet 2" in note.text and "figure 3,000" in note.text


def test_digest_orders_strongest_first() -> None:
    a, b, c = story("s-a", 1, 1.5), story("s-b", 3, 1.5), story("s-c", 1, 4.0, hours=5)
    assert [s.id for s in order_for_digest([a, b, c])] == ["s-b", "s-c", "s-a"]
    m = digest_message([a, b, c], marker="d", title="Digest", since=T, now=T + timedelta(days=1))
    assert [card.story_id for card in m.stories] == ["s-b", "s-c", "s-a"] and m.text.startswith("3 stories")
    empty = digest_message([], marker="d", title="Digest", since=T, now=T)
    assert empty.text.startswith("Nothing new")
    assert digest_message([a], marker="d", title="Digest", since=None, now=T).text == "1 story, strongest first."


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ("help", [])),
        ("LATEST 5", ("latest", ["5"])),
        ('search "kim jong un" 3', ("search", ["kim jong un", "3"])),
        ('search "open quote', ("search", ["open", "quote"])),
        ("why https://x.example/a?b=1", ("why", ["https://x.example/a?b=1"])),
    ],
)
def test_split_command(text: str, expected: tuple[str, list[str]]) -> None:
    assert lookup.split_command(text) == expected


@pytest.mark.parametrize(
    ("check", "value", "ok"),
    [
        (lambda v: lookup.check_int(v, "count", 5, 1, 20), "7", 7),
        (lambda v: lookup.check_int(v, "count", 5, 1, 20), None, 5),
        (lambda v: lookup.check_int(v, "count", 5, 1, 20), "21", None),
        (lambda v: lookup.check_int(v, "count", 5, 1, 20), "x", None),
        (lambda v: lookup.check_text(v, "term", 10, 2), " a  b ", "a b"),
        (lambda v: lookup.check_text(v, "term", 10, 2), "x", None),
        (lambda v: lookup.check_text(v, "term", 10, 2), "y" * 11, None),
        (lookup.check_hours, "1.5", 1.5),
        (lookup.check_hours, "0", None),
        (lookup.check_hours, "1e9", None),
        (lookup.check_story_id, "S-1A2B3C4D", "s-1a2b3c4d"),
        (lookup.check_story_id, "1; DROP", None),
        (lookup.check_url, "<https://x.example/a>", "https://x.example/a"),
        (lookup.check_url, "javascript:alert(1)", None),
        (lookup.check_url, "https://x.example/" + "a" * 3000, None),
    ],
)
def test_validators(check, value, ok) -> None:  # type: ignore[no-untyped-def]
    if ok is None:
        with pytest.raises(lookup.BadArgument) as info:
            check(value)
        assert str(info.value).endswith(".")
    else:
        assert check(value) == ok


def test_feeds_table_puts_failing_first_with_their_error() -> None:
    states = [
        FeedState(name="good", url="u", last_success=T, last_attempt=T, next_poll=T + timedelta(minutes=5)),
        FeedState(name="bad", url="u", last_attempt=T, consecutive_failures=4, last_error="timed out after 30 s"),
    ]
    m = lookup.feeds_message(states, T + timedelta(minutes=1))
    lines = m.code.splitlines()
    assert lines[1].startswith("bad") and "FAIL" in lines[1] and "timed out" in lines[1]
    assert lines[2].startswith("good") and "1m ago" in lines[2] and "in 4m" in lines[2]
    assert m.text == "2 feeds, 1 failing."


def test_help_lists_every_subcommand() -> None:
    code = lookup.help_message().code
    for name in (
        "latest",
        "search",
        "story",
        "feeds",
        "status",
        "subscribe",
        "unsubscribe",
        "mute",
        "unmute",
        "digest",
        "why",
        "help",
    ):
        assert f"/deskwatch {name}" in code
