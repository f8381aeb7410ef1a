"""Load benchmark: a burst of relevant reports from 2,000 feeds, delivered to rate-limited chats.

One poll cycle fetches N feeds (a server in a separate process, on many 127.0.1.x addresses)
holding M new reports, all relevant to the shipped watch, of developments told by 1–15 outlets
each (bench/newsgen.py). The developments start evenly over `--days` (max_age_days is raised to
cover them), so stories keep realistic sizes instead of every development of a kind meeting in one
72-hour window. Outlets are ordered by time and feed n answers n * --stagger-ms after the first
request, so the poll meets the reports in about the order a running bot would have (out of
order, a report can join a story from months later: candidates have no upper time bound). The
reports are matched and merged into stories, routed to one Discord and one Slack channel (real
sinks against local fakes that answer 429 when posted to faster than a token bucket allows, and
now and then with a long Retry-After that sends the row back to the outbox).
The outbox is then drained, hour boundary included, so the flood digest goes out too; every story
must reach each channel exactly once (an alert or a digest entry), and no channel may get more
alerts than its max_alerts_per_hour.

Printed: the per-item cost of the processing, median and p95 — the time each item holds the story
lock for match → merge → route, which also absorbs the store.add_items and parsing of the feeds
that interleave with it on the one event loop and SQLite thread (the holds add up to nearly the
whole cycle: that share is printed) — and the cycle's wall time per item (poll → route);
the stories and their sizes against the planted developments. Baselines in the same run: the same
feeds read by a sequential feedparser.parse loop (per item), and the same stories posted as one
alert each to two more channels (messages and drain time).

    .venv/bin/python bench/load.py [--feeds 2000] [--items 5000] [--days 700] [--rate 40] [--markdown]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import multiprocessing as mp
import os
import re
import resource
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from aiohttp import web  # noqa: E402

from bench.embeddings import bcubed_items  # noqa: E402
from bench.newsgen import Article, Corpus, feed_xml, make_burst  # noqa: E402
from bot.model import Delivery, Destination, Item, Subscription  # noqa: E402
from tests.fakes.discord_server import GOOD_TOKEN, FakeDiscord  # noqa: E402
from tests.fakes.slack_server import FakeSlack  # noqa: E402

NOW = datetime(2026, 6, 30, 10, 20, tzinfo=UTC)  # the cycle's clock; reports are from the days before
HOSTS = 50
DISCORD_CHANNEL, NAIVE_DISCORD_CHANNEL = "700000000000000001", "700000000000000002"
SLACK_CHANNEL, NAIVE_SLACK_CHANNEL = "CLOADMAIN", "CLOADNAIVE"
REAL_RATE = 1.0  # messages/s one channel takes in production (Slack ~1/s; Discord 5 per 5 s)
# Developments a day: the dev corpora hold about 0.5–2.6; at this density the shipped story rule
# keeps the largest story within about twice the largest development (bench/volume.py's measure).
PER_DAY = 1.5


def burst(items: int, feeds: int, days: float | None = None) -> Corpus:
    """`items` relevant reports over `feeds` feeds; `days` defaults to PER_DAY developments a day."""
    span = days if days is not None else max(3.0, items / 4.64 / PER_DAY)  # 4.64: mean development size
    return make_burst(items, feeds, NOW, timedelta(days=span))


def span_days(corpus: Corpus) -> float:
    first = min(d.start for d in corpus.developments)
    return (NOW - first).total_seconds() / 86400


def as_item(a: Article) -> Item:
    return Item(key=a.guid, feed=f"feed{a.feed}", source=f"Outlet {a.feed}", url=a.url, title=a.title,
                summary=a.lead, published=a.published, fetched=NOW, lang=a.lang)


def url_path(url: str) -> str:
    """The part of an article's link that survives canonicalisation (tracking parameters dropped)."""
    return url.split("?", 1)[0]


# --- the feed server (a separate process, so its CPU is not counted) ---------------------------


def host_of(h: int) -> str:
    return f"127.0.1.{h + 1}"


def feed_url(port: int, n: int) -> str:
    return f"http://{host_of(n % HOSTS)}:{port}/feed/{n}.xml"


def feed_bodies(corpus: Corpus) -> dict[int, bytes]:
    return {n: feed_xml(n, arts, corpus.langs[n], False) for n, arts in corpus.feeds.items()}


def feed_app(bodies: Mapping[int, bytes], stagger: float = 0.0) -> web.Application:
    """Feed n answers no earlier than n * stagger seconds after the first request: the bot polls
    feeds a few dozen at a time, so the staggered answers reach it in feed order, which is time
    order (see make_burst) — the order a running bot would have met the reports in."""
    first: list[float] = []

    async def handle(request: web.Request) -> web.Response:
        n = int(request.match_info["n"])
        loop = asyncio.get_running_loop()
        first[:] = first or [loop.time()]
        if (wait := first[0] + n * stagger - loop.time()) > 0:
            await asyncio.sleep(wait)
        body = bodies.get(n, b"")
        return web.Response(body=body, headers={"Content-Type": "application/rss+xml"})

    app = web.Application()
    app.router.add_get("/feed/{n}.xml", handle)
    return app


def serve(bodies: dict[int, bytes], stagger: float, port_q: mp.Queue[int]) -> None:
    async def main() -> None:
        runner = web.AppRunner(feed_app(bodies, stagger), access_log=None)
        await runner.setup()
        first = web.TCPSite(runner, host_of(0), 0, backlog=1024)
        await first.start()
        port = first._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        for h in range(1, HOSTS):
            await web.TCPSite(runner, host_of(h), port, backlog=1024).start()
        port_q.put(port)
        await asyncio.Event().wait()

    asyncio.run(main())


# --- chat fakes that enforce a rate limit ------------------------------------------------------


class Limits:
    """Per-channel token buckets (real time). A request over the bucket gets a short Retry-After,
    which the clients wait out themselves; every `long_every`-th request to a channel gets a long
    one (> the clients' 30 s inline cap), which sends the row back to the outbox to wait."""

    def __init__(self, channels: Sequence[str], rate: float, burst: int, long_every: int, long_wait: float) -> None:
        self.rate, self.burst, self.long_every, self.long_wait = rate, burst, long_every, long_wait
        self.tokens = {c: float(burst) for c in channels}
        self.stamp = {c: time.monotonic() for c in channels}
        self.calls: Counter[str] = Counter()
        self.short: Counter[str] = Counter()
        self.long: Counter[str] = Counter()

    def check(self, channel: str) -> float | None:
        """Seconds to wait when this request is refused, else None."""
        if channel not in self.tokens:
            return None
        self.calls[channel] += 1
        if self.long_every and self.calls[channel] % self.long_every == 0:
            self.long[channel] += 1
            return self.long_wait
        now = time.monotonic()
        self.tokens[channel] = min(self.burst, self.tokens[channel] + (now - self.stamp[channel]) * self.rate)
        self.stamp[channel] = now
        if self.tokens[channel] >= 1:
            self.tokens[channel] -= 1
            return None
        self.short[channel] += 1
        return round((1 - self.tokens[channel]) / self.rate + 0.001, 3)


@dataclass
class LimitedDiscord(FakeDiscord):
    limits: Limits | None = None

    def _scripted(self, key: str) -> web.Response | None:
        wait = self.limits.check(key) if self.limits else None
        if wait is None:
            return super()._scripted(key)
        headers = {"Retry-After": f"{wait:g}", "X-RateLimit-Scope": "user", "Via": "1.1 google"}
        return self._json({"message": "You are being rate limited.", "retry_after": wait, "global": False},
                          429, headers)


@dataclass
class LimitedSlack(FakeSlack):
    limits: Limits | None = None

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        channel = request.query.get("channel", "")
        if request.content_type == "application/json":
            channel = str((await request.json()).get("channel", channel))
        elif request.can_read_body:
            channel = str((await request.post()).get("channel", channel))
        wait = self.limits.check(channel) if self.limits and method != "auth.test" else None
        if wait is None:
            return await super()._api(request)
        await self._record(request, method)
        return web.json_response({"ok": False, "error": "ratelimited"}, status=429,
                                 headers={"Retry-After": f"{wait:g}"})


# --- what reached the channels -----------------------------------------------------------------

ALERT = re.compile(r"deskwatch:alert:(s-[0-9a-f]+):")
DISCORD_HEAD = re.compile(r"\*\*\d+\.\*\* \[.*?\]\((https?://[^)\s]+)\)")
SLACK_HEAD = re.compile(r"^\*<(https?://[^|>]+)\|", re.M)


@dataclass(frozen=True)
class Tally:
    """What one channel shows: messages, alerts, and how often each story appears."""

    messages: int
    alerts: int
    seen: Counter[str]  # story id -> appearances (alert or digest entry)


def discord_tally(messages: Sequence[Mapping[str, Any]], story_of_url: Mapping[str, str]) -> Tally:
    seen: Counter[str] = Counter()
    alerts = 0
    for m in messages:
        embeds = m.get("embeds") or []
        footers = " ".join((e.get("footer") or {}).get("text", "") for e in embeds)
        if (hit := ALERT.search(footers)) is not None:
            alerts += 1
            seen[hit.group(1)] += 1
            continue
        for e in embeds:
            seen.update(story_of_url.get(u, f"?{u}") for u in DISCORD_HEAD.findall(e.get("description", "")))
    return Tally(len(messages), alerts, seen)


def slack_tally(messages: Sequence[Mapping[str, Any]], story_of_url: Mapping[str, str]) -> Tally:
    seen: Counter[str] = Counter()
    alerts = 0
    for m in messages:
        marker = ((m.get("metadata") or {}).get("event_payload") or {}).get("marker", "")
        if (hit := ALERT.search(marker + ":")) is not None:
            alerts += 1
            seen[hit.group(1)] += 1
            continue
        for b in m.get("blocks") or []:
            text = (b.get("text") or {}).get("text", "") if isinstance(b.get("text"), dict) else ""
            seen.update(story_of_url.get(u.replace("&amp;", "&"), f"?{u}") for u in SLACK_HEAD.findall(text))
    return Tally(len(messages), alerts, seen)


@dataclass(frozen=True)
class Check:
    covered: int
    lost: int
    duplicates: int
    strangers: int  # entries naming no known story (a parsing problem or a corrupted post)


def check(tally: Tally, stories: Sequence[str]) -> Check:
    known = set(stories)
    return Check(covered=sum(1 for s in stories if tally.seen[s] > 0),
                 lost=sum(1 for s in stories if tally.seen[s] == 0),
                 duplicates=sum(n - 1 for s, n in tally.seen.items() if s in known and n > 1),
                 strangers=sum(n for s, n in tally.seen.items() if s not in known))


# --- the run -----------------------------------------------------------------------------------


@dataclass
class Drain:
    wall: float = 0.0
    passes: int = 0
    sent: int = 0
    retrying: int = 0
    recovered: int = 0
    failed: int = 0
    left: int = 0
    sim_end: datetime = NOW


async def drain(ctx: Any, start: datetime, give_up: timedelta) -> Drain:
    """Deliver until the outbox is empty. When nothing is due, jump the clock we pass to the
    outbox to the next row's time (a Retry-After, the flood digest's hour) instead of sleeping."""
    from bot.outbox import deliver_pending

    out, sim, t0 = Drain(), start, time.perf_counter()
    while sim <= start + give_up:
        rep = await deliver_pending(ctx, sim)
        out.passes += 1
        out.sent, out.retrying = out.sent + rep.sent, out.retrying + rep.retrying
        out.recovered, out.failed = out.recovered + rep.recovered, out.failed + rep.failed
        rows = await ctx.store.due_deliveries(start + timedelta(days=3650), limit=1_000_000)
        if not rows:
            break
        if not any(r.next_attempt is None or r.next_attempt <= sim for r in rows):
            sim = min(r.next_attempt for r in rows if r.next_attempt is not None)
    out.wall, out.sim_end = time.perf_counter() - t0, sim
    out.left = await ctx.store.pending_count()
    return out


def settings_for(urls: Sequence[str], db: str, max_alerts: int = 30, max_age_days: float = 3.0) -> Any:
    from bot.config import load_settings
    from bot.settings import FeedSettings, StorageSettings

    base = load_settings(str(ROOT / "config" / "deskwatch.toml"))
    watch = base.watches[0].name
    dests = (Destination("load-discord", "discord", channel=DISCORD_CHANNEL, max_alerts_per_hour=max_alerts),
             Destination("load-slack", "slack", channel=SLACK_CHANNEL, max_alerts_per_hour=max_alerts),
             Destination("naive-discord", "discord", channel=NAIVE_DISCORD_CHANNEL, max_alerts_per_hour=10**9),
             Destination("naive-slack", "slack", channel=NAIVE_SLACK_CHANNEL, max_alerts_per_hour=10**9))
    return replace(base, feeds=tuple(FeedSettings(name=f"feed{n}", url=url, language="en", source=f"Outlet {n}")
                                     for n, url in enumerate(urls)),
                   destinations=dests, storage=StorageSettings(path=db),
                   polling=replace(base.polling, max_age_days=max_age_days),
                   subscriptions=tuple(Subscription(watch, d) for d in ("load-discord", "load-slack")))


class TimedLock(asyncio.Lock):
    """The story lock, timing each hold: process_items holds it for one item's match → merge →
    route (its events and story saved), so the holds are the per-item cost of those steps."""

    def __init__(self) -> None:
        super().__init__()
        self.holds: list[float] = []
        self._since = 0.0

    async def __aenter__(self) -> None:
        await super().__aenter__()
        self._since = time.perf_counter()

    async def __aexit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        self.holds.append(time.perf_counter() - self._since)
        await super().__aexit__(kind, exc, tb)


def time_add_items(store: Any, calls: list[tuple[float, int]]) -> None:
    """Record (seconds, items) of each store.add_items call (one per feed: the store step)."""
    add = store.add_items

    async def timed(items: Sequence[Item]) -> Any:
        t0 = time.perf_counter()
        try:
            return await add(items)
        finally:
            calls.append((time.perf_counter() - t0, len(items)))

    store.add_items = timed


@dataclass(frozen=True)
class Sizes:
    """The stories against the planted developments."""

    stories: int
    developments: int
    sizes: Counter[int]  # sources per story -> stories
    mixed: int  # stories holding reports of more than one development
    split: int  # developments whose reports went to more than one story
    b3: tuple[float, float, float] = (0.0, 0.0, 0.0)  # B-cubed P, R, F1 of the stories over the reports

    def buckets(self) -> str:
        edges = ((1, 1), (2, 3), (4, 7), (8, 15), (16, 30), (31, 10**9))
        parts = []
        for lo, hi in edges:
            n = sum(c for size, c in self.sizes.items() if lo <= size <= hi)
            label = str(lo) if lo == hi else (f"{lo}+" if hi == 10**9 else f"{lo}–{hi}")
            parts.append(f"{label}: {n}")
        return ", ".join(parts)

    @property
    def largest(self) -> int:
        return max(self.sizes, default=0)


def story_sizes(stories: Sequence[Any], corpus: Corpus) -> Sizes:
    dev_of = {url_path(a.url): a.development for a in corpus.articles()}
    devs_in: list[set[int | None]] = [{dev_of.get(url_path(src.url)) for src in s.sources} for s in stories]
    stories_of: Counter[int | None] = Counter(d for ds in devs_in for d in ds)
    story_of = {url_path(src.url): s.id for s in stories for src in s.sources}
    per = bcubed_items({u: str(d) for u, d in dev_of.items()}, story_of)
    p, r = statistics.mean(x for x, _ in per.values()), statistics.mean(y for _, y in per.values())
    return Sizes(len(stories), len(corpus.developments), Counter(len(s.sources) for s in stories),
                 sum(len(ds) > 1 for ds in devs_in), sum(1 for n in stories_of.values() if n > 1),
                 (p, r, 2 * p * r / (p + r) if p + r else 0.0))


@dataclass
class Figures:
    relevant: int = 0
    match_ms: float = 0.0
    cycle: Any = None
    cycle_wall: float = 0.0
    cycle_cpu: float = 0.0  # this process (event loop and SQLite threads)
    worker_cpu: float = 0.0  # the parse worker process
    store_cpu: float = 0.0  # of cycle_cpu, the store's (SQLite) thread
    holds: list[float] = field(default_factory=list)  # seconds per item: match → merge → route
    adds: list[tuple[float, int]] = field(default_factory=list)  # store.add_items: (seconds, items) per feed
    sizes: Sizes | None = None
    stories: int = 0
    main: Drain | None = None
    naive: Drain | None = None
    tallies: dict[str, Tally] | None = None
    checks: dict[str, Check] | None = None
    limit: int = 0
    base_wall: float = 0.0  # the sequential feedparser.parse loop over the same feeds
    base_entries: int = 0
    index_s: float = 0.0  # the search index brought up to date after the drains (as a tick does)
    profile: str = ""

    def store_ms(self) -> float:
        """store.add_items awaited per item, in ms (one call per feed; queueing in the SQLite
        thread included, so it overlaps the holds and is not added to them)."""
        return sum(t for t, _ in self.adds) / max(sum(n for _, n in self.adds), 1) * 1000

    def per_item_ms(self) -> list[float]:
        return [h * 1000 for h in self.holds]

    def held_share(self) -> float:
        """The share of the cycle's wall time during which some item held the story lock."""
        return sum(self.holds) / max(self.cycle_wall, 1e-9)


async def run(urls: Sequence[str], corpus: Corpus, limits: Limits, max_alerts: int = 30,
              max_age_days: float | None = None, profile: bool = False, server_pid: int = 0) -> Figures:
    """One cycle over `urls` (feed n serves corpus.feeds[n]), then both drains; with `profile`,
    the cycle's cProfile (both threads) in fig.profile."""
    from bench.pipeline import child_cpu
    from bench.profiling import Profiles
    from bot.app import close_context, open_context
    from bot.core.relevance.match import match_item
    from bot.pipeline import poll_due_feeds

    fig = Figures()
    discord, slack = LimitedDiscord(limits=limits), LimitedSlack(limits=limits)
    await discord.start()
    await slack.start()
    tmp = tempfile.mkdtemp(prefix="deskwatch-load-")
    age = max_age_days if max_age_days is not None else span_days(corpus) + 1
    settings = settings_for(urls, os.path.join(tmp, "load.db"), max_alerts, age)
    watch = settings.watches[0]
    articles = corpus.articles()
    t0 = time.process_time()
    fig.relevant = sum(match_item(watch, as_item(a)).relevant for a in articles)
    fig.match_ms = (time.process_time() - t0) / max(len(articles), 1) * 1000
    env = {"DISCORD_TOKEN": GOOD_TOKEN, "DISCORD_API_BASE_URL": discord.api,
           "SLACK_BOT_TOKEN": "xoxb-load", "SLACK_API_URL": slack.api_url}
    ctx, factory = await open_context(settings, env=env)
    lock = TimedLock()
    ctx.story_lock = lock
    time_add_items(ctx.store, fig.adds)
    profiles = Profiles(ctx.store) if profile else None
    try:
        if profiles:
            await profiles.start()
        s0 = await ctx.store.thread_cpu()
        t0, c0, k0 = time.perf_counter(), time.process_time(), child_cpu(server_pid)
        fig.cycle = await poll_due_feeds(ctx, NOW)
        fig.cycle_wall, fig.cycle_cpu = time.perf_counter() - t0, time.process_time() - c0
        fig.store_cpu = await ctx.store.thread_cpu() - s0
        fig.worker_cpu = child_cpu(server_pid) - k0
        if profiles:
            await profiles.stop()
            fig.profile = profiles.report()
        fig.holds = list(lock.holds)
        stories = await ctx.store.latest_stories(10**7, watch.name)
        fig.stories = len(stories)
        fig.sizes = story_sizes(stories, corpus)
        fig.main = await drain(ctx, NOW, timedelta(hours=6))
        # Baseline: the same stories as one alert each (flood control off) to two more channels.
        naive = [Delivery(id=f"alert:{s.id}:{d}", destination=d, kind="alert", created=fig.main.sim_end,
                          story_id=s.id, title=s.title) for d in ("naive-discord", "naive-slack") for s in stories]
        await ctx.store.enqueue(naive)
        fig.naive = await drain(ctx, fig.main.sim_end, timedelta(hours=6))
        t0 = time.perf_counter()
        await ctx.store.index_for_search()
        fig.index_s = time.perf_counter() - t0
    finally:
        await close_context(ctx, factory)
        await discord.close()
        await slack.close()
    story_of_url = {src.url: s.id for s in stories for src in s.sources}
    ids = [s.id for s in stories]
    fig.tallies = {
        "load-discord": discord_tally(discord.channels.get(DISCORD_CHANNEL, []), story_of_url),
        "load-slack": slack_tally(slack.messages.get(SLACK_CHANNEL, []), story_of_url),
        "naive-discord": discord_tally(discord.channels.get(NAIVE_DISCORD_CHANNEL, []), story_of_url),
        "naive-slack": slack_tally(slack.messages.get(NAIVE_SLACK_CHANNEL, []), story_of_url),
    }
    fig.checks = {name: check(t, ids) for name, t in fig.tallies.items()}
    fig.limit = settings.destination("load-discord").max_alerts_per_hour
    return fig


def baseline(urls: Sequence[str]) -> tuple[float, int]:
    """The same feeds read by a sequential feedparser.parse(url) loop: (wall seconds, entries)."""
    import feedparser

    t0, entries = time.perf_counter(), 0
    for url in urls:
        entries += len(feedparser.parse(url).entries)
    return time.perf_counter() - t0, entries


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def pct(xs: Sequence[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, max(0, round(q * len(s)) - 1))] if s else 0.0


def processing(fig: Figures) -> tuple[float, float, float, float]:
    """(median, p95 per item in ms, cycle wall per item in ms, baseline per item in ms)."""
    per = fig.per_item_ms()
    items = max(fig.cycle.new_items, 1)
    return (statistics.median(per) if per else 0.0, pct(per, 0.95), fig.cycle_wall / items * 1000,
            fig.base_wall / max(fig.base_entries, 1) * 1000)


def report(fig: Figures, args: argparse.Namespace, limits: Limits, corpus: Corpus) -> tuple[str, bool]:
    """The printed figures, and whether every check passed."""
    assert fig.main and fig.naive and fig.tallies and fig.checks and fig.cycle and fig.sizes
    c, z = fig.cycle, fig.sizes
    med, p95, wall_ms, base_ms = processing(fig)
    cpu_ms = (fig.cycle_cpu + fig.worker_cpu) / max(c.new_items, 1) * 1000
    lines = [
        f"deskwatch load benchmark: {args.feeds} feeds, {args.items} new reports in one cycle, of "
        f"{z.developments} developments (1–15 reports each) starting over {span_days(corpus):.0f} days; chat fakes "
        f"allow {args.rate:g} msg/s per channel (burst {args.burst}), "
        + (f"every {args.long_every}th request waits {args.long_wait:g} s" if args.long_every else "no long 429s"),
        f"items {c.new_items}  relevant {fig.relevant} (match_item alone: {fig.match_ms:.2f} ms CPU per item)  "
        f"new stories {c.new_stories}  merged {c.merged}  failed feeds {c.failed}",
        f"stories {z.stories} for {z.developments} developments; sources per story: {z.buckets()}; largest "
        f"{z.largest}; {z.mixed} stories hold more than one development, {z.split} developments are split; "
        f"B-cubed P {z.b3[0]:.3f} R {z.b3[1]:.3f} F1 {z.b3[2]:.3f}",
        f"per item (match → merge → route under the story lock, interleaved store and parse work included): "
        f"median {med:.2f} ms, p95 {p95:.2f} ms, max {max(fig.per_item_ms() or [0]):.1f}; the holds cover "
        f"{fig.held_share():.0%} of the cycle; store.add_items awaited {fig.store_ms():.2f} ms per item",
        f"cycle (poll + parse + store + match + merge + route) {fig.cycle_wall:.1f} s wall, {wall_ms:.1f} ms per item; "
        f"CPU {fig.cycle_cpu:.1f} s + parse worker {fig.worker_cpu:.1f} s, {cpu_ms:.1f} ms per item; of the "
        f"bot's, the store's thread {fig.store_cpu:.1f} s ({fig.store_cpu / max(c.new_items, 1) * 1000:.2f} ms "
        "per item)",
        f"baseline: sequential feedparser.parse loop over the same feeds {fig.base_wall:.1f} s, {base_ms:.2f} ms per "
        f"item; deskwatch per item (median) / baseline per item: {med / max(base_ms, 1e-9):.1f}x; cycle wall / "
        f"loop wall: {fig.cycle_wall / max(fig.base_wall, 1e-9):.1f}x",
        f"{'destination':<15}{'drain s':>8}{'msgs':>6}{'alerts':>7}{'covered':>8}{'lost':>5}{'dups':>5}"
        f"{'429 short':>10}{'429 long':>9}{'at 1 msg/s':>11}",
    ]
    chans = {"load-discord": DISCORD_CHANNEL, "load-slack": SLACK_CHANNEL, "naive-discord": NAIVE_DISCORD_CHANNEL,
             "naive-slack": NAIVE_SLACK_CHANNEL}
    for name, t in fig.tallies.items():
        k, ch, d = fig.checks[name], chans[name], fig.main if name.startswith("load") else fig.naive
        lines.append(f"{name:<15}{d.wall:>8.1f}{t.messages:>6}{t.alerts:>7}{k.covered:>8}{k.lost:>5}{k.duplicates:>5}"
                     f"{limits.short[ch]:>10}{limits.long[ch]:>9}{t.messages / REAL_RATE / 60:>9.1f} m")
    main_msgs = fig.tallies["load-discord"].messages + fig.tallies["load-slack"].messages
    naive_msgs = fig.tallies["naive-discord"].messages + fig.tallies["naive-slack"].messages
    lines += [
        f"outbox: flood-controlled drain {fig.main.wall:.1f} s ({fig.main.passes} passes, {fig.main.retrying} "
        f"retries, {fig.main.recovered} recovered, {fig.main.failed} failed, {fig.main.left} left); "
        f"naive {fig.naive.wall:.1f} s ({fig.naive.retrying} retries, {fig.naive.left} left)",
        f"naive one-alert-per-story / flood-controlled: messages x{naive_msgs / max(main_msgs, 1):.1f}, "
        f"drain time x{fig.naive.wall / max(fig.main.wall, 1e-9):.1f}",
        f"then the search index brought up to date in {fig.index_s:.2f} s (after the cycle, as the poll tick does)",
        f"peak RSS {peak_rss_mb():.0f} MB (bot process; feed server and parse worker not counted)",
    ]
    problems = [f"{n}: {k.lost} lost, {k.duplicates} duplicates, {k.strangers} unknown entries"
                for n, k in fig.checks.items() if k.lost or k.duplicates or k.strangers]
    problems += [f"{n}: {fig.tallies[n].alerts} alerts > max_alerts_per_hour {fig.limit}"
                 for n in ("load-discord", "load-slack") if fig.tallies[n].alerts > fig.limit]
    problems += [f"{n} outbox: {d.left} rows left, {d.failed} failed" for n, d in
                 (("flood-controlled", fig.main), ("naive", fig.naive)) if d.left or d.failed]
    lines += [f"CHECK FAILED: {p}" for p in problems] or ["checks: every story reached every channel exactly once; "
                                                          f"alerts per channel <= {fig.limit}"]
    return "\n".join(lines), not problems


def markdown(fig: Figures, args: argparse.Namespace, corpus: Corpus) -> str:
    """README rows: the processing table (| burst | stories | per item median / p95 | cycle wall per
    item | CPU per item | loop per item | median ÷ loop |), then the delivery table."""
    assert fig.sizes and fig.tallies and fig.checks and fig.main and fig.naive
    z = fig.sizes
    med, p95, wall_ms, base_ms = processing(fig)
    cpu_ms = (fig.cycle_cpu + fig.worker_cpu) / max(fig.cycle.new_items, 1) * 1000
    rows = [f"| {args.items:,} reports, {args.feeds:,} feeds, {z.developments} developments over "
            f"{span_days(corpus):.0f} days | {z.stories} (largest {z.largest}; {z.buckets()}) | "
            f"{med:.1f} / {p95:.1f} ms | {wall_ms:.1f} ms | {cpu_ms:.1f} ms | {base_ms:.2f} ms | "
            f"{med / max(base_ms, 1e-9):.0f}× |", ""]
    names = {"load-discord": f"Discord, flood control ({fig.limit} alerts/h, then hourly digest pages)",
             "load-slack": "Slack, flood control", "naive-discord": "Discord, one alert per story (baseline)",
             "naive-slack": "Slack, one alert per story (baseline)"}
    for name, t in fig.tallies.items():
        k, d = fig.checks[name], fig.main if name.startswith("load") else fig.naive
        rows.append(f"| {names[name]} | {d.wall:.1f} s | {t.messages} | {t.alerts} | {k.covered} / {z.stories} | "
                    f"{k.lost} | {k.duplicates} |")
    return "\n".join(rows)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--feeds", type=int, default=2000)
    ap.add_argument("--items", type=int, default=5000)
    ap.add_argument("--days", type=float, default=None,
                    help=f"developments start over this many days (default: {PER_DAY:g} a day)")
    ap.add_argument("--stagger-ms", type=float, default=2.0,
                    help="feed n answers n times this after the first request, so reports arrive in time order")
    ap.add_argument("--rate", type=float, default=40.0, help="messages per second a fake channel accepts")
    ap.add_argument("--burst", type=int, default=5)
    ap.add_argument("--long-every", type=int, default=25, help="every Nth request to a channel: long Retry-After")
    ap.add_argument("--long-wait", type=float, default=60.0)
    ap.add_argument("--markdown", action="store_true", help="also print the README table rows")
    ap.add_argument("--profile", action="store_true",
                    help="cProfile the cycle (event loop and SQLite threads; slows it down)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)  # retries are expected here; the figures say how many
    corpus = burst(args.items, args.feeds, args.days)
    q: mp.Queue[int] = mp.Queue()
    proc = mp.Process(target=serve, args=(feed_bodies(corpus), args.stagger_ms / 1000, q), daemon=True)
    proc.start()
    limits = Limits((DISCORD_CHANNEL, SLACK_CHANNEL, NAIVE_DISCORD_CHANNEL, NAIVE_SLACK_CHANNEL),
                    args.rate, args.burst, args.long_every, args.long_wait)
    try:
        port = q.get(timeout=120)
        urls = [feed_url(port, n) for n in range(args.feeds)]
        fig = asyncio.run(run(urls, corpus, limits, profile=args.profile, server_pid=proc.pid or 0))
        fig.base_wall, fig.base_entries = baseline(urls)
    finally:
        proc.terminate()
    text, ok = report(fig, args, limits, corpus)
    print(text)
    if fig.profile:
        print(fig.profile)
    if args.markdown:
        print(markdown(fig, args, corpus))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
