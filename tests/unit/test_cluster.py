"""Story merging on hand-written reports: same development across outlets and languages joins,
distinct steps and other developments stay apart, and updates say what they add."""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.core.relevance.match import match_item
from bot.core.stories import cluster
from bot.model import Item, Story
from tests.unit.test_watch import config_watch

WATCH = config_watch()
T0 = datetime(2025, 6, 3, 8, tzinfo=UTC)


def item(key: str, title: str, summary: str, lang: str = "en", hours: float = 0.0, dated: bool = True,
         source: str = "Desk") -> Item:
    at = T0 + timedelta(hours=hours)
    return Item(key=key, feed="f", source=source, url=f"https://example.test/{key}", title=title,
                summary=summary, published=at, fetched=at, lang=lang, dated=dated)


A1 = item("a1", "Seoul: North Korea sends 1,250 more troops to Belgorod",
          "South Korea's National Intelligence Service told lawmakers that 1,250 additional North Korean "
          "soldiers arrived in Russia's Belgorod region last week.", source="Wire One")
A2 = item("a2", "", "North Korea has deployed about 1,250 additional troops to Russia's Belgorod area, "
          "according to South Korea's NIS, which briefed parliament on Tuesday.", hours=6, source="Daily Two")
A3 = item("a3", "", "국정원은 북한이 러시아 벨고로드 지역에 병력 1,250명을 추가 파병했다고 국회 정보위원회에 보고했다.",
          lang="ko", hours=10, source="Seoul Three")
C1 = item("c1", "Zelensky: Ukrainian troops captured two North Korean soldiers near Sudzha",
          "Ukraine's president said the wounded prisoners were taken during fighting in Russia's Kursk region "
          "and offered to exchange them.", hours=3, source="Kyiv Four")


def run(items: Sequence[Item], any_age: bool = False
        ) -> tuple[dict[str, str], dict[str, Story], list[cluster.Assignment]]:
    """The pipeline's loop with a list as the store: item key -> story id."""
    stories: dict[str, Story] = {}
    where: dict[str, str] = {}
    log: list[cluster.Assignment] = []
    for it in items:
        m = match_item(WATCH, it)
        assert m.relevant, (it.key, m.reasons)
        keys = set(cluster.story_keys(WATCH, it))
        since = cluster.candidate_since(WATCH, it, any_age)
        cands = [s for s in stories.values() if s.last_published >= since and keys & set(s.keys)]
        a = cluster.assign(WATCH, it, m, cands, it.published)
        log.append(a)
        base = stories.get(a.story_id) if a.story_id else None
        story = cluster.add_source(base, WATCH, it, m, a) if base else cluster.new_story(WATCH, it, m)
        stories[story.id] = story
        where[it.key] = story.id
    return where, stories, log


def partition(where: dict[str, str]) -> set[frozenset[str]]:
    groups: dict[str, set[str]] = {}
    for k, s in where.items():
        groups.setdefault(s, set()).add(k)
    return {frozenset(g) for g in groups.values()}


def test_same_development_joins_across_outlets_and_languages() -> None:
    where, stories, _ = run([A1, A2, A3, C1])
    assert partition(where) == {frozenset({"a1", "a2", "a3"}), frozenset({"c1"})}
    story = stories[where["a1"]]
    assert [s.item_key for s in story.sources] == ["a1", "a2", "a3"]
    assert story.languages == ("en", "ko")


@pytest.mark.parametrize("order", list(itertools.permutations([A1, A2, A3, C1]))[::5])
def test_grouping_does_not_depend_on_arrival_order(order: tuple[Item, ...]) -> None:
    where, _, _ = run(order)
    assert partition(where) == {frozenset({"a1", "a2", "a3"}), frozenset({"c1"})}


@pytest.mark.parametrize(("case", "later"), [
    ("same wording six days later is a later step",
     replace(A1, key="b1", url="u-b1", published=A1.published + timedelta(days=6))),
    ("successive estimate, days apart", item(
        "b2", "Seoul now counts 2,400 more North Korean troops in Belgorod",
        "South Korea's NIS raised its estimate of North Korean soldiers sent to Russia's Belgorod region.",
        hours=24 * 5)),
    pytest.param("successive estimate inside the candidate window", item(
        "b3", "Seoul now counts 2,400 more North Korean troops in Belgorod",
        "South Korea's NIS raised its estimate of North Korean soldiers sent to Russia's Belgorod region.",
        hours=60), marks=pytest.mark.xfail(strict=True, reason=(
            "known shortfall of the fitted story model: the dev corpora hold too few dated same-topic "
            "pairs 2-7 days apart to learn a time decay (days_apart weight ~0), so a new estimate 60 h "
            "later with a different figure still joins (p 0.78 >= 0.75)"))),
])
def test_distinct_steps_that_read_alike_stay_apart(case: str, later: Item) -> None:
    where, _, log = run([A1, later])
    assert where[later.key] != where["a1"], (case, log[-1].reasons)


def test_update_records_new_facts_and_repeat_records_none() -> None:
    a4 = item("a4", "", "Of the 1,250 North Korean troops sent to Belgorod, 30 were killed in a drone strike, "
              "Ukraine's military intelligence chief Budanov said.", hours=12)
    where, stories, log = run([A1, A2, a4])
    assert where["a4"] == where["a1"], log[-1].reasons
    assert log[1].new_facts == ()
    assert "new figure: 30" in log[2].new_facts
    assert "new actor: Kyrylo Budanov" in log[2].new_facts
    added = next(s for s in stories[where["a1"]].sources if s.item_key == "a4")
    assert added.new_facts == log[2].new_facts


def test_live_undated_report_stays_in_the_window_of_its_first_sight() -> None:
    late = replace(A2, key="u1", url="u-u1", dated=False, published=T0 + timedelta(days=40))
    assert cluster.candidate_since(WATCH, late) == late.published - timedelta(hours=WATCH.story_window_hours)
    assert cluster.candidate_since(WATCH, A1) == T0 - timedelta(hours=WATCH.story_window_hours)
    where, _, _ = run([A1, late])
    assert where["u1"] != where["a1"]  # 40 days later: not an edit to the old alert


def test_replay_may_compare_a_report_of_unknown_time_with_stories_of_any_age() -> None:
    late = replace(A2, key="u1", url="u-u1", dated=False, published=T0 + timedelta(days=40))
    assert cluster.candidate_since(WATCH, late, time_unknown_any_age=True) < T0
    where, _, log = run([A1, late], any_age=True)
    assert where["u1"] == where["a1"], log[-1].reasons


def test_new_story_is_deterministic_and_carries_its_lookup_keys() -> None:
    m = match_item(WATCH, A1)
    s1, s2 = cluster.new_story(WATCH, A1, m), cluster.new_story(WATCH, A1, m)
    assert s1 == s2 and re.fullmatch(r"s-[0-9a-f]{8}", s1.id)
    assert s1.title == A1.title and s1.first_published == s1.last_published == A1.published
    assert {"e:belgorod", "e:nis", "n:1250"} <= set(s1.keys)
    assert set(cluster.story_keys(WATCH, A3)) & set(s1.keys)  # the Korean report finds it
    assert json.loads(s1.features)["nums"] == [1250]


def test_add_source_is_idempotent_and_keeps_time_order() -> None:
    m = match_item(WATCH, A2)
    story = cluster.new_story(WATCH, A2, m)
    a = cluster.Assignment(story.id, 3.0, ("test",), ())
    grown = cluster.add_source(story, WATCH, A1, match_item(WATCH, A1), a)
    assert [s.item_key for s in grown.sources] == ["a1", "a2"]  # earlier report first
    assert grown.first_published == A1.published and grown.last_published == A2.published
    assert cluster.add_source(grown, WATCH, A1, match_item(WATCH, A1), a) == grown


def test_a_claimed_report_is_listed_but_never_matched_against() -> None:
    """A report the story claimed (the filter alone doubted it) is a source, not a core report:
    later reports are compared with the reports the filter found relevant, and add no keys."""
    story = cluster.new_story(WATCH, A2, match_item(WATCH, A2))
    a = cluster.Assignment(story.id, 0.9, ("test",), ())
    claimed = cluster.add_source(story, WATCH, C1, match_item(WATCH, C1), a, claimed=True)
    joined = cluster.add_source(story, WATCH, C1, match_item(WATCH, C1), a)
    assert [s.item_key for s in claimed.sources] == [s.item_key for s in joined.sources] == ["c1", "a2"]  # time order
    core = [len(json.loads(s.features)["core"]) for s in (story, claimed, joined)]
    assert core == [1, 1, 2]
    assert claimed.keys == story.keys and set(joined.keys) > set(story.keys)
    # A story claims no more reports than the filter found relevant in it: one false alert cannot
    # gather every look-alike of its kind.
    assert cluster.may_claim(story) and not cluster.may_claim(claimed) and cluster.may_claim(joined)
    once = cluster.add_source(joined, WATCH, A1, match_item(WATCH, A1), a, claimed=True)
    twice = cluster.add_source(once, WATCH, A3, match_item(WATCH, A3), a, claimed=True)
    assert cluster.may_claim(once) and not cluster.may_claim(twice)  # two of its own, two claimed
    assert json.loads(twice.features)["claimed"] == 2 and len(twice.sources) == 4


def test_no_candidates_and_unreadable_features_start_a_new_story() -> None:
    m = match_item(WATCH, A1)
    assert cluster.assign(WATCH, A1, m, [], T0).story_id is None
    broken = replace(cluster.new_story(WATCH, A2, m), features="{not json")
    a = cluster.assign(WATCH, A1, m, [broken], T0)
    assert a.story_id is None and a.reasons


def test_other_watch_stories_are_ignored() -> None:
    m = match_item(WATCH, A1)
    other = replace(cluster.new_story(WATCH, A2, m), watch="another-watch")
    assert cluster.assign(WATCH, A1, m, [other], T0).story_id is None


@pytest.mark.parametrize("first", [True, False])
def test_each_candidate_is_scored_against_what_its_own_core_names(first: bool) -> None:
    """A report's specifics are weighed against what the compared story's core reports name
    together, never another candidate's (whichever order the candidates come in)."""
    from bot.core.relevance.model import sigmoid
    from bot.core.stories.compare import EntityWeights, PairLogit, Side, core_entities, side_values

    b1 = item("b1", "Belousov and North Korea's defence minister unveil a memorial in Moscow",
              "Russia's defence minister Andrei Belousov and No Kwang Chol opened a monument to Korean "
              "fighters; he said North Korean troops helped free the Kursk region.", source="Wire One")
    b2 = item("b2", "", "A monument to Korean partisans was unveiled in Moscow by the two defence ministers, "
              "who spoke of North Korean soldiers in the Kursk region.", hours=2, source="Daily Two")
    where, stories, _ = run([A1, A2, b1, b2])
    assert where["a1"] != where["b1"] == where["b2"]  # two stories: Belousov is named in one core report
    new = item("b3", "", "Belousov: North Korean soldiers who fought in Kursk are honoured by the new monument.",
               hours=5, source="Seoul Three")
    m = match_item(WATCH, new)
    cands = sorted(stories.values(), key=lambda s: (s.sources[0].item_key != "b1") == first)
    got = cluster.assign(WATCH, new, m, cands, new.published)
    facts = cluster.facts_of(WATCH, new)
    model, _ = cluster.pair_model(WATCH, True, facts.vector is not None)
    logit, weight, me = PairLogit(model), EntityWeights(WATCH), Side.of(facts)
    want = 0.0
    for story in cands:
        core = cluster._fingerprint(story.features)[0].core
        seen = core_entities(core)
        ps = [sigmoid(logit(side_values(WATCH, me, Side.of(c), weight, None, seen))) for c in core]
        want = max(want, cluster.story_probability(ps, True))
    assert got.score == round(want, 3) and got.story_id is not None
