"""Splitting a run of entries into pages: each page is the longest run that still fits.

A digest page takes stories while the page still fits one platform message. Trying each
story in turn renders the whole page once per story (quadratic: seconds for a flood digest of a
few hundred stories, on the event loop). Fitting is monotone (a longer run never fits where a
shorter one did not), so a page's end is found by galloping from the last page's length and
bisecting: a few renders a page, with the same pages as trying each story in turn.
"""

from __future__ import annotations

from collections.abc import Callable


def split_pages(count: int, fits: Callable[[int, int], bool]) -> list[range]:
    """Pages over entries 0..count-1. `fits(start, end)`: entries start..end-1 fit on one page;
    monotone in `end`. A page holds at least one entry, fitting or not (an entry too long for any
    page is a page of its own), then every next entry while the run still fits."""
    pages: list[range] = []
    start, guess = 0, 1
    while start < count:
        end = _page_end(start, count, guess, fits)
        pages.append(range(start, end))
        guess = max(1, end - start)
        start = end
    return pages


def _page_end(start: int, count: int, guess: int, fits: Callable[[int, int], bool]) -> int:
    """The largest end in (start, count] with fits(start, end), or start + 1 when none is."""
    good, bad = start + 1, count + 1  # good: a known end (the lone entry is one); bad: known not to fit
    probe = min(count, start + max(2, guess))
    if probe > good:
        if fits(start, probe):  # gallop up from the last page's length, by doubling steps
            good, step = probe, 1
            while good < count:
                probe = min(count, good + step)
                if not fits(start, probe):
                    bad = probe
                    break
                good, step = probe, step * 2
        else:  # or down
            bad, step = probe, 1
            while bad - step > good:
                probe = bad - step
                if fits(start, probe):
                    good = probe
                    break
                bad, step = probe, step * 2
    while bad - good > 1:  # then bisect what is left between them
        mid = (good + bad) // 2
        if fits(start, mid):
            good = mid
        else:
            bad = mid
    return good
