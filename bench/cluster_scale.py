"""Story assignment cost per new item at 1k, 10k and 100k stories in the SQLite store.

Synthetic stories (gazetteer entities, figures and invented distinctive words, about 90 a day)
are saved through `SqliteStore.save_story`; then, for a sample of new items, it times
  lookup  — story_keys + candidate_since + store.story_candidates (the indexed query), and
  assign  — lookup + cluster.assign over the candidates (what the pipeline does per item),
next to a baseline in the same process: a linear scan of every story's keys in memory.

    .venv/bin/python bench/cluster_scale.py [--sizes 1000,10000,100000] [--probes 200]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.core.stories import cluster  # noqa: E402
from bot.core.watch import Watch  # noqa: E402
from bot.model import Item, Match, Story  # noqa: E402
from bot.store.sqlite import SqliteStore  # noqa: E402

START = datetime(2024, 1, 1, tzinfo=UTC)
PER_DAY = 90


def load_watch() -> Watch:
    from bot.settings import load_settings

    return load_settings(str(ROOT / "config" / "deskwatch.toml")).watches[0]


def names(watch: Watch) -> list[str]:
    """One English-or-any spelling per gazetteer entity (without wildcards)."""
    out = []
    for e in watch.entities:
        raw = next((t.raw for t in e.terms if t.lang in ("en", "any") and "*" not in t.raw), None)
        if raw:
            out.append(raw)
    return out


def synthetic_item(rng: random.Random, ents: Sequence[str], n: int, at: datetime) -> Item:
    picked = rng.sample(ents, 3)
    words = " ".join(f"w{rng.randrange(20000)}" for _ in range(4))
    title = f"North Korean troops in Russia: {picked[0]} and {picked[1]} {words}"
    summary = (f"Reports say {rng.randrange(10, 20000):,} North Korean soldiers near {picked[2]} "
               f"were involved, officials said. {words}.")
    return Item(key=f"k{n}", feed="bench", source="Bench", url=f"https://bench.test/{n}", title=title,
                summary=summary, published=at, fetched=at, lang="en")


async def grow(store: SqliteStore, watch: Watch, rng: random.Random, ents: Sequence[str], have: int,
               want: int, stories: list[Story]) -> None:
    m = Match(watch=watch.name, relevant=True, score=5.0)
    for n in range(have, want):
        at = START + timedelta(days=n / PER_DAY)
        s = cluster.new_story(watch, synthetic_item(rng, ents, n, at), m)
        await store.save_story(s)
        stories.append(s)


async def probe(store: SqliteStore, watch: Watch, rng: random.Random, ents: Sequence[str], size: int,
                probes: int, stories: Sequence[Story]
                ) -> tuple[list[float], list[float], list[float], list[float], float, float]:
    m = Match(watch=watch.name, relevant=True, score=5.0)
    now = START + timedelta(days=size / PER_DAY)
    keys_ms: list[float] = []
    lookup: list[float] = []
    full: list[float] = []
    scan: list[float] = []
    found = 0
    ncands = 0
    for p in range(probes):
        it = synthetic_item(rng, ents, 10_000_000 + p, now)
        t0 = time.perf_counter()
        keys = cluster.story_keys(watch, it)
        tk = time.perf_counter()
        since = cluster.candidate_since(watch, it)
        cands = await store.story_candidates(watch.name, keys, since, cluster.MAX_CANDIDATES)
        t1 = time.perf_counter()
        cluster.assign(watch, it, m, cands, now)
        t2 = time.perf_counter()
        kset = set(keys)
        hits = sorted((s for s in stories if s.last_published >= since and kset & set(s.keys)),
                      key=lambda s: -len(kset & set(s.keys)))[:cluster.MAX_CANDIDATES]
        t3 = time.perf_counter()
        keys_ms.append((tk - t0) * 1000)
        ncands += len(cands)
        lookup.append((t1 - t0) * 1000)
        full.append((t2 - t0) * 1000)
        scan.append((tk - t0 + t3 - t2) * 1000)  # the same keys, then a scan instead of the index
        found += len(cands) == len(hits)
    return keys_ms, lookup, full, scan, found / probes, ncands / probes


def fmt(xs: Sequence[float]) -> str:
    return f"mean {statistics.fmean(xs):6.3f} ms  p95 {sorted(xs)[int(len(xs) * 0.95) - 1]:6.3f} ms"


async def main_async(sizes: Sequence[int], probes: int) -> None:
    watch = load_watch()
    rng = random.Random(7)
    ents = names(watch)
    stories: list[Story] = []
    with tempfile.TemporaryDirectory(prefix="deskwatch-bench-") as tmp:
        store = SqliteStore(str(Path(tmp) / "bench.db"))
        await store.open()
        try:
            have = 0
            for size in sizes:
                t0 = time.perf_counter()
                await grow(store, watch, rng, ents, have, size, stories)
                have = size
                built = time.perf_counter() - t0
                keys, lookup, full, scan, same, ncands = await probe(store, watch, rng, ents, size, probes, stories)
                print(f"{size:>7} stories (+{built:.1f} s to save; {ncands:.0f} candidates per item)")
                print(f"  story_keys (pure, per item)    {fmt(keys)}")
                index = [a - b for a, b in zip(lookup, keys, strict=True)]
                print(f"  index lookup (story_candidates) {fmt(index)}")
                print(f"  lookup (keys + story_candidates)  {fmt(lookup)}")
                print(f"  assign (lookup + scoring)      {fmt(full)}")
                print(f"  baseline in-memory key scan    {fmt(scan)}   "
                      f"ratio scan/lookup {statistics.fmean(scan) / statistics.fmean(lookup):.1f}x; "
                      f"same candidate count {same:.0%}")
        finally:
            await store.close()


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--probes", type=int, default=200)
    args = ap.parse_args(argv)
    asyncio.run(main_async([int(x) for x in args.sizes.split(",")], args.probes))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
