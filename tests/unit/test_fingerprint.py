"""A story's fingerprint stays bounded, round-trips through JSON, and reads the old format; the
pair signals of compare.py say what they should on small hand-made reports."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.config.watch import load_watch
from bot.core.stories.compare import PAIR_FEATURES, pair_evidence, pair_features, readable
from bot.core.stories.facts import Facts
from bot.core.stories.fingerprint import MAX_CORE, StoryFacts
from bot.core.watch import Watch

T0 = datetime(2025, 6, 3, 8, tzinfo=UTC)
WATCH_DATA: dict[str, Any] = {
    "title": "small", "roles": {"actor": {"en": ["North Korea*"]}},
    "entities": [{"id": "kursk", "label": "Kursk", "kind": "place", "weight": 1.5, "any": ["Kursk"]},
                 {"id": "dprk", "label": "North Korea", "kind": "country", "weight": 0.1, "en": ["North Korea"]},
                 {"id": "belousov", "label": "Belousov", "kind": "person", "weight": 1.0, "any": ["Belousov"],
                  "ru": ["Белоусов*"], "ko": ["벨로우소프"]},
                 {"id": "memorial", "label": "memorial", "kind": "event", "weight": 1.0, "en": ["memorial*"],
                  "de": ["Gedenk*"]}],
}


def watch() -> Watch:
    w, errors = load_watch("small", WATCH_DATA, "w")
    assert errors == [] and w is not None
    return w


def facts(n: int = 0, *, ents: dict[str, float] | None = None, nums: frozenset[int] = frozenset(), lang: str = "en",
          text: str = "north korean troops in kursk", hours: float | None = 0.0,
          vector: tuple[float, ...] | None = None, years: frozenset[int] = frozenset(),
          dates: frozenset[str] = frozenset()) -> Facts:
    return Facts(ents if ents is not None else {"kursk": 1.0, "dprk": 1.0}, nums, dates, years,
                 {"troop": 1.0, f"w{n}": 1.0}, frozenset(), text, lang,
                 None if hours is None else T0 + timedelta(hours=hours), vector)


def test_core_is_bounded_and_the_rest_only_counts_as_seen() -> None:
    sf = StoryFacts.empty()
    for n in range(MAX_CORE + 5):
        sf = sf.absorb(facts(n, nums=frozenset({1000 + n}), hours=n))
    assert len(sf.core) == MAX_CORE
    assert 1000 + MAX_CORE + 4 in sf.seen_numbers  # what later reports add is still known
    assert sf.first == T0 and sf.last == T0 + timedelta(hours=MAX_CORE + 4)


def test_json_round_trip_and_unreadable_is_empty() -> None:
    sf = StoryFacts.empty().absorb(facts(1, vector=(0.6, 0.8))).absorb(facts(2, hours=None))
    assert StoryFacts.from_json(sf.to_json()) == sf
    assert StoryFacts.from_json("{not json") == StoryFacts.empty()


def test_embeddings_round_trip_exactly_and_format_2_still_reads() -> None:
    vector = (0.1, -1 / 3, 2.0e-7, 0.123456789012345)
    sf = StoryFacts.empty().absorb(facts(1, vector=vector))
    back = StoryFacts.from_json(sf.to_json())
    assert back.core[0].vector == vector  # exact: packed doubles, not rounded decimals
    # format 2 (stories saved before the packed vectors) kept them as rounded decimals
    old = json.loads(sf.to_json())
    old["v"] = 2
    old["core"][0]["v"] = [round(x, 5) for x in vector]
    del old["core"][0]["vb"]
    assert StoryFacts.from_json(json.dumps(old)).core[0].vector == tuple(round(x, 5) for x in vector)
    broken = json.loads(sf.to_json())
    broken["core"][0]["vb"] = "not base64!"
    assert StoryFacts.from_json(json.dumps(broken)) == StoryFacts.empty()


def test_the_older_unbounded_format_reads_as_one_core_report() -> None:
    old = json.dumps({"ents": {"kursk": 1.0}, "nums": [1250], "dates": ["06-01"], "stems": {"troop": 3.0},
                      "names": ["budanov"], "texts": [["en", "north korean troops"]],
                      "times": [T0.isoformat(), (T0 + timedelta(days=1)).isoformat()]})
    sf = StoryFacts.from_json(old)
    assert len(sf.core) == 1 and sf.core[0].numbers == {1250} and sf.core[0].stems == {"troop": 1.0}
    assert sf.last == T0 + timedelta(days=1)


@pytest.mark.parametrize(("case", "b", "check"), [
    ("same entities, same day", facts(2), lambda x: x["entities"] > 1.5 and x["days_apart"] == 0.0),
    ("three days later", facts(2, hours=72), lambda x: x["days_apart"] == 3.0),
    ("time unknown", facts(2, hours=None), lambda x: x["time_unknown"] == 1.0 and x["unknown_time×entities"] > 0),
    ("other language: no headline similarity", facts(2, lang="ko"), lambda x: x["headline"] == 0.0),
    ("different figures", facts(2, nums=frozenset({3000})), lambda x: x["figure_conflict"] == 1.0),
    ("different years named", facts(2, hours=None, years=frozenset({2023})), lambda x: x["year_conflict"] == 1.0),
    ("meaning, across languages", facts(2, lang="ko", vector=(1.0, 0.0)),
     lambda x: x["cosine_cross"] > 0 and x["cosine"] == 0.0),
    # `a` was published on 3 June 2025; `b` has no date of its own and names days
    ("undated, names the day before", facts(2, hours=None, dates=frozenset({"06-02"})),
     lambda x: x["named_date_fits"] == 1.0 and x["named_date_far"] == 0.0),
    ("undated, names the day after (time zones)", facts(2, hours=None, dates=frozenset({"06-04"})),
     lambda x: x["named_date_fits"] == 1.0),
    ("undated, names a day 5 days before: neither", facts(2, hours=None, dates=frozenset({"05-29"})),
     lambda x: x["named_date_fits"] == 0.0 and x["named_date_far"] == 0.0),
    ("undated, names only days months away", facts(2, hours=None, dates=frozenset({"03-21", "11-04"})),
     lambda x: x["named_date_far"] == 1.0 and x["named_date_fits"] == 0.0),
    ("undated, one named day fits: not far", facts(2, hours=None, dates=frozenset({"03-21", "06-03"})),
     lambda x: x["named_date_fits"] == 1.0 and x["named_date_far"] == 0.0),
    ("both dated: named days are left to days apart", facts(2, hours=24, dates=frozenset({"03-21"})),
     lambda x: x["named_date_fits"] == 0.0 and x["named_date_far"] == 0.0),
])
def test_pair_features(case: str, b: Facts, check: Any) -> None:
    a = facts(1, nums=frozenset({1250}), vector=(1.0, 0.0))
    x = pair_features(watch(), a, b)
    assert set(x) == set(PAIR_FEATURES)
    assert check(x), (case, x)


@pytest.mark.parametrize(("entity", "lang", "text", "want"), [
    ("belousov", "de", "der minister besuchte pjöngjang", True),  # a Latin `any` spelling, Latin text
    ("belousov", "uk", "міністр оборони відвідав пхеньян", True),  # a Cyrillic spelling (ru's) fits the script
    ("belousov", "ko", "국방장관이 평양을 방문했다", True),  # its own language
    ("belousov", "ja", "国防相が平壌を訪問した", False),  # no spelling a Japanese text could carry
    ("belousov", "ja", "国防相 Belousov が平壌を訪問した 国防相 平壌", False),  # one Latin word: still Japanese
    ("memorial", "fr", "un monument aux morts", False),  # Latin terms of other languages only
    ("memorial", "de", "ein denkmal", True),
    ("memorial", "any", "unknown language", True),  # language unknown: assume it could
    ("no-such-entity", "ja", "国防相", True),
])
def test_readable_says_whether_a_report_could_have_named_an_entity(entity: str, lang: str, text: str,
                                                                   want: bool) -> None:
    from bot.core.stories.compare import Side
    side = Side.of(facts(1, lang=lang, text=text))
    assert readable(watch().entity(entity), lang, side.script) is want


@given(st.text(alphabet=st.sampled_from("ab1 \u00e9\u0431\u0433\uac00\u4e2d\u0928\u0627"), max_size=80))
def test_a_sides_script_is_its_words_majority_script(text: str) -> None:
    """Side.script reads an all-ASCII text as Latin without looking at its words: the same answer."""
    from bot.core.stories.compare import Side, _main_script
    assert Side.of(facts(1, text=text)).script == _main_script(text.split())


def test_an_entity_the_other_language_cannot_name_is_no_mismatch() -> None:
    de = facts(1, ents={"kursk": 1.0, "belousov": 1.0}, text="beloussow in kursk")
    ja = facts(2, ents={"kursk": 1.0}, lang="ja", text="クルスク 国防相")
    fr = facts(3, ents={"kursk": 1.0}, lang="fr", text="le ministre a kursk")
    memorial = facts(4, ents={"kursk": 1.0, "memorial": 1.0}, lang="de", text="gedenkstätte in kursk")
    assert pair_features(watch(), de, ja)["entity_mismatch"] == 0.0  # no Japanese spelling of Belousov
    assert pair_features(watch(), de, fr)["entity_mismatch"] == 1.0  # French text could say "Belousov"
    assert pair_features(watch(), memorial, fr)["entity_mismatch"] == 0.0  # memorial has no French term
    assert pair_features(watch(), memorial, facts(5))["entity_mismatch"] == 1.0  # but an English one


def test_a_named_day_meets_the_publication_day_across_the_new_year() -> None:
    a = facts(1, hours=24 * 212)  # published 1 January 2026
    # 29 February: no such day in 2025–2027, so it says nothing
    for named, want in (("12-30", (1.0, 0.0)), ("01-01", (1.0, 0.0)), ("02-29", (0.0, 0.0)), ("06-01", (0.0, 1.0))):
        x = pair_features(watch(), a, facts(2, hours=None, dates=frozenset({named})))
        assert (x["named_date_fits"], x["named_date_far"]) == want, named


def test_evidence_names_what_moved_the_decision() -> None:
    a, b = facts(1), facts(2, lang="ko")
    text = pair_evidence(a, b, {"entities": 1.2, "cosine_cross": -0.5, "words": 0.01})
    assert text.startswith("entities dprk, kursk +1.20") and "similar meaning across languages -0.50" in text
    assert "shared words" not in text  # too small to mention
    dated, undated = facts(1), facts(2, hours=None, dates=frozenset({"06-02"}))
    text = pair_evidence(dated, undated, {"named_date_fits": 2.5, "named_date_far": 0.0})
    assert text == "date 06-02 named, published then +2.50"


FACTS = st.builds(
    lambda ents, stems, nums, vec, hours: Facts(ents, frozenset(nums), frozenset(), frozenset(), stems, frozenset(),
                                                "text", "en", None if hours is None else T0 + timedelta(hours=hours),
                                                None if vec is None else tuple(vec)),
    st.dictionaries(st.sampled_from(["kursk", "dprk", "belousov", "memorial", "seoul"]), st.sampled_from([0.5, 1.0])),
    st.dictionaries(st.text("abcdefgh", min_size=4, max_size=6), st.sampled_from([0.5, 1.0]), max_size=6),
    st.sets(st.integers(10, 50_000), max_size=3),
    st.none() | st.lists(st.floats(-1, 1, width=32), min_size=4, max_size=4),  # float32 values, as embedders give
    st.none() | st.integers(0, 200))


@given(st.lists(st.tuples(FACTS, st.booleans()), min_size=1, max_size=MAX_CORE + 3))
def test_a_fingerprint_remembered_as_written_equals_it_read_back(reports: list[tuple[Facts, bool]]) -> None:
    """cluster's write-through cache: what a merge remembers must be what the store gives back,
    down to the order of the dicts' keys and the type of every number (sums run in that order)."""
    from bot.core.stories import cluster

    cache = cluster._Fingerprints(8)
    (first, _), *rest = reports
    sf = StoryFacts.empty().absorb(first)
    features = cache.write(sf, None)
    assert features == sf.to_json()
    for n, (facts, claimed) in enumerate(rest):
        # Now and then the story comes from the store, not from this process's last write
        before = cache(features) if n % 3 else cluster._Fingerprints(8)(features)
        sf = before[0].absorb(facts, core_ok=not claimed)
        features = cache.write(sf, before)
        assert features == sf.to_json()  # the core's JSON kept from earlier writes: the very same text
    kept = cache(features)
    read = cluster._Fingerprints(8)(features)  # a fresh decode, as from the store
    assert kept[0] == read[0] and kept[1] == read[1]
    for a, b in zip(kept[0].core, read[0].core, strict=True):
        assert list(a.entities.items()) == list(b.entities.items()) and list(a.stems.items()) == list(b.stems.items())
        assert a.vector == b.vector and all(type(x) is float for x in a.vector or ())
    assert kept[3] == read[3] and kept[2].vectors == read[2].vectors


def test_a_specific_another_core_report_names_is_no_mismatch() -> None:
    """Against a story, the new report's specific counts as "different" only where none of the
    story's core reports names it; what the compared core report names and the new one lacks
    still counts."""
    from bot.core.stories.compare import core_entities

    new = facts(1, ents={"kursk": 1.0, "belousov": 1.0}, text="belousov in kursk")
    without = facts(2, ents={"kursk": 1.0})  # the core report compared
    named = facts(3, ents={"kursk": 1.0, "belousov": 1.0})  # another core report of the story
    with_memorial = facts(4, ents={"kursk": 1.0, "memorial": 1.0})
    assert pair_features(watch(), new, without)["entity_mismatch"] == 1.0
    assert pair_features(watch(), new, without, core_entities([without, named]))["entity_mismatch"] == 0.0
    assert pair_features(watch(), new, without, core_entities([without, with_memorial]))["entity_mismatch"] == 1.0
    # the core report's own specific the new report lacks: counted whatever the story names
    assert pair_features(watch(), new, with_memorial,
                         core_entities([with_memorial, named]))["entity_mismatch"] == 1.0
    assert core_entities([without, with_memorial]) == {"kursk", "memorial"}
