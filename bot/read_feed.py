"""Read a fetched body into the Items to store: parse, then normalise.

On a feed's first poll every entry is new: it is parsed and normalised in one round trip to the
parse worker (bot/parse_worker.py: the second core, and the time and memory budget). Later polls
of a feed that changed mostly repeat known entries, and the summary's HTML is the costly part of
normalising: so the worker keys the entries first (a GUID or a link needs none of the text), the
store says which keys it holds, and only the others are normalised. The Items stored are the same
as when every entry is normalised: an entry whose key is stored is a duplicate of itself, which
`add_items` does not store and `record_duplicates` ignores, and it cannot make a later entry of
the batch a duplicate either (only stored rows can).

With the watches (`ahead`), a read of every entry may also judge the items in the worker
(bot/judging.py): it does unless more feeds wait for the worker than for the bot process, by
more than a few (`judge_in_worker`; the feeds holding a body are in one or the other). The bot
process, the busier side of a cold cycle, then only records the items every watch filtered; when
the worker falls behind, the bot judges the next feeds' items itself, so the two cores share the
work whatever their speeds.

`reading_in_process` wraps a plain parse (tests inject theirs) and normalises in this process.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import replace
from datetime import datetime

from bot import parse_worker
from bot.core.feed.read import KeyedFeed, ReadFeed, keyed, normalize_all, read_all
from bot.judging import Ahead, judge_and_read_all
from bot.model import Entry, Item, ParsedFeed
from bot.parse_worker import AsyncParse
from bot.settings import FeedSettings

# The keys among these the store already holds.
KnownKeys = Callable[[Sequence[str]], Awaitable[Collection[str]]]
# body, feed, fetch time, the store's key lookup (None: every entry is taken as new), and the
# watches to judge the items with (None: the caller judges them).
AsyncRead = Callable[[bytes, FeedSettings, datetime, KnownKeys | None, Ahead | None], Awaitable[ReadFeed]]
Normalise = Callable[[Sequence[Entry], FeedSettings, datetime], Awaitable[tuple[Item, ...] | str]]


async def read_budgeted(body: bytes, feed: FeedSettings, fetched: datetime,
                        known: KnownKeys | None = None, ahead: Ahead | None = None) -> ReadFeed:
    """The live poll's read: in the shared parse worker, within its budget."""
    worker = parse_worker.shared()
    if known is None:
        spare = ahead is not None and judge_in_worker(worker.queued + 1, ahead.held)
        return await worker.read(body, feed, fetched, ahead if spare else None)
    return await _unknown_only(await worker.keys(body, feed), feed, fetched, known, worker.normalise)


# How many feeds more the worker's queue may hold than the bot's and still judge its items. At a
# cold cycle's start every fetched feed is at the worker (32 at once, `polling.concurrency`) and
# none waits at the bot: with no slack the bot judged all of those feeds' items while the worker
# only parsed them. Measured (README, Polling): realistic cold cycle of 200 feeds ~11% shorter
# with 8, ~3% of 500 feeds; 16 made the worker the busier process.
AHEAD_SLACK = 8


def judge_in_worker(at_worker: int, held: int) -> bool:
    """Whether the worker judges a feed's items: `at_worker` feeds queued at the worker with this
    one, `held` feeds holding a body in all (the rest wait for the bot process). Judging in the
    worker moves CPU to the second core but makes the bot wait longer for the feed, so the worker
    judges while its queue is no longer than the bot's by more than AHEAD_SLACK."""
    return at_worker <= held - at_worker + AHEAD_SLACK


def reading_in_process(parse: AsyncParse) -> AsyncRead:
    """A read that parses with `parse` and normalises here (tests, and a caller without a worker)."""

    async def normalise(entries: Sequence[Entry], feed: FeedSettings, fetched: datetime) -> tuple[Item, ...]:
        return normalize_all(entries, feed, fetched)

    async def read(body: bytes, feed: FeedSettings, fetched: datetime, known: KnownKeys | None = None,
                   ahead: Ahead | None = None) -> ReadFeed:
        parsed = await parse(body, feed.url)
        if known is None:
            read = read_all(parsed, feed, fetched)
            judged, readings = judge_and_read_all(read.items, ahead)  # as the worker would
            return replace(read, judged=judged, readings=readings)
        return await _unknown_only(keyed(parsed, feed), feed, fetched, known, normalise)

    return read


async def _unknown_only(parse: KeyedFeed, feed: FeedSettings, fetched: datetime, known: KnownKeys,
                        normalise: Normalise) -> ReadFeed:
    parsed = parse.parsed
    if not parsed.is_feed:
        return ReadFeed(parsed, (), 0)
    stored = set(await known([k for k in parse.keys if k is not None]))
    fresh = [e for e, k in zip(parsed.entries, parse.keys, strict=True) if k is None or k not in stored]
    items = await normalise(fresh, feed, fetched) if fresh else ()
    if isinstance(items, str):  # the normalising round trip ran over budget
        return ReadFeed(ParsedFeed(entries=(), is_feed=False, problem=items), (), 0)
    return ReadFeed(replace(parsed, entries=()), items, len(parsed.entries))
