"""Paging a long digest — `make bench-digest`.

A flood digest gathers every story past a channel's hourly alert limit (hundreds in a burst) and
is split into pages that each fit one platform message, on the event loop, at every delivery
attempt. Baseline in the same run: the earlier way, a page grown one story at a time and
rendered whole at each try (`one_by_one_pages`, also the tests' reference); both must give the
same pages. Prints the time of each and the ratio.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import cast

from bot.core.render import digest_message, order_for_digest
from bot.model import Delivery, Message, Story, StorySource
from bot.outbox import digest_pages, marker_for
from bot.platforms.base import Sink
from bot.platforms.discord import format as discord_format
from bot.platforms.slack import format as slack_format

T = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
ROW = Delivery(id="digest:flood-20260302T08:desk", destination="desk", kind="digest", created=T,
               title="More stories this hour (08:00–09:00 UTC)")
PLATFORMS: dict[str, Callable[[Message], int]] = {
    "discord": lambda m: len(discord_format.to_payloads(m)),
    "slack": lambda m: len(slack_format.to_payloads(m)),
    "webhook": lambda m: 1,  # and console, file: one message however long
}


def stories(n: int, seed: int = 0) -> list[Story]:
    """n stories of 1–15 sources and summaries of 4–36 words, varied by `seed`."""
    out = []
    for i in range(n):
        k = 1 + (i * 7 + seed) % 15
        sources = tuple(StorySource(f"k{i}-{j}", f"Outlet {j % 6}", f"https://news{j}.example/{i}/{j}", "en",
                                    T + timedelta(minutes=i + j), f"Report {i} by outlet {j}") for j in range(k))
        words = " ".join(["troops", "rotation", "Kursk", "artillery"] * (1 + (i * 3 + seed) % 9))
        out.append(Story(id=f"s-{i:04d}", watch="dprk-russia", title=f"Development {i}: {words[:80]}",
                         summary=words, first_published=T, last_published=T + timedelta(minutes=i),
                         sources=sources, score=1.0 + (i % 5)))
    return out


def one_by_one_pages(parts: Callable[[Message], int], ss: list[Story], row: Delivery, now: datetime,
                     threshold: float = 1.0) -> list[Message]:
    """The pages as digest_pages made them before: a page grows one story at a time."""
    title = row.title or "Digest"
    groups: list[list[Story]] = []
    for story in order_for_digest(ss):
        trial = [*groups[-1], story] if groups else [story]
        probe = digest_message(trial, marker=marker_for(row) + "#p00", title=f"{title} (page 00/00)", since=None,
                               now=now, threshold=threshold)
        if groups and parts(probe) <= 1:
            groups[-1].append(story)
        else:
            groups.append([story])
    groups = groups or [[]]
    many = len(groups) > 1
    return [digest_message(g, marker=f"{marker_for(row)}#p{i + 1}" if many else marker_for(row),
                           title=f"{title} (page {i + 1}/{len(groups)})" if many else title, since=None, now=now,
                           threshold=threshold) for i, g in enumerate(groups)]


class PartsOnly:
    """All digest_pages asks of a sink: how many platform messages a message needs."""

    def __init__(self, parts: Callable[[Message], int]) -> None:
        self.parts = parts


def best_of(runs: int, fn: Callable[[], object]) -> tuple[float, object]:
    times, out = [], None
    for _ in range(runs):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stories", type=int, nargs="+", default=[100, 300, 700])
    ap.add_argument("--runs", type=int, default=3, help="best of this many runs each")
    args = ap.parse_args()
    print("deskwatch digest paging: pages of a flood digest, best of", args.runs, "runs")
    print(f"{'platform':9s} {'stories':>7s} {'pages':>5s} {'one by one':>11s} {'digest_pages':>12s} {'ratio':>7s}")
    for name, parts in PLATFORMS.items():
        for n in args.stories:
            ss = stories(n)
            sink = cast(Sink, PartsOnly(parts))
            before, ref = best_of(args.runs, partial(one_by_one_pages, parts, ss, ROW, T))
            after, got = best_of(args.runs, partial(digest_pages, sink, ss, ROW, T, 1.0))
            if got != ref:
                raise SystemExit(f"{name}, {n} stories: the pages differ from the one-by-one pages")
            pages = len(cast(list[Message], got))
            print(f"{name:9s} {n:7d} {pages:5d} {before * 1e3:9.1f} ms {after * 1e3:10.1f} ms {before / after:6.1f}x")
    print("checks: every run gave the same pages both ways")


if __name__ == "__main__":
    main()
