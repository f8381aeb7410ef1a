"""url_date: the day an article link names in its path, and nothing that merely looks like one."""

from __future__ import annotations

from datetime import date

import pytest

from bot.core.feed.url_dates import url_date


@pytest.mark.parametrize(
    ("url", "day"),
    [
        ("https://example.org/2025/01/28/north-korean-weapon", date(2025, 1, 28)),
        ("https://example.org/news/2024-11-05-troops-arrive", date(2024, 11, 5)),
        ("https://example.org/a/20241105/123.html", date(2024, 11, 5)),
        ("https://example.org/2024_03_09_story", date(2024, 3, 9)),
        ("https://example.org/2024/02/30/x/2024/03/01/y", date(2024, 3, 1)),  # the first valid one
        ("https://example.org/2024/03/story", None),  # year and month only
        ("https://example.org/2024/11-05/story", None),  # two different separators
        ("https://example.org/2024/02/30/story", None),  # no such day
        ("https://example.org/1999/12/31/story", None),  # before the years it reads
        ("https://example.org/news/1709068934.html", None),  # perhaps a timestamp, perhaps an id
        ("https://example.org/article/120241105", None),  # digits run on: an id, not a date
        ("https://example.org/story?date=2024-11-05", None),  # the query is not the path
        ("https://2024-11-05.example.org/story", None),  # nor is the host
        ("", None),
        ("not a url [", None),
    ],
)
def test_url_date(url: str, day: date | None) -> None:
    assert url_date(url) == day
