"""A small `make bench-load`: 50 feeds, 200 relevant reports, one cycle, two rate-limited chats.

It checks behaviour, never timings: a flooded channel gets at most max_alerts_per_hour alerts and
one flood digest, every story reaches every channel exactly once, rate limits (429 + Retry-After,
short and long) delay messages but lose none, and the naive one-alert-per-story baseline posts
more; the per-item and story figures are printed. The tally that counts stories in the posts is
tested on its own first, so it can fail.
"""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestServer
from discord.http import Route

from bench.load import (
    DISCORD_CHANNEL,
    NAIVE_DISCORD_CHANNEL,
    NAIVE_SLACK_CHANNEL,
    SLACK_CHANNEL,
    Figures,
    Limits,
    Tally,
    burst,
    check,
    discord_tally,
    feed_app,
    feed_bodies,
    markdown,
    report,
    run,
    slack_tally,
)

FEEDS, ITEMS = 50, 200
MAX_ALERTS = 5  # per hour and channel: small, so 200 reports flood it
CHANNELS = (DISCORD_CHANNEL, SLACK_CHANNEL, NAIVE_DISCORD_CHANNEL, NAIVE_SLACK_CHANNEL)
URLS = {"https://a.example/1": "s-1", "https://a.example/2": "s-2", "https://a.example/3": "s-3"}
DISCORD_ALERT = {"embeds": [{"title": "t", "footer": {"text": "watch · story s-1 · deskwatch:alert:s-1:d"}}]}
DISCORD_DIGEST = {"embeds": [{"description": "**1.** [Two](https://a.example/2)\nsrc\n\n**2.** [Three]"
                                             "(https://a.example/3)\n[Outlet](https://a.example/1) EN"}]}
SLACK_ALERT = {"metadata": {"event_payload": {"marker": "deskwatch:alert:s-1:s"}}, "blocks": []}
SLACK_DIGEST = {"blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "*<https://a.example/2|Two>*\n"
                                                        "   <https://a.example/1|Outlet> (en)"}}]}


@pytest.mark.parametrize(("tally", "alerts", "seen"), [
    pytest.param(discord_tally([DISCORD_ALERT, DISCORD_DIGEST], URLS), 1, {"s-1": 1, "s-2": 1, "s-3": 1},
                 id="discord: alert marker, digest heads only (not source links)"),
    pytest.param(discord_tally([DISCORD_ALERT, DISCORD_ALERT], URLS), 2, {"s-1": 2}, id="discord: twice"),
    pytest.param(slack_tally([SLACK_ALERT, SLACK_DIGEST], URLS), 1, {"s-1": 1, "s-2": 1}, id="slack"),
])
def test_tally_counts_each_story_where_it_is_headed(tally: Tally, alerts: int, seen: dict[str, int]) -> None:
    assert tally.alerts == alerts
    assert dict(tally.seen) == seen


@pytest.mark.parametrize(("seen", "lost", "dups", "strangers"), [
    ({"s-1": 1, "s-2": 1}, 0, 0, 0),
    ({"s-1": 1}, 1, 0, 0),
    ({"s-1": 3, "s-2": 1}, 0, 2, 0),
    ({"s-1": 1, "s-2": 1, "?https://x": 1}, 0, 0, 1),
])
def test_check_finds_lost_duplicated_and_unknown_stories(seen: dict[str, int], lost: int, dups: int,
                                                          strangers: int) -> None:
    k = check(Tally(messages=3, alerts=0, seen=Counter(seen)), ["s-1", "s-2"])
    assert (k.lost, k.duplicates, k.strangers) == (lost, dups, strangers)


@pytest.fixture
async def feed_urls() -> AsyncIterator[list[str]]:
    server = TestServer(feed_app(feed_bodies(burst(ITEMS, FEEDS))), host="127.0.0.1", port=0)
    await server.start_server()
    yield [str(server.make_url(f"/feed/{n}.xml")) for n in range(FEEDS)]
    await server.close()


async def _run(urls: list[str], limits: Limits, monkeypatch: pytest.MonkeyPatch) -> Figures:
    monkeypatch.setattr(Route, "BASE", Route.BASE)  # the sinks point discord.py at the fake; undo after
    return await run(urls, burst(ITEMS, FEEDS), limits, MAX_ALERTS)


async def test_burst_is_flood_controlled_rate_limited_and_complete(feed_urls: list[str],
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    # A tight bucket (short Retry-Afters, waited out by the clients) plus a long 429 now and then
    # early on, which sends alerts back to the outbox to wait.
    limits = Limits(CHANNELS, rate=400.0, burst=3, long_every=3, long_wait=60.0)
    fig = await _run(feed_urls, _early_long_429s(limits), monkeypatch)
    assert fig.cycle.new_items == ITEMS and fig.relevant == ITEMS
    assert fig.stories > 2 * fig.limit  # enough stories to flood a channel
    assert fig.tallies is not None and fig.checks is not None and fig.main is not None
    for name, k in fig.checks.items():
        assert (k.covered, k.lost, k.duplicates, k.strangers) == (fig.stories, 0, 0, 0), name
    for name in ("load-discord", "load-slack"):
        assert fig.tallies[name].alerts == fig.limit
        assert fig.tallies[name].messages < fig.tallies[name.replace("load", "naive")].messages
    assert fig.tallies["naive-slack"].alerts == fig.stories
    assert sum(limits.long.values()) > 0 and fig.main.retrying > 0  # the outbox path was exercised
    assert fig.main.left == 0 and fig.main.failed == 0
    # The figures the bench prints: per-item cost, stories against developments, the README rows.
    assert fig.sizes is not None and fig.sizes.developments < ITEMS and len(fig.holds) == ITEMS
    args = argparse.Namespace(feeds=FEEDS, items=ITEMS, rate=400.0, burst=3, long_every=3, long_wait=60.0)
    text, ok = report(fig, args, limits, burst(ITEMS, FEEDS))
    assert ok and "per item" in text and "median" in text and f"stories {fig.stories} for" in text
    rows = markdown(fig, args, burst(ITEMS, FEEDS)).splitlines()
    assert sum(row.startswith("| ") for row in rows) == 5  # one processing row, four destinations


def _early_long_429s(limits: Limits) -> Limits:
    """Long 429s only during the first MAX_ALERTS requests of a channel: alerts, not the digest."""
    check_one = limits.check

    def limited(channel: str) -> float | None:
        wait = check_one(channel)
        if wait == limits.long_wait and limits.calls[channel] > MAX_ALERTS:
            limits.long[channel] -= 1
            return None
        return wait

    limits.check = limited  # type: ignore[method-assign]
    return limits


async def test_a_digest_interrupted_between_parts_loses_no_story(feed_urls: list[str],
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    # No short 429s, so request numbers are exact: 5 alerts, then the flood digest's parts; the
    # 8th request to a channel (the Discord digest's third part) gets a long Retry-After.
    limits = Limits(CHANNELS, rate=1e9, burst=10**9, long_every=8, long_wait=60.0)
    fig = await _run(feed_urls, limits, monkeypatch)
    assert fig.tallies is not None and fig.checks is not None
    assert limits.long[DISCORD_CHANNEL] > 0 and fig.stories > MAX_ALERTS + 10  # a digest of 3+ parts (8th request)
    assert fig.checks["load-discord"].lost == 0
