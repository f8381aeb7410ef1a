"""A watch's start day (`since`): a dated item from before it is history, whatever its words say."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from bot.config.watch import load_watch
from bot.core.relevance.match import analyse, before_start, decide, doubtful, for_stories, match_item, needs_embedding
from bot.core.watch import Watch
from bot.model import Item

RAW = {
    "title": "Test watch",
    "threshold": 2.0,
    "rescue_from": 0.0,
    "since": "2022-02-24",
    "roles": {"actor": {"weight": 2, "en": ["North Korea*"]}, "place": {"weight": 1, "any": ["Kursk*"]}},
    "require": [["actor", "place"]],
}


def _watch() -> Watch:
    w, errors = load_watch("t", RAW, "watches[0]")
    assert w is not None, errors
    return w


WATCH = _watch()
TEXT = "North Korean troops seen near Kursk"


def _item(published: datetime, dated: bool = True) -> Item:
    return Item(key="k", feed="f", source="Desk", url="", title=TEXT, summary="", published=published,
                fetched=published, lang="en", dated=dated)


@pytest.mark.parametrize(("published", "dated", "history"), [
    (datetime(2016, 9, 29, tzinfo=UTC), True, True),
    (datetime(2022, 2, 23, 23, 59, tzinfo=UTC), True, True),   # the day before, to the minute
    (datetime(2022, 2, 24, 0, 0, tzinfo=UTC), True, False),    # the start day itself counts
    (datetime(2025, 3, 1, tzinfo=UTC), True, False),
    (datetime(2016, 9, 29, tzinfo=UTC), False, False),         # undated: the time is the fetch's, not the report's
])
def test_dated_items_before_the_start_are_history(published: datetime, dated: bool, history: bool) -> None:
    m = match_item(WATCH, _item(published, dated))
    assert (before_start(WATCH, _item(published, dated)) is not None) == history
    # the same words decide every other row: relevant unless the start rules the item out
    assert m.relevant is not history, m.reasons
    if history:
        assert m.score == 0.0
        assert m.reasons[0].startswith("published 20") and "2022-02-24" in m.reasons[0]
        assert m.reasons[1].startswith("without the start day, the terms alone would give p ")


def test_history_is_never_embedded_nor_claimed_by_a_story() -> None:
    old = _item(datetime(2018, 5, 4, tzinfo=UTC))
    a = analyse(WATCH, old)
    assert not needs_embedding(WATCH, a)
    # no story may claim it, even where the watch lets stories claim any filtered item
    assert WATCH.rescue_from == 0.0
    assert not doubtful(WATCH, decide(WATCH, a))
    assert not for_stories([WATCH], [decide(WATCH, a)])
    # while a report of the same words from after the start, filtered at p > 0, is in doubt
    assert doubtful(WATCH, replace(decide(WATCH, a), score=0.01))


def test_without_since_the_date_says_nothing() -> None:
    w = replace(WATCH, since=None)
    assert match_item(w, _item(datetime(2016, 9, 29, tzinfo=UTC))).relevant
    assert before_start(w, _item(datetime(1990, 1, 1, tzinfo=UTC))) is None


def test_the_shipped_watch_starts_with_the_full_scale_invasion() -> None:
    from tests.unit.test_watch import config_watch

    shipped = config_watch()
    assert shipped.since == date(2022, 2, 24)
    assert shipped.model is not None and shipped.model.probe is not None
    vector = [0.05] * len(shipped.model.probe.direction)  # offered, as the pipeline would
    text = ("North Korean troops fight in Russia's Kursk region",
            "Seoul's spy agency says hundreds of North Korean soldiers were killed near Kursk.")

    def report(day: datetime) -> Item:
        return Item(key="k", feed="f", source="Desk", url="", title=text[0], summary=text[1],
                    published=day, fetched=day, lang="en")

    assert match_item(shipped, report(datetime(2025, 1, 10, tzinfo=UTC)), vector).relevant
    old = match_item(shipped, report(datetime(2021, 1, 10, tzinfo=UTC)), vector)
    assert not old.relevant and old.score == 0.0 and "2022-02-24" in old.reasons[0]
