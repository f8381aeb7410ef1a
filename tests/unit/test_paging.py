"""Pages of a long digest: split_pages finds each page's end in a few tries, and digest_pages
gives exactly the pages of trying every story in turn, on each platform's own message limits."""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.digest_pages import PLATFORMS, ROW, PartsOnly, T, one_by_one_pages, stories
from bot.core.paging import split_pages
from bot.outbox import digest_pages
from bot.platforms.base import Sink


def one_by_one(count: int, fits: Callable[[int, int], bool]) -> list[range]:
    """The reference: a page takes the next entry while the longer run still fits."""
    pages: list[range] = []
    for i in range(count):
        if pages and fits(pages[-1].start, i + 1):
            pages[-1] = range(pages[-1].start, i + 1)
        else:
            pages.append(range(i, i + 1))
    return pages


def by_size(sizes: list[int], room: int) -> Callable[[int, int], bool]:
    return lambda a, b: sum(sizes[a:b]) <= room


@pytest.mark.parametrize(
    ("sizes", "room", "pages"),
    [
        ([], 10, []),
        ([3], 1, [range(0, 1)]),  # too long for any page: a page of its own
        ([3, 3, 3], 10, [range(0, 3)]),
        ([3, 3, 3, 3], 6, [range(0, 2), range(2, 4)]),
        ([9, 1, 1, 9, 1], 10, [range(0, 2), range(2, 4), range(4, 5)]),
        ([20, 1, 20], 10, [range(0, 1), range(1, 2), range(2, 3)]),
    ],
)
def test_pages_of_runs_that_fit(sizes: list[int], room: int, pages: list[range]) -> None:
    assert split_pages(len(sizes), by_size(sizes, room)) == pages


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(1, 40), max_size=80), st.integers(1, 200))
def test_the_same_pages_as_trying_every_entry(sizes: list[int], room: int) -> None:
    assert split_pages(len(sizes), by_size(sizes, room)) == one_by_one(len(sizes), by_size(sizes, room))


def test_a_digest_that_fits_one_page_takes_a_few_tries_not_one_per_story() -> None:
    tries: list[int] = []

    def fits(a: int, b: int) -> bool:
        tries.append(b - a)
        return True

    assert split_pages(1000, fits) == [range(0, 1000)]
    assert len(tries) <= 12  # doubling: 2, 3, 5, 9, ... 1000


def test_pages_of_one_length_take_two_tries_each_after_the_first() -> None:
    tries: list[int] = []

    def fits(a: int, b: int) -> bool:
        tries.append(b - a)
        return b - a <= 10

    assert split_pages(1000, fits) == [range(n, n + 10) for n in range(0, 1000, 10)]
    assert len(tries) <= 10 + 2 * 99  # the last page's length fits, one more does not


@pytest.mark.parametrize("platform", sorted(PLATFORMS))
@pytest.mark.parametrize(("n", "seed"), [(0, 0), (1, 0), (7, 1), (40, 2), (120, 3)])
def test_digest_pages_are_the_pages_of_trying_every_story(platform: str, n: int, seed: int) -> None:
    ss = stories(n, seed)
    got = digest_pages(cast(Sink, PartsOnly(PLATFORMS[platform])), ss, ROW, T, 1.0)
    assert got == one_by_one_pages(PLATFORMS[platform], ss, ROW, T)
    if platform != "webhook" and n >= 120:
        assert len(got) > 1  # the case that matters: a digest longer than one message
