"""The bounded hand-off between fetching feeds and processing them, so bodies cannot pile up.

Fetching is fast and processing (parse, normalise, store, match) is CPU-bound: left alone, every
due feed is fetched long before its turn comes, and the cycle holds every body and every Item of
the cycle at once. Here, while no fetched feed waits for processing, feeds fetch at full
concurrency (`fetches`); once some wait, a feed starts fetching only while fewer than `held` feeds
are fetched-and-waiting or fetching. So when processing falls behind, fetching pauses and the
feeds holding a body stay within `held` (within `fetches` after a burst started while none
waited), whatever the number of feeds; and the few fetches in flight meanwhile are ready when
processing wants them, so it does not idle waiting for a round trip. A fetch that brings no body (304, an
error) holds nothing, so an unchanged cycle fetches at full concurrency. Waiting feeds start in
the order they asked.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator

# Feeds fetched (waiting for processing, or in it) or fetching, once processing is behind. The
# fetches in flight must land before the held ones are done, or processing idles: a cold feed
# takes ~0.15 s to process (50 long items), so 12 cover a round trip of over a second. Fewer held
# also means each feed's items are matched sooner (feeds share the story lock item by item), so
# its alerts go out sooner.
HELD = 12


class Handoff:
    def __init__(self, fetches: int, held: int = HELD) -> None:
        self.fetches, self.held = max(1, fetches), max(1, held)
        self.fetching = 0  # feeds let in and still fetching
        self.holding = 0  # feeds fetched with a body and not yet processed
        self.peak_holding = 0  # for tests and benches: the most held at once
        self._waiting: deque[asyncio.Future[None]] = deque()

    @contextlib.asynccontextmanager
    async def turn(self) -> AsyncIterator[Turn]:
        """One feed's turn: entered when it may fetch; call `fetched` once the fetch is done."""
        await self._enter()
        turn = Turn(self)
        try:
            yield turn
        finally:
            turn.done()

    def _room(self) -> bool:
        if self.fetching >= self.fetches:
            return False
        return self.holding == 0 or self.holding + self.fetching < self.held

    async def _enter(self) -> None:
        if not self._waiting and self._room():
            self.fetching += 1
            return
        waiter = asyncio.get_running_loop().create_future()
        self._waiting.append(waiter)
        try:
            await waiter  # _wake counted us in before setting the result
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():  # let in, then cancelled: give the place back
                self.fetching -= 1
                self._wake()
            raise

    def _wake(self) -> None:
        while self._waiting and self._room():
            waiter = self._waiting.popleft()
            if not waiter.done():
                self.fetching += 1
                waiter.set_result(None)


class Turn:
    def __init__(self, handoff: Handoff) -> None:
        self._h = handoff
        self._state = "fetching"  # then "holding" (a body to process) or "free", then "done"

    @property
    def held(self) -> int:
        """Feeds holding a body now (waiting for processing, or in it), this one included."""
        return self._h.holding

    def fetched(self, body: bool) -> None:
        """The fetch is over; `body`: the feed now holds a body to process until its turn ends."""
        if self._state != "fetching":
            return
        h = self._h
        h.fetching -= 1
        if body:
            h.holding += 1
            h.peak_holding = max(h.peak_holding, h.holding)
        self._state = "holding" if body else "free"
        h._wake()

    def done(self) -> None:
        h, state = self._h, self._state
        self._state = "done"
        if state == "fetching":
            h.fetching -= 1
        elif state == "holding":
            h.holding -= 1
        else:
            return
        h._wake()
