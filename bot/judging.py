"""Judging a feed's items ahead, in the parse worker, when the watches' terms alone decide them.

Matching an item costs the bot process ~0.6 ms (reading it for every watch's terms), and a cold
cycle is bound by that process while the parse worker's core is half idle. So the worker, given
the watches, may judge the items it has just normalised: each item's Match by every watch, when
no watch needs the item's embedding (only the bot process has the embedder). The bot records
the items every watch filtered from those matches. For the few some watch sends to stories
(relevant, or doubted: a story may claim it), the worker also ships the readings they were
judged by and their facts (what story merging compares): reading an item and computing its facts
cost the bot ~0.5 ms each, unpickling both ~0.15 ms. Items the worker did not judge the bot
judges itself, in full, as before.

A Match is a pure function of the watch and the item (bot/core/relevance/match.py), so the
worker's equals the one the bot would compute (tests/integration/test_judged_ahead.py holds them
equal). The watches cross to the worker once per worker process, known after that by a digest.
"""

from __future__ import annotations

import hashlib
import pickle
from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.core.relevance.match import Analysis, analyse, decide, for_stories, needs_embedding
from bot.core.stories.facts import Facts, item_facts
from bot.core.watch import Watch
from bot.model import Item, Match

# Items of one body judged ahead at most: the worker's time budget covers the parse of a huge
# feed; the rest are judged in the bot process.
MOST_AHEAD = 500

Judgement = tuple[Match, ...] | None  # one Match per watch, in the watches' order; None: not judged


@dataclass(frozen=True)
class Prepared:
    """What the story step needs of an item, read by one watch in the worker: its analysis, and
    its facts without the embedding (only the bot has the embedder), its time being the entry's
    (an undated one's: the time it was first seen, as in every live poll)."""

    analysis: Analysis
    facts: Facts


Readings = tuple[Prepared, ...] | None  # one per watch, for an item that goes to stories


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


def judge(watches: Sequence[Watch], item: Item, embedder: bool
          ) -> tuple[tuple[Match, ...], tuple[Analysis, ...]] | None:
    """Every watch's Match of the item, as the bot would decide it, with the analysis it was
    decided by; None when a watch needs the embedding (and the bot has an embedder to compute it)."""
    matches, analyses = [], []
    for watch in watches:
        analysis = analyse(watch, item)
        if embedder and needs_embedding(watch, analysis):
            return None
        matches.append(decide(watch, analysis, None))
        analyses.append(analysis)
    return tuple(matches), tuple(analyses)


# In the worker process: the watches it was sent, by digest (only the latest is kept).
_held: dict[str, tuple[Watch, ...]] = {}


def judge_and_read_all(items: Sequence[Item], ahead: Ahead | None
                       ) -> tuple[tuple[Judgement, ...], tuple[Readings, ...]]:
    """In the worker: the judgement of each item (the first MOST_AHEAD), or () when there are no
    watches to judge with (the bot then judges every item itself). And for each item some watch
    sends to stories (relevant or doubted), the readings it was judged by with its facts: the bot
    needs them for its story, and computing them costs more than their pickle. The rest, most
    items, ship none."""
    if ahead is None:
        return (), ()
    if ahead.watches is not None:
        _held.clear()
        _held[ahead.digest] = ahead.watches
    watches = _held.get(ahead.digest)
    if watches is None:
        return (), ()
    judged: list[Judgement] = []
    readings: list[Readings] = []
    for item in items[:MOST_AHEAD]:
        read = _judge_or_leave(watches, item, ahead.embedder)
        judged.append(None if read is None else read[0])
        readings.append(_prepared(watches, item, read[1]) if read is not None and for_stories(watches, read[0])
                        else None)
    return tuple(judged), tuple(readings)


def _prepared(watches: Sequence[Watch], item: Item, analyses: tuple[Analysis, ...]) -> Readings:
    try:
        return tuple(Prepared(a, item_facts(w, item, a.reading, None, first_seen_is_time=True))
                     for w, a in zip(watches, analyses, strict=True))
    except MemoryError:
        raise
    except Exception:  # the bot reads it again itself, and fails on it as it always did
        return None


def _judge_or_leave(watches: Sequence[Watch], item: Item, embedder: bool
                    ) -> tuple[tuple[Match, ...], tuple[Analysis, ...]] | None:
    try:
        return judge(watches, item, embedder)
    except MemoryError:
        raise  # the worker's budget: it answers so and is replaced
    except Exception:  # left to the bot, which fails on it as it always did: never a lost feed
        return None
