"""Relevance: the watch's fitted model weighs what the item says, and says why in plain words.

One analysis per item (`analyse`: where each term sits, the features) is shared by matching
and story merging. `decide` turns it into a verdict: the cheap model (terms only) when it is
sure, the full model (terms + multilingual embedding) when it is not and a vector is given.
A missing role lowers the probability; it no longer vetoes (a security chief meeting Kim in
Pyongyang names no troops and is still news on this watch).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.core.odds import versus
from bot.core.relevance.features import (
    EMBED_FEATURE,
    LANGUAGE_FEATURE,
    best_by_role,
    exclusion_hits,
    proximity_hits,
    term_features,
    where,
)
from bot.core.relevance.model import Logistic, RelevanceModel, sigmoid
from bot.core.relevance.placement import Placed, Reading, read_item
from bot.core.watch import Watch
from bot.model import Item, Match


@dataclass(frozen=True)
class Analysis:
    """Everything read from one item, computed once."""

    item: Item
    reading: Reading
    features: dict[str, float]
    lang: str


def language_of(item: Item) -> str:
    return (item.lang or "any").split("-")[0].split("_")[0].casefold()


def analyse(watch: Watch, item: Item) -> Analysis:
    reading = read_item(watch, item)
    lang = language_of(item)
    return Analysis(item, reading, term_features(watch, reading, lang), lang)


def prior_model(watch: Watch) -> RelevanceModel:
    """Used when a watch ships no fitted model: the analyst's role weights and threshold as a
    logistic model (all required roles in the lead clear it; a missing one rarely does)."""
    weights = {f"{r.name}.lead": r.weight for r in watch.roles}
    weights.update({"roles.all_lead": 2.0, "proximity": 1.0, "exclusion": -1.0})
    return RelevanceModel("prior from the watch's weights (no fitted model)", 0.5,
                          Logistic(-(watch.threshold + 1.0), weights))


def model_of(watch: Watch) -> RelevanceModel:
    return watch.model if watch.model is not None else prior_model(watch)


def before_start(watch: Watch, item: Item) -> str | None:
    """Why a dated item is history to this watch (published before `Watch.since`), or None. An
    undated item is not judged by this: its time is unknown, or the hour it was first seen."""
    if watch.since is None or not item.dated or item.published.date() >= watch.since:
        return None
    return (f"published {item.published.date().isoformat()}, before this watch's subject began "
            f"({watch.since.isoformat()}): history, not a development")


def needs_embedding(watch: Watch, a: Analysis) -> bool:
    """Whether the multilingual signal should be computed for this item (it costs ~0.1 s of CPU).
    Not when an essential role is absent from a language the watch reads: the embedding says
    "war news" as readily without North Korea as with it, and the terms already know the answer.
    Not for an item the watch's start already rules out."""
    m = model_of(watch)
    if before_start(watch, a.item) is not None:
        return False
    if any(a.features.get(f"{r.name}.missing", 0.0) > 0 for r in watch.roles if r.essential):
        return False
    return m.wants_embedding(sigmoid(m.cheap.logit(a.features)), a.features.get(LANGUAGE_FEATURE, 0.0) > 0)


def decide(watch: Watch, a: Analysis, vector: Sequence[float] | None = None) -> Match:
    m = model_of(watch)
    if (history := before_start(watch, a.item)) is not None:
        # Score 0: no story may claim it either (Watch.rescue_from). What the terms alone say is
        # shown, so that an analyst can see what the start date overruled.
        cheap = sigmoid(m.cheap.logit(a.features))
        return Match(watch=watch.name, relevant=False, score=0.0,
                     reasons=(history, f"without the start day, the terms alone would give p {cheap:.2f} "
                                       f"(the multilingual signal was not computed; model {m.version})"))
    x = dict(a.features)
    used, label = m.cheap, "terms"
    if vector is not None and m.full is not None and m.probe is not None and needs_embedding(watch, a):
        x[EMBED_FEATURE] = m.probe.logit(vector)
        used, label = m.full, "terms + multilingual signal"
    p = sigmoid(used.logit(x))
    relevant = p >= m.threshold
    reasons = [f"p {versus(p, m.threshold)} ({label}; model {m.version})"]
    reasons += _contributions(watch, a, used, x)
    return Match(watch=watch.name, relevant=relevant, score=round(p, 4), reasons=tuple(reasons))


def match_item(watch: Watch, item: Item, vector: Sequence[float] | None = None) -> Match:
    return decide(watch, analyse(watch, item), vector)


def _contributions(watch: Watch, a: Analysis, model: Logistic, x: dict[str, float]) -> list[str]:
    """One line per feature that moved the decision, with the evidence behind it."""
    roles = best_by_role(watch, a.reading)
    evidence = {f"{name}.{k}": _role_evidence(hits) for name, hits in roles.items() for k in ("lead", "any", "count")}
    evidence.update({f"{name}.missing": f"no {name} term" for name, hits in roles.items() if not hits})
    evidence["proximity"] = "; ".join(w for _, w in proximity_hits(watch, a.reading))
    evidence["exclusion"] = "; ".join(w for _, w in exclusion_hits(watch, a.reading))
    evidence[LANGUAGE_FEATURE] = f"no watch terms in '{a.lang}'"
    evidence[EMBED_FEATURE] = "similarity to labelled relevant news, any language"
    out = []
    for f, c in model.contributions(x):
        ev = evidence.get(f, "")
        out.append(f"{c:+.2f} {f}" + (f": {ev}" if ev else ""))
    return out


def _role_evidence(hits: Sequence[Placed]) -> str:
    if not hits:
        return ""
    more = f" (+{len(hits) - 1} more)" if len(hits) > 1 else ""
    return where(hits[0]) + more


def doubtful(watch: Watch, m: Match) -> bool:
    """Filtered, but close enough to the watch that a story of it may claim the item (a report of
    a development the desk follows that names less than the filter asks for: Watch.rescue_from).
    A score of 0 is never in doubt: it is the watch's start day ruling the item out (`decide`),
    which no story may overturn, even at rescue_from = 0."""
    return not m.relevant and m.score >= watch.rescue_from and m.score > 0.0


def for_stories(watches: Sequence[Watch], matches: Sequence[Match]) -> bool:
    """Does any watch find the item relevant, or doubt it: then it is compared with stories."""
    return any(m.relevant or doubtful(w, m) for w, m in zip(watches, matches, strict=True))
