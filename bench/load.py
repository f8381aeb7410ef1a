"""Load benchmark: a burst of relevant reports from 2,000 feeds, delivered to rate-limited chats.

One poll cycle fetches N feeds (a server in a separate process, on many 127.0.1.x addresses)
holding M new reports, all relevant to the shipped watch and about many different developments.
They are matched and merged into stories, routed to one Discord and one Slack channel (real
sinks against local fakes that answer 429 when posted to faster than a token bucket allows, and
now and then with a long Retry-After that sends the row back to the outbox). The outbox is then
drained, hour boundary included, so the flood digest goes out too; every story must reach each
channel exactly once (an alert or a digest entry), and no channel may get more alerts than its
max_alerts_per_hour. Baseline in the same run: the same stories posted as one alert each.

    .venv/bin/python bench/load.py [--feeds 2000] [--items 5000] [--rate 40]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import multiprocessing as mp
import os
import re
import resource
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from aiohttp import web  # noqa: E402

from bot.model import Delivery, Destination, Item, Subscription  # noqa: E402
from tests.fakes.discord_server import GOOD_TOKEN, FakeDiscord  # noqa: E402
from tests.fakes.slack_server import FakeSlack  # noqa: E402

NOW = datetime(2026, 6, 30, 10, 20, tzinfo=UTC)  # the cycle's clock; reports are from the hours before
HOSTS = 50
DISCORD_CHANNEL, NAIVE_DISCORD_CHANNEL = "700000000000000001", "700000000000000002"
SLACK_CHANNEL, NAIVE_SLACK_CHANNEL = "CLOADMAIN", "CLOADNAIVE"
SPREAD = 69 * 60  # minutes: the burst holds the last ~3 days of reports (max_age_days is 3)
REAL_RATE = 1.0  # messages/s one channel takes in production (Slack ~1/s; Discord 5 per 5 s)

# --- content: many developments, each reported by one to three outlets in different words ------

REGIONS = ("Russia's Kursk region", "Russia's Belgorod region", "Russia's Bryansk region", "Ukraine's Kharkiv region",
           "Ukraine's Donetsk region", "Ukraine's Zaporizhzhia region", "Ukraine's Kherson region",
           "Ukraine's Luhansk region", "the Sudzha district", "the Pokrovsk sector")
SYLL = ("ver", "niz", "mal", "bol", "star", "nov", "kras", "bel", "cher", "zel", "pes", "lug", "dub", "ber",
        "sos", "kam", "oz", "rech", "gor", "pol", "lip", "vod")
MID = ("ob", "an", "ets", "ov", "ish", "el", "ud", "ar", "ok", "in", "ast", "yr")
END = ("ovka", "ino", "evo", "yanka", "oye", "ichi", "ivka", "any", "ets", "uha", "ki", "ovo")
UNIT_END = ("gol", "san", "ri", "dong", "bong", "gang", "chon", "ryong", "pho", "won", "sil", "dam")
OP_END = ("ite", "ara", "ion", "elle", "orum", "anth", "ixa", "undra", "ello", "ossa", "yth", "arel")
WORDS = len(SYLL) * len(MID) * len(END)  # invented names: one of each kind per development
# (title, lead) per phrasing; {v} village, {r} region, {n} figure, {u} unit nickname, {o} operation.
EVENTS: tuple[tuple[tuple[str, str], ...], ...] = (
    (("North Korean troops hold {v} in {r} against Ukrainian assault",
      "About {n} North Korean soldiers of the {u} battalion defended {v} during operation {o}, Russian officers said."),
     ("Ukrainian push on {v} stalls as North Korean soldiers dig in, {r}",
      "The {u} battalion led roughly {n} troops from Pyongyang at {v}; the defence was code-named {o}."),
     ("North Korean {u} battalion keeps {v} for Russia",
      "In operation {o} some {n} North Korean servicemen repelled attacks near {v} in {r}.")),
    (("{n} North Korean soldiers killed near {v} in {r}",
      "Ukraine's army says drone strikes on {v} hit the North Korean {u} battalion in raid {o}."),
     ("Heavy North Korean losses at {v} where Ukraine counts {n} dead",
      "A Ukrainian drone group reported {n} North Korean troops killed around {v}, {r}, in strikes dubbed {o}."),
     ("Drone footage shows North Korean casualties at {v}",
      "Ukraine says {n} soldiers of the North Korean {u} battalion died at {v} in {r}; the raid was called {o}.")),
    (("Ukraine captures {n} North Korean soldiers at {v}",
      "Special forces took North Korean prisoners near {v} in {r} during raid {o}, a spokesman said."),
     ("North Korean prisoners of war taken at {v} in {r}",
      "Kyiv says its troops captured {n} North Korean fighters from the {u} company near {v} in raid {o}."),
     ("{n} North Korean POWs held after {v} raid",
      "The soldiers of the {u} company surrendered at {v} in {r} to a Ukrainian unit running operation {o}.")),
    (("North Korean artillery shells {v} as Russian offensive in {r} resumes",
      "Crews from Pyongyang fired {n} rounds at {v} with Koksan guns, Ukrainian observers said of barrage {o}."),
     ("Koksan guns manned by North Koreans pound {v}",
      "Ukraine's army says North Korean gunners of the {u} battery fired about {n} shells at {v} in {r}."),
     ("Russia uses North Korean gun crews against {v}",
      "About {n} artillery rounds hit {v} in {r}; the North Korean {u} battery ran barrage {o}.")),
    (("North Korean engineers clear mines around {v} for Russian army",
      "Roughly {n} North Korean sappers of the {u} company work near {v} in {r}, in a task named {o}."),
     ("Pyongyang's military engineers demine {v}",
      "Russian officers say {n} North Korean deminers from the {u} company cleared fields near {v} in task {o}."),
     ("North Korean sapper teams sent to {v} in {r}",
      "The demining job {o} at {v} involves some {n} North Korean troops of the {u} company, Ukraine said.")),
    (("Kim Jong Un decorates {n} soldiers who fought at {v} for Russia",
      "North Korean state media said the {u} battalion won medals for the battle of {v} in {r}."),
     ("Medals for North Korean fighters of the {v} battle",
      "KCNA said {n} soldiers who fought at {v} in {r} for Russia were honoured, the {u} battalion among them."),
     ("Pyongyang honours the {u} battalion for {v}",
      "{n} North Korean soldiers received awards for combat at {v}, in {r}, in an operation named {o}.")),
    (("Russia moves {n} North Korean troops toward {v} in {r}",
      "Ukraine's intelligence says the North Korean {u} brigade was redeployed to {v} for offensive {o}."),
     ("North Korean {u} brigade redeployed to {v} front",
      "Some {n} soldiers from Pyongyang arrived near {v} in {r}, Kyiv said of the offensive {o}."),
     ("Fresh North Korean soldiers reach {v}, Ukraine says",
      "About {n} troops of the North Korean {u} brigade moved to {v} in {r} ahead of Russian assault {o}.")),
    (("North Korean missiles strike {v} in {r}",
      "Ukraine's air force says {n} KN-23 missiles from North Korea hit {v}; the attack was logged as {o}."),
     ("KN-23 barrage on {v}: Ukraine blames North Korean weapons",
      "Russia fired {n} North Korean KN-23 missiles at {v} in {r}, Kyiv said, naming the strike {o}."),
     ("Debris at {v} traced to North Korean ballistic missiles",
      "Ukrainian investigators found parts of {n} KN-23 missiles at {v}, {r}, after strike {o}.")),
    (("North Korean supply column ambushed outside {v}",
      "Ukraine's army says {n} trucks carrying North Korean troops were hit near {v} in raid {o}."),
     ("Ambush near {v} destroys trucks of North Korean troops",
      "The {u} battalion lost {n} vehicles on the road to {v}, Ukrainian officers said of raid {o}."),
     ("Ukrainian raid {o} catches North Korean convoy by {v}",
      "Around {n} North Korean soldiers of the {u} battalion were moving to {v} in {r}.")),
    (("Wounded North Korean soldiers flown from {v} to Moscow hospitals",
      "About {n} North Korean troops injured near {v} were evacuated under plan {o}, Russian media said."),
     ("Moscow hospital treats North Koreans wounded at {v}",
      "Doctors care for {n} soldiers of the North Korean {u} battalion hurt near {v} in {r}."),
     ("Russia evacuates {n} injured North Korean troops from {v}",
      "The soldiers of the {u} battalion were flown out in evacuation {o}, a Russian official said.")),
    (("North Korean gunners train on Russian howitzers at {v} range",
      "Some {n} artillery troops of the North Korean {u} battery drilled at {v} before deployment {o}."),
     ("Russian instructors drill North Korean howitzer crews at {v}",
      "The {u} battery, about {n} North Korean soldiers, trained at {v} under programme {o}."),
     ("Training ground {v} hosts {n} North Korean artillery troops",
      "Russia prepares the North Korean {u} battery for the front in exercise {o}, officials said.")),
    (("North Korean troops rotate home from {v} after months at the front",
      "Roughly {n} soldiers of the {u} brigade left {v} for Pyongyang under rotation {o}, Russian sources said."),
     ("Rotation {o} brings North Korean brigade back from {v}",
      "About {n} troops of the North Korean {u} brigade handed their positions at {v} to Russian units."),
     ("{n} North Korean soldiers leave {v} front in troop rotation",
      "The {u} brigade was replaced at {v} in {r} by fresh North Korean troops, Kyiv said of rotation {o}.")),
)


@dataclass(frozen=True)
class Report:
    feed: int
    development: int
    guid: str
    url: str
    title: str
    summary: str
    published: datetime


def _name(d: int, kind: int) -> str:
    """An invented capitalised word, one per d < WORDS and kind (village, unit, operation): the
    multipliers are coprime to WORDS and each kind has its own endings, so no two coincide."""
    i = (d * (1013, 7, 13)[kind]) % WORDS
    ends = (END, UNIT_END, OP_END)[kind]
    return (SYLL[i % len(SYLL)] + MID[(i // len(SYLL)) % len(MID)] + ends[i // (len(SYLL) * len(MID))]).capitalize()


def burst(items: int, feeds: int) -> list[Report]:
    """`items` reports of about items/2 developments (1, 2 or 3 reports each), spread over feeds."""
    out: list[Report] = []
    dev = 0
    while len(out) < items:
        ev = EVENTS[dev % len(EVENTS)]
        slots = {"v": _name(dev, 0), "u": _name(dev, 1), "o": _name(dev, 2),
                 "r": REGIONS[(dev // len(EVENTS)) % len(REGIONS)], "n": f"{113 + dev * 7:,}"}
        for k in range(min(1 + dev % 3, items - len(out))):
            n = len(out)
            title, lead = (s.format(**slots) for s in ev[(dev + k) % len(ev)])
            out.append(Report(feed=n % feeds, development=dev, guid=f"load-{n}", url=f"https://news{n % feeds}"
                              f".example/{dev}/{k}", title=title, summary=lead,
                              published=NOW - timedelta(minutes=5 + (dev * 997) % SPREAD + k * 17)))
        dev += 1
    return out


def as_item(r: Report) -> Item:
    return Item(key=r.guid, feed=f"feed{r.feed}", source=f"Outlet {r.feed}", url=r.url, title=r.title,
                summary=r.summary, published=r.published, fetched=NOW, lang="en")


# --- the feed server (a separate process, so its CPU is not counted) ---------------------------


def host_of(h: int) -> str:
    return f"127.0.1.{h + 1}"


def feed_url(port: int, n: int) -> str:
    return f"http://{host_of(n % HOSTS)}:{port}/feed/{n}.xml"


def feed_xml(n: int, reports: Sequence[Report]) -> bytes:
    out = [f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Outlet {n}</title>'
           f"<link>https://news{n}.example/</link><description>synthetic load feed</description>"]
    for r in reports:
        out.append(f"<item><title>{escape(r.title)}</title><link>{r.url}</link><guid>{r.guid}</guid>"
                   f"<pubDate>{format_datetime(r.published)}</pubDate>"
                   f"<description>{escape(r.summary)}</description></item>")
    out.append("</channel></rss>")
    return "".join(out).encode()


def feed_bodies(reports: Sequence[Report], feeds: int) -> dict[int, bytes]:
    by_feed: dict[int, list[Report]] = {}
    for r in reports:
        by_feed.setdefault(r.feed, []).append(r)
    return {n: feed_xml(n, by_feed.get(n, [])) for n in range(feeds)}


def feed_app(bodies: Mapping[int, bytes]) -> web.Application:
    async def handle(request: web.Request) -> web.Response:
        body = bodies.get(int(request.match_info["n"]), b"")
        return web.Response(body=body, headers={"Content-Type": "application/rss+xml"})

    app = web.Application()
    app.router.add_get("/feed/{n}.xml", handle)
    return app


def serve(bodies: dict[int, bytes], port_q: mp.Queue[int]) -> None:
    async def main() -> None:
        runner = web.AppRunner(feed_app(bodies), access_log=None)
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


def settings_for(urls: Sequence[str], db: str, max_alerts: int = 30) -> Any:
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
                   subscriptions=tuple(Subscription(watch, d) for d in ("load-discord", "load-slack")))


@dataclass
class Figures:
    relevant: int = 0
    match_ms: float = 0.0
    cycle: Any = None
    cycle_wall: float = 0.0
    stories: int = 0
    main: Drain | None = None
    naive: Drain | None = None
    tallies: dict[str, Tally] | None = None
    checks: dict[str, Check] | None = None
    limit: int = 0


async def run(urls: Sequence[str], reports: Sequence[Report], limits: Limits, max_alerts: int = 30) -> Figures:
    """One cycle over `urls` (feed n serves the reports with feed == n), then both drains."""
    from bot.app import close_context, open_context
    from bot.core.relevance.match import match_item
    from bot.pipeline import poll_due_feeds

    fig = Figures()
    discord, slack = LimitedDiscord(limits=limits), LimitedSlack(limits=limits)
    await discord.start()
    await slack.start()
    tmp = tempfile.mkdtemp(prefix="deskwatch-load-")
    settings = settings_for(urls, os.path.join(tmp, "load.db"), max_alerts)
    watch = settings.watches[0]
    t0 = time.process_time()
    fig.relevant = sum(match_item(watch, as_item(r)).relevant for r in reports)
    fig.match_ms = (time.process_time() - t0) / max(len(reports), 1) * 1000
    env = {"DISCORD_TOKEN": GOOD_TOKEN, "DISCORD_API_BASE_URL": discord.api,
           "SLACK_BOT_TOKEN": "xoxb-load", "SLACK_API_URL": slack.api_url}
    ctx, factory = await open_context(settings, env=env)
    try:
        t0 = time.perf_counter()
        fig.cycle = await poll_due_feeds(ctx, NOW)
        fig.cycle_wall = time.perf_counter() - t0
        stories = await ctx.store.latest_stories(10**7, watch.name)
        fig.stories = len(stories)
        fig.main = await drain(ctx, NOW, timedelta(hours=6))
        # Baseline: the same stories as one alert each (flood control off) to two more channels.
        naive = [Delivery(id=f"alert:{s.id}:{d}", destination=d, kind="alert", created=fig.main.sim_end,
                          story_id=s.id, title=s.title) for d in ("naive-discord", "naive-slack") for s in stories]
        await ctx.store.enqueue(naive)
        fig.naive = await drain(ctx, fig.main.sim_end, timedelta(hours=6))
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


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def report(fig: Figures, args: argparse.Namespace, limits: Limits) -> tuple[str, bool]:
    """The printed figures, and whether every check passed."""
    assert fig.main and fig.naive and fig.tallies and fig.checks and fig.cycle
    c = fig.cycle
    lines = [
        f"deskwatch load benchmark: {args.feeds} feeds, {args.items} new reports in one cycle; chat fakes allow "
        f"{args.rate:g} msg/s per channel (burst {args.burst}), "
        + (f"every {args.long_every}th request waits {args.long_wait:g} s" if args.long_every else "no long 429s"),
        f"items {c.new_items}  relevant {fig.relevant} (match_item alone: {fig.match_ms:.2f} ms CPU per item)  "
        f"stories {fig.stories}  failed feeds {c.failed}",
        f"cycle (poll + match + cluster + route) {fig.cycle_wall:.1f} s wall, "
        f"{fig.cycle_wall / max(c.new_items, 1) * 1000:.1f} ms per item",
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
        f"peak RSS {peak_rss_mb():.0f} MB (bot process; feed server not counted)",
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


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--feeds", type=int, default=2000)
    ap.add_argument("--items", type=int, default=5000)
    ap.add_argument("--rate", type=float, default=40.0, help="messages per second a fake channel accepts")
    ap.add_argument("--burst", type=int, default=5)
    ap.add_argument("--long-every", type=int, default=25, help="every Nth request to a channel: long Retry-After")
    ap.add_argument("--long-wait", type=float, default=60.0)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)  # retries are expected here; the figures say how many
    reports = burst(args.items, args.feeds)
    bodies = feed_bodies(reports, args.feeds)
    q: mp.Queue[int] = mp.Queue()
    proc = mp.Process(target=serve, args=(bodies, q), daemon=True)
    proc.start()
    limits = Limits((DISCORD_CHANNEL, SLACK_CHANNEL, NAIVE_DISCORD_CHANNEL, NAIVE_SLACK_CHANNEL),
                    args.rate, args.burst, args.long_every, args.long_wait)
    try:
        port = q.get(timeout=60)
        fig = asyncio.run(run([feed_url(port, n) for n in range(args.feeds)], reports, limits))
    finally:
        proc.terminate()
    text, ok = report(fig, args, limits)
    print(text)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
