"""Per-item cost of filtering and merging a new report at 1k, 10k and 100k stories in the SQLite store.

Synthetic stories (the developments of bench/newsgen.py: an event kind, its own invented village,
unit and operation names, a region, who says so and a figure; about 90 a day) each carry 1–15
sources (most 1–3, as bench/volume.py) in their kind's wordings, so candidate stories hold
multi-report fingerprints (up to fingerprint.MAX_CORE core reports) and their keys. They are built
with cluster.new_story / cluster.add_source and saved with `SqliteStore.save_story`. To keep the
100k build to minutes, only a story's first report is read for real (`cluster.facts_of`); its
later reports reuse those facts with their own headline text and time.

Each size has its own store (built from the same seed: the smaller is a prefix of the larger),
and the probes are taken in turn across them after a few untimed ones, so other load on the
machine falls on every size alike. Per probe item (half follow-ups of a story from the last two
days in another outlet's words, half new developments; one every 16 minutes, so no channel
floods), it times:
  whole path   — `pipeline.process_items` on the one stored item with the shipped config and
                 model, no embedder: filter, facts, candidate lookup (keyed + recent), scoring,
                 story save, events and routing into the outbox (what a poll does per new item);
  add_items    — storing it first (identity check + insert), apart;
  filter       — analyse + decide alone (pure);
  keys         — item facts + story_keys alone (pure);
  index lookup — `store.story_candidates` alone (the indexed query, then the stories loaded),
                 and the query's SQL alone, timed in the store's thread;
  scoring      — cluster.assign over those candidates alone (pure), after the whole path, on
                 fingerprints it has read (the path decodes a story version no earlier item
                 read, as a running bot does: printed as fingerprints decoded per item), next
                 to the same with every candidate story scored (none skipped by its bound);
next to two baselines in the same run: the whole path's CPU time (both threads; wall time swings
with other load on a shared machine) at the first (smallest) size, so the ratio says whether the
cost stays flat as the store grows, and a linear scan of every story's keys in
memory against the index lookup. The store's share of the whole path is measured by timing each
store method it awaits. `--markdown` prints the README rows.

    .venv/bin/python bench/cluster_scale.py [--sizes 1000,10000,100000] [--probes 200] [--quick] [--profile]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import inspect
import io
import math
import pstats
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.newsgen import Development, develop, wording  # noqa: E402
from bench.volume import SIZE_WEIGHTS, SIZES  # noqa: E402
from bot.config import load_settings  # noqa: E402
from bot.core.relevance.match import analyse, decide  # noqa: E402
from bot.core.relevance.terms import fold  # noqa: E402
from bot.core.stories import cluster  # noqa: E402
from bot.core.stories.facts import Facts, item_facts  # noqa: E402
from bot.core.watch import Watch  # noqa: E402
from bot.model import Item, Match, Story  # noqa: E402
from bot.pipeline import Context, process_items  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.store.sqlite import SqliteStore, candidates_sql  # noqa: E402
from bot.store.sqlite_rows import ts  # noqa: E402

START = datetime(2024, 1, 1, tzinfo=UTC)
PER_DAY = 90
PROBE_EVERY = timedelta(minutes=16)  # about PER_DAY a day, as the stories were made
GOAL_PATH_MS = 2.0  # filter + merge, median per item, without the multilingual signal
GOAL_LOOKUP_MS = 1.0  # indexed lookup, median per item at 100k stories


def load_settings_() -> Settings:
    return load_settings(str(ROOT / "config" / "deskwatch.toml"))


def content(rng: random.Random, d: int, at: datetime) -> Development:
    """Development d: its own invented names (they repeat only every few thousand developments,
    weeks outside the story window), a kind, a region, who says so and a figure."""
    return develop(rng, d, at)


def report(c: Development, w: int, key: str, outlet: int, at: datetime) -> Item:
    """One outlet's report of the development, in wording w of its kind."""
    title, lead = wording(c, w, "en")
    return Item(key=key, feed=f"outlet{outlet}", source=f"Outlet {outlet}", url=f"https://outlet{outlet}.test/{key}",
                title=title, summary=lead, published=at, fetched=at, lang="en")


def reworded(f0: Facts, item: Item) -> Facts:
    """The first report's facts with this report's headline text and time (see the docstring)."""
    lead = item.summary.split(". ")[0]
    return replace(f0, text=fold(f"{item.title} {lead}".strip()), published=item.published)


@dataclass
class Built:
    stories: list[Story] = field(default_factory=list)  # as saved (for the linear-scan baseline)
    contents: list[Development] = field(default_factory=list)
    sources: int = 0


async def grow(store: SqliteStore, watch: Watch, rng: random.Random, want: int, built: Built) -> None:
    m = Match(watch=watch.name, relevant=True, score=5.0)
    for n in range(len(built.stories), want):
        at = START + timedelta(days=n / PER_DAY)
        c = content(rng, n, at)
        k = rng.choices(SIZES, SIZE_WEIGHTS)[0]
        times = sorted(at + timedelta(minutes=0 if j == 0 else rng.uniform(10, 30 * 60)) for j in range(k))
        items = [report(c, rng.randrange(3), f"k{n}-{j}", rng.randrange(500), t)
                 for j, t in enumerate(times)]
        f0 = cluster.facts_of(watch, items[0])
        s = cluster.new_story(watch, items[0], m, f0)
        for it in items[1:]:
            s = cluster.add_source(s, watch, it, m, cluster.Assignment(s.id, 0.9, (), ()), reworded(f0, it))
        await store.save_story(s)
        built.stories.append(s)
        built.contents.append(c)
        built.sources += k


class StoreMeter:
    """Counts and times each public store method (each a hop to the SQLite thread) while on."""

    def __init__(self, store: SqliteStore) -> None:
        self.on = False
        self.calls: Counter[str] = Counter()
        self.seconds: dict[str, float] = defaultdict(float)
        for name in dir(store):
            fn = getattr(store, name)
            if not name.startswith("_") and name not in ("open", "close") and inspect.iscoroutinefunction(fn):
                setattr(store, name, self._wrap(name, fn))

    def _wrap(self, name: str, fn: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        async def metered(*args: Any, **kw: Any) -> Any:
            if not self.on:
                return await fn(*args, **kw)
            t0 = time.perf_counter()
            try:
                return await fn(*args, **kw)
            finally:
                self.calls[name] += 1
                self.seconds[name] += time.perf_counter() - t0

        return metered

    def reset(self) -> None:
        self.calls.clear()
        self.seconds.clear()


def query_ms(c: sqlite3.Connection, watch: str, keys: Sequence[str], since: datetime) -> float:
    """The candidate query alone, timed inside the store's thread (no hop, no loading of stories)."""
    keys = list(dict.fromkeys(keys))
    t0 = time.perf_counter()
    c.execute(candidates_sql(len(keys)), [*keys, watch, ts(since), cluster.MAX_CANDIDATES]).fetchall()
    return (time.perf_counter() - t0) * 1000


@dataclass
class Probe:
    path: list[float] = field(default_factory=list)
    path_cpu: list[float] = field(default_factory=list)  # CPU of both threads: steady on a shared machine
    add: list[float] = field(default_factory=list)
    filt: list[float] = field(default_factory=list)
    keys: list[float] = field(default_factory=list)
    index: list[float] = field(default_factory=list)
    query: list[float] = field(default_factory=list)
    scoring: list[float] = field(default_factory=list)
    scoring_cpu: list[float] = field(default_factory=list)
    scoring_every_cpu: list[float] = field(default_factory=list)  # baseline: no story skipped by its bound
    scan: list[float] = field(default_factory=list)
    ncands: int = 0
    decoded: int = 0  # story fingerprints read from JSON along the whole path (not in the cache)
    cand_sources: int = 0  # sources held by the keyed candidates (they are loaded whole)
    same: int = 0
    relevant: int = 0
    follow_ups: int = 0
    joined_own: int = 0  # follow-ups merged into the story they follow
    new_alone: int = 0  # new developments that started a story


@dataclass
class Sized:
    """One store of `size` stories, and what its probes measured."""

    size: int
    ctx: Context
    meter: StoreMeter
    built: Built
    rng: random.Random  # its probes' choices: the same sequence whatever else runs between them
    out: Probe = field(default_factory=Probe)
    prof: cProfile.Profile | None = None


async def probe(sz: Sized, p: int, record: bool) -> None:
    """Probe p against this store: a follow-up (odd p) or a new development, timed step by step
    and along the whole path; `record` False for the warm-up. Scoring alone is timed after the
    whole path, so the path meets story fingerprints as a running bot does (decoded unless an
    earlier item read the same version) and scoring alone is the scoring, not the decoding."""
    ctx, built, rng, out = sz.ctx, sz.built, sz.rng, sz.out
    watch = ctx.settings.watches[0]
    size = sz.size
    at = START + timedelta(days=size / PER_DAY) + p * PROBE_EVERY
    follow = p % 2 == 1
    if follow:
        idx = rng.randrange(max(0, size - 2 * PER_DAY), size)
        c, target = built.contents[idx], built.stories[idx].id
    else:
        c, target = content(rng, size + p, at), None
    item = report(c, rng.randrange(3), f"probe{size}-{p}", 500 + rng.randrange(500), at)
    t0 = time.perf_counter()
    analysis = analyse(watch, item)
    m = decide(watch, analysis, None)
    t1 = time.perf_counter()
    facts = item_facts(watch, item, analysis.reading)
    keys = cluster.story_keys(watch, item, facts)
    t2 = time.perf_counter()
    since = cluster.candidate_since(watch, item)
    cands = await ctx.store.story_candidates(watch.name, keys, since, cluster.MAX_CANDIDATES)
    t3 = time.perf_counter()
    assert isinstance(ctx.store, SqliteStore)
    query = await ctx.store._read(query_ms, watch.name, keys, since)
    t4 = time.perf_counter()
    kset = set(keys)
    hits = sorted((s for s in built.stories if s.last_published >= since and kset & set(s.keys)),
                  key=lambda s: -len(kset & set(s.keys)))[:cluster.MAX_CANDIDATES]
    t5 = time.perf_counter()
    await ctx.store.add_items([item])
    t6 = time.perf_counter()
    sz.meter.on = record
    if sz.prof and record:
        sz.prof.enable()
    decoded = cluster._fingerprint.misses
    t7, c7 = time.perf_counter(), time.process_time()
    [outcome] = await process_items(ctx, [item], at)
    t8, c8 = time.perf_counter(), time.process_time()
    decoded = cluster._fingerprint.misses - decoded
    if sz.prof and record:
        sz.prof.disable()
    sz.meter.on = False
    cluster.assign(watch, item, m, cands, at, facts)  # untimed: reads what the path just decoded or saved
    t9, c9 = time.perf_counter(), time.process_time()
    cluster.assign(watch, item, m, cands, at, facts)
    t10, c10 = time.perf_counter(), time.process_time()
    with every_story_scored():
        cluster.assign(watch, item, m, cands, at, facts)
    c11 = time.process_time()
    if not record:
        return
    out.filt.append((t1 - t0) * 1000)
    out.keys.append((t2 - t1) * 1000)
    out.index.append((t3 - t2) * 1000)
    out.query.append(query)
    out.scoring.append((t10 - t9) * 1000)
    out.scoring_cpu.append((c10 - c9) * 1000)
    out.scoring_every_cpu.append((c11 - c10) * 1000)
    out.scan.append((t5 - t4) * 1000)
    out.add.append((t6 - t5) * 1000)
    out.path.append((t8 - t7) * 1000)
    out.path_cpu.append((c8 - c7) * 1000)
    out.decoded += decoded
    out.ncands += len(cands)
    out.cand_sources += sum(len(c.sources) for c in cands)
    out.same += len(cands) == len(hits)
    out.relevant += outcome.relevant
    out.follow_ups += follow
    out.joined_own += follow and outcome.story_id == target
    out.new_alone += not follow and outcome.new_story


@contextmanager
def every_story_scored() -> Iterator[None]:
    """The baseline of scoring in the same run: no candidate story skipped by its bound (bound.py)."""
    bound = cluster.upper_p
    cluster.upper_p = lambda *args: math.inf
    try:
        yield
    finally:
        cluster.upper_p = bound


def profile_text(prof: cProfile.Profile) -> str:
    buf = io.StringIO()
    pstats.Stats(prof, stream=buf).sort_stats("tottime").print_stats(14)
    return buf.getvalue()


def pct(xs: Sequence[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, max(0, round(q * len(s)) - 1))]


def fmt(xs: Sequence[float]) -> str:
    return f"median {statistics.median(xs):7.3f} ms  p95 {pct(xs, 0.95):7.3f} ms"


@dataclass(frozen=True)
class Result:
    size: int
    sources: int
    probe: Probe
    store_ms: float  # per item, in the store's methods during the whole path
    store_calls: float


WARMUP = 6  # untimed probes per store first: the first calls pay for lazily built tables and caches


async def main_async(sizes: Sequence[int], probes: int, profile: bool) -> list[Result]:
    """One store per size (each built from the same seed, so a smaller one is a prefix of a larger
    one), then the probes taken in turn across the stores, so load on a shared machine falls on
    every size alike and the ratio between sizes is fair."""
    settings = load_settings_()
    watch = settings.watches[0]
    results: list[Result] = []
    stores: list[Sized] = []
    with tempfile.TemporaryDirectory(prefix="deskwatch-bench-") as tmp:
        try:
            for size in sizes:
                store = SqliteStore(str(Path(tmp) / f"bench-{size}.db"))
                await store.open()
                sz = Sized(size, Context(settings=settings, store=store), StoreMeter(store), Built(),
                           random.Random(11), prof=cProfile.Profile() if profile and size == max(sizes) else None)
                stores.append(sz)  # no embedder in the context: terms only
                t0 = time.perf_counter()
                await grow(store, watch, random.Random(7), size, sz.built)
                print(f"{size:>7} stories, {sz.built.sources:,} sources built in {time.perf_counter() - t0:.1f} s",
                      flush=True)
            for p in range(WARMUP + probes):
                for sz in stores:
                    await probe(sz, p, record=p >= WARMUP)
            base = statistics.median(stores[0].out.path_cpu)
            for sz in stores:
                pr, n, meter = sz.out, len(sz.out.path), sz.meter
                res = Result(sz.size, sz.built.sources, pr, sum(meter.seconds.values()) * 1000 / n,
                             sum(meter.calls.values()) / n)
                results.append(res)
                print(f"{sz.size:>7} stories, {sz.built.sources:,} sources; {n} probes: "
                      f"{pr.relevant / n:.0%} relevant, {pr.ncands / n:.1f} keyed candidates per item holding "
                      f"{pr.cand_sources / max(pr.ncands, 1):.1f} sources each; follow-ups joined their story "
                      f"{pr.joined_own}/{pr.follow_ups}, new developments started one "
                      f"{pr.new_alone}/{n - pr.follow_ups}")
                print(f"  whole path, CPU (process, both threads) {fmt(pr.path_cpu)}")
                print(f"  whole path (process_items, one item)   {fmt(pr.path)}   goal ≤ {GOAL_PATH_MS} ms median; "
                      f"in the store {res.store_ms:.2f} ms per item ({res.store_calls:.0f} calls)")
                print(f"    ratio to the whole path's CPU at {sizes[0]:,} stories (same run): "
                      f"{statistics.median(pr.path_cpu) / base:.2f}x  (1.00x = flat)")
                top = ", ".join(f"{k} {v * 1000 / n:.2f}" for k, v in sorted(meter.seconds.items(),
                                                                              key=lambda kv: -kv[1])[:6])
                print(f"    store ms per item, largest first: {top}")
                print(f"  store.add_items before it              {fmt(pr.add)}")
                print(f"  filter alone (analyse + decide)        {fmt(pr.filt)}")
                print(f"  facts + story_keys alone               {fmt(pr.keys)}")
                print(f"  index lookup alone (story_candidates)  {fmt(pr.index)}"
                      + (f"   goal ≤ {GOAL_LOOKUP_MS} ms median at 100k" if sz.size >= 100_000 else ""))
                print(f"    of which the indexed query (SQL)    {fmt(pr.query)}   "
                      "(the rest: the hop to the store's thread, loading the stories and their sources)")
                print(f"  scoring alone (assign, keyed cands)    {fmt(pr.scoring)}   CPU median "
                      f"{statistics.median(pr.scoring_cpu):.3f} ms (fingerprints cached; the whole path decoded "
                      f"{pr.decoded / n:.1f} per item)")
                every = statistics.median(pr.scoring_every_cpu)
                print(f"    baseline, every candidate story scored (no bound): CPU median {every:.3f} ms; "
                      f"ratio {statistics.median(pr.scoring_cpu) / every:.2f}x")
                print(f"  baseline in-memory key scan            {fmt(pr.scan)}   "
                      f"ratio scan/index {statistics.median(pr.scan) / statistics.median(pr.index):.1f}x; "
                      f"same candidate count {pr.same / n:.0%}")
                if sz.prof:
                    print("  cProfile of the whole path (main thread; SQLite's thread shows as the wait in select):")
                    print("\n".join("    " + x for x in profile_text(sz.prof).strip().splitlines()[-20:]))
        finally:
            for sz in stores:
                await sz.ctx.store.close()
    return results


def markdown(results: Sequence[Result]) -> str:
    """README rows: | stories (sources) | whole path median / p95 | its CPU median | CPU ÷ smallest size |
    in the store | story_candidates (SQL) | linear scan (scan ÷ index) |"""
    base = statistics.median(results[0].probe.path_cpu)
    rows = []
    for r in results:
        pr = r.probe
        idx, scan = statistics.median(pr.index), statistics.median(pr.scan)
        cpu = statistics.median(pr.path_cpu)
        rows.append(f"| {r.size:,} ({r.sources:,}) | {statistics.median(pr.path):.1f} / {pct(pr.path, 0.95):.1f} ms | "
                    f"{cpu:.1f} ms | {cpu / base:.2f}× | {r.store_ms:.1f} ms ({r.store_calls:.0f} calls) | "
                    f"{idx:.2f} ms ({statistics.median(pr.query):.2f}) | {scan:.2f} ms ({scan / idx:.1f}×) |")
    return "\n".join(rows)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--probes", type=int, default=200)
    ap.add_argument("--quick", action="store_true", help="1k and 5k stories, 60 probes (a minute or two)")
    ap.add_argument("--profile", action="store_true", help="cProfile the whole path at the largest size")
    ap.add_argument("--markdown", action="store_true", help="also print the README table rows")
    args = ap.parse_args(argv)
    sizes = [1000, 5000] if args.quick else [int(x) for x in args.sizes.split(",")]
    probes = 60 if args.quick else args.probes
    t0 = time.perf_counter()
    results = asyncio.run(main_async(sizes, probes, args.profile))
    print(f"(wall time {time.perf_counter() - t0:.0f} s)")
    if args.markdown:
        print(markdown(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
