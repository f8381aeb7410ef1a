"""Deliver what the outbox holds: alerts, edits of grown stories, thread notes, digests.

On PostgreSQL several workers deliver at once, each claiming rows (bot/outbox_claims.py); the rest
of this text is the single-worker rule that SQLite and the memory store follow.

One delivery pass at a time per database. Two passes over the same rows would each read a row as
due and each post it, so inside a process an asyncio.Lock (one per store) makes a second pass —
the digest job, `/deskwatch digest` — wait for the running one, and across processes sharing the
database a pass holds the store's "outbox" lease (holder "host:pid:random"): it renews the lease
while it works and releases it at the end. A process that cannot take the lease delivers nothing
and stands by (one log line when that starts, one when it ends); a holder that died stops renewing,
and its lease is taken over once it expires — at once if the holder was a process on this host
that no longer runs (a SIGKILLed bot restarting).

A row is marked "sending" (and committed) before the platform call and "sent" with the platform's
reference after it. A row found "sending" — after a crash, or after an answer that leaves it open
whether the post went out — is looked for before anything is re-sent: `find_sent` for a post, and
`find_reply` (offered by the sinks that can read a thread) for the note under a grown story.

A failure of one row never stops the pass for the others. Any exception (the sinks' retryable
errors, or one nobody planned for, such as an answer that cannot be parsed) counts one attempt and
backs off exponentially up to MAX_BACKOFF; after MAX_ATTEMPTS the row is `failed` with its reason.
A rate limit is not counted: the platform said when to come back. A bad token stops that platform,
a missing channel or permission holds the destination's rows until it recovers, and a message the
platform refuses as invalid fails at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
import socket
import sys
import time
import weakref
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Protocol, cast

from bot.chart import with_chart
from bot.cluster import shared_work, story_guard
from bot.core.paging import split_pages
from bot.core.render import (
    UTC_DISPLAY,
    Display,
    alert_message,
    digest_cards,
    digest_of_cards,
    digest_title,
    thread_note,
    update_message,
)
from bot.display import display_for
from bot.logs import Repeats
from bot.model import Delivery, DeliveryStatus, Destination, ItemEvent, Message, Story, Subscription
from bot.outbox_claims import deliver_claimed
from bot.pipeline import Context
from bot.platforms.base import DeliveryError, PermanentDeliveryError, RetryableDeliveryError, Sink
from bot.store.base import Store

log = logging.getLogger("deskwatch.outbox")
HOLD = timedelta(minutes=15)  # how long an unhealthy destination waits before the next try
FIRST_BACKOFF = timedelta(seconds=30)  # after a row's first failed attempt; doubles per attempt
MAX_BACKOFF = timedelta(hours=1)
# A row that failed this many times in a row is given up (`failed`, with its reason): with the
# back-off above that is about six hours of trying, long past the point an alert is news.
MAX_ATTEMPTS = 12
LEASE_NAME = "outbox"
# A holder renews every RENEW_EVERY seconds; one that stops (killed, hung) loses the lease after
# LEASE_TTL, so a standby waits at most that long — a few ticks, not a lost alert.
LEASE_TTL = timedelta(seconds=60)
RENEW_EVERY = 15.0
_HOST = socket.gethostname()


@dataclass
class DeliveryReport:
    sent: int = 0
    edited: int = 0
    recovered: int = 0  # found already posted (after a crash or an unreadable answer): not re-sent
    retrying: int = 0
    held: int = 0
    failed: int = 0
    standby: bool = False  # another process holds this database's delivery lease: nothing was done


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


# --- one pass at a time ------------------------------------------------------------------------


@dataclass
class _Passes:
    """This process's delivery state for one store (one database)."""

    holder: str  # the lease holder id: "host:pid:random" (random: two stores in one process differ)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    loop: asyncio.AbstractEventLoop | None = None
    standby: bool = False  # as last logged, so the standby line is written once per change
    failing: dict[str, Repeats] = field(default_factory=dict)  # per destination: one line per change


# Keyed by the store object (not the Context, which tests and commands rebuild around one store).
_PASSES: weakref.WeakKeyDictionary[Store, _Passes] = weakref.WeakKeyDictionary()


def _passes(store: Store) -> _Passes:
    state = _PASSES.get(store)
    if state is None:
        state = _PASSES[store] = _Passes(holder=f"{_HOST}:{os.getpid()}:{secrets.token_hex(4)}")
    loop = asyncio.get_running_loop()
    if state.loop is not loop:  # an asyncio.Lock serves one event loop
        state.lock, state.loop = asyncio.Lock(), loop
    return state


def _holder_is_gone(holder: str) -> bool:
    """True only when it is certain: the holder was a process on this host that no longer runs.
    Anything else (another host, a pid that answers) waits for the lease to expire."""
    parts = holder.rsplit(":", 2)
    host, pid = (parts[0], parts[1]) if len(parts) == 3 else ("", "")
    if host != _HOST or not pid.isdigit():
        return False
    if int(pid) == os.getpid():  # this pid, but not one of our stores: a previous life (container restart)
        return holder not in {p.holder for p in _PASSES.values()}
    if sys.platform == "win32":
        return False  # os.kill(pid, 0) would end the process there
    try:
        os.kill(int(pid), 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return True
    except OSError:
        return False  # it exists but is not ours to signal
    return False


class Holding(Protocol):
    """What a pass asks before each row: is it still this process's to deliver?"""

    def holds(self, row_id: str) -> bool: ...


class _Lease:
    """The delivery lease while a pass runs: renewed in the background (a single platform call
    may take longer than a renewal period), and checked before each row."""

    def __init__(self, store: Store, holder: str, now: datetime) -> None:
        self.store = store
        self.holder = holder
        self.lost = False
        self._start = now
        self._t0 = time.monotonic()
        self._task: asyncio.Task[None] | None = None

    def now(self) -> datetime:
        # The pass's own clock (callers and tests pass `now`), moved on by the real time spent.
        return self._start + timedelta(seconds=time.monotonic() - self._t0)

    def holds(self, row_id: str) -> bool:
        return not self.lost

    def start(self) -> None:
        self._task = asyncio.create_task(self._renew())

    async def _renew(self) -> None:
        while True:
            await asyncio.sleep(RENEW_EVERY)
            try:
                kept = await self.store.renew_lease(LEASE_NAME, self.holder, self.now(), LEASE_TTL)
            except Exception:
                log.exception("could not renew the delivery lease")
                kept = False
            if not kept:
                self.lost = True
                log.warning("this process lost the delivery lease (holder %s) during a pass: it stops before "
                            "the next row and leaves the rest to the process holding it now", self.holder)
                return

    async def end(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if not self.lost:
            try:
                await self.store.release_lease(LEASE_NAME, self.holder)
            except Exception:  # it expires by itself; never let this hide the pass's own outcome
                log.warning("could not release the delivery lease; it expires in %ds", LEASE_TTL.total_seconds())


async def _take_lease(store: Store, state: _Passes, now: datetime) -> _Lease | None:
    """The delivery lease for this pass, or None when another process is delivering."""
    taken = await store.take_lease(LEASE_NAME, state.holder, now, LEASE_TTL)
    other: str | None = None
    if not taken:
        other = await store.lease_holder(LEASE_NAME, now)
        if other is None or _holder_is_gone(other):
            if other is not None:
                log.warning("the delivery lease was left by %s, a process on this host that is gone; "
                            "taking it over", other)
                await store.release_lease(LEASE_NAME, other)
            taken = await store.take_lease(LEASE_NAME, state.holder, now, LEASE_TTL)
    if not taken:
        if not state.standby:
            state.standby = True
            log.warning("another deskwatch process is delivering for this database (holder %s); "
                        "this one waits as a standby", other or await store.lease_holder(LEASE_NAME, now))
        return None
    if state.standby:
        state.standby = False
        log.info("the other process's delivery lease is gone: this process (%s) delivers for this database now",
                 state.holder)
    return _Lease(store, state.holder, now)


async def deliver_pending(ctx: Context, now: datetime) -> DeliveryReport:
    """One pass over due outbox rows, if no other pass runs on this database (else a standby
    report); on a store several workers share, over the due rows this worker claims. Destinations
    run concurrently so one that is down does not hold back the others; rows of one destination
    go in order."""
    state = _passes(ctx.store)
    async with state.lock:  # a second pass in this process waits for the first
        work = shared_work(ctx.store)
        if work is not None:
            return await deliver_claimed(ctx, work, now, DeliveryReport(), _deliver_destination)
        lease = await _take_lease(ctx.store, state, now)
        if lease is None:
            return DeliveryReport(standby=True)
        lease.start()
        try:
            return await _deliver_due(ctx, now, lease)
        finally:
            await lease.end()


async def _deliver_due(ctx: Context, now: datetime, lease: _Lease) -> DeliveryReport:
    report = DeliveryReport()
    by_dest: dict[str, list[Delivery]] = defaultdict(list)
    for row in await ctx.store.due_deliveries(now):  # read under the lease: no one else is posting
        by_dest[row.destination].append(row)
    await asyncio.gather(*(_deliver_destination(ctx, name, rows, now, report, lease)
                           for name, rows in by_dest.items()))
    return report


# --- one destination, row by row -----------------------------------------------------------------


async def _deliver_destination(ctx: Context, name: str, rows: list[Delivery], now: datetime,
                               report: DeliveryReport, lease: Holding) -> None:
    dest = resolve_destination(ctx, name)
    sink = ctx.sinks.get(name)
    if sink is None and dest is not None and ctx.make_sink is not None:
        try:
            sink = ctx.make_sink(dest)
        except Exception:
            log.exception("could not set up a poster for destination %r", name)
        if sink is not None:
            ctx.sinks[name] = sink
    if dest is None or sink is None:
        why = "no such destination in config" if dest is None else "no poster configured for it"
        for row in rows:
            await _hold(ctx, row, f"destination {name!r}: {why}", now, report)
        return
    for row in rows:
        if not lease.holds(row.id):
            continue  # another process holds the lease (or the row's claim) now: it is its to deliver
        stop_key = _stop_key(dest)
        if stop_key in ctx.stopped_platforms:
            await _hold(ctx, row, ctx.stopped_platforms[stop_key], now, report, healthy=False)
            continue
        try:
            await _deliver_row(ctx, dest, sink, row, now, report)
            if name in _passes(ctx.store).failing:
                _passes(ctx.store).failing[name].ok()
        except PermanentDeliveryError as exc:
            if exc.kind == "invalid":
                fresh = await ctx.store.delivery(row.id) or row
                await ctx.store.save_delivery(replace(fresh, status="failed", last_error=str(exc)))
                report.failed += 1
                await _tell(ctx, row, "failed", now)
                log.error("message refused by %s, not retried: %s", name, exc)
                continue
            if exc.kind == "auth":
                ctx.stopped_platforms[stop_key] = f"{exc} — posting stopped until the credentials are fixed"
                log.error("%s: %s", name, ctx.stopped_platforms[stop_key])
            await _hold(ctx, row, str(exc), now, report, healthy=False)
            return  # the destination is unhealthy: keep its other rows for later, untouched
        except Exception as exc:  # retryable, or nobody planned for it: this row's problem only
            await _failed_attempt(ctx, name, row, exc, now, report)


def backoff(attempts: int) -> timedelta:
    """The wait after a row's `attempts`-th failed attempt: 30 s, 1 min, 2 min … up to MAX_BACKOFF."""
    return min(FIRST_BACKOFF * 2 ** min(max(attempts - 1, 0), 20), MAX_BACKOFF)


async def _failed_attempt(ctx: Context, name: str, row: Delivery, exc: Exception, now: datetime,
                          report: DeliveryReport) -> None:
    """Count the attempt, then wait (back-off, or the platform's Retry-After) or give up. The row
    keeps the status it had at the failure: "sending" if the post may have gone out, so the next
    attempt looks for it first."""
    fresh = await ctx.store.delivery(row.id) or row
    if isinstance(exc, DeliveryError):
        reason = str(exc)  # plain words, never a secret (the sinks' promise)
    else:  # its text might quote a URL: the type here, the traceback in the log (secrets filtered)
        reason = f"unexpected {type(exc).__name__} while delivering to {name!r} (details in the log)"
    # A rate limit (the platform said when to come back) is pacing, not a failure of the row.
    pause = exc.retry_after if isinstance(exc, RetryableDeliveryError) and exc.retry_after else None
    attempts = fresh.attempts if pause is not None else fresh.attempts + 1
    if attempts >= MAX_ATTEMPTS:
        await ctx.store.save_delivery(replace(fresh, status="failed", attempts=attempts, next_attempt=None,
                                              last_error=f"gave up after {attempts} failed attempts: {reason}"))
        report.failed += 1
        await _tell(ctx, row, "failed", now)
        # Once per row (a change of state); the traceback, if any, came with the destination's first failure.
        log.error("delivery %s to %s failed %d times; given up: %s", row.id, name, attempts, reason)
        return
    wait = timedelta(seconds=pause) if pause is not None else backoff(attempts)
    await ctx.store.save_delivery(replace(fresh, attempts=attempts, next_attempt=now + wait, last_error=reason))
    report.retrying += 1
    await _tell(ctx, row, "retrying", now)
    # A destination that is down fails every row on every pass: one line when that starts (or its
    # error changes) and one when it works again, not a line per row per attempt.
    failing = _passes(ctx.store).failing.setdefault(name, Repeats(log, f"delivery to {name}", logging.WARNING))
    failing.failed(exc, f"its rows are retried with back-off (this one, {row.id}, in {wait.total_seconds():.0f} s, "
                   f"attempt {attempts} of {MAX_ATTEMPTS})", traceback=not isinstance(exc, DeliveryError))


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
    await _tell(ctx, row, "held", now)


async def _deliver_row(ctx: Context, dest: Destination, sink: Sink, row: Delivery, now: datetime,
                       report: DeliveryReport) -> None:
    if row.kind == "digest":
        await _deliver_digest(ctx, dest, sink, row, now, report)
        return
    store = ctx.store
    marker = marker_for(row)
    story = await store.story(row.story_id or "")
    if story is None:
        await store.save_delivery(replace(row, status="failed", last_error="story not found"))
        report.failed += 1
        return
    if row.ref is not None:  # already posted: the story grew
        await _update(ctx, dest, sink, row, story, now, report)
        return
    message = _story_message(ctx, story, marker, now, edit=False, display=await display_for(ctx.store, dest, [story]))
    ref = await sink.find_sent(marker) if row.status == "sending" else None
    if ref is not None:
        report.recovered += 1
        log.info("delivery %s was already posted (before a restart or an unreadable answer); not re-sending",
                 row.id)
        await sink.edit(ref, message)  # the post may show an older version of the story
        await _sent(ctx, row, ref, [story], now, "alerted")
        return
    if row.status != "sending":
        await store.save_delivery(replace(row, status="sending"))
    ref = await sink.send(message)
    await _sent(ctx, row, ref, [story], now, "alerted")
    report.sent += 1


async def _update(ctx: Context, dest: Destination, sink: Sink, row: Delivery, story: Story, now: datetime,
                  report: DeliveryReport) -> None:
    """Edit the posted alert in place and, with thread_replies, post a note under it. The row is
    "sending" meanwhile, so an update cut short (crash, error) is known on the next pass: the edit
    is repeated (editing is idempotent) and the note is looked for in the thread before it is
    posted again."""
    assert row.ref is not None
    marker = marker_for(row)
    interrupted = row.status == "sending"
    if not interrupted:
        await ctx.store.save_delivery(replace(row, status="sending"))
    display = await display_for(ctx.store, dest, [story])
    await sink.edit(row.ref, _story_message(ctx, story, marker, now, edit=True, display=display))
    if dest.thread_replies:
        note = thread_note(story, marker=marker, display=display)
        if interrupted and await _note_posted(sink, row.ref, note.marker):
            report.recovered += 1
            log.info("the thread note %s was already posted; not re-sending", note.marker)
        else:
            await sink.reply(row.ref, note)
    await _sent(ctx, row, row.ref, [story], now, "updated")
    report.edited += 1


async def _note_posted(sink: Sink, ref: str, marker: str) -> bool:
    """Whether the note carrying `marker` is already in the thread under `ref`. Sinks that can read
    a thread offer `find_reply(ref, marker) -> bool`; the others (webhooks) cannot look, so the
    note is posted again."""
    find = getattr(sink, "find_reply", None)
    if find is None:
        return False
    return bool(await cast(Callable[[str, str], Awaitable[bool]], find)(ref, marker))


async def _deliver_digest(ctx: Context, dest: Destination, sink: Sink, row: Delivery, now: datetime,
                          report: DeliveryReport) -> None:
    """A digest is posted page by page, each page one platform message with its own marker, and
    the row records how many pages are out (`sent_version`). An interruption (429, 5xx, crash)
    resumes at the first page not yet posted: nothing is skipped and nothing is posted twice."""
    stories = [s for sid in row.story_ids if (s := await ctx.store.story(sid)) is not None]
    pages = digest_pages(sink, stories, row, now, _threshold(ctx, stories), await display_for(ctx.store, dest, stories))
    ref = row.ref
    for n in range(row.sent_version, len(pages)):
        found = await sink.find_sent(pages[n].marker) if row.status == "sending" and n == row.sent_version else None
        if found is not None:
            report.recovered += 1
        else:
            row = replace(row, status="sending")
            await ctx.store.save_delivery(row)
            found = await sink.send(await with_chart(ctx, dest, row, pages[n], now) if n == 0 else pages[n])
        ref = found
        # progress: this page is out, and failed attempts count again from here
        row = replace(row, status="sending", sent_version=n + 1, ref=ref, last_error="", attempts=0)
        await ctx.store.save_delivery(row)
    await _sent(ctx, row, ref or "", stories, now, "digested")
    report.sent += 1


def digest_pages(sink: Sink, stories: list[Story], row: Delivery, now: datetime, threshold: float,
                 display: Display = UTC_DISPLAY) -> list[Message]:
    """Split a digest into pages that each fit one platform message (deterministic for the same
    stories, so a resumed digest has the same pages)."""
    cards = digest_cards(stories, threshold=threshold, display=display)
    title = row.title or "Digest"

    def fits(start: int, end: int) -> bool:
        probe = digest_of_cards(cards[start:end], marker=marker_for(row) + "#p00", title=f"{title} (page 00/00)",
                                since=None, now=now, display=display)
        return sink.parts(probe) <= 1

    groups = split_pages(len(cards), fits) or [range(0)]
    many = len(groups) > 1
    return [digest_of_cards(cards[g.start:g.stop], marker=f"{marker_for(row)}#p{i + 1}" if many else marker_for(row),
                            title=f"{title} (page {i + 1}/{len(groups)})" if many else title, since=None, now=now,
                            display=display)
            for i, g in enumerate(groups)]


def _story_message(ctx: Context, story: Story, marker: str, now: datetime, edit: bool, display: Display) -> Message:
    watch = ctx.settings.watch(story.watch)
    title = watch.title if watch else story.watch
    threshold = watch.threshold if watch else 1.0
    build = update_message if edit else alert_message
    return build(story, marker=marker, watch_title=title, threshold=threshold, now=now, display=display)


def _threshold(ctx: Context, stories: list[Story]) -> float:
    watch = ctx.settings.watch(stories[0].watch) if stories else None
    return watch.threshold if watch else 1.0


async def _sent(ctx: Context, row: Delivery, ref: str, stories: list[Story], now: datetime,
                event: str) -> None:
    v = stories[0].version if row.kind == "alert" and stories else row.sent_version
    status: DeliveryStatus = "sent"
    if row.kind == "alert" and stories:
        # The story may have grown while the platform answered (a slow platform, another process
        # merging a source): the route only re-opens rows already "sent", so look again here and
        # leave the row pending for an edit rather than marking a short post as complete. Under
        # the story lock, so no merge (on any worker) routes between this look and the mark.
        async with story_guard(ctx):
            now_story = await ctx.store.story(stories[0].id)
            if now_story is not None and now_story.version > v:
                status = "pending"
            await ctx.store.save_delivery(replace(row, status=status, ref=ref, sent_version=v, last_error="",
                                                  next_attempt=None, attempts=row.attempts + 1))
    else:
        await ctx.store.save_delivery(replace(row, status=status, ref=ref, sent_version=v, last_error="",
                                              next_attempt=None, attempts=row.attempts + 1))
    await ctx.store.set_destination_health(row.destination, True, "ok", now)
    events = [ItemEvent(s.item_key, now, event, f"{row.kind} to {row.destination}", story_id=st.id,
                        destination=row.destination) for st in stories for s in st.sources]
    await ctx.store.record_events(events)
    await _tell(ctx, row, "edited" if event == "updated" else "sent", now, stories)


async def _tell(ctx: Context, row: Delivery, status: str, now: datetime, stories: Sequence[Story] = ()) -> None:
    if ctx.on_delivery is not None:  # the metrics' counters and first-seen → posted latency
        await ctx.on_delivery(row, status, stories, now)


# --- digests ---------------------------------------------------------------------------------


async def queue_digest(ctx: Context, sub: Subscription, now: datetime, *, force: bool = False) -> int:
    """Put the stories saved since this subscription's last digest into one outbox row; return how
    many were queued (0 when nothing changed, or another process queued this very digest first).

    "Since" is a store change number, not a publication time: a report published hours ago that
    reached its feed only now, or a merge committed while this ran, goes into the next digest. The
    row and the new position are written in one transaction and the row's id is the old position,
    so a crash in between, the job firing twice or two processes firing at once queue it once.
    The first digest of a subscription takes the stories published or first seen in the last day."""
    key = f"digest:{sub.watch}:{sub.destination}"
    after, since = _digest_position(await ctx.store.get_meta(key), now)
    stories, top = await ctx.store.stories_changed(sub.watch, after or 0, None if after is not None else since)
    position = json.dumps({"after": top, "at": now.isoformat()})
    if not stories and not force:
        await ctx.store.set_meta(key, position)
        return 0
    label = f"c{after}" if after is not None else f"t{since:%Y%m%dT%H%M%S}"
    if not stories:  # asked for by command with nothing new: an empty digest of its own
        label += f"-{now:%Y%m%dT%H%M%S}"
    watch = ctx.settings.watch(sub.watch)
    dest = resolve_destination(ctx, sub.destination)
    title = digest_title(watch.title if watch else sub.watch, since, now, dest.timezone if dest else "UTC")
    row = Delivery(id=f"digest:{sub.watch}@{label}:{sub.destination}", destination=sub.destination,
                   kind="digest", created=now, story_ids=tuple(s.id for s in stories), title=title)
    return len(stories) if await ctx.store.enqueue([row], meta={key: position}) else 0


def _digest_position(value: str | None, now: datetime) -> tuple[int | None, datetime]:
    """(change number, time) of a subscription's last digest. A bare time (older databases, or
    set by hand) means "stories published since then"; nothing means the last day."""
    if not value:
        return None, now - timedelta(days=1)
    if value.startswith("{"):
        pos = json.loads(value)
        return int(pos["after"]), datetime.fromisoformat(pos["at"])
    return None, datetime.fromisoformat(value)
