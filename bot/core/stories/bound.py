"""How probable can a story be at most, cheaply: so that scoring skips the stories that cannot be
the closest one, with the very same choice, score and reasons as scoring every story.

Of ~24 candidate stories per item, most are other developments. Their core reports all share
with the report at most what the story's reports share together (their union: `Reach`), and the
costly signals are bounded anyway (shared words ≤ 1, headline similarity ≤ 1, mismatch ≥ 0);
the cheap ones (time apart, embedding cosine, named dates) are taken exactly. The model's logit
over the most favourable value of each signal bounds every core report's logit, so the sigmoid of
it bounds the story's probability (the best of its core reports' probabilities). `assign` scores
stories from the highest bound down and stops where the bound falls below the best score found: a
story skipped scores strictly less than the chosen one, so it could not have been chosen. The
bounds hold for signs the shipped weights have (entity weights, figure share, key minimum, entity
and stem values ≥ 0); with any other sign, nothing is skipped.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from bot.core.relevance.model import sigmoid
from bot.core.stories.compare import (
    CONTENT,
    CROSS_LANG_COS,
    ENTITY_CAP,
    FEATURE_ORDER,
    MAX_DAYS,
    SAME_LANG_COS,
    EntityWeights,
    PairLogit,
    Side,
    _cosine,
    _figures,
    named_dates,
)
from bot.core.watch import Watch

MARGIN = 1e-9  # far above the rounding of two ways to add the same ~20 terms, far below any score shown
_CONTENT_AT = tuple(FEATURE_ORDER.index(f) for f in CONTENT)
_ZEROS = [0.0] * len(CONTENT)
_ZEROS_8 = [0.0] * 8  # the lowest values of the content signals, in FEATURE_ORDER's first eight
# upper_p lists the bounds by position, in FEATURE_ORDER (tests/unit/test_bound.py holds it to that).


@dataclass(frozen=True)
class Reach:
    """What a story's core reports name together (per version of the story, with its fingerprint)."""

    entities: dict[str, float]  # the highest value any core report gives an entity
    names: frozenset[str]
    numbers: frozenset[int]
    dates: frozenset[str]
    stems: frozenset[str]
    signs_ok: bool  # every entity and stem value ≥ 0 (the bounds assume it)
    # Each core report's Side.micros when every one has one, else None (then upper_p takes its
    # general path)
    micros: tuple[int, ...] | None = None

    @staticmethod
    def of(cores: Sequence[Side]) -> Reach:
        ents: dict[str, float] = {}
        for c in cores:
            for e, v in c.facts.entities.items():
                ents[e] = max(v, ents.get(e, v))
        facts = [c.facts for c in cores]
        times = [c.micros for c in cores]
        return Reach(ents, frozenset().union(*(f.names for f in facts)), frozenset().union(*(f.numbers for f in facts)),
                     frozenset().union(*(f.dates for f in facts)), frozenset().union(*(c.stem_ids for c in cores)),
                     all(signs_ok(c) for c in cores),
                     None if None in times else tuple(t for t in times if t is not None))


def signs_ok(side: Side) -> bool:
    f = side.facts
    return all(v >= 0 for v in f.entities.values()) and all(v >= 0 for v in f.stems.values())


def upper_p(watch: Watch, me: Side, cores: Sequence[Side], reach: Reach, core_dots: Sequence[float | None],
            logit: PairLogit, weight: EntityWeights) -> float:
    """A probability no core report of the story reaches (inf when it cannot tell)."""
    a = me.facts
    rules = watch.stories
    if not cores or not reach.signs_ok or rules.key_min_weight < 0 or rules.round_figure_share < 0:
        return math.inf
    ent = 0.0
    for e in me.entity_ids.intersection(reach.entities):
        w = weight[e]
        if w < 0:
            return math.inf
        ent += min(a.entities[e], reach.entities[e]) * w
    nums = a.numbers & reach.numbers
    content = [min(ENTITY_CAP, ent), 2.0, float(min(2, len(a.names & reach.names))),
               _figures(watch, nums) if nums else 0.0, 1.0 if a.numbers else 0.0,
               0.0 if a.dates.isdisjoint(reach.dates) else 1.0,
               1.0 if a.stems and not me.stem_ids.isdisjoint(reach.stems) else 0.0, 1.0]  # highest values
    if a.vector is None and reach.micros is not None and (t := me.micros) is not None:
        # The common case: a dated report without an embedding, a story of dated reports. No
        # cosine, no time unknown; the days as side_values counts them (a timedelta's
        # total_seconds is its microseconds / 10**6).
        span = [min(MAX_DAYS, abs(t - u) / 10**6 / 86400) for u in reach.micros]
        return sigmoid(logit.upper([*_ZEROS_8, min(span), 0.0, 0.0, 0.0, 1.0, 0.0, *_ZEROS, 0.0, 0.0],
                                   [*content, max(span), 0.0, 0.0, 0.0, 1.0, 1.0, *_ZEROS, 0.0, 0.0]))
    # The cheap signals exactly as side_values has them, core by core (their range over the cores).
    days, unknown, same, cross, none, fits, far = [], [], [], [], [], [], []
    for core, dot in zip(cores, core_dots, strict=True):
        b = core.facts
        if a.published is not None and b.published is not None:
            days.append(min(MAX_DAYS, abs((a.published - b.published).total_seconds()) / 86400))
            unknown.append(0.0)
            fits.append(0.0)
            far.append(0.0)
        else:
            days.append(0.0)
            unknown.append(1.0)
            named = named_dates(me, core)
            fits.append(named[0])
            far.append(named[1])
        cos = _cosine(me, core, dot) if a.vector is not None else None
        same.append((cos - SAME_LANG_COS) * 10 if cos is not None and a.lang == b.lang else 0.0)
        cross.append((cos - CROSS_LANG_COS) * 10 if cos is not None and a.lang != b.lang else 0.0)
        none.append(1.0 if cos is None else 0.0)
    lo = [*_ZEROS_8, min(days), min(unknown), min(same), min(cross), min(none), 0.0]
    hi = [*content, max(days), max(unknown), max(same), max(cross), max(none), 1.0]
    if max(unknown) > 0:  # unknown_time×f is f or 0
        lo += [min(0.0, lo[i]) for i in _CONTENT_AT]
        hi += [max(0.0, hi[i]) for i in _CONTENT_AT]
    else:
        lo += _ZEROS
        hi += _ZEROS
    lo += [min(fits), min(far)]
    hi += [max(fits), max(far)]
    return sigmoid(logit.upper(lo, hi))
