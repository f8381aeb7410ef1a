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
