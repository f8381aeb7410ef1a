"""Parse + normalise benchmark: the fast normalisation path against the plain one, in one run.

The feeds are `make bench`'s (bench/newsgen.py): small items (~450 B, ASCII, HTML leads) and
realistic ones (~4.3 KB of content:encoded HTML, in English, Russian and Korean). Each feed is
parsed with parse_feed and its entries normalised by normalize_entry (after) or by
reference_normalize_entry (before: bot/core/feed/reference.py, the path issue 12 replaced).
Both must give equal items. CPU time of this process, median of the rounds, paths alternating;
the parse time (the same code on both paths) is pooled.

    .venv/bin/python bench/normalize.py [--feeds 100] [--realistic-feeds 40] [--items 50] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.newsgen import feed_xml, make_corpus
from bot.core.feed.normalize import normalize_entry
from bot.core.feed.parse import parse_feed
from bot.core.feed.reference import reference_normalize_entry
from bot.model import Entry, Item, ParsedFeed
from bot.settings import FeedSettings

NOW = datetime(2026, 6, 30, tzinfo=UTC)
FEED = FeedSettings(name="bench", url="https://bench.example/feed.xml", language="en")

Normalise = Callable[[Entry, FeedSettings, datetime], Item]


def bodies(feeds: int, items: int, realistic: bool) -> list[bytes]:
    corpus = make_corpus(feeds, items, NOW, realistic=realistic)
    return [feed_xml(n, arts, corpus.langs[n], realistic) for n, arts in corpus.feeds.items()]


def run(feeds: list[bytes], normalise: Normalise) -> tuple[float, float, list[Item]]:
    """(CPU seconds parsing, CPU seconds normalising, the items)."""
    parse_s = norm_s = 0.0
    items: list[Item] = []
    for n, body in enumerate(feeds):
        c0 = time.process_time()
        parsed: ParsedFeed = parse_feed(body, f"https://feed{n}.example/feed.xml")
        c1 = time.process_time()
        items.extend(normalise(e, FEED, NOW) for e in parsed.entries)
        parse_s, norm_s = parse_s + c1 - c0, norm_s + time.process_time() - c1
    return parse_s, norm_s, items


def measure(name: str, feeds: list[bytes], rounds: int) -> None:
    figures: dict[str, list[tuple[float, float]]] = {"before": [], "after": []}
    items: dict[str, list[Item]] = {}
    for _ in range(rounds):
        for path, fn in (("before", reference_normalize_entry), ("after", normalize_entry)):
            parse_s, norm_s, items[path] = run(feeds, fn)
            figures[path].append((parse_s, norm_s))
    if items["before"] != items["after"]:
        raise SystemExit(f"{name}: the fast path gave different items")
    entries = len(items["after"])
    # Both paths parse with the same code: its time is pooled over all their runs, so the noise
    # of a machine shared with others does not pass for a difference between the paths.
    parse_s = statistics.median(p for runs in figures.values() for p, _ in runs)
    parse_spread = max(p for runs in figures.values() for p, _ in runs) / min(
        p for runs in figures.values() for p, _ in runs)
    print(f"{name}: {len(feeds)} feeds, {entries} entries, items identical; "
          f"parse {parse_s:.2f} s ({entries / parse_s:,.0f} entries/s, max/min of runs {parse_spread:.2f})")
    print(f"{'':<8}{'normalise s':>13}{'(max/min)':>11}{'normalise/s':>13}{'parse+normalise/s':>19}")
    rate: dict[str, tuple[float, float]] = {}
    for path, runs in figures.items():
        norm = [m for _, m in runs]
        norm_s = statistics.median(norm)
        rate[path] = (entries / norm_s, entries / (parse_s + norm_s))
        print(f"{path:<8}{norm_s:>13.2f}{max(norm) / min(norm):>11.2f}{rate[path][0]:>13,.0f}{rate[path][1]:>19,.0f}")
    print(f"ratio after/before: normalise alone {rate['after'][0] / rate['before'][0]:.2f}x, "
          f"parse + normalise {rate['after'][1] / rate['before'][1]:.2f}x")

def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--feeds", type=int, default=100, help="feeds of small items")
    ap.add_argument("--realistic-feeds", type=int, default=40, help="feeds of realistic items (0: none)")
    ap.add_argument("--items", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    print(f"CPU seconds of one process, median of {args.rounds} rounds; before = reference_normalize_entry")
    measure("bench feeds (small items)", bodies(args.feeds, args.items, False), args.rounds)
    if args.realistic_feeds:
        measure("realistic feeds (en/ru/ko)", bodies(args.realistic_feeds, args.items, True), args.rounds)

if __name__ == "__main__":
    main()
