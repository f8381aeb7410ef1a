"""How a story's probability is read off its core reports' pair probabilities (cluster.story_probability)."""

from __future__ import annotations

import pytest

from bot.core.stories.cluster import story_probability


@pytest.mark.parametrize(
    ("pair_ps", "time_known", "p"),
    [
        ([], True, 0.0),
        ([], False, 0.0),
        ([0.7], True, 0.7),
        ([0.9, 0.3], True, 0.6),  # a dated report: the mean over the core
        ([0.9, 0.8, 0.1, 0.0], True, 0.45),  # close to two of four: not enough (chaining)
        ([0.95, 0.2, 0.2, 0.2], True, 0.3875),  # close to one of four: stays apart at 0.5
        ([0.1, 0.8, 0.0, 0.9], True, 0.45),  # the cores' order does not matter
        ([0.9, 0.1, 0.0], False, 0.9),  # unknown time: its closest core report
        ([0.1, 0.0, 0.9], False, 0.9),
    ],
)
def test_story_probability(pair_ps: list[float], time_known: bool, p: float) -> None:
    assert story_probability(pair_ps, time_known) == pytest.approx(p)
