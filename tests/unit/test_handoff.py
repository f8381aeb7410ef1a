"""The bounded hand-off between fetching and processing (bot/handoff.py): full concurrency while
nothing waits, then at most `held` feeds fetched or fetching; fetches without a body hold
nothing, and a cancelled feed gives its place back. Driven by events, not clocks."""

from __future__ import annotations

import asyncio

import pytest

from bot.handoff import Handoff


async def test_fetching_pauses_while_processing_is_behind() -> None:
    handoff = Handoff(fetches=3, held=5)
    started: list[int] = []
    process = asyncio.Event()  # processing is stuck until set
    most_fetching = 0

    async def feed(n: int) -> None:
        nonlocal most_fetching
        async with handoff.turn() as turn:
            started.append(n)
            most_fetching = max(most_fetching, handoff.fetching)
            await asyncio.sleep(0)  # the fetch
            turn.fetched(body=True)
            await process.wait()

    tasks = [asyncio.create_task(feed(n)) for n in range(20)]
    for _ in range(20):
        await asyncio.sleep(0)
    # nothing waited: three fetches at once; as bodies arrived, two more (5 held or fetching);
    # with five bodies waiting for processing, no fetch starts
    assert started == [0, 1, 2, 3, 4] and handoff.holding == 5 and handoff.fetching == 0
    process.set()
    await asyncio.gather(*tasks)
    assert started == list(range(20))  # all of them, in the order they asked
    assert most_fetching <= 3 and handoff.peak_holding <= 5
    assert (handoff.fetching, handoff.holding) == (0, 0)


async def test_a_fetch_without_a_body_holds_nothing() -> None:
    handoff = Handoff(fetches=2, held=1)
    done = 0

    async def not_modified() -> None:
        nonlocal done
        async with handoff.turn() as turn:
            await asyncio.sleep(0)
            turn.fetched(body=False)
            assert handoff.holding == 0
            done += 1

    await asyncio.gather(*(not_modified() for _ in range(10)))
    assert done == 10 and handoff.peak_holding == 0


async def test_a_feed_that_fails_or_is_cancelled_gives_its_place_back() -> None:
    handoff = Handoff(fetches=1, held=1)
    first_in = asyncio.Event()
    release = asyncio.Event()

    async def holder() -> None:
        async with handoff.turn():
            first_in.set()
            await release.wait()
            raise RuntimeError("the fetch blew up")

    async def waiter() -> None:
        async with handoff.turn():
            pass

    a = asyncio.create_task(holder())
    await first_in.wait()
    b = asyncio.create_task(waiter())
    await asyncio.sleep(0)
    b.cancel()  # cancelled while waiting for room
    with pytest.raises(asyncio.CancelledError):
        await b
    release.set()
    with pytest.raises(RuntimeError):
        await a
    assert (handoff.fetching, handoff.holding) == (0, 0)
    await asyncio.wait_for(waiter(), timeout=5)  # the place is free again
