"""The fitted relevance model: fitting, the model file's validation, explanations, and when the
multilingual signal is asked for. Small inline watches; the shipped watch is covered elsewhere."""

from __future__ import annotations

import math
import random
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest

from bot.config.watch import load_watch
from bot.core.relevance.fit import Example, best_threshold, fit_model, logistic_fit
from bot.core.relevance.match import analyse, decide, match_item, needs_embedding, prior_model
from bot.core.relevance.model import Logistic, Probe, RelevanceModel, StoryModel, feature_names, from_json, to_json
from bot.core.watch import Watch
from bot.model import Item

T0 = datetime(2025, 3, 1, tzinfo=UTC)
SMALL: dict[str, Any] = {
    "title": "small", "threshold": 2.0, "require": [["actor", "force"]],
    "roles": {"actor": {"weight": 2, "en": ["North Korea*"]}, "force": {"weight": 1, "en": ["troops", "soldier*"]}},
    "exclusions": [{"name": "food", "penalty": 3, "en": ["restaurant*"]}],
}


def small_watch(**extra: Any) -> Watch:
    watch, errors = load_watch("small", {**SMALL, **extra}, "watches[0]")
    assert errors == [] and watch is not None
    return watch


def item(title: str, summary: str = "", lang: str = "en") -> Item:
    return Item(key=title[:30], feed="f", source="Desk", url="", title=title, summary=summary,
                published=T0, fetched=T0, lang=lang)


NAMES = feature_names(["actor", "force"])


def test_logistic_fit_recovers_a_separating_direction() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(400, 2))
    y = (x[:, 0] - 0.5 * x[:, 1] > 0).astype(float)
    b, w = logistic_fit(x, y, l2=0.1)
    assert w[0] > 0 > w[1] and abs(b) < 1.0


@pytest.mark.parametrize(("decisions", "expected"), [
    ([], 0.5),
    ([(0.9, 0.1), (None, 0.2)], 0.6),  # any threshold in (0.2, 0.9] is right twice: the middle one
    ([(0.3, 0.1), (None, 0.05)], 0.2),  # joins must clear 0.3 but firsts stay below 0.05
    ([(0.9, 0.95)], 0.5),  # the wrong story wins whatever the threshold
])
def test_best_threshold(decisions: list[tuple[float | None, float]], expected: float) -> None:
    assert best_threshold(decisions) == pytest.approx(expected)


def test_fit_model_without_vectors_is_terms_only_and_learns_the_signs() -> None:
    w = small_watch()
    rows = [("North Korea sends troops", True), ("North Korean soldiers killed", True),
            ("North Korea opens a restaurant", False), ("Weather in Oslo", False),
            ("North Korea troops at a restaurant", False), ("Soldiers of North Korea", True)]
    exs = [Example(analyse(w, item(t)).features, y, str(n)) for n, (t, y) in enumerate(rows * 3)]
    m = fit_model(exs, NAMES, "test")
    assert m.full is None and m.probe is None
    assert m.cheap.weights["actor.lead"] > 0 and m.cheap.weights["exclusion"] < 0


def test_model_file_round_trip_and_validation() -> None:
    m = RelevanceModel("v1", 0.5, Logistic(-1.0, {"actor.lead": 2.0}), Logistic(-1.0, {"embed.probe": 1.0}),
                       Probe("e", 0.0, (0.1, 0.2)), (0.1, 0.9), "",
                       StoryModel(Logistic(0.0, {"entities": 1.0}), 0.6, 0.3),
                       StoryModel(Logistic(0.1, {"entities": 2.0}), 0.5, 0.4))
    back, errors = from_json(to_json(m), NAMES, "w.model", ("entities",))
    assert errors == [] and back == replace(m, probe=Probe("e", 0.0, (0.1, 0.2)))
    bad = {**to_json(m), "threshold": 1.5, "cheap": {"bias": "x", "weights": {"nope.lead": 1}}}
    _, errors = from_json(bad, NAMES, "w.model", ("entities",))
    assert any("w.model.threshold" in e for e in errors)
    assert any("w.model.cheap.bias" in e for e in errors)
    assert any("unknown features nope.lead" in e for e in errors)
    _, errors = from_json({"format": "other"}, NAMES, "w.model")
    assert errors and "deskwatch train" in errors[0]


def test_prior_needs_every_required_role_in_the_lead() -> None:
    w = small_watch()
    assert prior_model(w).cheap.bias == -(w.threshold + 1.0)
    assert match_item(w, item("North Korea sends troops")).relevant
    assert not match_item(w, item("North Korea holds a parade")).relevant
    assert not match_item(w, item("North Korean troops open a restaurant")).relevant


def test_why_lists_contributions_with_their_evidence() -> None:
    m = match_item(small_watch(), item("North Korean troops open a restaurant"))
    text = " | ".join(m.reasons)
    assert text.startswith("p ") and "actor.lead: 'North Korea*' in title" in text
    assert "exclusion: 'food': 'restaurant*' in title" in text


def _with_probe(w: Watch, band: tuple[float, float]) -> Watch:
    cheap = prior_model(w).cheap
    full = Logistic(cheap.bias, {**cheap.weights, "embed.probe": 4.0})
    return replace(w, model=RelevanceModel("t", 0.5, cheap, full, Probe("e", 0.0, (1.0, 0.0)), band))


def test_embedding_is_asked_for_only_when_the_terms_are_unsure_or_absent() -> None:
    w = _with_probe(small_watch(), (0.2, 0.8))
    sure_yes = analyse(w, item("North Korea sends troops"))
    sure_no = analyse(w, item("Weather in Oslo"))
    unsure = analyse(w, item("North Korea holds a parade"))  # p between the band's ends
    untermed = analyse(w, item("Nordkorea schickt Truppen", lang="de"))  # no German terms in this watch
    assert not needs_embedding(w, sure_yes) and not needs_embedding(w, sure_no)
    assert needs_embedding(w, unsure) and needs_embedding(w, untermed)
    assert decide(w, untermed, (1.0, 0.0)).relevant  # the probe carries a language without terms
    assert not decide(w, untermed, (-1.0, 0.0)).relevant
    assert "multilingual signal" in decide(w, untermed, (1.0, 0.0)).reasons[0]
    assert not decide(w, untermed).relevant  # without a vector: terms alone


def test_probabilities_are_probabilities() -> None:
    rng = random.Random(3)
    w = small_watch()
    for _ in range(50):
        words = rng.sample(["North", "Korea", "troops", "restaurant", "soldiers", "Oslo", "parade"], 4)
        p = match_item(w, item(" ".join(words))).score
        assert 0.0 <= p <= 1.0 and not math.isnan(p)
