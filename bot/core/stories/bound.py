"""How probable can a story be at most, cheaply: so that scoring skips the stories that cannot be
the closest one, with the very same choice, score and reasons as scoring every story.

Of ~24 candidate stories per item, most are other developments. Their core reports all share
with the report at most what the story's reports share together (their union: `Reach`), and the
costly signals are bounded anyway (shared words ≤ 1, headline similarity ≤ 1, mismatch ≥ 0);
the cheap ones (time apart, embedding cosine) are taken exactly. The model's logit over the most
favourable value of each signal bounds every core report's logit, so the sigmoid of it bounds
the story's probability (a mean of its core reports' probabilities). `assign` scores stories
from the highest bound down and stops where the bound falls below the best score found: a story
skipped scores strictly less than the chosen one, so it could not have been chosen. The bounds
hold for signs the shipped weights have (entity weights, figure share, key minimum, entity and
stem values ≥ 0); with any other sign, nothing is skipped.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from bot.core.relevance.model import sigmoid
from bot.core.stories.compare import (
    CONTENT,
    CROSS_LANG_COS,
    FEATURE_ORDER,
    MAX_DAYS,
    SAME_LANG_COS,
    EntityWeights,
    PairLogit,
    Side,
    _cosine,
    _figures,
)
from bot.core.watch import Watch

MARGIN = 1e-9  # far above the rounding of two ways to add the same ~20 terms, far below any score shown
_AT = {f: i for i, f in enumerate(FEATURE_ORDER)}
_UNKNOWN_TIME = tuple((_AT[f], _AT[f"unknown_time×{f}"]) for f in CONTENT)


@dataclass(frozen=True)
class Reach:
    """What a story's core reports name together (per version of the story, with its fingerprint)."""

    entities: dict[str, float]  # the highest value any core report gives an entity
    names: frozenset[str]
    numbers: frozenset[int]
    dates: frozenset[str]
    stems: frozenset[str]
    signs_ok: bool  # every entity and stem value ≥ 0 (the bounds assume it)

    @staticmethod
    def of(cores: Sequence[Side]) -> Reach:
        ents: dict[str, float] = {}
        for c in cores:
            for e, v in c.facts.entities.items():
                ents[e] = max(v, ents.get(e, v))
        facts = [c.facts for c in cores]
        return Reach(ents, frozenset().union(*(f.names for f in facts)), frozenset().union(*(f.numbers for f in facts)),
                     frozenset().union(*(f.dates for f in facts)), frozenset().union(*(c.stem_ids for c in cores)),
                     all(signs_ok(c) for c in cores))


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
    for e in me.entity_ids & reach.entities.keys():
        w = weight[e]
        if w < 0:
            return math.inf
        ent += min(a.entities[e], reach.entities[e]) * w
    nums = a.numbers & reach.numbers
    lo = [0.0] * len(FEATURE_ORDER)
    hi = [min(3.0, ent), 2.0, float(min(2, len(a.names & reach.names))), _figures(watch, nums) if nums else 0.0,
          1.0 if a.numbers else 0.0, 0.0 if a.dates.isdisjoint(reach.dates) else 1.0,
          1.0 if a.stems and not me.stem_ids.isdisjoint(reach.stems) else 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0,
          0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    # The cheap signals, exactly as side_values has them, core by core: their range over the cores.
    exact: list[tuple[float, float, float, float, float]] = []
    for core, dot in zip(cores, core_dots, strict=True):
        b = core.facts
        if a.published is not None and b.published is not None:
            days, unknown = min(MAX_DAYS, abs((a.published - b.published).total_seconds()) / 86400), 0.0
        else:
            days, unknown = 0.0, 1.0
        cos = _cosine(me, core, dot) if a.vector is not None else None
        same = cos is not None and a.lang == b.lang
        cross = cos is not None and a.lang != b.lang
        exact.append((days, unknown, (cos - SAME_LANG_COS) * 10 if same else 0.0,  # type: ignore[operator]
                      (cos - CROSS_LANG_COS) * 10 if cross else 0.0, 1.0 if cos is None else 0.0))  # type: ignore[operator]
    for k, i in enumerate((_AT["days_apart"], _AT["time_unknown"], _AT["cosine"], _AT["cosine_cross"],
                           _AT["no_vector"])):
        lo[i] = min(x[k] for x in exact)
        hi[i] = max(x[k] for x in exact)
    if hi[_AT["time_unknown"]] > 0:
        for f, uf in _UNKNOWN_TIME:
            lo[uf], hi[uf] = min(0.0, lo[f]), max(0.0, hi[f])
    return sigmoid(logit.upper(lo, hi))
