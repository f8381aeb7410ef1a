"""The cheap bound on a story's probability is never below what scoring its core reports gives,
so the stories `assign` skips could not have been chosen: its choice, score and reasons are the
ones of scoring every candidate story."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.relevance.model import Logistic, sigmoid
from bot.core.stories import bound, cluster, dots
from bot.core.stories.compare import CONTENT, FEATURE_ORDER, EntityWeights, PairLogit, Side, side_values
from bot.core.stories.facts import Facts
from bot.model import Item, Match
from tests.unit.test_pair_prepared import T0, WATCH, a_fact, story

signed = st.floats(-1.0, 1.0, allow_nan=False)
vector = st.one_of(st.none(), st.tuples(signed, signed, signed), st.tuples(signed, signed))
fact = st.tuples(a_fact, vector).map(lambda fv: replace(fv[0], vector=fv[1]))
MODELS = (*(cluster.pair_model(WATCH, t, e)[0] for t in (True, False) for e in (True, False)),
          cluster.prior_pair_model(WATCH)[0])


@settings(max_examples=400, deadline=None)
@given(fact, st.lists(fact, min_size=1, max_size=4), st.sampled_from(MODELS))
def test_no_core_report_scores_above_the_bound(me_facts: Facts, core_facts: list[Facts], model: Logistic) -> None:
    me, cores = Side.of(me_facts), tuple(Side.of(f) for f in core_facts)
    weight, logit = EntityWeights(WATCH), PairLogit(model)
    core_dots = dots.Columns([f.vector for f in core_facts]).dots(me_facts.vector, dots.as_array(me_facts.vector))
    top = bound.upper_p(WATCH, me, cores, bound.Reach.of(cores), core_dots, logit, weight)
    for core, dot in zip(cores, core_dots, strict=True):
        assert sigmoid(logit(side_values(WATCH, me, core, weight, dot))) <= top + bound.MARGIN


ZONES = (UTC, timezone(timedelta(hours=9)), timezone(-timedelta(hours=5, minutes=30)))
moment = st.datetimes(datetime(2000, 1, 1), datetime(2040, 1, 1), timezones=st.sampled_from(ZONES))


@settings(max_examples=400, deadline=None)
@given(fact, st.lists(fact, min_size=1, max_size=4), st.sampled_from(MODELS), moment,
       st.lists(moment, min_size=4, max_size=4))
def test_the_shortcut_for_dated_reports_bounds_as_the_general_path(me_facts: Facts, core_facts: list[Facts],
                                                                   model: Logistic, t: datetime,
                                                                   times: list[datetime]) -> None:
    """A dated report without an embedding against a story of dated reports: upper_p's shortcut
    (times as whole microseconds) gives the very bound of its core-by-core path, to the last bit."""
    me_facts = replace(me_facts, published=t, vector=None)
    core_facts = [replace(f, published=u) for f, u in zip(core_facts, times, strict=False)]
    me, cores = Side.of(me_facts), tuple(Side.of(f) for f in core_facts)
    weight, logit, reach = EntityWeights(WATCH), PairLogit(model), bound.Reach.of(cores)
    assert reach.micros is not None
    nones: list[float | None] = [None] * len(cores)
    assert (bound.upper_p(WATCH, me, cores, reach, nones, logit, weight)
            == bound.upper_p(WATCH, me, cores, replace(reach, micros=None), nones, logit, weight))


@settings(max_examples=200, deadline=None)
@given(fact, st.lists(st.lists(fact, min_size=0, max_size=4), min_size=1, max_size=8))
def test_assign_with_skipping_equals_scoring_every_story(facts: Facts, stories: list[list[Facts]]) -> None:
    cands = [story(n, reports) for n, reports in enumerate(stories)]
    it = Item(key="k", feed="f", source="s", url="", title="t", summary="", published=T0, fetched=T0, lang=facts.lang)
    m = Match(watch=WATCH.name, relevant=True, score=0.9)
    got = cluster.assign(WATCH, it, m, cands, T0, facts)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(cluster, "upper_p", lambda *a: math.inf)
        assert cluster.assign(WATCH, it, m, cands, T0, facts) == got


def test_bounds_are_listed_in_the_order_of_the_signals() -> None:
    assert FEATURE_ORDER[:14] == ("entities", "entity_mismatch", "names", "figures", "figure_conflict", "dates",
                                  "words", "headline", "days_apart", "time_unknown", "cosine", "cosine_cross",
                                  "no_vector", "year_conflict")
    assert FEATURE_ORDER[14:20] == tuple(f"unknown_time×{f}" for f in CONTENT)
    assert FEATURE_ORDER[20:] == ("named_date_fits", "named_date_far")


def test_other_signs_skip_nothing() -> None:
    """A negative entity or stem value (never made by item_facts): no bound, every story scored."""
    f = Facts({"dprk": -1.0}, frozenset(), frozenset(), frozenset(), {"troop": 1.0}, frozenset(), "x", "en", T0)
    assert not bound.signs_ok(Side.of(f))
    cores = (Side.of(f),)
    args: Any = (WATCH, Side.of(replace(f, entities={})), cores, bound.Reach.of(cores), [None],
                 PairLogit(MODELS[0]), EntityWeights(WATCH))
    assert bound.upper_p(*args) == math.inf
