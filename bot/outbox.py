"""Deliver what the outbox holds: alerts, edits of grown stories, digests.

A row is marked "sending" (and committed) before the platform call and "sent" with the
platform's reference after it. A row found "sending" with no reference after a restart may or may
not have been posted: the sink is asked to find its marker before anything is re-sent. Errors
never drop a row: retryable ones wait (back-off or Retry-After), a bad token stops that platform,
a missing channel or permission holds the destination's rows until it recovers.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from bot.core.render import alert_message, digest_message, order_for_digest, thread_note, update_message
from bot.model import Delivery, Destination, ItemEvent, Message, Story, Subscription
from bot.pipeline import Context
from bot.platforms.base import PermanentDeliveryError, RetryableDeliveryError, Sink

log = logging.getLogger("deskwatch.outbox")
HOLD = timedelta(minutes=15)  # how long an unhealthy destination waits before the next try
MAX_BACKOFF = timedelta(hours=1)


@dataclass
class DeliveryReport:
    sent: int = 0
    edited: int = 0
    recovered: int = 0  # found already posted after a crash: not re-sent
    retrying: int = 0
    held: int = 0
    failed: int = 0


def resolve_destination(ctx: Context, name: str) -> Destination | None:
    """A configured destination, or one made by a slash command ("discord:<channel id>")."""
    dest = ctx.settings.destination(name)
    if dest is not None:
        return dest
    platform, _, channel = name.partition(":")
    if platform in ("discord", "slack") and channel:
        return Destination(name=name, platform=platform, channel=channel)  # type: ignore[arg-type]
    return None


def marker_for(row: Delivery) -> str:
    return f"deskwatch:{row.id}"


async def deliver_pending(ctx: Context, now: datetime) -> DeliveryReport:
    """One pass over due outbox rows; destinations run concurrently so one that is down does not
    hold back the others, rows of one destination go in order."""
    report = DeliveryReport()
    by_dest: dict[str, list[Delivery]] = defaultdict(list)
    for row in await ctx.store.due_deliveries(now):
        by_dest[row.destination].append(row)
    await asyncio.gather(*(_deliver_destination(ctx, name, rows, now, report)
                           for name, rows in by_dest.items()))
    return report


async def _deliver_destination(ctx: Context, name: str, rows: list[Delivery], now: datetime,
                               report: DeliveryReport) -> None:
    dest = resolve_destination(ctx, name)
    sink = ctx.sinks.get(name)
    if sink is None and dest is not None and ctx.make_sink is not None:
        sink = ctx.make_sink(dest)
        if sink is not None:
            ctx.sinks[name] = sink
    if dest is None or sink is None:
        why = "no such destination in config" if dest is None else "no poster configured for it"
        for row in rows:
            await _hold(ctx, row, f"destination {name!r}: {why}", now, report)
        return
    for row in rows:
        stop_key = _stop_key(dest)
        if stop_key in ctx.stopped_platforms:
            await _hold(ctx, row, ctx.stopped_platforms[stop_key], now, report, healthy=False)
            continue
        try:
            await _deliver_row(ctx, dest, sink, row, now, report)
        except RetryableDeliveryError as exc:
            wait = timedelta(seconds=exc.retry_after) if exc.retry_after else min(
                timedelta(seconds=30 * 2 ** min(row.attempts, 10)), MAX_BACKOFF)
            fresh = await ctx.store.delivery(row.id) or row
            await ctx.store.save_delivery(replace(fresh, next_attempt=now + wait, last_error=str(exc)))
            report.retrying += 1
            log.warning("delivery to %s will be retried in %ds: %s", name, wait.total_seconds(), exc)
        except PermanentDeliveryError as exc:
            if exc.kind == "invalid":
                fresh = await ctx.store.delivery(row.id) or row
                await ctx.store.save_delivery(replace(fresh, status="failed", last_error=str(exc)))
                report.failed += 1
                log.error("message refused by %s, not retried: %s", name, exc)
                continue
            if exc.kind == "auth":
                ctx.stopped_platforms[stop_key] = f"{exc} — posting stopped until the credentials are fixed"
                log.error("%s: %s", name, ctx.stopped_platforms[stop_key])
            await _hold(ctx, row, str(exc), now, report, healthy=False)
            return  # the destination is unhealthy: keep its other rows for later, untouched


def _stop_key(dest: Destination) -> str:
    # A bad bot token affects every channel of that platform; a bad webhook only itself.
    return dest.platform if dest.platform in ("discord", "slack") else f"dest:{dest.name}"


async def _hold(ctx: Context, row: Delivery, why: str, now: datetime, report: DeliveryReport,
                healthy: bool = True) -> None:
    fresh = await ctx.store.delivery(row.id) or row
    await ctx.store.save_delivery(replace(fresh, next_attempt=now + HOLD, last_error=why))
    if not healthy:
        await ctx.store.set_destination_health(row.destination, False, why, now)
    report.held += 1


async def _deliver_row(ctx: Context, dest: Destination, sink: Sink, row: Delivery, now: datetime,
                       report: DeliveryReport) -> None:
    if row.kind == "digest":
        await _deliver_digest(ctx, sink, row, now, report)
        return
    store = ctx.store
    marker = marker_for(row)
    story = await store.story(row.story_id or "")
    if story is None:
        await store.save_delivery(replace(row, status="failed", last_error="story not found"))
        report.failed += 1
        return
    message = _story_message(ctx, story, marker, now, edit=row.ref is not None)
    if row.ref is not None:  # already posted: the story grew, edit it in place
        await sink.edit(row.ref, message)
        if dest.thread_replies:
            await sink.reply(row.ref, thread_note(story, marker=marker))
        await _sent(ctx, row, row.ref, [story], now, "updated")
        report.edited += 1
        return
    ref = await sink.find_sent(marker) if row.status == "sending" else None
    if ref is not None:
        report.recovered += 1
        log.info("delivery %s was already posted before a restart; not re-sending", row.id)
        await sink.edit(ref, message)  # the post may show an older version of the story
        await _sent(ctx, row, ref, [story], now, "alerted")
        return
    await store.save_delivery(replace(row, status="sending", attempts=row.attempts + 1))
    ref = await sink.send(message)
    await _sent(ctx, row, ref, [story], now, "alerted")
    report.sent += 1


async def _deliver_digest(ctx: Context, sink: Sink, row: Delivery, now: datetime, report: DeliveryReport) -> None:
    """A digest is posted page by page, each page one platform message with its own marker, and
    the row records how many pages are out (`sent_version`). An interruption (429, 5xx, crash)
    resumes at the first page not yet posted: nothing is skipped and nothing is posted twice."""
    stories = [s for sid in row.story_ids if (s := await ctx.store.story(sid)) is not None]
    pages = digest_pages(sink, stories, row, now, _threshold(ctx, stories))
    ref = row.ref
    for n in range(row.sent_version, len(pages)):
        found = await sink.find_sent(pages[n].marker) if row.status == "sending" and n == row.sent_version else None
        if found is not None:
            report.recovered += 1
        else:
            row = replace(row, status="sending", attempts=row.attempts + 1)
            await ctx.store.save_delivery(row)
            found = await sink.send(pages[n])
        ref = found
        row = replace(row, status="sending", sent_version=n + 1, ref=ref, last_error="")
        await ctx.store.save_delivery(row)  # progress: this page is out
    await _sent(ctx, row, ref or "", stories, now, "digested")
    report.sent += 1


def digest_pages(sink: Sink, stories: list[Story], row: Delivery, now: datetime, threshold: float) -> list[Message]:
    """Split a digest into pages that each fit one platform message (deterministic for the same
    stories, so a resumed digest has the same pages)."""
    ordered = order_for_digest(stories)
    title = row.title or "Digest"
    groups: list[list[Story]] = []
    for story in ordered:
        trial = [*groups[-1], story] if groups else [story]
        probe = digest_message(trial, marker=marker_for(row) + "#p00", title=f"{title} (page 00/00)", since=None,
                               now=now, threshold=threshold)
        if groups and sink.parts(probe) <= 1:
            groups[-1].append(story)
        else:
            groups.append([story])
    if not groups:
        groups = [[]]
    many = len(groups) > 1
    return [digest_message(g, marker=f"{marker_for(row)}#p{i + 1}" if many else marker_for(row),
                           title=f"{title} (page {i + 1}/{len(groups)})" if many else title, since=None, now=now,
                           threshold=threshold)
            for i, g in enumerate(groups)]


def _story_message(ctx: Context, story: Story, marker: str, now: datetime, edit: bool) -> Message:
    watch = ctx.settings.watch(story.watch)
    title = watch.title if watch else story.watch
    threshold = watch.threshold if watch else 1.0
    build = update_message if edit else alert_message
    return build(story, marker=marker, watch_title=title, threshold=threshold, now=now)


def _threshold(ctx: Context, stories: list[Story]) -> float:
    watch = ctx.settings.watch(stories[0].watch) if stories else None
    return watch.threshold if watch else 1.0


async def _sent(ctx: Context, row: Delivery, ref: str, stories: list[Story], now: datetime,
                event: str) -> None:
    v = stories[0].version if row.kind == "alert" and stories else row.sent_version
    await ctx.store.save_delivery(replace(row, status="sent", ref=ref, sent_version=v, last_error="",
                                          next_attempt=None, attempts=row.attempts + 1))
    await ctx.store.set_destination_health(row.destination, True, "ok", now)
    events = [ItemEvent(s.item_key, now, event, f"{row.kind} to {row.destination}", story_id=st.id,
                        destination=row.destination) for st in stories for s in st.sources]
    await ctx.store.record_events(events)


# --- digests ---------------------------------------------------------------------------------


async def queue_digest(ctx: Context, sub: Subscription, now: datetime, *, force: bool = False) -> int:
    """Put the stories since this subscription's last digest into one outbox row; return how
    many. The digest's id comes from its time, so running the same job twice queues it once."""
    key = f"digest:{sub.watch}:{sub.destination}"
    last = await ctx.store.get_meta(key)
    since = datetime.fromisoformat(last) if last else now - timedelta(days=1)
    stories = await ctx.store.stories_between(sub.watch, since, now)
    if not stories and not force:
        await ctx.store.set_meta(key, now.isoformat())
        return 0
    watch = ctx.settings.watch(sub.watch)
    title = f"{watch.title if watch else sub.watch} — digest {since:%d %b %H:%M}–{now:%d %b %H:%M} UTC"
    row = Delivery(id=f"digest:{sub.watch}@{now:%Y%m%dT%H%M%S}:{sub.destination}", destination=sub.destination,
                   kind="digest", created=now, story_ids=tuple(s.id for s in stories), title=title)
    await ctx.store.enqueue([row])
    await ctx.store.set_meta(key, now.isoformat())
    return len(stories)
