"""Judging a feed's items ahead, in the parse worker, when the watches' terms alone decide them.

Matching an item costs the bot process ~0.6 ms (reading it for every watch's terms), and a cold
cycle is bound by that process while the parse worker's core is half idle. So the worker, given
the watches, may judge the items it has just normalised: each item's Match by every watch, when
no watch needs the item's embedding (only the bot process has the embedder). The bot records
the items every watch filtered from those matches and judges the others itself, in full, as
before: the few some watch finds relevant need the whole reading for their story anyway.

A Match is a pure function of the watch and the item (bot/core/relevance/match.py), so the
worker's equals the one the bot would compute (tests/integration/test_judged_ahead.py holds them
equal). The watches cross to the worker once per worker process, known after that by a digest.
"""

from __future__ import annotations

import hashlib
import pickle
from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.core.relevance.match import analyse, decide, needs_embedding
from bot.core.watch import Watch
from bot.model import Item, Match

# Items of one body judged ahead at most: the worker's time budget covers the parse of a huge
# feed; the rest are judged in the bot process.
MOST_AHEAD = 500

Judgement = tuple[Match, ...] | None  # one Match per watch, in the watches' order; None: not judged


@dataclass(frozen=True)
class Ahead:
    """What the worker needs to judge items: the watches (None once the worker holds them) by
    their digest, and whether the bot has an embedder (then items that need it are not judged).
    `held`: for the reader's choice to ask at all (bot/read_feed.py), the feeds holding a body
    (bot/handoff.py) when this one was read, itself included."""

    digest: str
    embedder: bool
    watches: tuple[Watch, ...] | None = field(default=None, compare=False)
    held: int = field(default=0, compare=False)

    def without_watches(self) -> Ahead:
        return Ahead(self.digest, self.embedder, held=self.held)


def ahead_for(watches: tuple[Watch, ...], embedder: bool) -> Ahead:
    return Ahead(hashlib.sha256(pickle.dumps(watches)).hexdigest(), embedder, watches)


def judge(watches: Sequence[Watch], item: Item, embedder: bool) -> Judgement:
    """Every watch's Match of the item, as the bot would decide it, or None when a watch needs
    the embedding (and the bot has an embedder to compute it)."""
    matches = []
    for watch in watches:
        analysis = analyse(watch, item)
        if embedder and needs_embedding(watch, analysis):
            return None
        matches.append(decide(watch, analysis, None))
    return tuple(matches)


# In the worker process: the watches it was sent, by digest (only the latest is kept).
_held: dict[str, tuple[Watch, ...]] = {}


def judge_all(items: Sequence[Item], ahead: Ahead | None) -> tuple[Judgement, ...]:
    """In the worker: the judgement of each item (the first MOST_AHEAD), or () when there are no
    watches to judge with (the bot then judges every item itself)."""
    if ahead is None:
        return ()
    if ahead.watches is not None:
        _held.clear()
        _held[ahead.digest] = ahead.watches
    watches = _held.get(ahead.digest)
    if watches is None:
        return ()
    return tuple(_judge_or_leave(watches, item, ahead.embedder) for item in items[:MOST_AHEAD])


def _judge_or_leave(watches: Sequence[Watch], item: Item, embedder: bool) -> Judgement:
    try:
        return judge(watches, item, embedder)
    except MemoryError:
        raise  # the worker's budget: it answers so and is replaced
    except Exception:  # left to the bot, which fails on it as it always did: never a lost feed
        return None
