"""A probability beside its threshold is never shown on the wrong side of it."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.odds import versus


@pytest.mark.parametrize(("p", "threshold", "shown"), [
    (0.91, 0.5, "0.91 ≥ 0.50"),
    (0.2, 0.5, "0.20 < 0.50"),
    (0.4973, 0.5, "0.497 < 0.50"),
    (0.4999, 0.5, "0.4999 < 0.50"),
    (0.50004, 0.5, "0.50 ≥ 0.50"),
    (0.49999, 0.5, "0.5000 < 0.50"),  # as far as four places go: the sign still tells
    (0.5, 0.5, "0.50 ≥ 0.50"),
    (0.5031, 0.5, "0.50 ≥ 0.50"),  # equal-looking, but on the side the sign says
    (0.3512, 0.35, "0.35 ≥ 0.35"),
    (0.346, 0.35, "0.346 < 0.35"),  # at two places, 0.35 would read as "≥"
    (0.5462, 0.5465, "0.546 < 0.5465"),  # a threshold of more than two places is shown whole
])
def test_versus(p: float, threshold: float, shown: str) -> None:
    assert versus(p, threshold) == shown


@given(st.floats(0, 1), st.sampled_from([0.1, 0.25, 0.3, 0.35, 0.5, 0.55, 0.65, 0.5465, 0.123]))
def test_the_shown_figure_is_never_on_the_wrong_side(p: float, threshold: float) -> None:
    shown, sign, limit = versus(p, threshold).split(" ")
    assert float(limit) == threshold
    assert (sign == "≥") == (p >= threshold)
    if abs(p - threshold) >= 0.00005:  # four places can tell them apart
        assert (float(shown) >= threshold) == (p >= threshold)
