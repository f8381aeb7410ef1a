"""The use cases, read top to bottom as the flow: poll feeds → store new items → match →
merge into stories → route to subscriptions (the outbox). Routing is routing.py's, duplicates and
syndicated copies duplicates.py's, delivery itself outbox.py's.

Every item ends in a recorded state (item_events), so `why URL` answers from data. Each step is
idempotent, so a crash anywhere is repaired by the next cycle: items are marked processed only
after their story and deliveries are written, and an item already in a story is not merged twice.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from bot.cluster import LEASE_TTL, poll_leased, shared_work, story_guard, worker_id
from bot.core import schedule
from bot.core.identity import IdentityVerdict
from bot.core.relevance.match import Analysis, analyse, decide, for_stories, needs_embedding
from bot.core.relevance.match import doubtful as _doubtful
from bot.core.stories import cluster
from bot.core.stories.facts import Facts, item_facts
from bot.core.watch import Watch
from bot.duplicates import join_twin, note_duplicate
from bot.embedding import Embedder, embed_async, item_text
from bot.fetch import Fetcher
from bot.handoff import Handoff, Turn
from bot.judging import Ahead, Prepared, ahead_for
from bot.model import Delivery, Destination, FeedState, Item, ItemEvent, Match, Story, Subscription
from bot.parse_worker import AsyncParse
from bot.platforms.base import Sink
from bot.read_feed import AsyncRead, read_budgeted, reading_in_process
from bot.routing import all_subscriptions, route
from bot.settings import FeedSettings, Settings
from bot.store.base import Store

log = logging.getLogger("deskwatch.pipeline")


@dataclass
class Context:
    """What the use cases work with; built by app.py (or a test) and passed in."""

    settings: Settings
    store: Store
    sinks: dict[str, Sink] = field(default_factory=dict)
    fetcher: Fetcher | None = None
    rng: random.Random = field(default_factory=random.Random)
    stopped_platforms: dict[str, str] = field(default_factory=dict)  # platform -> why (bad token)
    check_age: bool = True  # replay turns this off: an archive is old by definition
    time_unknown_any_age: bool = False  # replay only: an undated row may join a story of any age
    embedder: Embedder | None = None  # the multilingual signal (None: terms only)
    make_sink: Callable[[Destination], Sink | None] | None = None  # for channels added by command
    extra_feeds: dict[str, FeedSettings] = field(default_factory=dict)  # added by slash command
    # Feeds are fetched concurrently, but items are matched and merged one at a time: two outlets
    # reporting the same development in one cycle must see each other's story. On a store shared
    # by several workers the store's cluster-wide lock is taken inside this one (cluster.story_guard).
    story_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    worker: str = field(default_factory=worker_id)  # this worker's name in the store's leases
    # Told each delivery outcome (row, "sent" | "edited" | "retrying" | "held" | "failed", its stories,
    # now) by the outbox; `run` counts them for /metrics (bot/monitor.py).
    on_delivery: Callable[[Delivery, str, Sequence[Story], datetime], Awaitable[None]] | None = None

    def feed(self, name: str) -> FeedSettings | None:
        return self.settings.feed(name) or self.extra_feeds.get(name)


@dataclass
class CycleReport:
    feeds: int = 0
    failed: int = 0
    entries: int = 0
    new_items: int = 0
    relevant: int = 0
    claimed: int = 0  # of the relevant: doubted items a story claimed (Watch.rescue_from)
    new_stories: int = 0
    merged: int = 0
    failures: Counter[str] = field(default_factory=Counter)  # failed feeds by kind: a fetch outcome, "not-a-feed"


@dataclass(frozen=True)
class ItemOutcome:
    item: Item
    relevant: bool
    score: float
    story_id: str | None
    reasons: tuple[str, ...]
    new_story: bool = False


# --- polling ---------------------------------------------------------------------------------


async def poll_due_feeds(ctx: Context, now: datetime, *, parse_body: AsyncParse | None = None,
                         after_feed: Callable[[], Awaitable[object]] | None = None,
                         on_polled: Callable[[FeedSettings], object] | None = None) -> CycleReport:
    """One poll cycle: every due feed, concurrently (the fetcher bounds concurrency).

    Bodies are read in a worker process (parsed and normalised) within a time and memory budget
    (bot/parse_worker.py, bot/read_feed.py), so a hostile feed cannot stall the loop or the cycle;
    `parse_body`, when given, replaces the worker's parse and the entries are normalised here.
    Fetching pauses while a few fetched feeds wait for processing (bot/handoff.py), so the
    bodies and items held at once do not grow with the number of feeds.
    `after_feed`, for the poll tick one outbox delivery pass, runs as soon as a feed that stored
    new items is done, so their alerts do not wait for the slowest feed of the cycle. `on_polled`
    is told of each feed as it is done (a progress line).

    On a store several workers share, each due feed is leased to one worker at a time (given back
    once its state is saved; a dead worker's leases expire), so the workers split the cycle.
    """
    report = CycleReport()
    await process_backlog(ctx, now, report)
    read_body = read_budgeted if parse_body is None else reading_in_process(parse_body)
    handoff = Handoff(ctx.settings.polling.concurrency)

    async def poll_then_deliver(feed: FeedSettings, state: FeedState) -> None:
        news = await poll_feed(ctx, feed, state, now, report, read_body=read_body, handoff=handoff)
        if on_polled is not None:
            on_polled(feed)
        if news and after_feed is not None:
            try:
                await after_feed()
            except Exception as exc:  # a failed pass must not end the cycle; the tick's own pass follows
                # One line without a traceback: the tick's own pass fails the same way and logs it
                # (once per change); a line per feed with news would repeat it every tick.
                log.warning("delivery after polling %s failed (%s: %s); the next pass will retry", feed.name,
                            type(exc).__name__, exc)

    work = shared_work(ctx.store)
    if work is None:  # the only poller of this database
        due = await ctx.store.due_feeds(now)
        await asyncio.gather(*(poll_then_deliver(f, s) for s in due if (f := ctx.feed(s.name)) is not None))
    else:
        await poll_leased(ctx, work, now, poll_then_deliver, ctx.settings.polling.concurrency)
    await ctx.store.set_meta("last_cycle", now.isoformat())
    return report


async def poll_feed(ctx: Context, feed: FeedSettings, state: FeedState, now: datetime,
                    report: CycleReport, *, read_body: AsyncRead = read_budgeted,
                    handoff: Handoff | None = None) -> bool:
    """Fetch → parse → normalise → store new → process; the feed's health is saved whatever happens.

    Returns whether new items were stored (and so may wait in the outbox now)."""
    async with (handoff or Handoff(1)).turn() as turn:
        return await _poll_feed(ctx, feed, state, now, report, read_body, turn)


async def _poll_feed(ctx: Context, feed: FeedSettings, state: FeedState, now: datetime, report: CycleReport,
                     read_body: AsyncRead, turn: Turn) -> bool:
    assert ctx.fetcher is not None, "polling needs a fetcher"
    report.feeds += 1
    guard = ctx.settings.access.allow_private_hosts if feed.origin == "command" else None
    result = await ctx.fetcher.fetch(state, guard=guard)
    turn.fetched(body=result.outcome == "ok")
    interval = feed.interval or ctx.settings.polling.interval
    jitter = ctx.rng.random()
    if result.outcome != "ok":
        if result.outcome != "not-modified":
            report.failed += 1
            report.failures[result.outcome] += 1
        await ctx.store.save_feed_state(schedule.after_fetch(
            state, result, entries_seen=0, ttl_minutes=None, interval=interval,
            polling=ctx.settings.polling, now=now, jitter=jitter))
        return False
    # A feed read before mostly repeats stored entries: only those the store lacks are normalised
    # (bot/read_feed.py). That costs a second round trip to the worker and one store lookup for
    # all the feed's keys, and saves the worker normalising the known entries (~0.3 ms each at
    # 4 KB, ~50 µs at 400 bytes) and this process storing them only to find them known (a lookup
    # and an identity check each). A first poll (all new) is read in one round trip.
    known = ctx.store.known_keys if state.entries_seen else None
    ahead = replace(_ahead(ctx), held=turn.held)
    read = await read_body(result.body, feed, now, known, ahead)  # over budget: comes back as not a feed
    result = replace(result, body=b"")  # not held while the items wait for matching
    parsed = read.parsed
    if not parsed.is_feed:
        report.failed += 1
        report.failures["not-a-feed"] += 1
        await ctx.store.save_feed_state(schedule.parse_problem(
            state, result, parsed.problem or "the response is not a feed", interval=interval,
            polling=ctx.settings.polling, now=now, jitter=jitter))
        return False
    new_state = schedule.after_fetch(
        state, result, entries_seen=read.entries, ttl_minutes=parsed.ttl_minutes, interval=interval,
        polling=ctx.settings.polling, now=now, jitter=jitter, problem=parsed.problem or "")
    added = await ctx.store.add_items(read.items)
    report.entries += read.entries
    report.new_items += len(added.new)
    judged = {i: j for i, j in zip(read.items, read.judged, strict=False) if j is not None}
    readings = {i: r for i, r in zip(read.items, read.readings, strict=False) if r is not None}
    await process_items(ctx, added.new, now, report, judged, readings)
    await record_duplicates(ctx, added.duplicates, now, report)  # after: a twin may be in `new`
    await ctx.store.save_feed_state(new_state)
    return bool(added.new)


_aheads: list[Ahead] = []  # the last Ahead made: the watches are pickled and hashed once, not per feed


def _ahead(ctx: Context) -> Ahead:
    """The watches for the parse worker to judge items with (bot/judging.py)."""
    embedder = ctx.embedder is not None
    if not _aheads or _aheads[0].watches is not ctx.settings.watches or _aheads[0].embedder != embedder:
        _aheads[:] = [ahead_for(ctx.settings.watches, embedder)]
    return _aheads[0]


async def process_backlog(ctx: Context, now: datetime, report: CycleReport) -> None:
    """Items stored by a run that died before matching them. On a shared store, only items
    stored more than a lease period ago: younger ones are another worker's, being matched now."""
    backlog = await ctx.store.unprocessed_items()
    if shared_work(ctx.store) is not None:
        backlog = [i for i in backlog if i.fetched <= now - LEASE_TTL]
    if backlog:
        log.info("processing %d items left over from an interrupted run", len(backlog))
        await process_items(ctx, backlog, now, report)


# --- matching and stories --------------------------------------------------------------------


async def process_items(ctx: Context, items: Sequence[Item], now: datetime, report: CycleReport | None = None,
                        judged: Mapping[Item, tuple[Match, ...]] | None = None,
                        readings: Mapping[Item, tuple[Prepared, ...]] | None = None) -> list[ItemOutcome]:
    """Match each item against every watch, in order. An item some watch finds relevant is
    matched, merged and routed in one store transaction of its own, under the story lock. Most
    items are filtered by every watch: those only write their events and matches, so a run of
    them is recorded in one transaction (one commit and one hop to the store for up to
    FILTERED_RUN items, not one each), written before the next relevant item, so nothing is
    recorded out of order. Either way an item is marked processed in the transaction that
    records its outcome, so a crash leaves it whole or untouched (process_backlog).

    `judged`: each watch's Match of some items, computed ahead by the parse worker
    (bot/judging.py); such an item every watch filtered is recorded from them, unread here.
    `readings`: for such items that go to stories, each watch's Analysis the worker read them by
    and their facts, so that they are not read a second time here."""
    report = report or CycleReport()
    outcomes: list[ItemOutcome] = []
    subs = await all_subscriptions(ctx)
    filtered: list[tuple[Item, Sequence[Match]]] = []
    for item in items:
        ahead = judged.get(item) if judged else None
        full: list[Judged] = []
        if ahead is None or len(ahead) != len(ctx.settings.watches) or _for_stories(ctx, ahead):
            read = readings.get(item) if readings else None
            if ahead is not None and read is not None and len(read) == len(ahead) == len(ctx.settings.watches):
                # Read in the worker, decided without an embedding where none was needed (else
                # it would have left the item to us): what _judge gives, without reading it again.
                full = [Judged(r.analysis, None, m, r.facts) for r, m in zip(read, ahead, strict=True)]
            else:
                # Pure (the embedder aside), so read before any lock: it needs neither the store nor stories.
                full = [await _judge(ctx, watch, item) for watch in ctx.settings.watches]
        decided: Sequence[Match] | None = None
        if not full or not _for_stories(ctx, [j.match for j in full]):
            decided = [j.match for j in full] if full else ahead or ()
        elif not any(j.match.relevant for j in full):
            # Only doubted: most are claimed by no story, which a read outside the lock shows, and
            # stay in the filtered run; a claim is decided again under the lock (process_one).
            probed = [await _unclaimed(ctx, watch, item, j, now)
                      for watch, j in zip(ctx.settings.watches, full, strict=True)]
            kept = [m for m in probed if m is not None]
            decided = kept if len(kept) == len(probed) else None
        if decided is not None:
            filtered.append((item, decided))
            if len(filtered) >= FILTERED_RUN:
                outcomes += await _record_filtered(ctx, filtered, now)
                filtered = []
            continue
        outcomes += await _record_filtered(ctx, filtered, now)
        filtered = []
        # This process's lock, and the cluster's on a shared store; the item's outcome (events,
        # matches, story, deliveries, the processed mark) is one transaction of the store.
        async with story_guard(ctx), ctx.store.batch():
            await ctx.store.record_events([ItemEvent(item.key, now, "new", f"from {item.source}")])
            for watch, j in zip(ctx.settings.watches, full, strict=True):
                outcomes.append(await process_one(ctx, watch, item, now, subs, report, j))
            await ctx.store.mark_processed([item.key])
    outcomes += await _record_filtered(ctx, filtered, now)
    return outcomes


FILTERED_RUN = 100  # items filtered by every watch recorded in one transaction, at most


def _for_stories(ctx: Context, matches: Sequence[Match]) -> bool:
    return for_stories(ctx.settings.watches, matches)


@dataclass(frozen=True)
class Judged:
    """One watch's reading of an item and its decision."""

    analysis: Analysis
    vector: tuple[float, ...] | None  # the embedding, when the decision needed it
    match: Match
    # Its facts without the embedding, computed in the worker for a live poll (bot/judging.py)
    facts: Facts | None = None

    def facts_of(self, watch: Watch, item: Item, vector: Sequence[float] | None, live: bool) -> Facts:
        """item_facts of the item with this embedding: the worker's, when it sent them."""
        if self.facts is not None and live:
            return replace(self.facts, vector=tuple(vector) if vector is not None else None)
        return item_facts(watch, item, self.analysis.reading, vector, first_seen_is_time=live)


async def _judge(ctx: Context, watch: Watch, item: Item) -> Judged:
    analysis = analyse(watch, item)
    vector = await _embedding(ctx, item) if needs_embedding(watch, analysis) else None
    return Judged(analysis, vector, decide(watch, analysis, vector))


async def _record_filtered(ctx: Context, filtered: Sequence[tuple[Item, Sequence[Match]]],
                           now: datetime) -> list[ItemOutcome]:
    """The outcome of items every watch filtered, in one transaction: the same rows, in the same
    order, as when each is recorded on its own. No story is read or written: no story lock."""
    if not filtered:
        return []
    outcomes: list[ItemOutcome] = []
    events: list[ItemEvent] = []
    matches: list[tuple[str, Match]] = []
    for item, decided in filtered:
        events.append(ItemEvent(item.key, now, "new", f"from {item.source}"))
        for m in decided:
            matches.append((item.key, m))
            events.append(_filtered_event(item, m, now))
            outcomes.append(ItemOutcome(item, False, m.score, None, m.reasons))
    async with ctx.store.batch():
        await ctx.store.save_matches(matches)
        await ctx.store.record_events(events)
        await ctx.store.mark_processed([item.key for item, _ in filtered])
    return outcomes


async def process_one(ctx: Context, watch: Watch, item: Item, now: datetime,
                      subs: Sequence[Subscription], report: CycleReport, judged: Judged) -> ItemOutcome:
    store = ctx.store
    vector, m = judged.vector, judged.match
    doubtful = _doubtful(watch, m)
    too_old = _too_old(ctx, item, now)
    if not m.relevant and (not doubtful or too_old):  # another watch found the item relevant, or doubts it
        return await _filtered(ctx, item, m, now)
    if m.relevant:
        await store.save_match(item.key, m)
        report.relevant += 1
    if too_old:
        await store.record_events([ItemEvent(item.key, now, "too-old",
                                             f"published {item.published:%Y-%m-%d}; not alerted")])
        return ItemOutcome(item, True, m.score, None, (*m.reasons, "too old to alert"))
    if vector is None:  # relevant items are few: compare them by meaning too
        vector = await _embedding(ctx, item)
    live = not ctx.time_unknown_any_age
    # Computed before the first read of the item's store batch, which holds the store from then
    # on (bot/store/base.py); needless only after a crash left the item in a story already.
    facts = judged.facts_of(watch, item, vector, live)
    existing, cands = await _story_or_candidates(ctx, watch, item, facts)
    if existing is not None:  # a crash after the story was saved: do not merge twice
        story, is_new = existing, existing.sources[0].item_key == item.key
        reasons: tuple[str, ...] = ("already in story",)
        if doubtful:  # claimed by the story before the crash
            m = await _claimed(ctx, item, m, existing.id, report)
    else:
        a = cluster.assign(watch, item, m, cands, now, facts)
        if doubtful:
            refused = _refused(a, cands)
            if refused is not None:
                return await _filtered(ctx, item, _not_claimed(m, refused), now)
            m = await _claimed(ctx, item, m, a.story_id or "", report)
        rehash: tuple[str, ...] = ()
        if a.story_id is None and not item.dated and live:
            rehash = await _older_story_note(ctx, watch, item, m, facts, now)
        reasons = rehash or a.reasons
        if a.story_id is not None:
            base = next(c for c in cands if c.id == a.story_id)
            story, is_new = cluster.add_source(base, watch, item, m, a, facts, claimed=doubtful), False
        else:
            story, is_new = cluster.new_story(watch, item, m, facts), True
        await store.save_story(story)
    event = "new-story" if is_new else "merged"
    report.new_stories += is_new
    report.merged += not is_new
    await store.record_events([ItemEvent(item.key, now, event, "; ".join(reasons), story_id=story.id)])
    await route(ctx, watch, story, item, is_new, now, subs)
    return ItemOutcome(item, True, m.score, story.id, (*m.reasons, *reasons), is_new)


def _too_old(ctx: Context, item: Item, now: datetime) -> bool:
    return ctx.check_age and item.dated and now - item.published > timedelta(days=ctx.settings.polling.max_age_days)


async def _unclaimed(ctx: Context, watch: Watch, item: Item, j: Judged, now: datetime) -> Match | None:
    """The match of a doubted item that no story of the watch claims, with the closest story in
    its reasons; None when one may (process_one decides that under the story lock). A match
    that is not in doubt, or an item too old to alert, is returned as it is."""
    m = j.match
    if not _doubtful(watch, m) or _too_old(ctx, item, now):
        return m
    vector = j.vector if j.vector is not None else await _embedding(ctx, item)
    facts = j.facts_of(watch, item, vector, not ctx.time_unknown_any_age)
    existing, cands = await _story_or_candidates(ctx, watch, item, facts)
    if existing is not None:  # claimed before a crash
        return None
    refused = _refused(cluster.assign(watch, item, m, cands, now, facts), cands)
    return None if refused is None else _not_claimed(m, refused)


def _refused(a: cluster.Assignment, cands: Sequence[Story]) -> str | None:
    """Why no story of the window claims a doubted item (None: the story a.story_id does)."""
    if a.story_id is None:
        return a.reasons[0].removeprefix("new story: ")
    story = next(c for c in cands if c.id == a.story_id)
    if not cluster.may_claim(story):
        return f"{story.id} would, but it holds as many claimed reports as its own"
    return None


def _not_claimed(m: Match, why: str) -> Match:
    return replace(m, reasons=(*m.reasons, f"no story on the watch claims it: {why}"))


def _filtered_event(item: Item, m: Match, now: datetime) -> ItemEvent:
    return ItemEvent(item.key, now, "filtered", f"{m.watch}: p {m.score:.2f}; " + "; ".join(m.reasons))


async def _filtered(ctx: Context, item: Item, m: Match, now: datetime) -> ItemOutcome:
    """One watch's filtered verdict on an item recorded in the item's own transaction."""
    await ctx.store.save_match(item.key, m)
    await ctx.store.record_events([_filtered_event(item, m, now)])
    return ItemOutcome(item, False, m.score, None, m.reasons)


async def _claimed(ctx: Context, item: Item, m: Match, story_id: str, report: CycleReport) -> Match:
    """A doubted item the story model places in a story of the watch: relevant with it. The filter
    reads one report alone; a report that tells a development the desk already follows belongs
    to it even when it names less (no force term, a language with few terms)."""
    m = replace(m, relevant=True, reasons=(
        *m.reasons, f"relevant as a report of story {story_id} on the watch (the filter alone: p {m.score:.2f})"))
    await ctx.store.save_match(item.key, m)
    report.relevant += 1
    report.claimed += 1
    return m


# --- duplicates and syndicated copies (the verdicts of core/identity.py) ---------------------


async def record_duplicates(ctx: Context, dups: Sequence[tuple[Item, IdentityVerdict]], now: datetime,
                            report: CycleReport | None = None) -> None:
    """Record each duplicate on its twin (once), and join each syndicated copy to its twin's story.

    Call after the batch's new items were processed: a copy's twin may be one of them.
    """
    report = report or CycleReport()
    for item, verdict in dups:
        if verdict.twin is None:
            continue
        if verdict.kind == "duplicate":
            await note_duplicate(ctx.store, item, verdict, verdict.twin, now)
        elif verdict.kind == "copy":
            async with story_guard(ctx), ctx.store.batch():  # the twin's story is read, grown and saved
                joined = await join_twin(ctx, item, verdict.twin, now, report)
            if not joined:
                # The twin has not been through the filter yet (another feed stored it moments
                # ago and is matching it now): match the copy as an ordinary report instead.
                await process_items(ctx, [item], now, report)


async def _embedding(ctx: Context, item: Item) -> tuple[float, ...] | None:
    if ctx.embedder is None:
        return None
    return await embed_async(ctx.embedder, item_text(item.title, item.summary))


async def _older_story_note(ctx: Context, watch: Watch, item: Item, m: Match, facts: Facts,
                            now: datetime) -> tuple[str, ...]:
    """What an undated live report that starts a story has in common with an older story (by
    content alone, against stories of any age, on the strict threshold), for the record.

    The report is alerted as a new story either way, never edited into the older alert: without a
    date, "seen now" is all that is known. Silencing the ones that add no new fact was tried: in
    the live backtest (undated reports released with their development) all 3 such reports on
    dev2 were other developments, one of them reported nowhere else; only when every undated
    report is released late were they rehashes (README, bench-backtest).
    """
    old, _ = await _closest_story(ctx, watch, item, m, replace(facts, published=None), now,
                                  cluster.EPOCH, lenient=False)
    if old.story_id is None:
        return ()
    # cluster.assign's reasons: "joins s-…: p … (signals)", then what it adds or "repeats what the story already has"
    how = [r.removeprefix(f"joins {old.story_id}: ") for r in old.reasons]
    return (f"new story: no date, and it resembles older story {old.story_id} on content alone; alerted "
            "as news (a report without a date may be news), not edited into that story; " + "; ".join(how),)


async def _closest_story(ctx: Context, watch: Watch, item: Item, m: Match, facts: Facts, now: datetime,
                         since: datetime, lenient: bool = True) -> tuple[cluster.Assignment, list[Story]]:
    """The story the report would join among the watch's candidates since `since` (the undated
    live report's look at older stories), with the candidates."""
    keyed, latest = await ctx.store.candidate_stories(watch.name, cluster.story_keys(watch, item, facts), since,
                                                      cluster.MAX_CANDIDATES, _recent_count(since))
    cands = _candidates(keyed, latest)
    return cluster.assign(watch, item, m, cands, now, facts, lenient=lenient), cands


async def _story_or_candidates(ctx: Context, watch: Watch, item: Item, facts: Facts
                               ) -> tuple[Story | None, list[Story]]:
    """One read: the watch's story holding the item already (another watch's is not this one's),
    or the stories of the window it would be compared with."""
    since = cluster.candidate_since(watch, item, ctx.time_unknown_any_age)
    existing, keyed, latest = await ctx.store.story_or_candidates(
        item.key, watch.name, cluster.story_keys(watch, item, facts), since, cluster.MAX_CANDIDATES,
        _recent_count(since), cluster.candidate_until(watch, item, ctx.time_unknown_any_age))
    return existing, ([] if existing is not None else _candidates(keyed, latest))


def _recent_count(since: datetime) -> int:
    """How many of the latest stories join the keyed candidates: a report of unknown time in a
    replay (compared since the epoch) may belong to a story anywhere."""
    return cluster.UNKNOWN_TIME_CANDIDATES if since == cluster.EPOCH else cluster.RECENT_CANDIDATES


def _candidates(keyed: Sequence[Story], latest: Sequence[Story]) -> list[Story]:
    """Candidates sharing a key, plus the latest stories in the window (another language may
    share no key), each once."""
    return list({s.id: s for s in (*keyed, *latest)}.values())
