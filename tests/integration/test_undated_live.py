"""Live undated reports that resemble a story older than the window (bot/pipeline.py).

A report without a date is placed at the time it was first seen. When it matches no open story
but does match an older one on content alone, it gets an alert of its own (without a date it may
be news) and never edits the older alert; the resemblance, and whether it adds a figure, actor or
place, is recorded in its reasons (`why`).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from bot.pipeline import Context, process_items
from bot.store.memory import MemoryStore
from tests.factories import T0, item, settings

OLD = item("EU adopts sanctions on North Korean officials over troops sent to fight for Russia",
           "The European Union imposed sanctions on North Korean defence officials over the deployment of "
           "troops to Russia's war against Ukraine, freezing their assets.", source="Brussels Wire")
LATER = T0 + timedelta(days=60)


@pytest.mark.parametrize(("title", "summary", "added"), [
    pytest.param("EU sanctions North Korean officials over troops fighting for Russia",
                 "The European Union froze the assets of North Korean defence officials over the deployment of "
                 "troops to Russia's war against Ukraine.", "repeats what the story already has", id="repeats"),
    pytest.param("EU sanctions North Korean officials over 11,000 troops fighting for Russia",
                 "The European Union froze the assets of North Korean defence officials over the deployment of "
                 "11,000 troops to Russia's war against Ukraine.", "adds new figure: 11,000", id="adds a figure"),
])
async def test_an_undated_report_resembling_an_old_story(title: str, summary: str, added: str) -> None:
    store = MemoryStore()
    await store.open()
    ctx = Context(settings=settings("desk"), store=store, sinks={}, check_age=False)
    await process_items(ctx, [OLD], T0)
    undated = replace(item(title, summary, source="Other Daily", published=LATER), dated=False)
    [outcome] = await process_items(ctx, [undated], LATER)
    old_story = await store.story_of_item(OLD.key)
    assert old_story is not None
    events = {e.event: e for e in await store.item_events(undated.key)}
    assert "new-story" in events and "merged" not in events, (events, outcome.reasons)
    note = events["new-story"].detail
    assert f"resembles older story {old_story.id}" in note and added in note, note
    assert outcome.story_id is not None and outcome.story_id != old_story.id
    alerts = [d for d in await store.due_deliveries(LATER) if d.kind == "alert"]
    assert len(alerts) == 2  # the old story's alert, and one of its own: no edit of the old one
    assert (await store.story(old_story.id)) == old_story  # untouched
