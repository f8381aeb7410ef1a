"""Live-path backtest: what a desk would really receive from a labelled corpus, and how good it is.

Its one job: replay a labelled corpus through the REAL bot, day by day, and score the alerts the
desk got against the gold labels (issue 9 point 10). Unlike `bench/quality.py` (which calls the
matching and merging steps directly), every item here travels the live path:

    local RSS server ─HTTP─▶ fetch ─▶ parse ─▶ normalise ─▶ SQLite store ─▶ match ─▶ story
        ─▶ outbox ─▶ delivery pass ─▶ a recording sink (every post and edit, with its links)

* One RSS 2.0 feed per outlet (`source`), served on 127.0.0.1 (port 0). The server has a "today":
  a feed shows only the items released so far (newest first, up to FEED_SIZE).
* Items are released on their `published` day. An undated item (`published` "") is served WITHOUT
  a pubDate, so the bot sees it as undated, as it would a live feed's; its release day is chosen
  by `--undated` (see release_days: by default with its development's first dated report).
* Each simulated day (only days on which something is released; an empty day would only bring
  304s) the clock is set to POLL_HOUR UTC of that day, every feed is made due, one poll cycle
  (`pipeline.poll_due_feeds`) and one outbox delivery pass (`outbox.deliver_pending`) run. One
  last pass a day later delivers anything held back (flood digests).
* `max_age_days` stays as configured and the age check stays on (as in live): the clock IS the
  release day, a dated item carries 00:00 UTC of that day, so it is POLL_HOUR hours old at first
  sight, and an undated one is stamped with the fetch time. Any "too-old" event is reported.
* The watches are the given config's; its feeds, destinations and subscriptions are replaced by
  the backtest's own (each watch: one instant subscription to the recording destination).
* Gold labels (`relevant`, `story`) are read from the corpus file only by the scoring step,
  after the run: the feeds and the bot only ever see FeedItem, which has no label fields.

Scoring, per gold story (gold-relevant items grouped by `story`): alerts showing any of its links
(ideal 1), missed (none), split (more than one), impure alerts (links from more than one gold
story, or a gold-irrelevant item next to relevant ones), false alerts (every item gold-irrelevant),
the share of its links shown in alerts after all edits, and edits to stories older than the window
(an edit whose newly shown item is more than the watch's `story_window_hours` after the alert's
first report).

    .venv/bin/python bench/backtest.py [--corpus PATH ...] [--config config/deskwatch.toml] [-v]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import logging
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aiohttp import web  # noqa: E402

from bot.app import close_context, open_context  # noqa: E402
from bot.config import load_settings  # noqa: E402
from bot.core.feed.urls import canonical_url  # noqa: E402
from bot.core.identity import item_key, title_hash  # noqa: E402
from bot.embedding import Embedder  # noqa: E402
from bot.model import Destination, Link, Message, Subscription  # noqa: E402
from bot.outbox import deliver_pending  # noqa: E402
from bot.pipeline import Context, poll_due_feeds  # noqa: E402
from bot.settings import FeedSettings, Settings, StorageSettings  # noqa: E402
from bot.store.base import Store  # noqa: E402
from bot.store.sqlite import SqliteStore  # noqa: E402
from tests.fakes.feed_server import FeedServer, Handler  # noqa: E402

CORPUS_DIR = ROOT.parent / "shared" / "corpus"
DEFAULT_CORPORA = (CORPUS_DIR / "dev.jsonl", CORPUS_DIR / "dev2.jsonl")
DEFAULT_CONFIG = ROOT / "config" / "deskwatch.toml"
DEST = "backtest-desk"
POLL_HOUR = 12  # each simulated day is polled at 12:00 UTC
FEED_SIZE = 50  # a feed shows at most this many of the newest released items
FEED_FIELDS = ("id", "title", "summary", "source", "url", "published", "lang")


# --- the corpus as the feeds see it (no labels) --------------------------------------------------

@dataclass(frozen=True)
class FeedItem:
    """One corpus row without its labels: all the feed server and the bot ever get."""

    id: str
    title: str
    summary: str
    source: str
    url: str
    published: date | None
    lang: str

    @property
    def guid(self) -> str:
        return self.url or f"backtest:{self.id}"


@dataclass(frozen=True)
class Label:
    relevant: bool
    story: str


def _jsonl(path: Path) -> Iterable[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


def _day(value: object) -> date | None:
    text = str(value or "").strip()
    try:
        return date.fromisoformat(text[:10]) if text else None
    except ValueError:
        return None


def read_feed_items(path: Path) -> list[FeedItem]:
    """The corpus minus its labels (only FEED_FIELDS are read)."""
    rows = [{k: row.get(k) for k in FEED_FIELDS} for row in _jsonl(path)]
    return [FeedItem(id=str(r["id"]), title=str(r["title"] or ""), summary=str(r["summary"] or ""),
                     source=str(r["source"] or "unknown"), url=str(r["url"] or ""), published=_day(r["published"]),
                     lang=str(r["lang"] or "en")) for r in rows]


def read_labels(path: Path) -> dict[str, Label]:
    """Gold labels, for scoring only (called after the run)."""
    return {str(r["id"]): Label(bool(r.get("relevant")), str(r.get("story") or "")) for r in _jsonl(path)}


UNDATED = ["story"]  # how undated items are released: "story" (default), "end" or "spread" (--undated)
EMBEDDER: list[Embedder | None] = [None]  # the multilingual signal, when --embedding is given


# Days between two developments that have no dated report: more than the story window (72 h).
UNDATED_GAP_DAYS = 4


def release_days(items: Sequence[FeedItem], labels: Mapping[str, Label] | None = None) -> dict[str, date]:
    """Release day per item: its own date. An undated item's real day is unknown; three ways to
    simulate the world (the bot never sees the labels used here):
      story  — the first dated day of its gold story, i.e. it appeared with the other reports of
               its development (a feed without dates is still a feed of fresh news); a development
               with no dated report at all gets a day of its own after the last dated day, in
               corpus order, UNDATED_GAP_DAYS apart (they happened on different days, weeks apart
               on the corpora's dated developments; a day apart is still one story window, so
               unrelated developments would look like one news cycle);
      end    — all after the last dated day (the corpus lists them at its end): news seen late,
               mostly repeats of developments already alerted;
      spread — a day picked by hashing its id over the corpus's date range."""
    dated = [i.published for i in items if i.published is not None]
    first, last = (min(dated), max(dated)) if dated else (date(2025, 1, 1), date(2025, 1, 1))
    span = (last - first).days + 1
    story_day: dict[str, date] = {}
    for item in items:
        lab = labels.get(item.id) if labels is not None else None
        if item.published is not None and lab is not None and lab.story:
            story_day[lab.story] = min(story_day.get(lab.story, item.published), item.published)
    if UNDATED[0] == "story" and labels is not None:
        for item in items:  # developments with no dated report: one day each, after the dated ones
            slug = labels[item.id].story if item.id in labels else ""
            if slug and slug not in story_day:
                later = sum(1 for d in story_day.values() if d > last)
                story_day[slug] = last + timedelta(days=1 + UNDATED_GAP_DAYS * later)
    out: dict[str, date] = {}
    for item in items:
        if item.published is not None:
            out[item.id] = item.published
        elif UNDATED[0] == "story" and labels is not None and labels.get(item.id) and labels[item.id].story \
                and story_day.get(labels[item.id].story):
            out[item.id] = story_day[labels[item.id].story]
        elif UNDATED[0] in ("end", "story"):
            out[item.id] = last + timedelta(days=1)
        else:
            h = int.from_bytes(hashlib.sha256(item.id.encode()).digest()[:8], "big")
            out[item.id] = first + timedelta(days=h % span)
    return out


# --- the feeds: one RSS 2.0 feed per outlet, honouring "today" ------------------------------------

@dataclass
class Outlet:
    name: str  # the feed's name in the bot's config
    source: str
    lang: str
    path: str
    items: list[FeedItem] = field(default_factory=list)


def rss(outlet: Outlet, items: Sequence[FeedItem], base: str) -> bytes:
    """RSS 2.0 body; an undated item gets no <pubDate>, an empty title no <title>."""
    rows = []
    for it in items:
        parts = [f"<title>{escape(it.title)}</title>" if it.title else ""]
        if it.url:
            parts.append(f"<link>{escape(it.url)}</link><guid isPermaLink=\"true\">{escape(it.url)}</guid>")
        else:
            parts.append(f"<guid isPermaLink=\"false\">{escape(it.guid)}</guid>")
        if it.published is not None:
            when = datetime.combine(it.published, clock_time(0), UTC)
            parts.append(f"<pubDate>{format_datetime(when, usegmt=True)}</pubDate>")
        parts.append(f"<description>{escape(it.summary)}</description>")
        rows.append(f"<item>{''.join(parts)}</item>")
    return (f'<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel><title>{escape(outlet.source)}'
            f"</title><link>{escape(base)}/</link><language>{escape(outlet.lang)}</language>"
            f"{''.join(rows)}</channel></rss>").encode()


class CorpusFeeds:
    """The outlets' feeds on a local FeedServer; set `today` to release more items."""

    def __init__(self, server: FeedServer, items: Sequence[FeedItem], release: Mapping[str, date]) -> None:
        self.server = server
        self.release = dict(release)
        self.today = date.min
        self.outlets: dict[str, Outlet] = {}
        self.served: dict[str, bytes] = {}  # path -> last body served (for inspection)
        for it in items:
            if it.source not in self.outlets:
                n = len(self.outlets)
                self.outlets[it.source] = Outlet(f"outlet-{n:03d}", it.source, it.lang, f"/feed/{n:03d}.xml")
            self.outlets[it.source].items.append(it)
        for outlet in self.outlets.values():
            server.route(outlet.path, self._handler(outlet))

    def _handler(self, outlet: Outlet) -> Handler:
        async def handle(request: web.Request) -> web.StreamResponse:
            out = [it for it in outlet.items if self.release[it.id] <= self.today]
            out.sort(key=lambda it: self.release[it.id], reverse=True)  # newest first; stable
            body = rss(outlet, out[:FEED_SIZE], self.server.url("/"))
            self.served[outlet.path] = body
            etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
            if request.headers.get("If-None-Match") == etag:
                return web.Response(status=304, headers={"ETag": etag})
            return web.Response(body=body, headers={"ETag": etag, "Content-Type": "application/rss+xml"})
        return handle

    def feed_settings(self) -> tuple[FeedSettings, ...]:
        return tuple(FeedSettings(name=o.name, url=self.server.url(o.path), language=o.lang, source=o.source)
                     for o in self.outlets.values())


# --- the desk: a sink that records every post and edit -----------------------------------------

@dataclass
class EditRecord:
    at: datetime | None
    added: tuple[Link, ...]  # links shown for the first time by this edit
    first: datetime  # the alert's first report


@dataclass
class AlertRecord:
    ref: str
    story_id: str
    watch: str
    at: datetime | None
    urls: list[str]
    edits: list[EditRecord] = field(default_factory=list)
    replies: int = 0


class DeskRecorder:
    """An in-process Sink: keeps each alert with its story id and the item URLs it shows."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.alerts: dict[str, AlertRecord] = {}
        self.digests: list[Message] = []
        self.markers: dict[str, str] = {}

    async def send(self, message: Message) -> str:
        ref = f"{self.name}/{len(self.alerts) + len(self.digests) + 1}"
        self.markers[message.marker] = ref
        if message.kind != "alert" or len(message.stories) != 1:
            self.digests.append(message)
            return ref
        card = message.stories[0]
        self.alerts[ref] = AlertRecord(ref, card.story_id, card.watch, message.created, [lk.url for lk in card.links])
        return ref

    async def edit(self, ref: str, message: Message) -> None:
        alert = self.alerts[ref]
        card = message.stories[0]
        added = tuple(lk for lk in card.links if lk.url not in alert.urls)
        alert.edits.append(EditRecord(message.created, added, card.first.published))
        alert.urls = [lk.url for lk in card.links]

    async def reply(self, ref: str, message: Message) -> None:
        self.alerts[ref].replies += 1

    def parts(self, message: Message) -> int:
        return 1

    async def find_sent(self, marker: str) -> str | None:
        return self.markers.get(marker)

    async def close(self) -> None:
        return None


# --- the run ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Fate:
    """What the store says became of one served item (no labels involved)."""

    stored: bool  # False: the store took it for an item it had already seen (same URL/headline)
    dated: bool | None
    events: tuple[str, ...] = ()
    story_id: str | None = None


@dataclass
class LiveRun:
    alerts: dict[str, AlertRecord]
    digests: list[Message]
    fates: dict[str, Fate]
    release: dict[str, date]
    feeds: int
    days: int = 0
    new_items: int = 0
    problems: list[str] = field(default_factory=list)
    served: dict[str, bytes] = field(default_factory=dict)


def backtest_settings(settings: Settings, feeds: tuple[FeedSettings, ...], db: Path) -> Settings:
    """The config's watches and polling; our feeds, one recording destination, a fresh database."""
    subs = tuple(Subscription(watch=w.name, destination=DEST, mode="instant") for w in settings.watches)
    return replace(settings, feeds=feeds, destinations=(Destination(name=DEST, platform="console"),),
                   subscriptions=subs, storage=StorageSettings(path=str(db)))


async def simulate(items: Sequence[FeedItem], settings: Settings, release: Mapping[str, date]) -> LiveRun:
    """Release the items day by day and run the live bot on them; return what the desk got."""
    days = sorted(set(release.values()))
    async with FeedServer() as server:
        feeds = CorpusFeeds(server, items, release)
        with tempfile.TemporaryDirectory(prefix="deskwatch-backtest-") as tmp:
            bt = backtest_settings(settings, feeds.feed_settings(), Path(tmp) / "backtest.db")
            ctx, factory = await open_context(bt, env={}, store=SqliteStore(bt.storage.path),
                                              embedder=EMBEDDER[0])
            desk = DeskRecorder(DEST)
            ctx.sinks[DEST] = desk
            run = LiveRun(desk.alerts, desk.digests, {}, release, feeds=len(feeds.outlets))
            try:
                for day in days:
                    await live_day(ctx, feeds, day, run)
                if days:  # a day later: anything held back (flood digests) goes out
                    await deliver_pending(ctx, datetime.combine(days[-1], clock_time(POLL_HOUR), UTC)
                                          + timedelta(days=1))
                if left := await ctx.store.pending_count():
                    run.problems.append(f"{left} outbox rows never delivered")
                run.fates = await read_fates(ctx.store, items, feeds)
                run.served = dict(feeds.served)
            finally:
                await close_context(ctx, factory)
    return run


async def live_day(ctx: Context, feeds: CorpusFeeds, day: date, run: LiveRun) -> None:
    """One simulated day: release its items, one poll cycle over every feed, one delivery pass."""
    feeds.today = day
    now = datetime.combine(day, clock_time(POLL_HOUR), UTC)
    for state in await ctx.store.feed_states():  # the clock jumps a day: make sure every feed is due
        if state.next_poll is not None and state.next_poll > now:
            await ctx.store.save_feed_state(replace(state, next_poll=None))
    cycle = await poll_due_feeds(ctx, now)
    run.days += 1
    run.new_items += cycle.new_items
    if cycle.feeds != run.feeds or cycle.failed:
        run.problems.append(f"{day}: polled {cycle.feeds}/{run.feeds} feeds, {cycle.failed} failed")
    await deliver_pending(ctx, now)


async def read_fates(store: Store, items: Sequence[FeedItem], feeds: CorpusFeeds) -> dict[str, Fate]:
    fates: dict[str, Fate] = {}
    for it in items:
        key = item_key(feeds.outlets[it.source].name, it.guid, "", "", "")
        stored = await store.item(key)
        if stored is None:
            fates[it.id] = Fate(stored=False, dated=None)
            continue
        story = await store.story_of_item(key)
        events = tuple(e.event for e in await store.item_events(key))
        fates[it.id] = Fate(True, stored.dated, events, story.id if story else None)
    return fates


# --- scoring (the only place labels are read) -------------------------------------------------

@dataclass
class StoryScore:
    slug: str
    items: list[str]  # corpus ids
    undated: int
    alerts: list[str]  # refs of alerts showing any of its links
    shown: float  # share of its links shown after all edits
    impure: int  # of those alerts
    old_edits: int
    lost: dict[str, str]  # id -> why it is in no alert

    @property
    def own(self) -> bool:
        return len(self.alerts) == 1 and self.impure == 0


@dataclass
class Scores:
    stories: list[StoryScore]
    alerts: int
    edits: int
    old_edits: int
    old_edits_undated: int  # of those, caused by an undated item (released on a hashed day)
    false_alerts: list[str]
    impure_alerts: list[str]
    composition: dict[str, list[str]]  # alert ref -> corpus ids shown
    unknown_links: int
    notes: list[str]


def _why_lost(fate: Fate | None) -> str:
    if fate is None or not fate.stored:
        return "not stored (seen as a duplicate)"
    for event in ("too-old", "muted", "deferred"):
        if event in fate.events:
            return event
    if "filtered" in fate.events and not fate.story_id:
        return "filtered"
    return "in a story, not shown" if fate.story_id else "no story"


def score(run: LiveRun, items: Sequence[FeedItem], labels: Mapping[str, Label], settings: Settings) -> Scores:
    by_url = {canonical_url(it.url): it.id for it in reversed(items) if it.url}
    window = {w.name: timedelta(hours=w.story_window_hours) for w in settings.watches}
    gold: dict[str, list[str]] = defaultdict(list)
    for it in items:
        lab = labels.get(it.id)
        if lab is not None and lab.relevant:
            gold[lab.story or f"(no slug: {it.id})"].append(it.id)
    story_of = {i: slug for slug, ids in gold.items() for i in ids}
    composition: dict[str, list[str]] = {}
    unknown = 0
    for ref, alert in run.alerts.items():
        ids = [by_url[u] for u in alert.urls if u in by_url]
        unknown += len(alert.urls) - len(ids)
        composition[ref] = ids
    false_alerts = [r for r, ids in composition.items() if ids and not any(i in story_of for i in ids)]
    impure = [r for r, ids in composition.items()
              if len({story_of[i] for i in ids if i in story_of}) > 1
              or (any(i in story_of for i in ids) and not all(i in story_of for i in ids))]
    undated_urls = {canonical_url(it.url) for it in items if it.url and it.published is None}
    late_links = {r: [[lk for lk in e.added if lk.published - e.first > window.get(a.watch, timedelta.max)]
                      for e in a.edits] for r, a in run.alerts.items()}
    late = {r: sum(bool(x) for x in edits) for r, edits in late_links.items()}
    late_undated = sum(any(lk.url in undated_urls for lk in x) for edits in late_links.values() for x in edits)
    stories = []
    for slug, ids in gold.items():
        refs = [r for r, shown in composition.items() if set(shown) & set(ids)]
        seen = {i for r in refs for i in composition[r]}
        lost = {i: _why_lost(run.fates.get(i)) for i in ids if i not in seen}
        undated = sum(1 for it in items if it.id in ids and it.published is None)
        stories.append(StoryScore(slug, ids, undated, refs, len(set(ids) & seen) / len(ids),
                                  sum(r in impure for r in refs), sum(late[r] for r in refs), lost))
    notes = [f"items without a URL cannot be traced to alerts: {sum(not it.url for it in items)}"] \
        if any(not it.url for it in items) else []
    return Scores(stories, len(run.alerts), sum(len(a.edits) for a in run.alerts.values()), sum(late.values()),
                  late_undated, false_alerts, impure, composition, unknown, notes)


# --- report ----------------------------------------------------------------------------------

def _pct(n: int, d: int) -> str:
    return f"{n} ({100 * n / d:.0f}%)" if d else f"{n}"


def live_path_lines(run: LiveRun, items: Sequence[FeedItem]) -> list[str]:
    """What the live path did with the served items (label-free)."""
    fates = run.fates
    dup = [i for i, f in fates.items() if not f.stored]
    undated = [it.id for it in items if it.published is None]
    seen_undated = sum(1 for i in undated if fates[i].dated is False)
    dated_as_undated = sum(1 for it in items if it.published is not None and fates[it.id].dated is False)
    events = Counter(e for f in fates.values() for e in set(f.events))
    stories = len({f.story_id for f in fates.values() if f.story_id})
    lines = [
        f"live path: {run.days} simulated days, {run.feeds} feeds polled each day; {len(items)} items served, "
        f"{sum(f.stored for f in fates.values())} stored, {len(dup)} not stored (taken for a duplicate)",
        f"  undated: {len(undated)} served without pubDate, {seen_undated} stored as undated"
        + (f"; {dated_as_undated} dated items stored as undated" if dated_as_undated else ""),
        f"  matched relevant {events['new-story'] + events['merged']}, filtered {events['filtered']}, "
        f"too old {events['too-old']}, muted {events['muted']}, deferred to a flood digest {events['deferred']}; "
        f"{stories} stories",
    ]
    if dup:
        by_hash: dict[str, list[str]] = defaultdict(list)
        for it in items:
            if h := title_hash(it.title):
                by_hash[h].append(it.id)
        twins = {i: next((j for j in by_hash.get(title_hash(it.title), []) if j != i), "?")
                 for it in items if (i := it.id) in dup}
        lines.append("  not stored: " + ", ".join(f"{i} (same headline as {t})" if t != "?" else i
                                                  for i, t in twins.items()))
    if run.digests:
        lines.append(f"  flood digests posted: {len(run.digests)}")
    lines += [f"  PROBLEM: {p}" for p in run.problems]
    return lines


def report(name: str, run: LiveRun, items: Sequence[FeedItem], sc: Scores, wall: float, verbose: bool) -> str:
    n = len(sc.stories)
    own = sum(s.own for s in sc.stories)
    missed = sum(not s.alerts for s in sc.stories)
    split = sum(len(s.alerts) > 1 for s in sc.stories)
    split_undated = sum(len(s.alerts) > 1 and s.undated > 0 for s in sc.stories)
    share = sum(s.shown for s in sc.stories) / n if n else 0.0
    lines = [f"== {name}: {len(items)} items, {sum(len(s.items) for s in sc.stories)} gold-relevant in {n} "
             f"developments; wall {wall:.1f} s", *live_path_lines(run, items)]
    if verbose:
        lines += ["", f"{'gold story':<40}{'items':>6}{'undat':>6}{'alerts':>7}{'shown':>7}{'impure':>7}"
                      f"{'old ed':>7}  lost"]
        for s in sorted(sc.stories, key=lambda s: s.slug):
            lost = ", ".join(f"{i}: {why}" for i, why in s.lost.items())
            lines.append(f"{s.slug[:39]:<40}{len(s.items):>6}{s.undated:>6}{len(s.alerts):>7}{s.shown:>7.2f}"
                         f"{s.impure:>7}{s.old_edits:>7}  {lost}")
        labels_of = {i: s.slug for s in sc.stories for i in s.items}
        for kind, refs in (("false alert", sc.false_alerts), ("impure alert", sc.impure_alerts)):
            for r in refs:
                shown = ", ".join(f"{i}={labels_of.get(i, 'irrelevant')}" for i in sc.composition[r])
                lines.append(f"{kind} {r} (story {run.alerts[r].story_id}): {shown}")
        for s in sorted(sc.stories, key=lambda s: s.slug):
            if len(s.alerts) > 1:  # which of its reports each alert showed
                parts = "; ".join(f"{r}: {', '.join(i for i in sc.composition[r] if i in s.items)}"
                                  for r in s.alerts)
                lines.append(f"split {s.slug}: {parts}")
        lines.append("")
    lines += [f"  note: {x}" for x in sc.notes]
    if sc.unknown_links:
        lines.append(f"  note: {sc.unknown_links} links in alerts match no corpus URL")
    lines.append(
        f"SUMMARY {name}: developments posted as exactly one alert of their own {_pct(own, n)}; missed "
        f"{_pct(missed, n)}; split {_pct(split, n)}; false alerts {len(sc.false_alerts)}; impure alerts "
        f"{len(sc.impure_alerts)}; alerts {sc.alerts}; mean share of links shown {share:.2f}; "
        f"old-story edits {sc.old_edits} of {sc.edits} edits")
    lines.append(f"  undated items' share: {split_undated} of the {split} split developments have undated items; "
                 f"{sc.old_edits_undated} of the {sc.old_edits} old-story edits were caused by an undated item")
    return "\n".join(lines)


def run_corpus(path: Path, settings: Settings) -> tuple[LiveRun, list[FeedItem], Scores]:
    """Run one corpus through the live bot in a fresh database, then (only then) score it."""
    items = read_feed_items(path)
    # The world's schedule may use the gold story to date an undated report (--undated story);
    # the bot only ever sees the feeds, which carry no label.
    release = release_days(items, read_labels(path) if UNDATED[0] == "story" else None)
    run = asyncio.run(simulate(items, settings, release))
    return run, items, score(run, items, read_labels(path), settings)


def out_of_sample(settings: Settings, fit_on: Sequence[Path]) -> Settings:
    """The settings with each watch's models refitted on other labelled corpora."""
    from bot.train import fit_watch, labelled_rows

    rows, _ = labelled_rows([str(p) for p in fit_on])
    watches = tuple(replace(w, model=fit_watch(w, rows, EMBEDDER[0], "backtest")) for w in settings.watches)
    return replace(settings, watches=watches)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, action="append", help="JSON lines corpus (repeatable); "
                    "default: ../shared/corpus/dev.jsonl and dev2.jsonl")
    ap.add_argument("--config", default=str(DEFAULT_CONFIG), help="watches are taken from this config")
    ap.add_argument("-v", "--verbose", action="store_true", help="per-story table, false and impure alerts")
    ap.add_argument("--undated", choices=("story", "end", "spread"), default="story",
                    help="release undated items with their gold story's first report (default), after the "
                         "dated ones, or on hashed days (see release_days)")
    ap.add_argument("--no-embedding", action="store_true", help="terms only (no multilingual signal)")
    ap.add_argument("--model", choices=("other", "shipped"), default="other",
                    help="other (default, out of sample): refit the models on the other dev corpus before "
                         "replaying one; shipped: the watch's model file (fitted on both: in sample)")
    args = ap.parse_args(argv)
    UNDATED[0] = args.undated
    if not args.no_embedding:
        from bench.crossval import DiskCache
        from bot.embedding import load_embedder

        inner = load_embedder()
        EMBEDDER[0] = DiskCache(inner) if inner else None
    logging.basicConfig(level=logging.ERROR)
    settings = load_settings(args.config)
    start = time.perf_counter()
    ok = True
    corpora = args.corpus or list(DEFAULT_CORPORA)
    if missing := [str(p) for p in corpora if not p.exists()]:
        print(f"no such corpus: {', '.join(missing)} (the labelled corpora live in ../shared/corpus; "
              "or give --corpus FILE)", file=sys.stderr)
        return 2
    for path in corpora:
        t0 = time.perf_counter()
        others = [p for p in DEFAULT_CORPORA if p.exists() and p.resolve() != path.resolve()]
        if args.model == "other" and others:
            settings = out_of_sample(settings, others)
            print(f"(models refitted on {', '.join(p.name for p in others)}: out of sample for {path.name})")
        elif args.model == "other":
            print(f"(no other labelled corpus in {DEFAULT_CORPORA[0].parent}: the watch's shipped model is used)")
        run, items, sc = run_corpus(path, settings)
        print(report(path.name, run, items, sc, time.perf_counter() - t0, args.verbose), flush=True)
        ok = ok and not run.problems
    print(f"wall time {time.perf_counter() - start:.1f} s")
    save = getattr(EMBEDDER[0], "save", None)
    if save is not None:
        save()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
