"""Dot products of embeddings done many at once give, bit for bit, the floats the Python loop
`sum(x * y for x, y in zip(a, b))` gives on this interpreter (story scoring must not move)."""

from __future__ import annotations

import random
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.stories import dots

number = st.one_of(st.floats(-2.0, 2.0, allow_nan=False), st.sampled_from((0.0, -0.0, 1e-310, -1e-310, 1e100)))


def reference(v: tuple[float, ...] | None, w: tuple[float, ...] | None) -> float | None:
    if v is None or w is None or len(v) != len(w):
        return None
    return sum(x * y for x, y in zip(v, w, strict=True))


def same(got: list[float | None], want: list[float | None]) -> bool:
    """Equal to the last bit, the sign of zero included (and 0, not 0.0, for empty vectors)."""
    def bits(xs: list[float | None]) -> list[tuple[type, str] | None]:
        return [None if x is None else (type(x), float(x).hex()) for x in xs]
    return bits(got) == bits(want)


def check(v: tuple[float, ...] | None, cores: list[tuple[float, ...] | None]) -> None:
    got = dots.Columns(cores).dots(v, dots.as_array(v))
    assert same(got, [reference(v, w) for w in cores])


@settings(max_examples=400, deadline=None)
@given(st.integers(0, 12).flatmap(lambda n: st.tuples(
    st.lists(number, min_size=n, max_size=n).map(tuple),
    st.lists(st.one_of(st.none(), st.lists(number, min_size=n, max_size=n).map(tuple),
                       st.lists(number, max_size=3).map(tuple)), max_size=5))))
def test_dots_equal_the_python_sum(case: tuple[tuple[float, ...], list[tuple[float, ...] | None]]) -> None:
    v, cores = case
    check(v, cores)
    check(None, cores)


@pytest.mark.parametrize("seed", range(40))
def test_embedding_sized_dots_equal_the_python_sum(seed: int) -> None:
    """384 numbers, as multilingual-e5-small gives (and rounded as fingerprints keep them)."""
    rng = random.Random(seed)
    vec = [tuple(round(rng.gauss(0.0, 0.05), 5) for _ in range(384)) for _ in range(5)]
    check(vec[0], [*vec[1:], None])
    assert dots.dot(vec[0], vec[1]) == reference(vec[0], vec[1])


def test_numpy_used_where_it_agrees() -> None:
    """From CPython 3.12 sum compensates its rounding: the plain path there."""
    assert (dots._numpy() is not None) is (sys.version_info < (3, 12))


def test_plain_path_equals_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dots, "_numpy", lambda: None)
    rng = random.Random(5)
    vec = [tuple(rng.gauss(0.0, 1.0) for _ in range(384)) for _ in range(4)]
    check(vec[0], [vec[1], None, vec[2], vec[3][:7]])
