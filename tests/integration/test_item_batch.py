"""An item's outcome is one store transaction (`store.batch()` in pipeline.process_items): a run
that dies while processing an item leaves none of it, and the next cycle processes it once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.pipeline import Context, CycleReport, process_backlog, process_items
from bot.store.sqlite import SqliteStore
from tests.factories import T0, item, settings

DEPLOY = item("North Korean troops deployed to Kursk region to fight for Russia, Seoul says",
              "South Korea's spy agency said thousands of North Korean soldiers were sent to Russia's Kursk "
              "region to fight against Ukraine.", source="Example Wire")


@pytest.fixture
async def ctx(tmp_path: Path) -> AsyncIterator[Context]:
    store = SqliteStore(str(tmp_path / "d.db"))
    await store.open()
    try:
        yield Context(settings=settings("desk"), store=store, check_age=False)
    finally:
        await store.close()


async def test_an_item_that_fails_midway_leaves_nothing_and_is_processed_once_later(
        ctx: Context, monkeypatch: pytest.MonkeyPatch) -> None:
    store = ctx.store
    await store.add_items([DEPLOY])

    async def dies(*_: Any, **__: Any) -> int:
        raise RuntimeError("the process dies while routing")

    with monkeypatch.context() as m:
        m.setattr(store, "enqueue", dies)  # after the match, the story and its events were written
        with pytest.raises(RuntimeError):
            await process_items(ctx, [DEPLOY], T0)
    assert await store.item_events(DEPLOY.key) == [] and await store.matches(DEPLOY.key) == []
    assert await store.story_of_item(DEPLOY.key) is None
    assert [i.key for i in await store.unprocessed_items()] == [DEPLOY.key]

    report = CycleReport()
    await process_backlog(ctx, T0, report)
    assert report.new_stories == 1 and await store.unprocessed_items() == []
    assert [e.event for e in await store.item_events(DEPLOY.key)] == ["new", "new-story"]
    story = await store.story_of_item(DEPLOY.key)
    assert story is not None and [d.id for d in await store.alert_deliveries_for_story(story.id)] == [
        f"alert:{story.id}:desk"]


NOISE = item("K-pop group announces world tour", "The band will play 40 cities across Asia and Europe.")
NOISE_2 = item("Chip maker posts record quarterly profit", "Sales of memory chips rose by a third.")
NOISE_3 = item("City opens new tram line", "The line links the station with the university.")


async def test_a_run_of_filtered_items_is_one_transaction_written_in_order(
        ctx: Context, monkeypatch: pytest.MonkeyPatch) -> None:
    """Items every watch filters are recorded together (bot/pipeline.py, _record_filtered): a
    failure leaves none of the run, and the run before a relevant item is written before it."""
    store = ctx.store
    await store.add_items([NOISE, DEPLOY, NOISE_2, NOISE_3])
    real = store.mark_processed

    async def dies(keys: Any) -> None:
        if NOISE_3.key in keys:
            raise RuntimeError("the process dies while recording the last run")
        await real(keys)

    with monkeypatch.context() as m:
        m.setattr(store, "mark_processed", dies)
        with pytest.raises(RuntimeError):
            await process_items(ctx, [NOISE, DEPLOY, NOISE_2, NOISE_3], T0)
    # The run before DEPLOY and DEPLOY itself were committed; the last run left nothing.
    assert [e.event for e in await store.item_events(NOISE.key)] == ["new", "filtered"]
    assert [e.event for e in await store.item_events(DEPLOY.key)] == ["new", "new-story"]
    for left in (NOISE_2, NOISE_3):
        assert await store.item_events(left.key) == [] and await store.matches(left.key) == []
    assert [i.key for i in await store.unprocessed_items()] == [NOISE_2.key, NOISE_3.key]

    report = CycleReport()
    await process_backlog(ctx, T0, report)
    assert await store.unprocessed_items() == [] and report.relevant == 0
    for left in (NOISE_2, NOISE_3):
        assert [e.event for e in await store.item_events(left.key)] == ["new", "filtered"]
        [match] = await store.matches(left.key)
        assert not match.relevant


async def test_outcomes_keep_the_order_of_items_across_filtered_runs(ctx: Context) -> None:
    items = [NOISE, DEPLOY, NOISE_2]
    await ctx.store.add_items(items)
    outcomes = await process_items(ctx, items, T0)
    assert [(o.item.key, o.relevant) for o in outcomes] == [(NOISE.key, False), (DEPLOY.key, True),
                                                             (NOISE_2.key, False)]
    assert all(o.story_id is None for o in outcomes if not o.relevant)
