"""An item the filter doubts, claimed by a story of the watch (bot/pipeline.py, Watch.rescue_from).

The filter reads one report alone. A report of a development the desk already follows may name
less than it asks for (no force term, a language with few terms) and score below the threshold.
When its probability is at least `rescue_from` and the story model places it in a story of the
window, it is relevant with that story: its link is added to the alert, and `why` says so. A
doubted item no story claims stays filtered, with the closest story in its reasons.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from bot.pipeline import Context, CycleReport, process_items
from bot.store.memory import MemoryStore
from tests.factories import T0, item, settings

SEED = item("Kim Jong Un tours Russian fighter jet plant as arms deal looms",
            "North Korean leader Kim Jong Un inspected the Su-35 fighter jet factory in Komsomolsk-on-Amur, as "
            "Washington warned of weapons deliveries from Pyongyang to Russia for its war in Ukraine.",
            source="Seoul Wire")
# The same visit, told without the arms: the filter alone is unsure (p ~0.4 with the shipped model).
SAME = item("Kim Jong Un visits aircraft factory in Komsomolsk-on-Amur",
            "North Korean leader Kim Jong Un visited the Gagarin aircraft plant in Komsomolsk-on-Amur on Friday, "
            "where he was shown the Su-35 fighter jet.", source="Far East Daily", published=T0 + timedelta(hours=3))


async def _desk(rescue_from: float) -> Context:
    base = settings("desk")
    watch = replace(base.watches[0], rescue_from=rescue_from)
    store = MemoryStore()
    await store.open()
    return Context(settings=replace(base, watches=(watch,)), store=store, sinks={}, check_age=False)


async def test_a_doubted_report_of_a_followed_development_joins_its_story() -> None:
    ctx = await _desk(0.2)
    [seed] = await process_items(ctx, [SEED], T0)
    report = CycleReport()
    [out] = await process_items(ctx, [SAME], T0 + timedelta(hours=3), report)
    assert seed.relevant and seed.story_id is not None
    assert 0.2 <= out.score < 0.5, "the filter alone must doubt it, or this tests nothing"
    assert (report.relevant, report.claimed, report.merged) == (1, 1, 1)  # the cycle log and /metrics count it
    assert out.relevant and out.story_id == seed.story_id, out.reasons
    assert any(f"relevant as a report of story {seed.story_id} on the watch" in r for r in out.reasons)
    events = {e.event: e for e in await ctx.store.item_events(SAME.key)}
    assert "merged" in events and "filtered" not in events, events
    [m] = await ctx.store.matches(SAME.key)
    assert m.relevant and m.score == out.score  # `why` reads the stored match: the filter's p, and why relevant
    story = await ctx.store.story(seed.story_id)
    assert story is not None and [s.item_key for s in story.sources] == [SEED.key, SAME.key]


@pytest.mark.parametrize("rescue_from", [1.01, 0.45], ids=["off", "above its p"])
async def test_without_rescue_a_doubted_report_stays_filtered(rescue_from: float) -> None:
    ctx = await _desk(rescue_from)
    await process_items(ctx, [SEED], T0)
    report = CycleReport()
    [out] = await process_items(ctx, [SAME], T0 + timedelta(hours=3), report)
    assert not out.relevant and out.story_id is None and (report.relevant, report.claimed) == (0, 0)
    assert [e.event for e in await ctx.store.item_events(SAME.key)] == ["new", "filtered"]


async def test_a_doubted_report_no_story_claims_stays_filtered_and_says_why() -> None:
    ctx = await _desk(0.2)
    [out] = await process_items(ctx, [SAME], T0)  # nothing on the watch yet
    assert 0.2 <= out.score < 0.5 and not out.relevant and out.story_id is None
    assert "no story on the watch claims it: no open story to compare with" in out.reasons
    assert [e.event for e in await ctx.store.item_events(SAME.key)] == ["new", "filtered"]


async def test_a_story_older_than_the_window_claims_nothing() -> None:
    ctx = await _desk(0.2)
    [seed] = await process_items(ctx, [SEED], T0)
    late = T0 + timedelta(days=10)
    again = replace(SAME, key="k-again", url="https://fareast.example/again", published=late, fetched=late)
    [out] = await process_items(ctx, [again], late)
    assert not out.relevant and out.story_id is None
    assert await ctx.store.story_of_item(again.key) is None
    story = await ctx.store.story(seed.story_id or "")
    assert story is not None and len(story.sources) == 1


async def test_a_story_claims_no_more_reports_than_its_own() -> None:
    """One report the filter found relevant carries one claim: a third, doubted like the second,
    stays filtered and says why (so one false alert cannot gather every look-alike of its kind)."""
    third = item("Kim shown Su-35 production line",
                 "Kim Jong Un was shown the Su-35 and Su-57 production lines at the aviation plant in "
                 "Komsomolsk-on-Amur in Russia's Far East.", source="Amur Times", published=T0 + timedelta(hours=5))
    ctx = await _desk(0.2)
    [seed] = await process_items(ctx, [SEED], T0)
    [second] = await process_items(ctx, [SAME], T0 + timedelta(hours=3))
    [out] = await process_items(ctx, [third], T0 + timedelta(hours=5))
    assert second.relevant and 0.2 <= out.score < 0.5 and not out.relevant and out.story_id is None
    assert f"no story on the watch claims it: {seed.story_id} would, but it holds as many claimed reports " \
           "as its own" in out.reasons
    story = await ctx.store.story(seed.story_id or "")
    assert story is not None and [s.item_key for s in story.sources] == [SEED.key, SAME.key]
