"""Story scoring with each report prepared once gives what comparing raw facts pair by pair gave:
the same signals in the same order (so the same sums and evidence text), and `cluster.assign`
the same choice, score and reasons as scoring every core report with its evidence built."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st
from rapidfuzz import fuzz

from bot.core.relevance.model import Logistic, sigmoid
from bot.core.relevance.terms import script
from bot.core.stories import cluster
from bot.core.stories.compare import (
    CONTENT,
    CROSS_LANG_COS,
    ENTITY_CAP,
    MAX_DAYS,
    PAIR_FEATURES,
    SAME_LANG_COS,
    EntityWeights,
    PairLogit,
    Side,
    _figures,
    _weight,
    cosine,
    pair_evidence,
    pair_features,
    side_features,
    side_values,
)
from bot.core.stories.facts import Facts
from bot.core.stories.fingerprint import StoryFacts
from bot.core.watch import Watch
from bot.model import Item, Match, Story
from tests.unit.test_watch import config_watch

WATCH = config_watch()
T0 = datetime(2025, 6, 3, 8, tzinfo=UTC)
ENTITIES = [e.id for e in WATCH.entities[:12]] + ["unknown-place"]


def _could_name(watch: Watch, entity_id: str, f: Facts) -> bool:
    """compare.readable, written plainly: a spelling of the entity that applies to the report."""
    ent = watch.entity(entity_id)
    if ent is None or f.lang in ("", "any"):
        return True
    kinds = Counter(script(w) for w in f.text.split()[:30] if not w.isdigit())
    main = max(kinds, key=lambda k: (kinds[k], k == "latin")) if kinds else "latin"
    return any(t.lang == f.lang or (script(t.words[0].text) == main and (main != "latin" or t.lang == "any"))
               for t in ent.terms)


def reference_features(watch: Watch, a: Facts, b: Facts, story: Sequence[Facts] = ()) -> dict[str, float]:
    """pair_features as it was before reports were prepared once; `story`: the core reports of the
    story b belongs to, whose entities a specific of a's must be missing from to count."""
    key_min = watch.stories.key_min_weight
    shared = set(a.entities) & set(b.entities)
    ent = min(ENTITY_CAP, sum(min(a.entities[e], b.entities[e]) * _weight(watch, e) for e in shared))
    named = set(b.entities).union(*(c.entities for c in story))
    own = [e for e, w in a.entities.items()
           if w >= 1.0 and e not in named and _weight(watch, e) >= key_min and _could_name(watch, e, b)]
    theirs = [e for e, w in b.entities.items()
              if w >= 1.0 and e not in a.entities and _weight(watch, e) >= key_min and _could_name(watch, e, a)]
    mismatch = min(2.0, sum(_weight(watch, e) for e in own) + sum(_weight(watch, e) for e in theirs))
    nums = a.numbers & b.numbers
    same_lang = a.lang == b.lang
    words = 0.0
    if a.stems and b.stems:
        common = sum(min(a.stems[s], b.stems[s]) for s in set(a.stems) & set(b.stems))
        words = common / math.sqrt(sum(a.stems.values()) * sum(b.stems.values()))
    headline = 0.0
    if same_lang and a.text and b.text:
        headline = max(0.0, fuzz.token_sort_ratio(a.text, b.text) - 40.0) / 60.0
    if a.published is not None and b.published is not None:
        days, unknown = min(MAX_DAYS, abs((a.published - b.published).total_seconds()) / 86400), 0.0
    else:
        days, unknown = 0.0, 1.0
    cos = cosine(a.vector, b.vector) if a.vector is not None else None
    ya = set(a.years) | ({a.published.year} if a.published is not None else set())
    yb = set(b.years) | ({b.published.year} if b.published is not None else set())
    out = {
        "entities": ent, "entity_mismatch": mismatch, "names": float(min(2, len(a.names & b.names))),
        "figures": _figures(watch, frozenset(nums)),
        "figure_conflict": float(bool(a.numbers and b.numbers and not nums)),
        "dates": float(bool(a.dates & b.dates)), "words": words, "headline": headline, "days_apart": days,
        "time_unknown": unknown,
        "cosine": (cos - SAME_LANG_COS) * 10 if cos is not None and same_lang else 0.0,
        "cosine_cross": (cos - CROSS_LANG_COS) * 10 if cos is not None and not same_lang else 0.0,
        "no_vector": float(cos is None), "year_conflict": float(bool(ya and yb and not ya & yb)),
    }
    for f in CONTENT:
        out[f"unknown_time×{f}"] = out[f] * unknown
    fits = far = False
    if unknown:
        for named, pub in ((a.dates, b.published), (b.dates, a.published)):
            if pub is None:
                continue
            apart = []
            for md in named:  # days from the named day to the publication day, nearest year
                month, day = (int(x) for x in md.split("-"))
                years = [pub.date() - date(y, month, day) for y in (pub.year - 1, pub.year, pub.year + 1)
                         if day <= [31, 29 if y % 4 == 0 else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]]
                if years:
                    apart.append(min(years, key=abs).days)
            if any(-1 <= d <= 3 for d in apart):
                fits = True
            elif apart and all(abs(d) > 10 for d in apart):
                far = True
    out["named_date_fits"], out["named_date_far"] = float(fits), float(far)
    return out


def reference_assign(watch: Watch, facts: Facts, candidates: Sequence[Story]) -> tuple[str | None, float, str]:
    """assign's choice before: every core scored with its evidence text built on the way."""
    model, join = cluster.pair_model(watch, facts.published is not None, facts.vector is not None)
    scored = []
    for c in candidates:
        ps: list[float] = []
        best_p, best_why = -1.0, "nothing shared"
        cores = StoryFacts.from_json(c.features).core
        for core in cores:
            x = reference_features(watch, facts, core, cores)
            p = sigmoid(model.logit(x))
            ps.append(p)
            if p > best_p:
                contrib = {f: model.weights.get(f, 0.0) * v for f, v in x.items()}
                best_p, best_why = p, pair_evidence(facts, core, contrib)
        scored.append((cluster.story_probability(ps, facts.published is not None), c.last_published, c.id, best_why))
    p, _, sid, why = max(scored, key=lambda s: (s[0], s[1], s[2]))
    return (sid if p >= join else None), round(p, 3), why


HEADLINES = ("north korean troops reach kursk", "troops in kursk border village", "missile test", "")
WORDS = ("troops", "kursk", "Kursk", "북한군", "курск", "войска", "z", "10", "é", "e\u0301",
         " ", "\t", "\u00a0", "\u3000", "\x1f", "")  # odd spacing too: token_sort_ratio splits on all of it
small = st.floats(0.0, 1.0, allow_nan=False)
a_fact = st.builds(
    Facts,
    st.dictionaries(st.sampled_from(ENTITIES), st.sampled_from((1.0, 0.5)), max_size=5),
    st.frozensets(st.sampled_from((100, 1250, 3000, 13000, 7)), max_size=3),
    st.frozensets(st.sampled_from(("06-01", "06-02", "07-04", "11-04", "02-29", "12-31")), max_size=2),
    st.frozensets(st.sampled_from((2023, 2024, 2025)), max_size=2),
    st.dictionaries(st.sampled_from(("troop", "kursk", "deploy", "missil", "shell", "border", "village")),
                    st.sampled_from((1.0, 0.5)), max_size=6),
    st.frozensets(st.sampled_from(("ivanov", "kowalski", "tanaka")), max_size=2),
    st.one_of(st.sampled_from(HEADLINES), st.lists(st.sampled_from(WORDS), max_size=8).map(" ".join)),
    st.sampled_from(("en", "ko", "ru")),
    st.one_of(st.none(), st.integers(0, 24 * 40).map(lambda h: T0 + timedelta(hours=h))),
    st.one_of(st.none(), st.tuples(small, small, small), st.tuples(small, small)),
)


@settings(max_examples=300, deadline=None)
@given(a_fact, a_fact)
def test_prepared_signals_equal_the_pairwise_ones(a: Facts, b: Facts) -> None:
    got, want = pair_features(WATCH, a, b), reference_features(WATCH, a, b)
    assert list(got.items()) == list(want.items())  # same values, same order (evidence ties keep it)


def story(n: int, reports: Sequence[Facts]) -> Story:
    sf = StoryFacts.empty()
    for f in reports:
        sf = sf.absorb(f)
    t = T0 + timedelta(hours=n)
    return Story(id=f"s-{n:03d}", watch=WATCH.name, title="t", summary="", first_published=t, last_published=t,
                 sources=(), score=0.9, features=sf.to_json(), keys=())


@settings(max_examples=150, deadline=None)
@given(a_fact, st.lists(st.lists(a_fact, min_size=0, max_size=5), min_size=1, max_size=6))
def test_assign_chooses_and_explains_as_before(facts: Facts, stories: list[list[Facts]]) -> None:
    cands = [story(n, reports) for n, reports in enumerate(stories)]
    it = Item(key="k", feed="f", source="s", url="", title="t", summary="", published=T0, fetched=T0, lang=facts.lang)
    a = cluster.assign(WATCH, it, Match(watch=WATCH.name, relevant=True, score=0.9), cands, T0, facts)
    sid, p, why = reference_assign(WATCH, facts, cands)
    assert (a.story_id, a.score) == (sid, p)
    assert f"({why})" in a.reasons[0]
    again = cluster.assign(WATCH, it, Match(watch=WATCH.name, relevant=True, score=0.9), cands, T0, facts)
    assert again == a  # fingerprints read from the cache the second time


weights_of = st.dictionaries(st.sampled_from((*PAIR_FEATURES, "not_a_signal")), st.floats(-5.0, 5.0, allow_nan=False),
                             max_size=len(PAIR_FEATURES) + 1)


@settings(max_examples=300, deadline=None)
@given(a_fact, a_fact, st.floats(-3.0, 3.0, allow_nan=False), weights_of)
def test_pair_logit_equals_the_models_logit(a: Facts, b: Facts, bias: float, weights: dict[str, float]) -> None:
    """Any model (signals it lacks, names it does not know, any order): the same float, bit for bit."""
    weight = EntityWeights(WATCH)
    sa, sb = Side.of(a), Side.of(b)
    for model in (Logistic(bias, weights), *(cluster.pair_model(WATCH, t, e)[0] for t in (True, False)
                                             for e in (True, False)), cluster.prior_pair_model(WATCH)[0]):
        want = model.logit(side_features(WATCH, sa, sb, weight))
        assert PairLogit(model)(side_values(WATCH, sa, sb, weight)).hex() == float(want).hex()
