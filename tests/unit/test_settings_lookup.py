"""Settings.feed(): a lookup by name (not a scan per call) that keeps Settings frozen."""

from __future__ import annotations

import dataclasses
from dataclasses import replace

import pytest

from bot.settings import FeedSettings, Settings


def _feed(name: str, url: str = "https://example.org/feed.xml") -> FeedSettings:
    return FeedSettings(name=name, url=url, language="en")


SETTINGS = Settings(feeds=(_feed("a"), _feed("b"), _feed("a", "https://second.example/a.xml")), watches=())


@pytest.mark.parametrize(
    ("name", "url"),
    [("a", "https://example.org/feed.xml"), ("b", "https://example.org/feed.xml"), ("c", None), ("", None)],
)
def test_feed_by_name_first_of_a_name_wins(name: str, url: str | None) -> None:
    feed = SETTINGS.feed(name)
    assert (feed.url if feed else None) == url


def test_replace_sees_the_new_feeds_and_leaves_the_old_settings_alone() -> None:
    assert SETTINGS.feed("a") is not None  # the old object's lookup is built first
    other = replace(SETTINGS, feeds=(_feed("c"),))
    assert other.feed("c") == _feed("c") and other.feed("a") is None
    assert SETTINGS.feed("c") is None


def test_settings_stay_frozen_and_compare_by_their_fields() -> None:
    SETTINGS.feed("a")
    with pytest.raises(dataclasses.FrozenInstanceError):
        SETTINGS.feeds = ()  # type: ignore[misc]
    assert replace(SETTINGS) == SETTINGS
    assert [f.name for f in dataclasses.fields(Settings)].count("_feeds_by_name") == 0
    assert "_feeds_by_name" not in repr(SETTINGS)
