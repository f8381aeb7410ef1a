"""Fit the relevance model from labelled items (pure: arrays in, a RelevanceModel out).

L2-regularised logistic regression by Newton's method (IRLS): small, exact, no dependency
beyond numpy. The embedding direction (`probe`) is fitted first; the full model then sees the
probe's OUT-OF-FOLD logits, grouped by story, so it learns how far to trust the probe on news
the probe was not fitted on rather than on rows it has memorised.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from bot.core.relevance.model import EMBED_FEATURE, Logistic, Probe, RelevanceModel, sigmoid

TERM_L2 = 10.0  # on ~13 bounded features; the terms were written with dev.jsonl in view, so trust them less
PROBE_L2 = 0.03  # on 384 unit-length dimensions (≈ C = 30); chosen by cross-corpus AUC
FOLDS = 10


@dataclass(frozen=True)
class Example:
    features: Mapping[str, float]
    label: bool
    group: str  # gold story (or the item's own id): folds never split a story
    vector: Sequence[float] | None = None


def logistic_fit(x: np.ndarray, y: np.ndarray, l2: float, iters: int = 50) -> tuple[float, np.ndarray]:
    """(bias, weights) minimising log-loss + l2/2·|w|² (the bias is not penalised)."""
    n, d = x.shape
    xb = np.hstack([np.ones((n, 1)), x])
    w = np.zeros(d + 1)
    reg = np.full(d + 1, l2)
    reg[0] = 1e-6
    for _ in range(iters):
        p = 1.0 / (1.0 + np.exp(-np.clip(xb @ w, -30, 30)))
        grad = xb.T @ (p - y) + reg * w
        hess = (xb * (p * (1 - p))[:, None]).T @ xb + np.diag(reg)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.max(np.abs(step)) < 1e-8:
            break
    return float(w[0]), w[1:]


def fold_of(groups: Sequence[str], folds: int) -> np.ndarray:
    """A fold per group, stable across runs (stories are dealt round-robin in sorted order)."""
    order = {g: i % folds for i, g in enumerate(sorted(set(groups)))}
    return np.array([order[g] for g in groups])


def out_of_fold_probe(vectors: np.ndarray, y: np.ndarray, groups: Sequence[str], l2: float = PROBE_L2,
                      folds: int = FOLDS) -> np.ndarray:
    fold = fold_of(groups, folds)
    out = np.zeros(len(y))
    for k in range(folds):
        test = fold == k
        if not test.any() or test.all():
            continue
        b, w = logistic_fit(vectors[~test], y[~test], l2)
        out[test] = b + vectors[test] @ w
    return out


def fit_model(examples: Sequence[Example], names: Sequence[str], version: str, embedder: str = "",
              threshold: float = 0.5) -> RelevanceModel:
    """The cheap model on term features; with vectors for every example, the probe and full model."""
    y = np.array([e.label for e in examples], dtype=float)
    x = np.array([[e.features.get(f, 0.0) for f in names] for e in examples])
    b, w = logistic_fit(x, y, TERM_L2)
    cheap = Logistic(round(b, 4), {f: round(float(v), 4) for f, v in zip(names, w, strict=True)})
    if not embedder or any(e.vector is None for e in examples):
        return RelevanceModel(version, threshold, cheap)
    vecs = np.array([list(e.vector or ()) for e in examples])
    pb, pw = logistic_fit(vecs, y, PROBE_L2)
    oof = out_of_fold_probe(vecs, y, [e.group for e in examples])
    fb, fw = logistic_fit(np.hstack([x, oof[:, None]]), y, TERM_L2)
    full = Logistic(round(fb, 4), {f: round(float(v), 4) for f, v in zip((*names, EMBED_FEATURE), fw, strict=True)})
    probe = Probe(embedder, round(pb, 6), tuple(float(v) for v in pw))
    return RelevanceModel(version, threshold, cheap, full, probe, uncertain_band(cheap, x, y, names))


def uncertain_band(cheap: Logistic, x: np.ndarray, y: np.ndarray, names: Sequence[str],
                   margin: float = 0.5) -> tuple[float, float]:
    """Cheap probabilities where the embedding is worth its cost: from just below the least
    confident relevant item to just above the most confident irrelevant one (on the training
    items, widened by `margin` in logit units so new news gets the benefit of the doubt)."""
    z = np.array([cheap.logit(dict(zip(names, row, strict=True))) for row in x])
    lo = float(z[y == 1].min()) - margin if (y == 1).any() else -2.0
    hi = float(z[y == 0].max()) + margin if (y == 0).any() else 2.0
    return round(sigmoid(min(lo, -1.0)), 4), round(sigmoid(max(hi, 1.0)), 4)


PAIR_L2 = 1.0
MAX_PAIR_DAYS = 7.0  # pairs further apart never meet live (the story window is days, not weeks)


def fit_pairs(features: Sequence[Mapping[str, float]], same: Sequence[bool], names: Sequence[str]) -> Logistic:
    """Same-development model over report pairs (features from core/stories/compare.py)."""
    x = np.array([[f.get(n, 0.0) for n in names] for f in features])
    b, w = logistic_fit(x, np.array(same, dtype=float), PAIR_L2)
    return Logistic(round(b, 4), {n: round(float(v), 4) for n, v in zip(names, w, strict=True)})


def best_threshold(decisions: Sequence[tuple[float | None, float]]) -> float:
    """The join probability making the most right decisions. Each decision is (probability of
    the report's own story, or None when it is the first report of its development; the best
    probability of any other story): right when the own story wins and clears the threshold, or
    when there is none and nothing clears it. Ties go to the middle of the best range."""
    if not decisions:
        return 0.5
    grid = [round(0.05 * k, 2) for k in range(1, 20)]

    def right(t: float) -> int:
        return sum((own is not None and own > other and own >= t) or (own is None and other < t)
                   for own, other in decisions)

    scores = [right(t) for t in grid]
    best = max(scores)
    winners = [t for t, s in zip(grid, scores, strict=True) if s == best]
    return winners[len(winners) // 2]
