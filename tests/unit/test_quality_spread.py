"""bench/quality.py's interval over held-out stories: it collapses to the figure when every story
scores alike, and widens around it when they differ."""

from __future__ import annotations

from bench.quality import Fold, mean_b3, relevance, spread


def _bounds(text: str, name: str) -> tuple[float, float]:
    lo, hi = text.split(f" {name} ", 1)[1].split()[0].split("–")
    return float(lo), float(hi)


def test_alike_stories_give_a_point() -> None:
    folds = [Fold([True, False], [True, False], [(1.0, 0.5)]) for _ in range(10)]
    out = spread(folds, lambda fs: mean_b3([x for f in fs for x in f.b3]))
    assert _bounds(out, "P") == (1.0, 1.0)
    assert _bounds(out, "R") == (0.5, 0.5)
    assert "10 held-out stories" in out


def test_differing_stories_give_an_interval_around_the_figure() -> None:
    folds = [Fold([True] * 4, [k % 3 != 0] * 4, []) for k in range(30)]  # a third of stories missed
    out = spread(folds, lambda fs: relevance([x for f in fs for x in f.gold], [x for f in fs for x in f.pred]))
    lo, hi = _bounds(out, "R")
    point = relevance([x for f in folds for x in f.gold], [x for f in folds for x in f.pred])[1]
    assert lo < point < hi
    assert _bounds(out, "P") == (1.0, 1.0)  # no false positive in any story
