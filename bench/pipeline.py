"""Polling benchmark: deskwatch's poll cycle against a sequential feedparser.parse(url) loop, in one run.

A feed server in a separate process (so its CPU is not counted as the bot's) serves N feeds of M unique items
(bench/newsgen.py: plain news, ~2% reports of the watch's kind from developments told by 1–15
outlets, all published in the two days before the run's clock) with a fixed added latency and
ETag/304. `--realistic` makes each item ~4.3 KB with content:encoded HTML, in English, Russian and
Korean feeds. Measured in this process, per round:
  cold cycle   — every feed fetched, parsed, normalised, stored, matched, merged into stories (the
                 real poll_due_feeds with SQLite and the shipped watch, no embedder);
  steady cycle — every feed due again, the server answers 304: nothing parsed;
  changed cycle — every feed due again with `--changed` new items (2 by default) in place of its
                 oldest: a live poll of a feed that changed, mostly known entries;
  baseline     — the same feeds polled by `feedparser.parse(url)` one after another;
printing wall and CPU time (this process, and the parse worker process beside it), items, new
items, relevant, new stories and merges, peak RSS, and the ratio of the baseline's wall time to
each cycle's, and how busy the cores were during the cold cycle (the feed server's CPU shown apart:
it shares the cores, as a real desk's network would not). `--markdown` prints the README rows.

    python bench/pipeline.py [--feeds 500] [--items 50] [--latency-ms 100] [--realistic] [--changed 2] [--rounds 1]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import multiprocessing as mp
import os
import resource
import statistics
import sys
import tempfile
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

HOSTS = 50  # feeds are spread over 50 loopback addresses, as real feeds are over many hosts


def host_of(h: int) -> str:
    return "127.0.0.1" if h == 0 else f"127.0.1.{h}"


def feed_url(port: int, n: int, hosts: int = HOSTS) -> str:
    return f"http://{host_of(n % hosts)}:{port}/feed/{n}.xml"


@dataclass(frozen=True)
class Served:
    """What the server made: the bench prints it beside the figures."""

    port: int
    items: int
    relevant: int
    developments: int
    bytes_per_item: int
    langs: dict[str, int]


def serve(feeds: int, items: int, latency: float, realistic: bool, now: datetime, hosts: int,
          out: mp.Queue[Served], changed: int = 0) -> None:
    """The feed server: the feeds are made here, so their memory and CPU are not the bot's.
    GET /next switches every feed to its changed body (`changed` new items in place of the oldest)."""
    from collections import Counter

    from aiohttp import web

    from bench.newsgen import feed_xml, make_corpus
    from bot.core.identity import title_hash

    corpus = make_corpus(feeds, items, now, realistic=realistic)
    bodies = {n: feed_xml(n, arts, corpus.langs[n], realistic) for n, arts in corpus.feeds.items()}
    if changed:  # another corpus's items, renamed so that no GUID, link or headline repeats the first's
        extra = make_corpus(feeds, changed * 4, now, realistic=realistic, seed=13)
        seen = {title_hash(a.title) for arts in corpus.feeds.values() for a in arts}
        nexts = {}
        for n, arts in corpus.feeds.items():
            fresh = [a for a in extra.feeds[n] if title_hash(a.title) not in seen][:changed]
            seen.update(title_hash(a.title) for a in fresh)
            nexts[n] = sorted([*(replace(a, guid=f"next-{a.guid}", url=a.url.replace(".html", "-next.html"))
                                 for a in fresh), *arts[:items - changed]], key=lambda a: a.published, reverse=True)
        later = {n: feed_xml(n, arts, corpus.langs[n], realistic) for n, arts in nexts.items()}
    etags = {n: '"' + hashlib.sha256(b).hexdigest()[:16] + '"' for n, b in bodies.items()}
    total = sum(len(arts) for arts in corpus.feeds.values())
    item_bytes = sum(len(b) for b in bodies.values()) // max(total, 1)
    langs = dict(Counter(corpus.langs.values()))

    async def handle(request: web.Request) -> web.Response:
        n = int(request.match_info["n"])
        await asyncio.sleep(latency)
        if request.headers.get("If-None-Match") == etags[n]:
            return web.Response(status=304, headers={"ETag": etags[n]})
        return web.Response(body=bodies[n], headers={"ETag": etags[n], "Content-Type": "application/rss+xml"})

    first_bodies, first_etags = dict(bodies), dict(etags)

    async def advance(request: web.Request) -> web.Response:
        if changed:
            bodies.update(later)
            etags.update({n: '"' + hashlib.sha256(b).hexdigest()[:16] + '"' for n, b in later.items()})
        return web.Response(text="ok")

    async def reset(request: web.Request) -> web.Response:  # each round starts from the first bodies
        bodies.update(first_bodies)
        etags.update(first_etags)
        return web.Response(text="ok")

    async def main() -> None:
        app = web.Application()
        app.router.add_get("/feed/{n}.xml", handle)
        app.router.add_get("/next", advance)
        app.router.add_get("/reset", reset)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        first = web.TCPSite(runner, host_of(0), 0, backlog=1024)
        await first.start()
        port = first._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        for h in range(1, hosts):  # the same port on more loopback addresses: many "hosts"
            await web.TCPSite(runner, host_of(h), port, backlog=1024).start()
        out.put(Served(port, total, corpus.relevant, len(corpus.developments), item_bytes, langs))
        await asyncio.Event().wait()

    asyncio.run(main())


# --- measuring ---------------------------------------------------------------------------------

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def children(exclude: int) -> list[int]:
    """This process's child processes (the parse worker), the feed server excluded."""
    me, out = str(os.getpid()), []
    for pid in os.listdir("/proc"):
        if pid.isdigit() and int(pid) != exclude:
            try:
                stat = Path(f"/proc/{pid}/stat").read_text()
            except OSError:
                continue
            if stat.rsplit(")", 1)[1].split()[1] == me:
                out.append(int(pid))
    return out


def proc_cpu(pid: int) -> float:
    """CPU seconds one process has used so far (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime


def child_cpu(exclude: int) -> float:
    """CPU seconds used so far by the live children (a worker that was replaced is not counted)."""
    return sum(proc_cpu(pid) for pid in children(exclude))


def child_peak_mb(exclude: int) -> float:
    peak = 0.0
    for pid in children(exclude):
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]) / 1024)
        except OSError:
            continue
    return peak


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@dataclass
class Cycle:
    wall: float = 0.0
    cpu: float = 0.0
    worker_cpu: float = 0.0
    entries: int = 0
    new_items: int = 0
    relevant: int = 0
    new_stories: int = 0
    merged: int = 0
    failed: int = 0
    rss: float = 0.0
    worker_rss: float = 0.0
    server_cpu: float = 0.0  # the bench's own feed server, on the same cores
    index_s: float = 0.0  # the search index brought up to date after the cycle (wall)


@dataclass
class Round:
    cold: Cycle = field(default_factory=Cycle)
    steady: Cycle = field(default_factory=Cycle)
    changed: Cycle = field(default_factory=Cycle)  # every feed with --changed new items
    base: Cycle = field(default_factory=Cycle)  # the sequential loop (entries only)


async def deskwatch_cycles(port: int, args: argparse.Namespace, now: datetime, server: int,
                           profile: bool = False) -> tuple[list[Cycle], str]:
    """A cold cycle on an empty database, then a steady one an hour later (every feed 304), then
    with --changed one more an hour later over the changed feeds; with `profile`, the cold
    cycle's cProfile (both threads) as text."""
    from bench.newsgen import feed_langs
    from bench.profiling import Profiles
    from bot.app import close_context, open_context
    from bot.config import load_settings
    from bot.pipeline import poll_due_feeds
    from bot.settings import FeedSettings, StorageSettings

    settings = load_settings(str(ROOT / "config" / "deskwatch.toml"))
    tmp = tempfile.mkdtemp(prefix="deskwatch-bench-")
    langs = feed_langs(args.feeds, args.realistic)
    settings = replace(
        settings,
        feeds=tuple(FeedSettings(name=f"feed{n}", url=feed_url(port, n, args.hosts), language=langs[n],
                                 source=f"Outlet {n}") for n in range(args.feeds)),
        destinations=(), subscriptions=(), storage=StorageSettings(path=os.path.join(tmp, "bench.db")),
        polling=replace(settings.polling, max_bytes=20_000_000))
    ctx, factory = await open_context(settings, env={})
    out = []
    profiles = Profiles(ctx.store) if profile else None
    try:
        for cycle in range(3 if args.changed else 2):
            if cycle in (0, 2):  # a round's cold cycle reads the first bodies, its changed cycle the next
                url = f"http://127.0.0.1:{port}/{'reset' if cycle == 0 else 'next'}"
                await asyncio.to_thread(lambda u=url: urllib.request.urlopen(u).read())
            for st in await ctx.store.feed_states():
                await ctx.store.save_feed_state(replace(st, next_poll=None))
            if profiles and cycle == 0:
                await profiles.start()
            w0, c0, k0, s0 = time.perf_counter(), time.process_time(), child_cpu(server), proc_cpu(server)
            r = await poll_due_feeds(ctx, now)
            if profiles and cycle == 0:
                await profiles.stop()
            out.append(Cycle(time.perf_counter() - w0, time.process_time() - c0, child_cpu(server) - k0,
                             r.entries, r.new_items, r.relevant, r.new_stories, r.merged, r.failed,
                             peak_rss_mb(), child_peak_mb(server), proc_cpu(server) - s0))
            w1 = time.perf_counter()  # as the scheduler does after a cycle's alerts: not part of the cycle
            await ctx.store.index_for_search()
            out[-1].index_s = time.perf_counter() - w1
            now += timedelta(hours=1)
    finally:
        await close_context(ctx, factory)
    return out, profiles.report() if profiles else ""


def baseline(port: int, feeds: int, hosts: int) -> Cycle:
    import feedparser

    w0, c0 = time.perf_counter(), time.process_time()
    entries = 0
    for n in range(feeds):
        entries += len(feedparser.parse(feed_url(port, n, hosts)).entries)
    return Cycle(wall=time.perf_counter() - w0, cpu=time.process_time() - c0, entries=entries)


def run_round(port: int, args: argparse.Namespace, now: datetime, server: int, profile: bool = False) -> Round:
    cycles, prof = asyncio.run(deskwatch_cycles(port, args, now, server, profile))
    if prof:
        print(prof, flush=True)
    nb = args.baseline_feeds or args.feeds
    base = baseline(port, nb, args.hosts)
    scale = args.feeds / nb
    base = replace(base, wall=base.wall * scale, cpu=base.cpu * scale, entries=round(base.entries * scale))
    return Round(*cycles[:2], cycles[2] if len(cycles) > 2 else Cycle(), base)


# --- the report ----------------------------------------------------------------------------------


def med(rounds: Sequence[Round], run: str, name: str) -> float:
    return float(statistics.median(asdict(r)[run][name] for r in rounds))


def spread(rounds: Sequence[Round], run: str, name: str) -> str:
    xs = [asdict(r)[run][name] for r in rounds]
    return f" ({min(xs):.2f}–{max(xs):.2f})" if len(xs) > 1 else ""


def ratio(rounds: Sequence[Round], run: str) -> float:
    """Median over rounds of baseline wall / this run's wall, each pair from the same round."""
    return float(statistics.median(r.base.wall / max(getattr(r, run).wall, 1e-9) for r in rounds))


def describe(args: argparse.Namespace, served: Served) -> str:
    kind = "realistic feeds" if args.realistic else "bench feeds"
    langs = ", ".join(f"{n} {lang}" for lang, n in sorted(served.langs.items(), key=lambda kv: -kv[1]))
    return (f"deskwatch poll benchmark, {kind}: {args.feeds} feeds x {args.items} items ({served.items:,} unique "
            f"items, ~{served.bytes_per_item:,} B each; {served.relevant} reports of {served.developments} "
            f"developments of the watch's kind; feeds: {langs}), {args.latency_ms:g} ms added latency per "
            f"response, server in a separate process on {args.hosts} loopback addresses")


def text_report(rounds: Sequence[Round], args: argparse.Namespace, served: Served) -> str:
    n = len(rounds)
    lines = [describe(args, served),
             f"{n} round(s); medians" + (" (min–max)" if n > 1 else "") + "; CPU = bot process + parse worker",
             f"{'run':<24}{'wall s':>18}{'CPU s':>14}{'entries':>9}{'new':>7}{'relevant':>9}{'stories':>8}"
             f"{'merged':>7}{'entries/s':>10}{'peak RSS MB':>18}"]
    for name, run in (("deskwatch cold cycle", "cold"), ("deskwatch steady (304)", "steady"),
                      *((f"deskwatch changed (+{args.changed})", "changed"),) * bool(args.changed)):
        wall = med(rounds, run, "wall")
        cpu = f"{med(rounds, run, 'cpu'):.2f}+{med(rounds, run, 'worker_cpu'):.2f}"
        ent = med(rounds, run, "entries")
        lines.append(f"{name:<24}{wall:>8.2f}{spread(rounds, run, 'wall'):<10}{cpu:>14}{ent:>9.0f}"
                     f"{med(rounds, run, 'new_items'):>7.0f}{med(rounds, run, 'relevant'):>9.0f}"
                     f"{med(rounds, run, 'new_stories'):>8.0f}{med(rounds, run, 'merged'):>7.0f}"
                     f"{ent / wall if ent else 0:>10.0f}"
                     f"{max(r.cold.rss for r in rounds):>9.0f} + {max(r.cold.worker_rss for r in rounds):.0f}")
    nb = args.baseline_feeds or args.feeds
    mark = f"  (measured on {nb} feeds, scaled x{args.feeds / nb:.1f})" if nb != args.feeds else ""
    wall, ent = med(rounds, "base", "wall"), med(rounds, "base", "entries")
    lines.append(f"{'feedparser.parse loop':<24}{wall:>8.2f}{spread(rounds, 'base', 'wall'):<10}"
                 f"{med(rounds, 'base', 'cpu'):>14.2f}{ent:>9.0f}{'':>38}{ent / wall:>10.0f}{mark}")
    lines.append(f"speed-up vs the sequential loop (same round): cold cycle {ratio(rounds, 'cold'):.1f}x, "
                 f"steady cycle {ratio(rounds, 'steady'):.1f}x"
                 + (f", changed cycle {ratio(rounds, 'changed'):.1f}x" if args.changed else ""))
    # How busy the machine's cores were: a cycle near 100% is CPU-bound, and the bench's own feed
    # server (which a real desk's network does not cost it) takes its share of the same cores.
    cores = os.cpu_count() or 1
    busy = med(rounds, "cold", "cpu") + med(rounds, "cold", "worker_cpu") + med(rounds, "cold", "server_cpu")
    lines.append(f"cold cycle CPU: bot + parse worker + the bench's feed server {med(rounds, 'cold', 'cpu'):.1f} + "
                 f"{med(rounds, 'cold', 'worker_cpu'):.1f} + {med(rounds, 'cold', 'server_cpu'):.1f} s = "
                 f"{busy:.1f} s of the {cores} cores' {cores * med(rounds, 'cold', 'wall'):.1f} s "
                 f"({busy / max(cores * med(rounds, 'cold', 'wall'), 1e-9):.0%} busy); then the search index "
                 f"brought up to date in {med(rounds, 'cold', 'index_s'):.2f} s")
    failed = [(r.cold.failed, r.steady.failed) for r in rounds if r.cold.failed or r.steady.failed]
    if failed:
        lines.append(f"WARNING: feeds failed (cold, steady) per round: {failed}")
    if any(r.cold.new_items != served.items for r in rounds):
        lines.append(f"WARNING: the cold cycle stored {[r.cold.new_items for r in rounds]} of {served.items} items")
    return "\n".join(lines)


def markdown(rounds: Sequence[Round], args: argparse.Namespace, served: Served) -> str:
    """README rows: | feeds | run | wall | CPU | new / relevant / new stories / merged | peak RSS | vs loop |"""
    kind = (f"realistic (~{served.bytes_per_item / 1000:.1f} KB, en/ru/ko)" if args.realistic
            else f"bench (~{served.bytes_per_item} B)")
    size = f"{kind}, {args.feeds} × {args.items}"
    n = len(rounds)
    note = f"median of {n}" if n > 1 else "1 run"
    rows = []
    for name, run in (("cold cycle", "cold"), ("steady cycle (304)", "steady"),
                      *((f"changed cycle (+{args.changed} items a feed)", "changed"),) * bool(args.changed)):
        counts = " / ".join(f"{med(rounds, run, k):,.0f}" for k in ("new_items", "relevant", "new_stories", "merged"))
        rss = f"{max(r.cold.rss for r in rounds):.0f} + {max(r.cold.worker_rss for r in rounds):.0f} MB"
        rows.append(f"| {size} | {name} | {med(rounds, run, 'wall'):.2f} s{spread(rounds, run, 'wall')} ({note}) | "
                    f"{med(rounds, run, 'cpu'):.1f} + {med(rounds, run, 'worker_cpu'):.1f} s | {counts} | {rss} | "
                    f"**{ratio(rounds, run):.1f}×** |")
    nb = args.baseline_feeds or args.feeds
    scaled = f", {nb} feeds scaled ×{args.feeds / nb:.1f}" if nb != args.feeds else ""
    base = f"{med(rounds, 'base', 'wall'):.2f} s{spread(rounds, 'base', 'wall')}{scaled}"
    rows.append(f"| {size} | `feedparser.parse` loop | {base} | {med(rounds, 'base', 'cpu'):.1f} s | "
                f"{med(rounds, 'base', 'entries'):,.0f} entries | — | 1× |")
    return "\n".join(rows)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--feeds", type=int, default=500)
    ap.add_argument("--items", type=int, default=50)
    ap.add_argument("--latency-ms", type=float, default=100)
    ap.add_argument("--realistic", action="store_true", help="~4.3 KB items with content:encoded, en/ru/ko feeds")
    ap.add_argument("--rounds", type=int, default=1, help="rounds of (cold, steady, baseline); medians are printed")
    ap.add_argument("--baseline-feeds", type=int, default=0,
                    help="poll only this many feeds in the sequential baseline and scale its time up "
                         "(0 = all; the scaled figure is marked)")
    ap.add_argument("--changed", type=int, default=2,
                    help="then poll every feed again with this many new items in place of its oldest (0: skip)")
    ap.add_argument("--hosts", type=int, default=HOSTS, help="loopback addresses the feeds are spread over")
    ap.add_argument("--markdown", action="store_true", help="also print the README table rows")
    ap.add_argument("--profile", action="store_true",
                    help="cProfile the first cold cycle (event loop and SQLite threads; slows it down)")
    args = ap.parse_args(argv)
    now = datetime.now(UTC).replace(microsecond=0)  # items are dated in the two days before this
    q: mp.Queue[Served] = mp.Queue()
    proc = mp.Process(target=serve, daemon=True,
                      args=(args.feeds, args.items, args.latency_ms / 1000, args.realistic, now, args.hosts, q,
                            args.changed))
    proc.start()
    try:
        served: Served = q.get(timeout=600)
        rounds = [run_round(served.port, args, now, proc.pid or 0, args.profile and i == 0)
                  for i in range(args.rounds)]
    finally:
        proc.terminate()
    print(text_report(rounds, args, served))
    if args.markdown:
        print(markdown(rounds, args, served))
    return 0


if __name__ == "__main__":
    sys.exit(main())
