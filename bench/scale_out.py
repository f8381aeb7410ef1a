"""Scale-out benchmark (issue 13 point 5): 1, 2 and 3 workers polling one PostgreSQL database.

A feed server in a separate process (bench/pipeline.py's: N feeds of M unique items, ~2% reports
of the watch's kind, fixed added latency, ETag/304) and a throwaway PostgreSQL 16
(tests/postgres_server.py). For each worker count k, on a fresh schema: k processes each open
the real context (PostgresStore, fetcher, parse worker, one file destination subscribed to the
watch) and, released together, run one cold cycle (every feed new: fetch, parse, store, match,
merge, route into the outbox) and then one steady cycle an hour later (every feed answers 304).
The workers split each cycle through the feed leases (bot/cluster.py): every feed is polled by
exactly one of them, which the bench checks.

Printed per k and cycle: wall time (first start to last finish), new items, items per second,
database round trips per item (cold) or per feed (steady), counted in each worker by wrapping
asyncpg's Connection methods (every call is one round trip, BEGIN, COMMIT and the pool's reset
included), commits from pg_stat_database, and the speed-up against one worker in the same run.
Nothing here measures delivery: the outbox has its own benchmark (bench/load.py).

After the runs: the bytes each stored row takes with its indexes (table sizes over row counts in
the one-worker schema), the figure the README's 100k-feed estimate is built on.

    python bench/scale_out.py [--feeds 2000] [--items 10] [--latency-ms 100] [--workers 1,2,3]
                              [--server-url postgresql://…  (default: a throwaway server of its own)]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.pipeline import HOSTS, Served, feed_url, serve  # noqa: E402

NOW = datetime(2026, 6, 30, 10, 0, tzinfo=UTC)
_CALLS = ("execute", "executemany", "fetch", "fetchval", "fetchrow", "fetchmany", "copy_records_to_table")


@dataclass(frozen=True)
class WorkerCycle:
    """One worker's share of one cycle."""

    start: float  # time.time(): the workers are separate processes on one clock
    end: float
    feeds: tuple[str, ...]  # the feeds it polled
    entries: int
    new_items: int
    relevant: int
    new_stories: int
    merged: int
    failed: int
    round_trips: int


def count_round_trips() -> Callable[[], int]:
    """Wrap asyncpg's Connection methods in this process; return a reader of the running total.
    None of them calls another wrapped one, so a call is counted once."""
    from asyncpg.connection import Connection

    total = [0]

    def wrap(original: Any) -> Any:
        async def counted(self: Any, *args: Any, **kwargs: Any) -> Any:
            total[0] += 1
            return await original(self, *args, **kwargs)
        return counted

    for name in _CALLS:
        setattr(Connection, name, wrap(getattr(Connection, name)))
    return lambda: total[0]


def settings_for(url: str, port: int, feeds: int, hosts: int, out: str) -> Any:
    from bot.config import load_settings
    from bot.model import Destination, Subscription
    from bot.settings import FeedSettings, StorageSettings

    base = load_settings(str(ROOT / "config" / "deskwatch.toml"))
    return replace(
        base,
        feeds=tuple(FeedSettings(name=f"feed{n}", url=feed_url(port, n, hosts), language="en", source=f"Outlet {n}")
                    for n in range(feeds)),
        destinations=(Destination("desk", "file", path=out),),
        subscriptions=(Subscription(base.watches[0].name, "desk"),),
        storage=StorageSettings(url=url, pool_size=10),
        polling=replace(base.polling, max_bytes=20_000_000))


def worker(url: str, port: int, args: argparse.Namespace, out: str, go: Any, results: Any) -> None:
    """One `deskwatch run`'s poll loop, two cycles: cold, then steady an hour later."""
    asyncio.run(_worker(url, port, args, out, go, results))


async def _worker(url: str, port: int, args: argparse.Namespace, out: str, go: Any, results: Any) -> None:
    from bot.app import close_context, open_context
    from bot.pipeline import poll_due_feeds

    trips = count_round_trips()
    ctx, factory = await open_context(settings_for(url, port, args.feeds, args.hosts, out), env={})
    polled: list[str] = []
    try:
        now = NOW
        for _cycle in range(2):
            await asyncio.get_running_loop().run_in_executor(None, go.wait)  # all workers start together
            polled.clear()
            t0, n0 = time.time(), trips()
            r = await poll_due_feeds(ctx, now, on_polled=lambda f: polled.append(f.name))
            results.put(WorkerCycle(t0, time.time(), tuple(polled), r.entries, r.new_items, r.relevant,
                                    r.new_stories, r.merged, r.failed, trips() - n0))
            now += timedelta(hours=1)
    finally:
        await close_context(ctx, factory)


@dataclass(frozen=True)
class Cycle:
    """All workers' shares of one cycle, with the database's view of it."""

    workers: int
    shares: tuple[WorkerCycle, ...]
    commits: int  # pg_stat_database.xact_commit delta (every process on the database)

    @property
    def wall(self) -> float:
        return max(s.end for s in self.shares) - min(s.start for s in self.shares)

    def total(self, name: str) -> int:
        return sum(int(getattr(s, name)) for s in self.shares)

    def polled_once(self, feeds: int) -> bool:
        names = [f for s in self.shares for f in s.feeds]
        return len(names) == len(set(names)) == feeds


async def commits(url: str) -> int:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        await conn.execute("SELECT pg_stat_force_next_flush()")
        return int(await conn.fetchval("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"))
    finally:
        await conn.close()


async def fresh_schema(server_url: str, name: str) -> str:
    """A new, empty schema, migrated (so the cycle does not pay for the tables)."""
    import asyncpg

    from bot.store.postgres import PostgresStore

    conn = await asyncpg.connect(server_url)
    try:
        await conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE; CREATE SCHEMA {name}")
    finally:
        await conn.close()
    url = f"{server_url}?search_path={name}"
    store = PostgresStore(url, pool_size=1)
    await store.open()
    await store.close()
    return url


def run_workers(k: int, server_url: str, port: int, args: argparse.Namespace) -> list[Cycle]:
    url = asyncio.run(fresh_schema(server_url, f"scale{k}"))
    ctx = mp.get_context("spawn")  # a clean interpreter per worker, as a real deployment has
    go, results = ctx.Barrier(k + 1), ctx.Queue()
    out = tempfile.mkdtemp(prefix="deskwatch-scale-")
    procs = [ctx.Process(target=worker, args=(url, port, args, os.path.join(out, f"desk{i}.md"), go, results))
             for i in range(k)]
    for p in procs:
        p.start()
    cycles = []
    try:
        for _ in range(2):
            before = asyncio.run(commits(url))
            go.wait(timeout=600)
            shares = tuple(results.get(timeout=3600) for _ in range(k))
            cycles.append(Cycle(k, shares, asyncio.run(commits(url)) - before))
    finally:
        for p in procs:
            p.join(timeout=120)
            if p.is_alive():
                p.terminate()
    return cycles


_SIZED = ("items", "item_events", "matches", "stories", "story_sources", "story_keys", "deliveries", "feeds")


async def row_sizes(url: str) -> list[tuple[str, int, int]]:
    """(table, rows, bytes per row with its indexes and TOAST) of the tables that grow."""
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        out = []
        for t in _SIZED:
            n = int(await conn.fetchval(f"SELECT COUNT(*) FROM {t}"))
            size = int(await conn.fetchval("SELECT pg_total_relation_size($1::regclass)", t))
            out.append((t, n, size // n if n else 0))
        return out
    finally:
        await conn.close()


def report(runs: dict[int, list[Cycle]], args: argparse.Namespace, served: Served,
           sizes: Sequence[tuple[str, int, int]] = ()) -> str:
    lines = [
        f"deskwatch scale-out: {args.feeds:,} feeds x {args.items} items ({served.items:,} items, {served.relevant} "
        f"of the watch's kind), {args.latency_ms:g} ms added latency per response, {args.hosts} loopback hosts; "
        f"PostgreSQL 16 on this machine ({os.cpu_count()} cores, shared with the workers and the feed server)",
        f"{'workers':>7} {'cycle':<7}{'wall s':>8}{'new items':>10}{'items/s':>9}{'round trips':>12}"
        f"{'per item':>9}{'per feed':>9}{'commits':>9}{'speed-up':>9}  every feed once",
    ]
    for k, cycles in sorted(runs.items()):
        for name, c in zip(("cold", "steady"), cycles, strict=True):
            base = runs[min(runs)][0 if name == "cold" else 1].wall
            items, trips = c.total("new_items"), c.total("round_trips")
            per_item = f"{trips / items:.1f}" if items else "—"
            lines.append(f"{k:>7} {name:<7}{c.wall:>8.1f}{items:>10,}{items / c.wall:>9.0f}{trips:>12,}{per_item:>9}"
                         f"{trips / args.feeds:>9.1f}{c.commits:>9,}{base / c.wall:>8.2f}x  "
                         f"{'yes' if c.polled_once(args.feeds) else 'NO'}"
                         + (f"  ({c.total('failed')} failed)" if c.total("failed") else ""))
    cold = [runs[k][0] for k in sorted(runs)]
    lines.append("cold cycle: " + "; ".join(
        f"{c.workers} worker(s): relevant {c.total('relevant')}, new stories {c.total('new_stories')}, merged "
        f"{c.total('merged')}, feeds per worker {'/'.join(str(len(s.feeds)) for s in c.shares)}" for c in cold))
    lines.append("steady cycle: feeds per worker " + "; ".join(
        "/".join(str(len(s.feeds)) for s in runs[k][1].shares) for k in sorted(runs)))
    if sizes:
        lines.append("bytes per row with indexes (rows): " + ", ".join(f"{t} {b:,} ({n:,})" for t, n, b in sizes))
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    from tests.postgres_server import PgServer, start

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--feeds", type=int, default=2000)
    ap.add_argument("--items", type=int, default=10, help="items per feed")
    ap.add_argument("--latency-ms", type=float, default=100.0)
    ap.add_argument("--hosts", type=int, default=HOSTS)
    ap.add_argument("--workers", default="1,2,3", help="worker counts to run, comma-separated")
    ap.add_argument("--server-url", default="", help="a throwaway PostgreSQL server to use (schemas scale1, …)")
    args = ap.parse_args(argv)
    counts = [int(w) for w in args.workers.split(",")]
    q: mp.Queue[Served] = mp.Queue()
    feeds = mp.Process(target=serve, args=(args.feeds, args.items, args.latency_ms / 1000, False, NOW, args.hosts, q),
                       daemon=True)
    feeds.start()
    server = PgServer(args.server_url) if args.server_url else start()
    try:
        served = q.get(timeout=600)
        runs = {}
        for k in counts:
            runs[k] = run_workers(k, server.url, served.port, args)
            print(f"... {k} worker(s) done", file=sys.stderr, flush=True)
        sizes = asyncio.run(row_sizes(f"{server.url}?search_path=scale{min(counts)}"))
        print(report(runs, args, served, sizes))
    finally:
        server.stop()
        feeds.terminate()
    return 0


if __name__ == "__main__":
    sys.exit(main())
