"""Two reports side by side: the named signals that say whether they tell one development.

Every signal is a number a fitted model weighs (`pair_features`) and a phrase `why` shows
(`pair_evidence`). Entities, figures and dates compare across languages; words and headline
similarity only within one; the embedding compares any two languages, with its own scale
across languages (cosines between languages run lower for the same meaning).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from rapidfuzz import fuzz

from bot.core.stories.facts import Facts
from bot.core.watch import Watch

ENTITY_CAP = 3.0
MAX_DAYS = 10.0  # beyond this, further days say nothing more
SAME_LANG_COS = 0.87  # typical cosine of two reports of one topic, different developments (same language)
CROSS_LANG_COS = 0.81  # the same across languages
CONTENT = ("entities", "figures", "words", "headline", "cosine", "cosine_cross")
PAIR_FEATURES = ("entities", "entity_mismatch", "names", "figures", "figure_conflict", "dates", "words",
                 "headline", "days_apart", "time_unknown", "year_conflict", "cosine", "cosine_cross",
                 "no_vector", *(f"unknown_time×{f}" for f in CONTENT))


def _weight(watch: Watch, entity_id: str) -> float:
    ent = watch.entity(entity_id)
    return ent.weight if ent is not None else 0.0


def _figures(watch: Watch, shared: frozenset[int]) -> float:
    """Round figures (3,000; 100) are said of many things; 13,000 or 101 point at one report."""
    share = watch.stories.round_figure_share
    each = sorted((1.0 if len(str(n).rstrip("0")) > 1 else share for n in shared), reverse=True)
    return sum(each[:2])


def cosine(a: tuple[float, ...] | None, b: tuple[float, ...] | None) -> float | None:
    if a is None or b is None or len(a) != len(b):
        return None
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    na, nb = math.sqrt(sum(x * x for x in a)), math.sqrt(sum(y * y for y in b))
    return dot / (na * nb) if na and nb else None


def pair_features(watch: Watch, a: Facts, b: Facts) -> dict[str, float]:
    key_min = watch.stories.key_min_weight
    shared = set(a.entities) & set(b.entities)
    ent = min(ENTITY_CAP, sum(min(a.entities[e], b.entities[e]) * _weight(watch, e) for e in shared))
    own = [e for e, w in a.entities.items() if w >= 1.0 and e not in b.entities and _weight(watch, e) >= key_min]
    theirs = [e for e, w in b.entities.items() if w >= 1.0 and e not in a.entities and _weight(watch, e) >= key_min]
    mismatch = min(2.0, sum(_weight(watch, e) for e in own) + sum(_weight(watch, e) for e in theirs))
    nums = a.numbers & b.numbers
    same_lang = a.lang == b.lang
    words = 0.0
    if a.stems and b.stems:
        common = sum(min(a.stems[s], b.stems[s]) for s in set(a.stems) & set(b.stems))
        words = common / math.sqrt(sum(a.stems.values()) * sum(b.stems.values()))
    headline = 0.0
    if same_lang and a.text and b.text:
        headline = max(0.0, fuzz.token_sort_ratio(a.text, b.text) - 40.0) / 60.0
    if a.published is not None and b.published is not None:
        days, unknown = min(MAX_DAYS, abs((a.published - b.published).total_seconds()) / 86400), 0.0
    else:
        days, unknown = 0.0, 1.0
    cos = cosine(a.vector, b.vector) if a.vector is not None else None  # a report without one: no signal
    out = {
        "entities": ent,
        "entity_mismatch": mismatch,
        "names": float(min(2, len(a.names & b.names))),
        "figures": _figures(watch, frozenset(nums)),
        "figure_conflict": float(bool(a.numbers and b.numbers and not nums)),
        "dates": float(bool(a.dates & b.dates)),
        "words": words,
        "headline": headline,
        "days_apart": days,
        "time_unknown": unknown,
        "cosine": (cos - SAME_LANG_COS) * 10 if cos is not None and same_lang else 0.0,
        "cosine_cross": (cos - CROSS_LANG_COS) * 10 if cos is not None and not same_lang else 0.0,
        "no_vector": float(cos is None),
        "year_conflict": float(_years_conflict(a, b)),
    }
    # When either report's time is unknown, content has to carry the decision alone: the same
    # signals get their own weights there (a separate slope, not only a lower intercept).
    for f in CONTENT:
        out[f"unknown_time×{f}"] = out[f] * unknown
    return out


def _years(f: Facts) -> set[int]:
    return set(f.years) | ({f.published.year} if f.published is not None else set())


def _years_conflict(a: Facts, b: Facts) -> bool:
    """Both place themselves in time (a date, or years named) and no year agrees: different steps."""
    ya, yb = _years(a), _years(b)
    return bool(ya and yb and not ya & yb)


def pair_evidence(a: Facts, b: Facts, contributions: Mapping[str, float]) -> str:
    """The signals that moved the decision, in words (largest first)."""
    parts = sorted(((f, c) for f, c in contributions.items() if abs(c) >= 0.05), key=lambda p: -abs(p[1]))
    return "; ".join(f"{_phrase(f, a, b)} {c:+.2f}" for f, c in parts) or "nothing shared"


_PLAIN = {"entity_mismatch": "different specifics", "figure_conflict": "different figures", "words": "shared words",
          "headline": "similar headline", "days_apart": "days apart",
          "time_unknown": "time unknown",
          "year_conflict": "different years", "cosine": "similar meaning",
          "cosine_cross": "similar meaning across languages", "no_vector": "no embedding"}


def _phrase(feature: str, a: Facts, b: Facts) -> str:
    if feature.startswith("unknown_time×"):
        return _phrase(feature.split("×", 1)[1], a, b) + " (time unknown)"
    if feature == "entities":
        return "entities " + ", ".join(sorted(set(a.entities) & set(b.entities)))
    if feature == "names":
        return "names " + ", ".join(sorted(a.names & b.names))
    if feature == "figures":
        return "figures " + ", ".join(f"{n:,}" for n in sorted(a.numbers & b.numbers))
    if feature == "dates":
        return "date " + ", ".join(sorted(a.dates & b.dates))
    return _PLAIN.get(feature, feature)
