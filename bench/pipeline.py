"""Polling benchmark: deskwatch's poll cycle against a sequential feedparser.parse(url) loop.

A feed server in a separate process (so its CPU is not counted) serves N synthetic feeds of M
items with a fixed added latency, ETag/304 support included. We measure, in this process:
  cold cycle   — every feed fetched, parsed, normalised, stored, matched (real pipeline, SQLite);
  steady cycle — every feed due again, server answers 304: nothing parsed;
  baseline     — the same N feeds polled by `feedparser.parse(url)` one after another;
and print wall time, CPU time, entries/s, peak RSS, and the ratio baseline / cold-cycle wall.

    python bench/pipeline.py [--feeds 500] [--items 50] [--latency-ms 100] [--baseline-feeds N]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import multiprocessing as mp
import os
import resource
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

WORDS = (
    "ministry", "statement", "regional", "talks", "economy", "harbour", "weather", "festival", "council", "budget",
    "transport", "election", "energy", "market", "exports", "farmers", "railway", "bridge", "museum", "school",
    "hospital",
)


HOSTS = 50  # feeds are spread over 50 loopback addresses, as real feeds are over many hosts


def host_of(h: int) -> str:
    return f"127.0.1.{h + 1}"


def feed_url(port: int, n: int) -> str:
    return f"http://{host_of(n % HOSTS)}:{port}/feed/{n}.xml"


def feed_xml(n: int, items: int) -> bytes:
    out = [f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Feed {n}</title>'
           f"<link>https://feed{n}.example/</link><description>synthetic</description>"]
    for i in range(items):
        w = [WORDS[(n * 7 + i * 3 + k) % len(WORDS)] for k in range(8)]
        title = " ".join(w).capitalize()
        if i % 25 == 0:  # a few on the watch, so matching and clustering run too
            title = f"North Korean troops in Kursk: report {n}-{i} on soldiers fighting for Russia"
        day = 1 + (i % 28)
        out.append(f"<item><title>{title}</title><link>https://feed{n}.example/a/{i}?utm_source=rss</link>"
                   f"<guid>feed{n}-item{i}</guid><pubDate>Mon, {day:02d} Jun 2026 10:00:00 +0000</pubDate>"
                   f"<description>&lt;p&gt;{' '.join(w * 4)}&lt;/p&gt;</description></item>")
    out.append("</channel></rss>")
    return "".join(out).encode()


def serve(feeds: int, items: int, latency: float, port_q: mp.Queue) -> None:  # type: ignore[type-arg]
    from aiohttp import web

    bodies = {n: feed_xml(n, items) for n in range(feeds)}
    etags = {n: '"' + hashlib.sha256(b).hexdigest()[:16] + '"' for n, b in bodies.items()}

    async def handle(request: web.Request) -> web.Response:
        n = int(request.match_info["n"])
        await asyncio.sleep(latency)
        if request.headers.get("If-None-Match") == etags[n]:
            return web.Response(status=304, headers={"ETag": etags[n]})
        return web.Response(body=bodies[n], headers={"ETag": etags[n], "Content-Type": "application/rss+xml"})

    async def main() -> None:
        app = web.Application()
        app.router.add_get("/feed/{n}.xml", handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        first = web.TCPSite(runner, host_of(0), 0, backlog=1024)
        await first.start()
        port = first._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        for h in range(1, HOSTS):  # the same port on more loopback addresses: many "hosts"
            await web.TCPSite(runner, host_of(h), port, backlog=1024).start()
        port_q.put(port)
        await asyncio.Event().wait()

    asyncio.run(main())


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def deskwatch_cycles(port: int, feeds: int) -> tuple[dict[str, float], dict[str, float]]:
    from bot.app import close_context, open_context
    from bot.config import load_settings
    from bot.pipeline import poll_due_feeds
    from bot.settings import FeedSettings, StorageSettings

    settings = load_settings(str(Path(__file__).resolve().parents[1] / "config" / "deskwatch.toml"))
    tmp = tempfile.mkdtemp(prefix="deskwatch-bench-")
    settings = replace(
        settings,
        feeds=tuple(FeedSettings(name=f"feed{n}", url=feed_url(port, n), language="en") for n in range(feeds)),
        destinations=(), subscriptions=(), storage=StorageSettings(path=os.path.join(tmp, "bench.db")),
        polling=replace(settings.polling, max_bytes=20_000_000))
    ctx, factory = await open_context(settings, env={})
    now = datetime(2026, 6, 30, tzinfo=UTC)
    try:
        figures = []
        for _ in range(2):
            for st in await ctx.store.feed_states():
                await ctx.store.save_feed_state(replace(st, next_poll=None))
            w0, c0 = time.perf_counter(), time.process_time()
            report = await poll_due_feeds(ctx, now)
            figures.append({"wall": time.perf_counter() - w0, "cpu": time.process_time() - c0,
                            "entries": float(report.entries), "failed": float(report.failed),
                            "rss": peak_rss_mb()})
            now += timedelta(hours=1)
    finally:
        await close_context(ctx, factory)
    return figures[0], figures[1]


def baseline(port: int, feeds: int) -> dict[str, float]:
    import feedparser

    w0, c0 = time.perf_counter(), time.process_time()
    entries = 0
    for n in range(feeds):
        entries += len(feedparser.parse(feed_url(port, n)).entries)
    return {"wall": time.perf_counter() - w0, "cpu": time.process_time() - c0, "entries": float(entries)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--feeds", type=int, default=500)
    ap.add_argument("--items", type=int, default=50)
    ap.add_argument("--latency-ms", type=float, default=100)
    ap.add_argument("--baseline-feeds", type=int, default=0,
                    help="poll only this many feeds in the sequential baseline and scale its time up "
                         "(0 = all; the scaled figure is marked)")
    args = ap.parse_args()
    q: mp.Queue = mp.Queue()  # type: ignore[type-arg]
    proc = mp.Process(target=serve, args=(args.feeds, args.items, args.latency_ms / 1000, q), daemon=True)
    proc.start()
    port = q.get(timeout=60)
    try:
        cold, steady = asyncio.run(deskwatch_cycles(port, args.feeds))
        nb = args.baseline_feeds or args.feeds
        seq = baseline(port, nb)
        scale = args.feeds / nb
    finally:
        proc.terminate()
    print(f"deskwatch poll benchmark: {args.feeds} feeds x {args.items} items, "
          f"{args.latency_ms:.0f} ms added latency per response, server in a separate process "
          f"on {HOSTS} loopback addresses")
    print(f"{'':<26}{'wall s':>9}{'CPU s':>9}{'entries':>10}{'entries/s':>11}{'peak RSS MB':>13}")
    for name, f in (("deskwatch cold cycle", cold), ("deskwatch steady (304)", steady)):
        print(f"{name:<26}{f['wall']:>9.2f}{f['cpu']:>9.2f}{f['entries']:>10.0f}"
              f"{f['entries'] / f['wall'] if f['entries'] else 0:>11.0f}{f['rss']:>13.0f}")
    seq_wall = seq["wall"] * scale
    mark = f" (measured on {nb} feeds, scaled x{scale:.1f})" if scale != 1 else ""
    print(f"{'feedparser.parse loop':<26}{seq_wall:>9.2f}{seq['cpu'] * scale:>9.2f}"
          f"{seq['entries'] * scale:>10.0f}{seq['entries'] / seq['wall']:>11.0f}{'':>13}{mark}")
    print(f"speed-up, cold cycle vs sequential loop: {seq_wall / cold['wall']:.1f}x")
    print(f"speed-up, steady cycle vs sequential loop: {seq_wall / steady['wall']:.1f}x")
    if cold["failed"] or steady["failed"]:
        print(f"WARNING: {cold['failed']:.0f} / {steady['failed']:.0f} feeds failed in the cold / steady cycle")


if __name__ == "__main__":
    main()
