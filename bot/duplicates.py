"""Duplicates and syndicated copies, as core/identity.py judges them: a duplicate is recorded on
its twin (so `why URL` finds it), a copy joins its twin's story as one more source.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from bot.core.identity import IdentityVerdict
from bot.core.stories import cluster
from bot.model import Item, ItemEvent, Match
from bot.routing import all_subscriptions, route
from bot.store.base import Store

if TYPE_CHECKING:
    from bot.pipeline import Context, CycleReport


def duplicate_marker(url_or_key: str) -> str:
    """Meta key naming the twin of a duplicate that was not stored, so `why URL` can find it."""
    return f"duplicate:{url_or_key}"


async def twin_of_duplicate(store: Store, url: str) -> Item | None:
    """The stored item a duplicate link repeated, if that link was seen as a duplicate."""
    key = await store.get_meta(duplicate_marker(url)) if url else None
    return await store.item(key) if key else None


async def note_duplicate(store: Store, item: Item, verdict: IdentityVerdict, twin: Item, now: datetime) -> None:
    if twin.key == item.key:
        return  # the same entry polled again: nothing worth a line in `why`
    marker = duplicate_marker(item.url or item.key)
    if await store.get_meta(marker) is not None:
        return  # recorded on an earlier poll; feeds repeat their entries every cycle
    await store.record_events([ItemEvent(twin.key, now, "duplicate",
                                         f"{verdict.detail}: {item.url or item.title or item.key}")])
    await store.set_meta(marker, twin.key)


async def join_twin(ctx: Context, item: Item, twin: Item, now: datetime, report: CycleReport) -> bool:
    """Add a copy to its twin's story as a source (to each watch's story holding the twin);
    False when the twin is not matched yet."""
    store = ctx.store
    twin_matches = await store.matches(twin.key)
    if not twin_matches:
        return False
    held = [(w, s) for w in ctx.settings.watches if (s := await store.story_of_item(twin.key, w.name)) is not None]
    if not held:
        relevant = any(m.relevant for m in twin_matches)  # relevant yet in no story: too old to alert
        event, why = ("too-old", "was too old to alert") if relevant else ("filtered", "was filtered")
        await store.record_events([ItemEvent(item.key, now, event, f"same headline as {twin.key}, which {why}")])
        await store.mark_processed([item.key])
        return True
    reason = f"same headline as {twin.url or twin.key} (syndicated copy)"
    subs = await all_subscriptions(ctx)
    for watch, story in held:
        base = next((m for m in twin_matches if m.watch == watch.name), Match(watch.name, True, story.score))
        match = replace(base, reasons=(reason,))
        grown = cluster.add_source(story, watch, item, match, cluster.Assignment(story.id, match.score, (reason,), ()))
        await store.save_match(item.key, match)
        await store.save_story(grown)
        await store.record_events([ItemEvent(item.key, now, "merged", reason, story_id=grown.id)])
        report.merged += 1
        await route(ctx, watch, grown, item, False, now, subs)
    await store.mark_processed([item.key])
    return True
