"""Dot products of a report's embedding with a story's core reports, all at once, giving the very
floats `sum(x * y for x, y in zip(a, b))` gives: story scoring makes ~96 of them per relevant item
(384 numbers each), and that loop in Python was most of the scoring's cost with embeddings on.

CPython 3.11 adds floats in `sum` one after another, left to right, and so does numpy's
`add.accumulate` (each partial sum is an output: no pairwise or reordered sums, which `np.dot`
and `np.sum` use); each product is the same IEEE multiplication. From CPython 3.12 `sum`
compensates its rounding (Neumaier), which no cheap numpy call repeats: there, and wherever the
check on first use finds any difference, the products go through `sum` itself.
"""

from __future__ import annotations

import operator
import random
import sys
from collections.abc import Sequence
from functools import cache
from typing import Any

Vector = tuple[float, ...]


def dot(a: Vector, b: Vector) -> float:
    """sum(x * y for x, y in zip(a, b)), the same float, without a generator in Python."""
    return sum(map(operator.mul, a, b))


@cache
def _numpy() -> Any:
    """numpy where it gives sum's floats (checked once, for every number of core reports a story
    has, 1–4), else None. Imported on first use: it takes ~0.1 s, and only embeddings need it."""
    if sys.version_info >= (3, 12):
        return None
    import numpy

    rng = random.Random(12)
    vs = [tuple(rng.gauss(0.0, 1.0) for _ in range(384)) for _ in range(5)]
    agrees = all(_accumulated(numpy, numpy.array(vs[0]), numpy.array(vs[1:k])) ==
                 [sum(x * y for x, y in zip(vs[0], w, strict=True)) for w in vs[1:k]] for k in range(2, 6))
    return numpy if agrees else None


def _accumulated(np: Any, v: Any, rows: Any) -> list[float]:
    # + 0.0: sum starts from 0, so it never returns -0.0 (numpy does when every product is -0.0);
    # adding 0.0 changes no other float.
    return (np.add.accumulate(rows * v, axis=1)[:, -1] + 0.0).tolist()


def as_array(v: Vector | None) -> Any:
    """A report's embedding made ready for Columns.dots (once per report, not once per story)."""
    np = _numpy() if v is not None else None
    return np.array(v, dtype=np.float64) if np is not None else None


class Columns:
    """A story's core embeddings side by side (built once per version of the story): the ones of
    the first embedding's length in a matrix, one row each."""

    __slots__ = ("length", "matrix", "slots", "vectors")

    def __init__(self, vectors: Sequence[Vector | None]) -> None:
        self.vectors = tuple(vectors)
        lengths = [len(v) for v in vectors if v is not None]
        self.length = lengths[0] if lengths else -1
        self.slots = tuple(v is not None and len(v) == self.length for v in vectors)
        same = [v for v, used in zip(vectors, self.slots, strict=True) if used]
        np = _numpy() if same and self.length > 0 else None
        self.matrix = np.array(same, dtype=np.float64) if np is not None else None

    def dots(self, v: Vector | None, arr: Any) -> list[float | None]:
        """v's dot with each core embedding, in the cores' order (None where a core has none of
        v's length). `arr`: as_array(v)."""
        if v is None:
            return [None] * len(self.vectors)
        if self.matrix is None or arr is None or len(v) != self.length:  # no numpy, or a rare mix of lengths
            return [dot(v, w) if w is not None and len(w) == len(v) else None for w in self.vectors]
        it = iter(_accumulated(_numpy(), arr, self.matrix))
        return [next(it) if used else None for used in self.slots]
