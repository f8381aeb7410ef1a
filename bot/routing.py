"""Routing a story into the outbox: an alert row per instant subscription of a new story (unless
muted, or the channel is flooded), re-opened alerts when a story grows. Delivery is outbox.py's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.core.watch import Watch
from bot.model import Delivery, Item, ItemEvent, Story, Subscription

if TYPE_CHECKING:
    from bot.pipeline import Context


async def all_subscriptions(ctx: Context) -> list[Subscription]:
    """Config subscriptions plus those added by slash command (the latter stored)."""
    stored = await ctx.store.subscriptions()
    seen = {(s.watch, s.destination) for s in stored}
    return [*stored, *(s for s in ctx.settings.subscriptions if (s.watch, s.destination) not in seen)]


async def route(ctx: Context, watch: Watch, story: Story, item: Item, is_new: bool, now: datetime,
                subs: Sequence[Subscription]) -> None:
    """Instant subscriptions get an alert row for a new story; a grown story re-opens its sent
    alerts so the outbox edits them. Digest subscriptions pick stories up at digest time."""
    store = ctx.store
    if not is_new:
        await store.reopen_alerts(story.id, story.version)
        return
    mutes = await store.mutes(now)
    text = f"{item.title} {item.summary}".casefold()
    rows = []
    for sub in subs:
        if sub.watch != watch.name or sub.mode != "instant":
            continue
        muted = [m.term for m in mutes if m.destination == sub.destination and m.term.casefold() in text]
        if muted:
            await store.record_events([ItemEvent(item.key, now, "muted", f"term {muted[0]!r}",
                                                 story_id=story.id, destination=sub.destination)])
            continue
        if await _flooded(ctx, sub.destination, story, now):
            await store.record_events([ItemEvent(
                item.key, now, "deferred", "channel flooded: this story goes into the hourly flood digest",
                story_id=story.id, destination=sub.destination)])
            continue
        rows.append(Delivery(id=f"alert:{story.id}:{sub.destination}", destination=sub.destination,
                             kind="alert", created=now, story_id=story.id, title=story.title))
    await store.enqueue(rows)


async def _flooded(ctx: Context, destination: str, story: Story, now: datetime) -> bool:
    """Past the destination's max_alerts_per_hour, new stories are collected into one digest sent
    when the hour is over, instead of posting hundreds of alerts (nothing is dropped). Runs under
    story_guard (via process_items), so the count and the digest's story list are not raced."""
    dest = ctx.settings.destination(destination)
    limit = dest.max_alerts_per_hour if dest else 30
    hour = now.replace(minute=0, second=0, microsecond=0)
    key = f"flood:{destination}:{hour:%Y%m%d%H}"
    count = int(await ctx.store.get_meta(key) or 0)
    if count < limit:
        await ctx.store.set_meta(key, str(count + 1))
        return False
    for n in range(1, 100):  # the hour's digest, or a follow-up if that one is already going out
        digest_id = f"digest:flood-{hour:%Y%m%dT%H}{'' if n == 1 else f'-{n}'}:{destination}"
        row = await ctx.store.delivery(digest_id)
        if row is None:
            row = Delivery(id=digest_id, destination=destination, kind="digest", created=now,
                           next_attempt=max(now, hour + timedelta(hours=1)),
                           title=f"More stories this hour ({hour:%H:%M}–{hour + timedelta(hours=1):%H:%M} UTC)")
            await ctx.store.enqueue([row])
        if story.id in row.story_ids:
            return True
        if row.status == "pending" and row.attempts == 0:
            await ctx.store.save_delivery(replace(row, story_ids=(*row.story_ids, story.id)))
            return True
    return False  # pathological: alert it rather than lose it
